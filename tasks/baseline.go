package tasks

import "fmt"

// The naive baselines the evaluations put each task beside. Images are CHW
// in [0, 1]; masks hold one value per pixel, 1 = fill.

// MeanFill fills the masked pixels of img with those of mean (an image of
// the same shape, for example the training set's mean image).
func MeanFill(img, mean, mask []float32) []float32 {
	if len(mean) != len(img) || len(mask) == 0 || len(img)%len(mask) != 0 {
		panic(fmt.Sprintf("tasks: MeanFill of %d values with a mean of %d and a mask of %d", len(img), len(mean), len(mask)))
	}
	return composite(img, mean, mask)
}

// BlurFill fills the masked pixels of img (c×h×w) by diffusing the known
// ones inwards: the hole starts at the mean of the known pixels and is
// replaced, iters times, by a 3×3 blur of the image while the known pixels
// stay put. It converges to the harmonic (membrane) interpolation of the
// hole's border, the smooth guess of the classic "fill" modes.
func BlurFill(img, mask []float32, c, h, w, iters int) []float32 {
	plane := h * w
	if c < 1 || len(img) != c*plane || len(mask) != plane {
		panic(fmt.Sprintf("tasks: BlurFill of %d values as %dx%dx%d with a mask of %d", len(img), c, h, w, len(mask)))
	}
	out := append([]float32(nil), img...)
	next := make([]float32, plane)
	for ch := range c {
		x := out[ch*plane : (ch+1)*plane]
		sum, n := 0.0, 0
		for p, m := range mask {
			if m <= 0.5 {
				sum += float64(x[p])
				n++
			}
		}
		fillv := float32(0)
		if n > 0 {
			fillv = float32(sum / float64(n))
		}
		for p, m := range mask {
			if m > 0.5 {
				x[p] = fillv
			}
		}
		for range iters {
			for y := range h {
				for xx := range w {
					p := y*w + xx
					if mask[p] <= 0.5 {
						next[p] = x[p]
						continue
					}
					var s float32
					k := 0
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							yy, xc := y+dy, xx+dx
							if yy < 0 || yy >= h || xc < 0 || xc >= w {
								continue
							}
							s += x[yy*w+xc]
							k++
						}
					}
					next[p] = s / float32(k)
				}
			}
			copy(x, next)
		}
	}
	return out
}

// Blend is (1−s)·img + s·target: the naive image edit that moves an input
// towards, say, the mean image of the requested class by a strength s.
func Blend(img, target []float32, s float64) []float32 {
	if len(img) != len(target) {
		panic(fmt.Sprintf("tasks: Blend of %d and %d values", len(img), len(target)))
	}
	out := make([]float32, len(img))
	for k := range out {
		out[k] = float32((1-s)*float64(img[k]) + s*float64(target[k]))
	}
	return out
}
