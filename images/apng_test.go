package images

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
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
