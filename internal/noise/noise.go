// Package noise is genlab's one per-image random number derivation: every
// family draws image i's noise (a diffusion model's x_T and the stochastic
// samplers' steps, a GAN's z, a VAE's or a flow's latents) from RNG(seed)
// alone, where seed is that image's own seed (seed+i for the i-th image of
// a run started at seed, as its PNG's name records). An image is thus
// reproducible alone, whatever the batch it was drawn in and whatever
// family drew it.
package noise

import (
	"math"
	"math/rand/v2"
)

// stream tells genlab's image noise apart from every other use of PCG in
// the tree. It is diffusion's historical stream ("diffusno"), so diffusion
// and flow images kept their pixels when the derivation moved here.
const stream = 0x6469666675736e6f

// RNG returns the generator of the image whose own seed is seed.
func RNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// RNGs returns RNG(s) for each of seeds.
func RNGs(seeds []uint64) []*rand.Rand {
	rngs := make([]*rand.Rand, len(seeds))
	for i, s := range seeds {
		rngs[i] = RNG(s)
	}
	return rngs
}

// Seeds are the seeds of n images of a run started at seed: seed, seed+1, …
func Seeds(seed uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = seed + uint64(i)
	}
	return s
}

// Normal fills dst with N(0, 1) draws from r, in order.
func Normal(dst []float32, r *rand.Rand) {
	for i := range dst {
		dst[i] = float32(r.NormFloat64())
	}
}

// Slerp sets dst to the spherical interpolation of a and b at t (0: a, 1:
// b), the path AUTOMATIC1111's variation seeds take between two noises:
//
//	slerp(t; a, b) = sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b,  cos Ω = â·b̂
//
// so that the result keeps the norm of Gaussian noise all the way (a
// straight line would shrink it half way). Nearly parallel a and b are
// interpolated linearly. dst may be a or b.
func Slerp(dst, a, b []float32, t float64) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic("noise: Slerp of vectors of different lengths")
	}
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
	}
	wa, wb := 1-t, t
	if aa > 0 && bb > 0 {
		if dot := ab / math.Sqrt(aa*bb); dot < 0.9995 {
			omega := math.Acos(max(-1, dot))
			so := math.Sin(omega)
			wa, wb = math.Sin((1-t)*omega)/so, math.Sin(t*omega)/so
		}
	}
	for i := range dst {
		dst[i] = float32(wa*float64(a[i]) + wb*float64(b[i]))
	}
}

// Vary moves an image's noise x towards the noise of its variation seed
// subseed by strength (0: x, 1: the subseed's own noise), as
// AUTOMATIC1111's "Variation seed" does.
func Vary(x []float32, subseed uint64, strength float64) {
	if strength == 0 {
		return
	}
	sub := make([]float32, len(x))
	Normal(sub, RNG(subseed))
	Slerp(x, x, sub, strength)
}
