package tasks

import (
	"math"
	"testing"
)

// refImages are the images of testdata/ssim_reference.py.
func refImages() (a, b []float32) {
	const C, H, W = 3, 20, 24
	a, b = make([]float32, C*H*W), make([]float32, C*H*W)
	for c := range C {
		for y := range H {
			for x := range W {
				i := (c*H+y)*W + x
				av := (math.Sin(0.3*float64(x)+0.2*float64(y)+float64(c)) + 1) / 2
				bv := min(1, max(0, av+0.1*math.Sin(1.7*float64(x)*float64(y)+float64(c))))
				a[i], b[i] = float32(av), float32(bv)
			}
		}
	}
	return a, b
}

// SSIM and PSNR agree with scikit-image (testdata/README.md) to within the
// float32 rounding of the inputs.
func TestMetricsMatchScikitImage(t *testing.T) {
	a, b := refImages()
	const plane = 20 * 24
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"ssim grey", SSIM(a[:plane], b[:plane], 1, 20, 24), 0.9195236840, 2e-6},
		{"ssim rgb", SSIM(a, b, 3, 20, 24), 0.9160381014, 2e-6},
		{"psnr rgb", PSNR(a, b, nil), 23.7055487655, 1e-4},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.10f, scikit-image says %.10f", c.name, c.got, c.want)
		}
	}
}

func TestMetricsEdgeCases(t *testing.T) {
	a, b := refImages()
	if s := SSIM(a, a, 3, 20, 24); math.Abs(s-1) > 1e-9 {
		t.Errorf("SSIM of an image with itself = %g, want 1", s)
	}
	if p := PSNR(a, a, nil); p != MaxPSNR {
		t.Errorf("PSNR of an image with itself = %g, want the cap %d", p, MaxPSNR)
	}
	// A mask restricts both to its pixels: where a and b agree outside
	// it, the masked and the unmasked PSNR differ by the share masked.
	mask := make([]float32, 20*24)
	for p := range 20 * 24 / 2 {
		mask[p] = 1
	}
	c := append([]float32(nil), a...)
	for ch := range 3 {
		for p := range 20 * 24 / 2 {
			i := ch*20*24 + p
			c[i] = b[i]
		}
	}
	all, half := PSNR(a, c, nil), PSNR(a, c, mask)
	if math.Abs(all-half-10*math.Log10(2)) > 1e-6 {
		t.Errorf("masked PSNR %g, whole %g: want them 3.01 dB apart", half, all)
	}
	if !math.IsNaN(PSNR(a, c, make([]float32, 20*24))) || !math.IsNaN(MaskedSSIM(a, c, make([]float32, 20*24), 3, 20, 24)) {
		t.Error("an empty mask should give NaN")
	}
	// MaskedSSIM over the untouched half is higher than over the changed one.
	inv := make([]float32, len(mask))
	for p, v := range mask {
		inv[p] = 1 - v
	}
	if s1, s2 := MaskedSSIM(a, c, mask, 3, 20, 24), MaskedSSIM(a, c, inv, 3, 20, 24); !(s1 < s2) {
		t.Errorf("SSIM over the changed half %g, over the untouched half %g", s1, s2)
	}
	// Images smaller than the window still get a value.
	if s := SSIM(a[:25], b[:25], 1, 5, 5); math.IsNaN(s) || s > 1 {
		t.Errorf("SSIM of 5x5 images = %g", s)
	}
}
