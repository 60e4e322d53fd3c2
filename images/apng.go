package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"

	"genlab/internal/memory"
)

// Animation is an APNG's frames as shown, each composed over the ones
// before as the file's frame controls say, and how long each is shown.
type Animation struct {
	Frames  []image.Image // *image.NRGBA, all of the canvas's size
	DelayMS []int
}

// MaxFrames is the most frames DecodeAnimation accepts.
const MaxFrames = 4096

// DecodeAnimation reads an animated PNG's frames (EncodeAnimation's, or
// any APNG: partial frames, offsets, dispose and blend operations). A
// still PNG is an animation of one frame.
func DecodeAnimation(b []byte) (*Animation, error) {
	chunks, err := pngChunks(b)
	if err != nil {
		return nil, err
	}
	ihdr := chunks[0].data
	w, h := int(binary.BigEndian.Uint32(ihdr[0:4])), int(binary.BigEndian.Uint32(ihdr[4:8]))
	if w < 1 || h < 1 || int64(w)*int64(h) > MaxPixels {
		return nil, fmt.Errorf("images: %dx%d APNG: want 1 to %d pixels", w, h, MaxPixels)
	}
	animated := false
	for _, c := range chunks {
		if c.typ == "acTL" {
			animated = true
		}
	}
	if !animated {
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
		return &Animation{Frames: []image.Image{img}, DelayMS: []int{0}}, nil
	}
	// The chunks every frame's own PNG needs: the palette and its
	// transparency, gamma and the like (all before the first IDAT).
	var shared [][]byte
	for _, c := range chunks[1:] {
		if c.typ == "IDAT" {
			break
		}
		if c.typ != "acTL" && c.typ != "fcTL" && c.typ != "tEXt" && c.typ != "iTXt" && c.typ != "zTXt" {
			shared = append(shared, chunk(c.typ, c.data))
		}
	}
	type frame struct {
		ctl  []byte
		data [][]byte // IDAT payloads
	}
	var frames []frame
	var cur *frame
	for _, c := range chunks[1:] {
		switch c.typ {
		case "fcTL":
			if len(c.data) != 26 {
				return nil, errors.New("images: APNG frame control of a wrong size")
			}
			if len(frames) >= MaxFrames {
				return nil, fmt.Errorf("images: APNG of more than %d frames", MaxFrames)
			}
			frames = append(frames, frame{ctl: c.data})
			cur = &frames[len(frames)-1]
		case "IDAT":
			if cur != nil && len(frames) == 1 {
				cur.data = append(cur.data, c.data)
			}
		case "fdAT":
			if cur == nil || len(c.data) < 4 {
				return nil, errors.New("images: APNG frame data before its frame control")
			}
			cur.data = append(cur.data, c.data[4:])
		}
	}
	if err := memory.Check("decoding an APNG", memory.Mul(int64(4*len(frames)+16), int64(w), int64(h))); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	canvas := image.NewNRGBA(image.Rect(0, 0, w, h))
	out := &Animation{}
	for i, f := range frames {
		be := binary.BigEndian
		fw, fh := int(be.Uint32(f.ctl[4:])), int(be.Uint32(f.ctl[8:]))
		x, y := int(be.Uint32(f.ctl[12:])), int(be.Uint32(f.ctl[16:]))
		num, den := int(be.Uint16(f.ctl[20:])), int(be.Uint16(f.ctl[22:]))
		dispose, blend := f.ctl[24], f.ctl[25]
		r := image.Rect(x, y, x+fw, y+fh)
		if fw < 1 || fh < 1 || x < 0 || y < 0 || !r.In(canvas.Bounds()) || len(f.data) == 0 {
			return nil, fmt.Errorf("images: APNG frame %d: %dx%d at (%d,%d) does not fit the %dx%d image", i+1, fw, fh, x, y, w, h)
		}
		hdr := bytes.Clone(ihdr)
		be.PutUint32(hdr[0:], uint32(fw))
		be.PutUint32(hdr[4:], uint32(fh))
		var buf bytes.Buffer
		buf.WriteString(pngSignature)
		buf.Write(chunk("IHDR", hdr))
		for _, s := range shared {
			buf.Write(s)
		}
		for _, d := range f.data {
			buf.Write(chunk("IDAT", d))
		}
		buf.Write(chunk("IEND", nil))
		img, err := png.Decode(&buf)
		if err != nil {
			return nil, fmt.Errorf("images: APNG frame %d: %w", i+1, err)
		}
		var prev *image.NRGBA
		if dispose == 2 {
			prev = image.NewNRGBA(r)
			draw.Draw(prev, r, canvas, r.Min, draw.Src)
		}
		op := draw.Src
		if blend == 1 {
			op = draw.Over
		}
		draw.Draw(canvas, r, img, img.Bounds().Min, op)
		shown := image.NewNRGBA(canvas.Rect)
		copy(shown.Pix, canvas.Pix)
		out.Frames = append(out.Frames, shown)
		if den == 0 {
			den = 100
		}
		out.DelayMS = append(out.DelayMS, num*1000/den)
		switch {
		case dispose == 1 || (dispose == 2 && i == 0):
			draw.Draw(canvas, r, image.Transparent, image.Point{}, draw.Src)
		case dispose == 2:
			draw.Draw(canvas, r, prev, r.Min, draw.Src)
		}
	}
	if len(out.Frames) == 0 {
		return nil, errors.New("images: APNG without frames")
	}
	return out, nil
}

// LoadAnimation reads the APNG (or still PNG) at path (DecodeAnimation).
func LoadAnimation(path string) (*Animation, error) {
	if err := regular(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	a, err := DecodeAnimation(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}
