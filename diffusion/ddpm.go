package diffusion

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Variance is the fixed variance σ_t² of the reverse process
// p_θ(x_{t−1} | x_t) (Ho et al. 2020, §3.2). Its zero value is the
// posterior variance.
type Variance int

const (
	// PosteriorVariance is σ_t² = β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t) β_t, the
	// variance of q(x_{t−1} | x_t, x0), optimal for deterministic x0
	// ("fixedsmall" in the DDPM code).
	PosteriorVariance Variance = iota
	// BetaVariance is σ_t² = β_t, optimal for x0 ~ N(0, I) ("fixedlarge").
	BetaVariance
)

func (v Variance) String() string {
	switch v {
	case PosteriorVariance:
		return "posterior"
	case BetaVariance:
		return "beta"
	}
	return fmt.Sprintf("Variance(%d)", int(v))
}

// DDPM is ancestral sampling from the reverse process of Denoising
// Diffusion Probabilistic Models (Ho, Jain and Abbeel 2020, Algorithm 2).
// With fewer steps than T it samples the respaced process of Improved DDPM
// (Nichol & Dhariwal 2021, §4): between two visited timesteps the step's
// β is 1 − ᾱ_t/ᾱ_{t−1}, which is β_t itself when every step is visited.
//
// Build one with NewDDPM; it keeps no state between steps, but make a new
// one per run like every Sampler.
type DDPM struct {
	// Variance picks σ_t²: β̃_t (the zero value) or β_t.
	Variance Variance
	// ClipX0 clips the predicted x̂0 to [−1, 1] before the posterior mean
	// is formed (clip_denoised in the DDPM code). NewDDPM sets it.
	ClipX0 bool

	sched     Schedule
	timesteps []int
}

// NewDDPM returns an ancestral sampler of steps steps (1..sched.T; T for
// the original DDPM), with the posterior variance β̃_t and clipping of x̂0.
func NewDDPM(sched Schedule, steps int) (*DDPM, error) {
	ts, err := newRun("ddpm", sched, steps)
	if err != nil {
		return nil, err
	}
	return &DDPM{ClipX0: true, sched: sched, timesteps: ts}, nil
}

// Timesteps returns the timesteps of the run, EvenTimesteps(T, steps).
func (d *DDPM) Timesteps() []int { return slices.Clone(d.timesteps) }

// Step draws x_{t−1} ~ p_θ(x_{t−1} | x_t) (Ho et al. 2020, eqs. 6, 7, 15
// and Algorithm 2):
//
//	x, eps       x_t and ε_θ(x_t, t), t = Timesteps()[i]
//	t − 1        the next timestep, Timesteps()[i+1]; ᾱ = 1 after the last
//	a, aPrev     ᾱ_t and ᾱ_{t−1}
//	alpha, beta  α_t = ᾱ_t/ᾱ_{t−1} and β_t = 1 − α_t
//	x0           x̂0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t                     (eq. 15)
//	mean         μ̃_t(x_t, x̂0) = √ᾱ_{t−1} β_t/(1−ᾱ_t) x̂0
//	                           + √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) x_t         (eq. 7)
//	variance     σ_t² = β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t) β_t, or β_t
//	prev         x_{t−1} = μ̃_t + σ_t z,  z ~ N(0, I)
//
// The last step returns the mean, which is x̂0 (z = 0 at t = 1 in
// Algorithm 2); the noise of image j comes from rngs[j].
func (d *DDPM) Step(i int, eps, x []float32, rngs []*rand.Rand) (prev, x0 []float32, err error) {
	if err := checkStep("ddpm", i, d.timesteps, eps, x); err != nil {
		return nil, nil, err
	}
	last := i == len(d.timesteps)-1
	dim := len(x)
	if !last {
		if dim, err = imageDim("ddpm", x, rngs); err != nil {
			return nil, nil, err
		}
	}
	a := d.sched.alphaBar(d.timesteps[i])
	aPrev := d.sched.alphaBar(nextTimestep(d.timesteps, i))
	alpha := a / aPrev
	beta := 1 - alpha
	var sigma float64
	switch d.Variance {
	case PosteriorVariance:
		sigma = math.Sqrt((1 - aPrev) / (1 - a) * beta)
	case BetaVariance:
		sigma = math.Sqrt(beta)
	default:
		return nil, nil, fmt.Errorf("diffusion: ddpm: unknown variance %v", d.Variance)
	}
	if last {
		sigma = 0
	}

	x0 = predictX0(x, eps, a, d.ClipX0)
	cx0 := math.Sqrt(aPrev) * beta / (1 - a)
	cxt := math.Sqrt(alpha) * (1 - aPrev) / (1 - a)
	prev = make([]float32, len(x))
	for k := range x {
		v := cx0*float64(x0[k]) + cxt*float64(x[k])
		if sigma > 0 {
			v += sigma * rngs[k/dim].NormFloat64()
		}
		prev[k] = float32(v)
	}
	return prev, x0, nil
}
