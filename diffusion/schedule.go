package diffusion

import (
	"fmt"
	"math"
	"strings"
)

// Schedule is a discrete noise schedule of T steps. Timesteps are indexed
// 0..T-1 as in diffusers: index t holds the paper's step t+1, so
// AlphasCumprod[0] is ᾱ_1 (nearly clean) and AlphasCumprod[T-1] is ᾱ_T
// (nearly pure noise). The paper's ᾱ_0 = 1 is implicit.
//
//	Betas[t]         β_{t+1}
//	Alphas[t]        α_{t+1} = 1 − β_{t+1}
//	AlphasCumprod[t] ᾱ_{t+1} = Π_{s≤t+1} α_s
type Schedule struct {
	Betas, Alphas, AlphasCumprod []float64
	T                            int
}

// scheduleNames are the names NewSchedule accepts.
var scheduleNames = []string{"linear", "cosine"}

// NewSchedule returns the named schedule with T steps:
//
//   - "linear": DDPM's betas from 1e-4 to 0.02 at T=1000, scaled by 1000/T
//     for other T as in Improved DDPM (Nichol & Dhariwal 2021,
//     get_named_beta_schedule), so that ᾱ_T stays near 4e-5. It needs
//     T >= 21 (otherwise β would reach 1).
//   - "cosine": Cosine(T, 0.008), the offset of Nichol & Dhariwal 2021.
func NewSchedule(name string, T int) (Schedule, error) {
	if T < 1 {
		return Schedule{}, fmt.Errorf("diffusion: schedule %q with T=%d steps: T must be at least 1", name, T)
	}
	switch strings.ToLower(name) {
	case "linear":
		scale := 1000 / float64(T)
		if 0.02*scale >= 1 {
			return Schedule{}, fmt.Errorf("diffusion: linear schedule with T=%d: betas scaled by 1000/T reach 1; use T >= 21 or the cosine schedule", T)
		}
		return Linear(T, 1e-4*scale, 0.02*scale), nil
	case "cosine":
		return Cosine(T, 0.008), nil
	}
	return Schedule{}, fmt.Errorf("diffusion: unknown schedule %q (valid: %s)", name, strings.Join(scheduleNames, ", "))
}

// Linear returns the linear beta schedule of DDPM (Ho et al. 2020, §4):
// β_t evenly spaced from betaStart to betaEnd, 1e-4..0.02 at T=1000.
// It panics unless T >= 1 and 0 < betaStart, betaEnd < 1.
func Linear(T int, betaStart, betaEnd float64) Schedule {
	if T < 1 {
		panic(fmt.Sprintf("diffusion: Linear: T=%d, want >= 1", T))
	}
	if !(betaStart > 0 && betaStart < 1 && betaEnd > 0 && betaEnd < 1) {
		panic(fmt.Sprintf("diffusion: Linear: betas %g..%g, want both in (0, 1)", betaStart, betaEnd))
	}
	betas := make([]float64, T)
	for t := range betas {
		if T == 1 {
			betas[t] = betaStart
			break
		}
		betas[t] = betaStart + float64(t)*((betaEnd-betaStart)/float64(T-1))
	}
	return fromBetas(betas)
}

// Cosine returns the cosine schedule of Improved DDPM (Nichol & Dhariwal
// 2021, eq. 17): ᾱ(u) = f(u)/f(0) with f(u) = cos²((u+s)/(1+s) · π/2), and
// β_t = 1 − ᾱ(t/T)/ᾱ((t−1)/T) clipped at 0.999 so that the last steps do not
// become singular. s = 0.008 in the paper. It panics unless T >= 1 and s > 0.
func Cosine(T int, s float64) Schedule {
	if T < 1 {
		panic(fmt.Sprintf("diffusion: Cosine: T=%d, want >= 1", T))
	}
	if !(s > 0) {
		panic(fmt.Sprintf("diffusion: Cosine: offset s=%g, want > 0", s))
	}
	f := func(u float64) float64 {
		c := math.Cos((u + s) / (1 + s) * math.Pi / 2)
		return c * c
	}
	betas := make([]float64, T)
	for t := range betas {
		b := 1 - f(float64(t+1)/float64(T))/f(float64(t)/float64(T))
		betas[t] = min(b, 0.999)
	}
	return fromBetas(betas)
}

// fromBetas fills Alphas and AlphasCumprod from betas.
func fromBetas(betas []float64) Schedule {
	s := Schedule{Betas: betas, Alphas: make([]float64, len(betas)), AlphasCumprod: make([]float64, len(betas)), T: len(betas)}
	prod := 1.0
	for t, b := range betas {
		s.Alphas[t] = 1 - b
		prod *= 1 - b
		s.AlphasCumprod[t] = prod
	}
	return s
}

// Validate reports whether s is a usable schedule: T >= 1, all three
// slices of length T, betas in (0, 1) and ᾱ the running product of 1−β.
func (s Schedule) Validate() error {
	if err := s.check(); err != nil {
		return fmt.Errorf("diffusion: %w", err)
	}
	return nil
}

// check is Validate without the package prefix, for callers that add
// their own.
func (s Schedule) check() error {
	if s.T < 1 {
		return fmt.Errorf("schedule has T=%d steps, want >= 1 (build one with NewSchedule, Linear or Cosine)", s.T)
	}
	if len(s.Betas) != s.T || len(s.Alphas) != s.T || len(s.AlphasCumprod) != s.T {
		return fmt.Errorf("schedule with T=%d has %d betas, %d alphas and %d cumulative alphas", s.T, len(s.Betas), len(s.Alphas), len(s.AlphasCumprod))
	}
	prod := 1.0
	for t, b := range s.Betas {
		if !(b > 0 && b < 1) {
			return fmt.Errorf("schedule beta[%d]=%g, want in (0, 1)", t, b)
		}
		prod *= 1 - b
		if math.Abs(s.Alphas[t]-(1-b)) > 1e-12 || math.Abs(s.AlphasCumprod[t]-prod) > 1e-9*prod+1e-15 {
			return fmt.Errorf("schedule alphas at t=%d do not match its betas", t)
		}
	}
	return nil
}

// SqrtAlphaBar returns √ᾱ_t, the signal scale of x_t.
func (s Schedule) SqrtAlphaBar(t int) float64 { return math.Sqrt(s.AlphasCumprod[t]) }

// SqrtOneMinusAlphaBar returns √(1−ᾱ_t), the noise scale of x_t.
func (s Schedule) SqrtOneMinusAlphaBar(t int) float64 { return math.Sqrt(1 - s.AlphasCumprod[t]) }

// alphaBar returns ᾱ_t, and 1 (the clean data) for t < 0: samplers use
// t = -1 as the target of their last step.
func (s Schedule) alphaBar(t int) float64 {
	if t < 0 {
		return 1
	}
	return s.AlphasCumprod[t]
}
