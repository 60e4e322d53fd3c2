package tasks

import (
	"fmt"
	"math/rand/v2"

	"genlab/diffusion"
	"genlab/eval"
)

// Naming the class of a partly hidden image with a classifier trained on
// occluded images, for inpainting under that class. The diffusion model's
// own zero-shot classification (InferClasses) scores the known pixels
// only, and that caps it: on 200 MNIST test digits under a random 14×14
// square it names the true class of 85%, and even with the true digit in
// the hole as context 87%, against 96.5% for the whole digit. A classifier
// that sees the known pixels and the mask, trained on digits hidden by
// random masks, does not have that limit.
//
// Its input has the image's channels with the hidden pixels set to 0,
// then the mask (1 = hidden): in_channels = the image's + 1.

// RandomOcclusion is one training mask over an h×w image (1 = hidden):
// nothing hidden for a fifth of them, a half (top, bottom, left or right)
// for another fifth, and otherwise a rectangle with sides of 6 to 20
// pixels (scaled to the image) anywhere.
func RandomOcclusion(rng *rand.Rand, h, w int) []float32 {
	m := make([]float32, h*w)
	switch u := rng.Float64(); {
	case u < 0.2:
	case u < 0.4:
		side := rng.IntN(4)
		for y := range h {
			for x := range w {
				if side == 0 && y >= h/2 || side == 1 && y < h/2 || side == 2 && x < w/2 || side == 3 && x >= w/2 {
					m[y*w+x] = 1
				}
			}
		}
	default:
		lo, hi := max(1, 6*h/28), max(2, 20*h/28)
		rh, rw := min(h, lo+rng.IntN(hi-lo+1)), min(w, lo+rng.IntN(hi-lo+1))
		y0, x0 := rng.IntN(h-rh+1), rng.IntN(w-rw+1)
		for y := y0; y < y0+rh; y++ {
			for x := x0; x < x0+rw; x++ {
				m[y*w+x] = 1
			}
		}
	}
	return m
}

// OccludedInput is the occluded-image classifier's input for n images of c
// channels of plane pixels (pixels in [0, 1]) under masks (one value per
// pixel, 1 = hidden): per image its channels with the hidden pixels 0,
// then the mask.
func OccludedInput(pixels, masks []float32, n, c, plane int) []float32 {
	out := make([]float32, n*(c+1)*plane)
	for j := range n {
		img, m := pixels[j*c*plane:(j+1)*c*plane], masks[j*plane:(j+1)*plane]
		dst := out[j*(c+1)*plane : (j+1)*(c+1)*plane]
		for ch := range c {
			for p := range plane {
				if m[p] <= 0.5 {
					dst[ch*plane+p] = img[ch*plane+p]
				}
			}
		}
		copy(dst[c*plane:], m)
	}
	return out
}

// NameClasses asks cl, a classifier of occluded images, for the class of
// each of n partly known images: known in the model's range [−1, 1] (the
// masked values are ignored), mask one value per pixel (1 = unknown).
func NameClasses(cl *eval.Classifier, net *diffusion.Network, known, mask []float32, n int) ([]int, error) {
	u := net.Config.UNet
	c, plane := u.InChannels, u.Size*u.Size
	switch cc := cl.Config; {
	case cc.InChannels != c+1 || cc.Size != u.Size:
		return nil, fmt.Errorf("tasks: the class-naming classifier takes %dx%dx%d inputs; a classifier of occluded %dx%dx%d images takes %dx%dx%d (genlab train classifier --occluded)",
			cc.InChannels, cc.Size, cc.Size, c, u.Size, u.Size, c+1, u.Size, u.Size)
	case cc.Classes != net.Classes():
		return nil, fmt.Errorf("tasks: the class-naming classifier knows %d classes, the diffusion model %d", cc.Classes, net.Classes())
	case len(known) != n*c*plane || len(mask) != n*plane:
		return nil, fmt.Errorf("tasks: name classes: %d values, %d mask values for %d images", len(known), len(mask), n)
	}
	pix := make([]float32, len(known))
	diffusion.ToPixels(pix, known)
	return cl.Predict(OccludedInput(pix, mask, n, c, plane), n, nil)
}
