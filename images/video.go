package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	"genlab/internal/atomicfile"
)

// Clips: a clip is frames of c×h×w pixels stored one after the other
// (genlab's video layout). It is saved as an animated PNG (APNG), which is
// still a PNG: a reader that knows no animation shows frame 1, and the
// "parameters" chunk sits where Encode puts it.

// FrameStrip lays the frames of a clip (frames·c·h·w values in [0,1]) out
// left to right with a one-pixel grey line between them.
func FrameStrip(pix []float32, frames, c, h, w int) image.Image {
	return Grid(ClipFrames(pix, frames, c, h, w), frames, 1, color.Gray{Y: 64})
}

// ClipFrames converts each frame of a clip to an image (FromFloats). It
// panics if pix does not hold frames·c·h·w values.
func ClipFrames(pix []float32, frames, c, h, w int) []image.Image {
	d := c * h * w
	if frames < 1 || len(pix) != frames*d {
		panic(fmt.Sprintf("images: %d values for %d frames of %dx%dx%d", len(pix), frames, c, h, w))
	}
	out := make([]image.Image, frames)
	for f := range out {
		out[f] = FromFloats(pix[f*d:(f+1)*d], c, h, w)
	}
	return out
}

// EncodeAnimation writes frames to w as an APNG that loops forever, each
// frame shown for delayMS milliseconds. The first frame is the PNG's own
// image (Encode's, with params in its "parameters" chunk); the others
// follow in fdAT chunks. Every frame must have the first one's size and
// encode to the same PNG colour type (e.g. all opaque *image.NRGBA).
func EncodeAnimation(w io.Writer, frames []image.Image, delayMS int, params string) error {
	if len(frames) == 0 {
		return errors.New("images: an animation needs at least one frame")
	}
	if delayMS < 1 || delayMS > 65535 {
		return fmt.Errorf("images: frame delay %d ms: want 1 to 65535", delayMS)
	}
	var first bytes.Buffer
	if err := Encode(&first, frames[0], params); err != nil {
		return err
	}
	chunks, err := pngChunks(first.Bytes())
	if err != nil {
		return err
	}
	ihdr := chunks[0].data
	width, height := binary.BigEndian.Uint32(ihdr[0:4]), binary.BigEndian.Uint32(ihdr[4:8])

	// The sequence number runs over fcTL and fdAT chunks together.
	seq := uint32(0)
	fcTL := func() []byte {
		d := binary.BigEndian.AppendUint32(nil, seq)
		d = binary.BigEndian.AppendUint32(d, width)
		d = binary.BigEndian.AppendUint32(d, height)
		d = binary.BigEndian.AppendUint32(d, 0) // x offset
		d = binary.BigEndian.AppendUint32(d, 0) // y offset
		d = binary.BigEndian.AppendUint16(d, uint16(delayMS))
		d = binary.BigEndian.AppendUint16(d, 1000)
		d = append(d, 0, 0) // dispose: none; blend: source
		seq++
		return chunk("fcTL", d)
	}
	actl := binary.BigEndian.AppendUint32(nil, uint32(len(frames)))
	actl = binary.BigEndian.AppendUint32(actl, 0) // loop forever

	out := []byte(pngSignature)
	for _, c := range chunks {
		switch c.typ {
		case "IEND":
			continue
		case "IDAT":
			if seq == 0 {
				out = append(out, fcTL()...)
			}
		}
		out = append(out, chunk(c.typ, c.data)...)
		if c.typ == "IHDR" {
			out = append(out, chunk("acTL", actl)...)
		}
	}
	for i, f := range frames[1:] {
		var buf bytes.Buffer
		if err := png.Encode(&buf, f); err != nil {
			return fmt.Errorf("images: frame %d: %w", i+2, err)
		}
		fc, err := pngChunks(buf.Bytes())
		if err != nil {
			return err
		}
		if !bytes.Equal(fc[0].data, ihdr) {
			return fmt.Errorf("images: frame %d differs from frame 1 in size or colour type", i+2)
		}
		out = append(out, fcTL()...)
		for _, c := range fc {
			if c.typ == "IDAT" {
				out = append(out, chunk("fdAT", append(binary.BigEndian.AppendUint32(nil, seq), c.data...))...)
				seq++
			}
		}
	}
	out = append(out, chunk("IEND", nil)...)
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	return nil
}

// SaveAnimation writes an APNG (EncodeAnimation) to path atomically, mode
// 0644, as Save does for a still image.
func SaveAnimation(path string, frames []image.Image, delayMS int, params string) error {
	var buf bytes.Buffer
	if err := EncodeAnimation(&buf, frames, delayMS, params); err != nil {
		return fmt.Errorf("images: save %s: %w", path, errors.Unwrap(err))
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	}); err != nil {
		return fmt.Errorf("images: save %s: %w", path, err)
	}
	return nil
}

// AnimationFrames returns the number of frames an APNG declares in its
// acTL chunk, 1 for a still PNG.
func AnimationFrames(r io.Reader) (int, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("images: %w", err)
	}
	chunks, err := pngChunks(b)
	if err != nil {
		return 0, err
	}
	for _, c := range chunks {
		if c.typ == "acTL" && len(c.data) == 8 {
			return int(binary.BigEndian.Uint32(c.data)), nil
		}
	}
	return 1, nil
}

type rawChunk struct {
	typ  string
	data []byte
}

// pngChunks splits a whole PNG into its chunks (without checking CRCs),
// IHDR first.
func pngChunks(b []byte) ([]rawChunk, error) {
	if len(b) < len(pngSignature) || string(b[:len(pngSignature)]) != pngSignature {
		return nil, errors.New("images: not a PNG image")
	}
	var out []rawChunk
	for b = b[len(pngSignature):]; len(b) > 0; {
		if len(b) < 12 {
			return nil, errors.New("images: truncated PNG chunk")
		}
		n := int(binary.BigEndian.Uint32(b[:4]))
		if n < 0 || n > len(b)-12 {
			return nil, errors.New("images: truncated PNG chunk")
		}
		out = append(out, rawChunk{string(b[4:8]), b[8 : 8+n]})
		b = b[12+n:]
	}
	if len(out) == 0 || out[0].typ != "IHDR" || len(out[0].data) != 13 {
		return nil, errors.New("images: PNG does not start with IHDR")
	}
	return out, nil
}
