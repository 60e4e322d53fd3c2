package tasks

import (
	"fmt"
	"math"
)

// The image-quality measures every task's evaluation reports. Images are
// CHW float32 with values in [0, 1] (the data range L = 1).

// MaxPSNR is the PSNR of two identical images: the mean squared error is
// floored at 1e-10, so that averages over images stay finite.
const MaxPSNR = 100

// PSNR is the peak signal-to-noise ratio of b against the reference a,
// 10·log10(1/MSE) in dB, over the pixels where mask > 0.5 (every channel
// of a pixel; mask holds one value per pixel, h·w of them) or over all of
// them if mask is nil. It returns NaN when the mask selects nothing and
// panics if the lengths disagree.
func PSNR(a, b, mask []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("tasks: PSNR of %d and %d values", len(a), len(b)))
	}
	plane := len(a)
	if mask != nil {
		plane = len(mask)
		if plane == 0 || len(a)%plane != 0 {
			panic(fmt.Sprintf("tasks: PSNR of %d values with a mask of %d", len(a), len(mask)))
		}
	}
	var sum float64
	n := 0
	for i := range a {
		if mask != nil && !(mask[i%plane] > 0.5) {
			continue
		}
		d := float64(a[i]) - float64(b[i])
		sum += d * d
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return -10 * math.Log10(max(sum/float64(n), 1e-10))
}

// SSIM window and constants of Wang, Bovik, Sheikh and Simoncelli (2004),
// "Image quality assessment: from error visibility to structural
// similarity", §III-C: an 11×11 circular-symmetric Gaussian of σ = 1.5,
// K1 = 0.01, K2 = 0.03, L = 1.
const (
	ssimSigma  = 1.5
	ssimRadius = 5
	ssimC1     = 0.01 * 0.01
	ssimC2     = 0.03 * 0.03
)

// ssimKernel is the normalised 1-D Gaussian of the window (the 2-D window
// is its outer product).
var ssimKernel = func() [2*ssimRadius + 1]float64 {
	var k [2*ssimRadius + 1]float64
	sum := 0.0
	for i := range k {
		d := float64(i - ssimRadius)
		k[i] = math.Exp(-d * d / (2 * ssimSigma * ssimSigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// SSIMMap returns the local SSIM of two images of c channels, h×w each,
// at every pixel (h·w values, the mean over channels):
//
//	SSIM(x, y) = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))
//
// with μ, σ² and σxy the Gaussian-weighted means, variances and covariance
// over the window (Wang et al. 2004, eqs. 13-15). Near the border the
// window is cut to the image and its weights renormalised, so every pixel
// has a value; where the window fits it is exactly Wang et al.'s.
func SSIMMap(a, b []float32, c, h, w int) []float64 {
	if c < 1 || h < 1 || w < 1 || len(a) != c*h*w || len(b) != len(a) {
		panic(fmt.Sprintf("tasks: SSIMMap of %d and %d values as %dx%dx%d", len(a), len(b), c, h, w))
	}
	plane := h * w
	out := make([]float64, plane)
	// Separable filtering of x, y, x², y², xy: rows, then columns.
	stats := make([][]float64, 5)
	for i := range stats {
		stats[i] = make([]float64, plane)
	}
	tmp := make([][]float64, 5)
	for i := range tmp {
		tmp[i] = make([]float64, plane)
	}
	for ch := range c {
		x, y := a[ch*plane:(ch+1)*plane], b[ch*plane:(ch+1)*plane]
		for r := range h {
			for col := range w {
				var s [5]float64
				wsum := 0.0
				for d := -ssimRadius; d <= ssimRadius; d++ {
					cc := col + d
					if cc < 0 || cc >= w {
						continue
					}
					k := ssimKernel[d+ssimRadius]
					xv, yv := float64(x[r*w+cc]), float64(y[r*w+cc])
					s[0] += k * xv
					s[1] += k * yv
					s[2] += k * xv * xv
					s[3] += k * yv * yv
					s[4] += k * xv * yv
					wsum += k
				}
				for i := range s {
					tmp[i][r*w+col] = s[i] / wsum
				}
			}
		}
		for r := range h {
			for col := range w {
				var s [5]float64
				wsum := 0.0
				for d := -ssimRadius; d <= ssimRadius; d++ {
					rr := r + d
					if rr < 0 || rr >= h {
						continue
					}
					k := ssimKernel[d+ssimRadius]
					for i := range s {
						s[i] += k * tmp[i][rr*w+col]
					}
					wsum += k
				}
				for i := range s {
					stats[i][r*w+col] = s[i] / wsum
				}
			}
		}
		for p := range out {
			mx, my := stats[0][p], stats[1][p]
			vx, vy := stats[2][p]-mx*mx, stats[3][p]-my*my
			cxy := stats[4][p] - mx*my
			out[p] += (2*mx*my + ssimC1) * (2*cxy + ssimC2) / ((mx*mx + my*my + ssimC1) * (vx + vy + ssimC2))
		}
	}
	for p := range out {
		out[p] /= float64(c)
	}
	return out
}

// SSIM is the mean structural similarity of b against a (c channels of
// h×w, values in [0, 1]) over the pixels whose whole 11×11 window lies in
// the image, as Wang et al.'s code and scikit-image's
// structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=1) compute it. An image smaller
// than the window averages over every pixel instead.
func SSIM(a, b []float32, c, h, w int) float64 {
	m := SSIMMap(a, b, c, h, w)
	r := ssimRadius
	if h <= 2*r || w <= 2*r {
		return mean(m)
	}
	sum, n := 0.0, 0
	for y := r; y < h-r; y++ {
		for x := r; x < w-r; x++ {
			sum += m[y*w+x]
			n++
		}
	}
	return sum / float64(n)
}

// MaskedSSIM is the mean of SSIMMap over the pixels where mask > 0.5 (one
// value per pixel): how well a filled-in region matches the truth,
// including its seams with the known pixels around it. NaN if the mask
// selects nothing.
func MaskedSSIM(a, b, mask []float32, c, h, w int) float64 {
	if len(mask) != h*w {
		panic(fmt.Sprintf("tasks: MaskedSSIM: mask of %d values for %dx%d", len(mask), h, w))
	}
	m := SSIMMap(a, b, c, h, w)
	sum, n := 0.0, 0
	for p, v := range mask {
		if v > 0.5 {
			sum += m[p]
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
