package diffusion

import (
	"fmt"
	"image"

	"genlab/images"

	"github.com/disintegration/imaging"
)

// Super-resolution's degradation (SR3, Saharia et al. 2021): a model of
// Cond "lowres" learns p(x | up(down(x))), where down averages each
// scale×scale block and rounds to 8 bits, as a small PNG would store it,
// and up is bicubic interpolation back to the full size. The same up is
// the baseline a super-resolution model is compared with.

// Shrink returns the c×(s/scale)×(s/scale) image whose pixels are the means
// of the scale×scale blocks of pix (c×s×s, values in [0,1]), rounded to
// the nearest of 256 levels. It panics if scale does not divide s.
func Shrink(pix []float32, c, s, scale int) []float32 {
	if scale < 1 || s%scale != 0 || len(pix) != c*s*s {
		panic(fmt.Sprintf("diffusion: Shrink: %d values for %dx%dx%d by %d", len(pix), c, s, s, scale))
	}
	l := s / scale
	out := make([]float32, c*l*l)
	inv := 1 / float64(scale*scale)
	for ch := range c {
		for y := range l {
			for x := range l {
				sum := 0.0
				for dy := range scale {
					row := pix[ch*s*s+(y*scale+dy)*s+x*scale:]
					for dx := range scale {
						sum += float64(row[dx])
					}
				}
				v := min(1, max(0, sum*inv))
				out[ch*l*l+y*l+x] = float32(float64(int(v*255+0.5)) / 255)
			}
		}
	}
	return out
}

// Upscale resizes img to w×h by bicubic (Catmull-Rom) interpolation,
// imaging's: super-resolution's baseline and its model's condition.
func Upscale(img image.Image, w, h int) *image.NRGBA {
	return imaging.Resize(img, w, h, imaging.CatmullRom)
}

// LowResCondition returns the condition of a lowres model for one
// low-resolution image of c channels (pixels in [0,1], l×l): Upscale to
// s×s, in the model's range [-1,1].
func LowResCondition(low []float32, c, l, s int) []float32 {
	up := images.ToFloats(Upscale(images.FromFloats(low, c, l, l), s, s), c)
	ToModelRange(up, up)
	return up
}
