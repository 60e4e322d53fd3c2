package tasks

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

func TestFitImageAndRestore(t *testing.T) {
	// An image already in the model's frame passes through unchanged.
	g := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 4)
	}
	pix, fr, err := FitImage(g, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range pix {
		if want := float32(i*4) / 255; v != want {
			t.Fatalf("pixel %d = %g, want %g", i, v, want)
		}
	}
	if back := fr.Restore(pix); len(back) != 64 || back[10] != pix[10] {
		t.Fatalf("Restore changed an image of the model's size")
	}

	// A wide RGB image is centred in a square padded with its border
	// colour, and comes back at its own size.
	m := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			m.Set(x, y, color.NRGBA{200, 10, 10, 255})
		}
	}
	pix, fr, err = FitImage(m, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	if fr.W != 40 || fr.H != 20 || fr.Side != 40 || fr.X0 != 0 || fr.Y0 != 10 || len(pix) != 3*16*16 {
		t.Fatalf("frame %+v, %d values", fr, len(pix))
	}
	// Uniform image, uniform border: the padding is the same red.
	if r, gr := pix[0], pix[256]; abs32(r-200.0/255) > 0.01 || abs32(gr-10.0/255) > 0.01 {
		t.Errorf("padding is (%g, %g), want the border's red", r, gr)
	}
	back := fr.Restore(pix)
	if len(back) != 3*40*20 {
		t.Fatalf("Restore gave %d values, want 3x20x40", len(back))
	}
	if img := fr.Image(back); img.Bounds().Dx() != 40 || img.Bounds().Dy() != 20 {
		t.Errorf("result is %v", img.Bounds())
	}
	if _, _, err := FitImage(image.NewGray(image.Rect(0, 0, 0, 5)), 8, 1); err == nil {
		t.Error("an empty image was accepted")
	}
}

func TestFrameMask(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 30, 20))
	_, fr, err := FitImage(img, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	mask := image.NewGray(image.Rect(0, 0, 30, 20))
	for y := 0; y < 10; y++ {
		for x := 0; x < 15; x++ {
			mask.Pix[y*30+x] = 255 // top-left quarter
		}
	}
	full, model, err := fr.Mask(mask)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range full {
		n += int(v)
	}
	if n != 150 {
		t.Errorf("%d pixels to fill, want 150", n)
	}
	// In the 30x30 square the image sits at rows 5..24; the model's
	// 10x10 frame sees the quarter at rows 1..4 (with a partial row 5),
	// columns 0..4; the padding is never filled.
	if model[0] != 0 || model[2*10+2] != 1 || model[8*10+8] != 0 {
		t.Errorf("model mask:\n%v", model)
	}
	for _, c := range []struct {
		name string
		m    image.Image
		want string
	}{
		{"wrong size", image.NewGray(image.Rect(0, 0, 20, 30)), "the mask is 20x30 but the image is 30x20"},
		{"all black", image.NewGray(image.Rect(0, 0, 30, 20)), "no white pixels"},
	} {
		if _, _, err := fr.Mask(c.m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
