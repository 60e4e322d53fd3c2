// Package noise is genlab's one per-image random number derivation: every
// family draws image i's noise (a diffusion model's x_T and the stochastic
// samplers' steps, a GAN's z, a VAE's or a flow's latents) from RNG(seed)
// alone, where seed is that image's own seed (seed+i for the i-th image of
// a run started at seed, as its PNG's name records). An image is thus
// reproducible alone, whatever the batch it was drawn in and whatever
// family drew it.
package noise

import "math/rand/v2"

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
