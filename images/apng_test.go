package images

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// An APNG EncodeAnimation wrote decodes to its frames and delay; a still
// PNG is one frame; a frame that runs off the canvas is an error.
func TestDecodeAnimationReadsEncodeAnimation(t *testing.T) {
	var frames []image.Image
	for f := range 3 {
		m := image.NewNRGBA(image.Rect(0, 0, 5, 4))
		for i := range m.Pix {
			m.Pix[i] = uint8(40*f + i)
		}
		for i := 3; i < len(m.Pix); i += 4 {
			m.Pix[i] = 255
		}
		frames = append(frames, m)
	}
	var buf bytes.Buffer
	if err := EncodeAnimation(&buf, frames, 125, "a prompt\nSteps: 2"); err != nil {
		t.Fatal(err)
	}
	a, err := DecodeAnimation(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Frames) != 3 || a.DelayMS[2] != 125 {
		t.Fatalf("%d frames, delays %v", len(a.Frames), a.DelayMS)
	}
	for f := range frames {
		for y := range 4 {
			for x := range 5 {
				if got, want := color.NRGBAModel.Convert(a.Frames[f].At(x, y)), frames[f].At(x, y); got != want {
					t.Fatalf("frame %d (%d,%d): %v, want %v", f, x, y, got, want)
				}
			}
		}
	}
	var still bytes.Buffer
	if err := Encode(&still, frames[1], ""); err != nil {
		t.Fatal(err)
	}
	if a, err := DecodeAnimation(still.Bytes()); err != nil || len(a.Frames) != 1 {
		t.Errorf("a still PNG: %v, %v", a, err)
	}
	// Frame 2's control says 6 pixels wide on a 5-pixel canvas.
	b := bytes.Clone(buf.Bytes())
	i := bytes.LastIndex(b, []byte("fcTL"))
	binary.BigEndian.PutUint32(b[i+4+4:], 6)
	if _, err := DecodeAnimation(b); err == nil {
		t.Error("a frame wider than the canvas was accepted")
	}
}

// A hand-made APNG of the kind other writers make: frame 2 is a 2×2
// patch at (1,1) blended over frame 1 and disposed to the background,
// frame 3 an empty patch over what frame 2 left.
func TestDecodeAnimationComposesPartialFrames(t *testing.T) {
	red := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(red.Pix); i += 4 {
		copy(red.Pix[i:], []byte{255, 0, 0, 255})
	}
	red.Pix[len(red.Pix)-1] = 254 // every frame's PNG is RGBA, as an APNG's frames share the colour type
	patch := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	copy(patch.Pix, []byte{0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 255, 255}) // one pixel transparent
	idat := func(img image.Image) ([]byte, []byte) {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		cs, err := pngChunks(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		for _, c := range cs {
			if c.typ == "IDAT" {
				data = append(data, c.data...)
			}
		}
		return cs[0].data, data
	}
	fctl := func(seq, w, h, x, y uint32, dispose, blend byte) []byte {
		var d []byte
		for _, v := range []uint32{seq, w, h, x, y} {
			d = binary.BigEndian.AppendUint32(d, v)
		}
		d = binary.BigEndian.AppendUint16(d, 1)
		d = binary.BigEndian.AppendUint16(d, 10) // 100 ms
		return chunk("fcTL", append(d, dispose, blend))
	}
	ihdr, d1 := idat(red)
	_, d2 := idat(patch)
	out := []byte(pngSignature)
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("acTL", binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 3), 0))...)
	out = append(out, fctl(0, 4, 4, 0, 0, 0, 0)...)
	out = append(out, chunk("IDAT", d1)...)
	out = append(out, fctl(1, 2, 2, 1, 1, 1, 1)...)
	out = append(out, chunk("fdAT", append(binary.BigEndian.AppendUint32(nil, 2), d2...))...)
	out = append(out, fctl(3, 2, 2, 1, 1, 0, 1)...)
	empty := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	_, d3 := idat(empty)
	out = append(out, chunk("fdAT", append(binary.BigEndian.AppendUint32(nil, 4), d3...))...)
	out = append(out, chunk("IEND", nil)...)
	a, err := DecodeAnimation(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Frames) != 3 || a.DelayMS[1] != 100 {
		t.Fatalf("%d frames, delays %v", len(a.Frames), a.DelayMS)
	}
	at := func(f, x, y int) color.NRGBA { return a.Frames[f].(*image.NRGBA).NRGBAAt(x, y) }
	blue, redC, clear := color.NRGBA{0, 0, 255, 255}, color.NRGBA{255, 0, 0, 255}, color.NRGBA{}
	if at(1, 1, 1) != blue || at(1, 2, 1) != redC || at(1, 0, 0) != redC {
		t.Errorf("frame 2: %v %v %v, want the patch blended over red", at(1, 1, 1), at(1, 2, 1), at(1, 0, 0))
	}
	if at(2, 1, 1) != clear || at(2, 0, 0) != redC {
		t.Errorf("frame 3: %v %v, want frame 2's patch cleared to the background", at(2, 1, 1), at(2, 0, 0))
	}
}
