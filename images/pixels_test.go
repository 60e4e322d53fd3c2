package images

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

func TestFromFloatsGray(t *testing.T) {
	pix := []float32{0, 0.5, 1, -0.3, 1.7, float32(math.NaN())}
	img := FromFloats(pix, 1, 2, 3)
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("%T, want *image.Gray", img)
	}
	if g.Bounds() != image.Rect(0, 0, 3, 2) {
		t.Fatalf("bounds %v, want 3x2", g.Bounds())
	}
	if want := []uint8{0, 128, 255, 0, 255, 0}; string(g.Pix) != string(want) {
		t.Errorf("pix %v, want %v", g.Pix, want)
	}
}

func TestFromFloatsRGB(t *testing.T) {
	// CHW: R plane, G plane, B plane of a 1x2 image.
	img := FromFloats([]float32{1, 0, 0, 1, 0.2, 0.4}, 3, 1, 2)
	n, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("%T, want *image.NRGBA", img)
	}
	if got, want := n.NRGBAAt(0, 0), (color.NRGBA{255, 0, 51, 255}); got != want {
		t.Errorf("pixel 0 = %v, want %v", got, want)
	}
	if got, want := n.NRGBAAt(1, 0), (color.NRGBA{0, 255, 102, 255}); got != want {
		t.Errorf("pixel 1 = %v, want %v", got, want)
	}
	rgba := FromFloats([]float32{1, 1, 1, 0.5}, 4, 1, 1).(*image.NRGBA)
	if got := rgba.NRGBAAt(0, 0); got != (color.NRGBA{255, 255, 255, 128}) {
		t.Errorf("RGBA pixel = %v", got)
	}
}

func TestFloatsRoundTrip(t *testing.T) {
	const tol = 0.5/255 + 1e-6 // rounding to 256 levels
	for _, c := range []int{1, 3, 4} {
		h, w := 3, 4
		pix := make([]float32, c*h*w)
		for i := range pix {
			pix[i] = float32(i%17) / 16
		}
		got := ToFloats(FromFloats(pix, c, h, w), c)
		if len(got) != len(pix) {
			t.Fatalf("c=%d: %d values, want %d", c, len(got), len(pix))
		}
		for i := range pix {
			if d := math.Abs(float64(got[i] - pix[i])); d > tol {
				t.Fatalf("c=%d: value %d = %g, want %g ± %g", c, i, got[i], pix[i], tol)
			}
		}
	}
}

func TestToFloatsConverts(t *testing.T) {
	rgb := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	rgb.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	rgb.SetNRGBA(1, 0, color.NRGBA{0, 0, 255, 0}) // transparent: colour kept, alpha dropped
	gray := ToFloats(rgb, 1)
	if want := []float32{0.299, 0.114}; math.Abs(float64(gray[0]-want[0])) > 1e-6 || math.Abs(float64(gray[1]-want[1])) > 1e-6 {
		t.Errorf("luminance %v, want %v", gray, want)
	}
	if got := ToFloats(rgb, 3); got[0] != 1 || got[1] != 0 || got[5] != 1 {
		t.Errorf("RGB %v", got)
	}
	if got := ToFloats(rgb, 4); got[6] != 1 || got[7] != 0 {
		t.Errorf("alpha %v, want [1 0]", got[6:])
	}
	g := image.NewGray(image.Rect(0, 0, 1, 1))
	g.Pix[0] = 51
	if got := ToFloats(g, 3); got[0] != 0.2 || got[1] != 0.2 || got[2] != 0.2 {
		t.Errorf("gray as RGB = %v, want 0.2 each", got)
	}
	// An image whose bounds do not start at the origin.
	sub := rgb.SubImage(image.Rect(1, 0, 2, 1))
	if got := ToFloats(sub, 3); len(got) != 3 || got[2] != 1 {
		t.Errorf("sub-image = %v", got)
	}
	gsub := image.NewGray(image.Rect(0, 0, 3, 3))
	gsub.Pix[4] = 255
	if got := ToFloats(gsub.SubImage(image.Rect(1, 1, 2, 2)), 1); len(got) != 1 || got[0] != 1 {
		t.Errorf("gray sub-image = %v", got)
	}
}

func TestFloatsPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"wrong length":   func() { FromFloats(make([]float32, 5), 1, 2, 3) },
		"two channels":   func() { FromFloats(make([]float32, 12), 2, 2, 3) },
		"ToFloats c = 2": func() { ToFloats(image.NewGray(image.Rect(0, 0, 1, 1)), 2) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if s, _ := recover().(string); !strings.HasPrefix(s, "images: ") {
					t.Errorf("recovered %q, want an images: panic", s)
				}
			}()
			fn()
		})
	}
}
