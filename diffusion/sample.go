package diffusion

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"genlab/internal/noise"
)

// Guidance is classifier-free guidance (Ho & Salimans 2022): at each step
// the conditional prediction ε_c (the model passed to Sample) is pushed
// away from the unconditional one ε_u:
//
//	ε̂ = ε_u + Scale·(ε_c − ε_u)
//
// Scale is the "CFG scale" of AUTOMATIC1111 and diffusers' guidance_scale,
// 1 + w in the paper's eq. 6: 1 is the conditional model alone (Uncond is
// then never called), 0 the unconditional one alone, and larger values
// trade diversity for fidelity to the condition.
//
// Sample calls the two models one after the other on the same x and t. To
// evaluate both in one doubled batch instead (x stacked twice, the
// condition and the null condition), pass Sample no Guidance and a Model
// that runs the doubled batch and finishes with Combine.
type Guidance struct {
	Scale  float64
	Uncond Model
}

// Combine writes ε_u + Scale·(ε_c − ε_u) into dst; dst may be cond or
// uncond. It panics if the lengths differ.
func (g Guidance) Combine(dst, cond, uncond []float32) {
	if len(cond) != len(dst) || len(uncond) != len(dst) {
		panic(fmt.Sprintf("diffusion: Guidance.Combine: len(dst)=%d, len(cond)=%d, len(uncond)=%d", len(dst), len(cond), len(uncond)))
	}
	for k := range dst {
		u := float64(uncond[k])
		dst[k] = float32(u + g.Scale*(float64(cond[k])-u))
	}
}

// Guided is the guided ε-model, genlab's one implementation of
// classifier-free guidance (every front end and task gets it from here):
// ε̂ = ε_u + Scale·(ε_c − ε_u) with cond as ε_c and g.Uncond as ε_u. At
// Scale 1 it is cond itself and at Scale 0 g.Uncond itself, so each costs
// one network evaluation; any other scale costs two (Evals). It panics if
// the scale needs an unconditional model and g.Uncond is nil.
func (g Guidance) Guided(cond Model) Model {
	switch {
	case g.Scale == 1:
		return cond
	case g.Uncond == nil:
		panic(fmt.Sprintf("diffusion: Guidance.Guided: scale %g needs an unconditional model", g.Scale))
	case g.Scale == 0:
		return func(ctx context.Context, x []float32, t []int, eps []float32) error {
			if err := g.Uncond(ctx, x, t, eps); err != nil {
				return uncondError{err}
			}
			return nil
		}
	}
	var epsU []float32
	return func(ctx context.Context, x []float32, t []int, eps []float32) error {
		if err := cond(ctx, x, t, eps); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(epsU) != len(eps) {
			epsU = make([]float32, len(eps))
		}
		if err := g.Uncond(ctx, x, t, epsU); err != nil {
			return uncondError{err}
		}
		g.Combine(eps, eps, epsU)
		return nil
	}
}

// Evals is the number of network evaluations one step of Guided costs.
func (g Guidance) Evals() int {
	if g.Scale == 1 || g.Scale == 0 {
		return 1
	}
	return 2
}

// uncondError marks an error of the unconditional half of Guided.
type uncondError struct{ err error }

func (e uncondError) Error() string { return e.err.Error() }
func (e uncondError) Unwrap() error { return e.err }

// InitialNoise fills x, len(rngs) images of dim values, with x_T ~ N(0, I):
// image j from rngs[j] alone, so that it is the same whatever the batch.
// It panics if len(x) != len(rngs)*dim.
func InitialNoise(x []float32, rngs []*rand.Rand, dim int) {
	if dim < 1 || len(x) != len(rngs)*dim {
		panic(fmt.Sprintf("diffusion: InitialNoise: len(x)=%d, want %d rngs * dim %d", len(x), len(rngs), dim))
	}
	for j, r := range rngs {
		for k := j * dim; k < (j+1)*dim; k++ {
			x[k] = float32(r.NormFloat64())
		}
	}
}

// ImageRNG returns the generator of the image whose own seed is seed
// (seed+i for the i-th image of a run started at seed, as genlab's PNG
// names record it). InitialNoise and the stochastic samplers draw from it,
// so that the image can be reproduced alone.
// It is genlab's one per-image derivation, noise.RNG, shared by every family.
func ImageRNG(seed uint64) *rand.Rand { return noise.RNG(seed) }

// ImageRNGs returns the generators of images first..first+n−1 of a run
// started at seed: ImageRNG(seed+first), …, ImageRNG(seed+first+n−1).
func ImageRNGs(seed uint64, first, n int) []*rand.Rand {
	rngs := make([]*rand.Rand, n)
	for j := range rngs {
		rngs[j] = ImageRNG(seed + uint64(first+j))
	}
	return rngs
}

// Sample runs the denoising loop from x_T to x_0: for each of
// s.Timesteps() it evaluates the model (twice under guidance), hands ε̂ to
// s.Step and stores the result back into x. The caller fills x, n images
// of dim values, with the initial noise (InitialNoise), and on success x
// holds the samples. rngs holds one generator per image for the
// stochastic samplers (DDPM, DDIM with η > 0); deterministic ones accept
// nil.
//
// guidance may be nil (no guidance). callback, if not nil, is called after
// each step with the number of steps done, the total, and the current
// prediction x̂0 (clipped to [−1, 1] unless the sampler's ClipX0 is off),
// for a live preview; x̂0 must not be kept after the callback returns. A
// non-nil error from callback stops the run and is returned as is.
//
// Sample checks ctx before every model call and returns ctx.Err() as soon
// as it is cancelled; x then holds the sample after the last completed
// step. A model error is returned wrapped with its timestep.
func Sample(ctx context.Context, model Model, s Sampler, x []float32, n, dim int, rngs []*rand.Rand, guidance *Guidance, callback func(step, total int, x0 []float32) error) error {
	return SampleFrom(ctx, model, s, 0, x, n, dim, rngs, guidance, callback)
}

// SampleFrom is Sample starting at step start instead of 0: x must hold
// x_t at t = s.Timesteps()[start], for example an image noised with
// Schedule.AddNoise, as image-to-image editing (SDEdit) does with
// start ≈ (1 − strength)·steps. The callback counts steps from start.
func SampleFrom(ctx context.Context, model Model, s Sampler, start int, x []float32, n, dim int, rngs []*rand.Rand, guidance *Guidance, callback func(step, total int, x0 []float32) error) error {
	ts := s.Timesteps()
	switch {
	case model == nil:
		return fmt.Errorf("diffusion: Sample: model is nil")
	case n < 1 || dim < 1 || len(x) != n*dim:
		return fmt.Errorf("diffusion: Sample: len(x)=%d for %d images of dim %d", len(x), n, dim)
	case rngs != nil && len(rngs) != n:
		return fmt.Errorf("diffusion: Sample: %d rngs for %d images, want one per image", len(rngs), n)
	case start < 0 || start >= len(ts):
		return fmt.Errorf("diffusion: Sample: start step %d outside 0..%d", start, len(ts)-1)
	case guidance != nil && guidance.Scale != 1 && guidance.Uncond == nil:
		return fmt.Errorf("diffusion: Sample: guidance scale %g needs an unconditional model (Guidance.Uncond)", guidance.Scale)
	}
	if guidance != nil {
		model = guidance.Guided(model)
	}

	t := make([]int, n)
	eps := make([]float32, len(x))
	total := len(ts) - start
	for i := start; i < len(ts); i++ {
		for j := range t {
			t[j] = ts[i]
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := model(ctx, x, t, eps); err != nil {
			if u := (uncondError{}); errors.As(err, &u) {
				return fmt.Errorf("diffusion: unconditional model at t=%d: %w", ts[i], u.err)
			}
			if errors.Is(err, ctx.Err()) {
				return err
			}
			return fmt.Errorf("diffusion: model at t=%d: %w", ts[i], err)
		}
		prev, x0, err := s.Step(i, eps, x, rngs)
		if err != nil {
			return err
		}
		copy(x, prev)
		if callback != nil {
			if err := callback(i-start+1, total, x0); err != nil {
				return err
			}
		}
	}
	return nil
}
