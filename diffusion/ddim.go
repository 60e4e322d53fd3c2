package diffusion

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// DDIM is the sampler of Denoising Diffusion Implicit Models (Song, Meng
// and Ermon 2021): the non-Markovian reverse process that shares DDPM's
// marginals, so a network trained with the DDPM loss can be sampled in
// any number of steps. Eta = 0 gives the deterministic sampler (the
// Euler method on the probability-flow ODE in the paper's §4.3 variables);
// Eta = 1 adds DDPM's posterior noise.
//
// Build one with NewDDIM; it keeps no state between steps, but make a new
// one per run like every Sampler.
type DDIM struct {
	// Eta (η, eq. 16) scales the noise of each step, in [0, 1].
	Eta float64
	// ClipX0 clips the predicted x̂0 to [−1, 1], the data range, before
	// it is used (and ε̂ is re-derived from the clipped x̂0, as diffusers
	// does). NewDDIM sets it.
	ClipX0 bool

	sched     Schedule
	timesteps []int
}

// NewDDIM returns a DDIM sampler of steps steps (1..sched.T) at noise
// level eta (0..1), clipping x̂0.
func NewDDIM(sched Schedule, steps int, eta float64) (*DDIM, error) {
	if !(eta >= 0 && eta <= 1) {
		return nil, fmt.Errorf("diffusion: ddim sampler: eta=%g, want in [0, 1] (0 = deterministic, 1 = DDPM-like noise)", eta)
	}
	ts, err := newRun("ddim", sched, steps)
	if err != nil {
		return nil, err
	}
	return &DDIM{Eta: eta, ClipX0: true, sched: sched, timesteps: ts}, nil
}

// Timesteps returns the timesteps of the run, EvenTimesteps(T, steps).
func (d *DDIM) Timesteps() []int { return slices.Clone(d.timesteps) }

// Step is one DDIM update (Song et al. 2021, eq. 12 with σ from eq. 16):
//
//	x, eps        x_t and ε_θ(x_t, t), t = Timesteps()[i]
//	t − 1         the next timestep, Timesteps()[i+1]; ᾱ = 1 after the last
//	a, aPrev      ᾱ_t and ᾱ_{t−1}  (the paper's α_t and α_{t−1})
//	x0            x̂0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t        "predicted x_0"
//	sigma         σ_t = η √((1−ᾱ_{t−1})/(1−ᾱ_t)) √(1 − ᾱ_t/ᾱ_{t−1})
//	prev          x_{t−1} = √ᾱ_{t−1} x̂0                  "predicted x_0"
//	                      + √(1−ᾱ_{t−1}−σ_t²) ε̂        "direction pointing to x_t"
//	                      + σ_t z,  z ~ N(0, I)           "random noise"
//
// The noise of image j comes from rngs[j]; with η = 0, or on the last step
// (σ = 0 there), rngs is not used.
func (d *DDIM) Step(i int, eps, x []float32, rngs []*rand.Rand) (prev, x0 []float32, err error) {
	if err := checkStep("ddim", i, d.timesteps, eps, x); err != nil {
		return nil, nil, err
	}
	if !(d.Eta >= 0 && d.Eta <= 1) {
		return nil, nil, fmt.Errorf("diffusion: ddim: eta=%g, want in [0, 1]", d.Eta)
	}
	a := d.sched.alphaBar(d.timesteps[i])
	aPrev := d.sched.alphaBar(nextTimestep(d.timesteps, i))
	sigma := d.Eta * math.Sqrt((1-aPrev)/(1-a)*(1-a/aPrev))
	dim := len(x)
	if sigma > 0 {
		if dim, err = imageDim("ddim", x, rngs); err != nil {
			return nil, nil, err
		}
	}

	x0 = predictX0(x, eps, a, d.ClipX0)
	cx0 := math.Sqrt(aPrev)
	cEps := math.Sqrt(max(0, 1-aPrev-sigma*sigma))
	sa, sb := math.Sqrt(a), math.Sqrt(1-a)
	prev = make([]float32, len(x))
	for k := range x {
		e := float64(eps[k])
		if d.ClipX0 {
			e = (float64(x[k]) - sa*float64(x0[k])) / sb
		}
		v := cx0*float64(x0[k]) + cEps*e
		if sigma > 0 {
			v += sigma * rngs[k/dim].NormFloat64()
		}
		prev[k] = float32(v)
	}
	return prev, x0, nil
}
