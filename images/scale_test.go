package images

import (
	"image"
	"image/color"
	"testing"
)

func TestUpscaleIsNearestNeighbour(t *testing.T) {
	g := image.NewGray(image.Rect(3, 5, 5, 6)) // 2x1, off the origin
	g.SetGray(3, 5, color.Gray{Y: 10})
	g.SetGray(4, 5, color.Gray{Y: 200})
	up := Upscale(g, 3)
	if b := up.Bounds(); b != image.Rect(0, 0, 6, 3) {
		t.Fatalf("bounds %v, want 6x3", b)
	}
	for y := range 3 {
		for x := range 6 {
			want := uint8(10)
			if x >= 3 {
				want = 200
			}
			if r, _, _, _ := up.At(x, y).RGBA(); uint8(r>>8) != want {
				t.Errorf("(%d,%d) = %d, want %d", x, y, r>>8, want)
			}
		}
	}
	if _, grey := up.(*image.Gray); !grey {
		t.Errorf("a grey image came back as %T", up)
	}
	rgb := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	rgb.Set(0, 0, color.NRGBA{1, 2, 3, 255})
	if c := Upscale(rgb, 2).At(1, 1); c != (color.NRGBA{1, 2, 3, 255}) {
		t.Errorf("RGB pixel (1,1) = %v", c)
	}
	if Upscale(g, 1) != image.Image(g) {
		t.Error("Upscale by 1 made a copy")
	}
}
