package diffusion

import (
	"context"
	"math"
)

// Oracle models: ε-predictors that know the data distribution exactly, so
// that a sampler's output can be checked against the truth.

// pointOracle knows that every image is xstar (dim values): then
// x_t = √ᾱ x* + √(1−ᾱ) ε exactly, and ε̂ = (x_t − √ᾱ x*)/√(1−ᾱ).
func pointOracle(s Schedule, xstar []float32) Model {
	dim := len(xstar)
	return func(_ context.Context, x []float32, t []int, eps []float32) error {
		for k := range x {
			tk := t[k/dim]
			a, b := s.SqrtAlphaBar(tk), s.SqrtOneMinusAlphaBar(tk)
			eps[k] = float32((float64(x[k]) - a*float64(xstar[k%dim])) / b)
		}
		return nil
	}
}

// gaussOracle knows that every value is drawn from N(mu, sd²)
// independently: x_t ~ N(a mu, a² sd² + b²) with a = √ᾱ, b = √(1−ᾱ), and
// the optimal prediction is E[ε | x_t] = b (x_t − a mu)/(a² sd² + b²).
func gaussOracle(s Schedule, mu, sd float64) Model {
	return func(_ context.Context, x []float32, t []int, eps []float32) error {
		dim := len(x) / len(t)
		for k := range x {
			tk := t[k/dim]
			a, b := s.SqrtAlphaBar(tk), s.SqrtOneMinusAlphaBar(tk)
			eps[k] = float32(b * (float64(x[k]) - a*mu) / (a*a*sd*sd + b*b))
		}
		return nil
	}
}

// gaussODE is the exact solution of the probability-flow ODE for
// N(mu, sd²) data, from x at timestep t to clean data: the standardized
// value z = (x_t − a mu)/√(a² sd² + b²) is constant along it, so
// x0 = mu + sd z.
func gaussODE(s Schedule, mu, sd float64, x []float32, t int) []float32 {
	a, b := s.SqrtAlphaBar(t), s.SqrtOneMinusAlphaBar(t)
	out := make([]float32, len(x))
	for k := range x {
		z := (float64(x[k]) - a*mu) / math.Sqrt(a*a*sd*sd+b*b)
		out[k] = float32(mu + sd*z)
	}
	return out
}

// moments returns the mean and standard deviation of x.
func moments(x []float32) (mean, sd float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		d := float64(v) - mean
		sd += d * d
	}
	return mean, math.Sqrt(sd / float64(len(x)))
}

// rms returns the root-mean-square difference of x and y.
func rms(x, y []float32) float64 {
	var s float64
	for k := range x {
		d := float64(x[k]) - float64(y[k])
		s += d * d
	}
	return math.Sqrt(s / float64(len(x)))
}

// maxAbsDiff returns max |x − y|.
func maxAbsDiff(x, y []float32) float64 {
	var m float64
	for k := range x {
		m = max(m, math.Abs(float64(x[k])-float64(y[k])))
	}
	return m
}

// run samples n images of dim values from seed with the named sampler,
// returning the images.
func run(t interface {
	Helper()
	Fatal(...any)
}, name string, sched Schedule, steps int, eta float64, model Model, seed uint64, n, dim int, clip bool) []float32 {
	t.Helper()
	s, err := NewSampler(name, sched, steps, eta)
	if err != nil {
		t.Fatal(err)
	}
	setClip(s, clip)
	rngs := ImageRNGs(seed, 0, n)
	x := make([]float32, n*dim)
	InitialNoise(x, rngs, dim)
	if err := Sample(context.Background(), model, s, x, n, dim, rngs, nil, nil); err != nil {
		t.Fatal(err)
	}
	return x
}

// setClip sets the ClipX0 field of any of the package's samplers.
func setClip(s Sampler, clip bool) {
	switch s := s.(type) {
	case *DDPM:
		s.ClipX0 = clip
	case *DDIM:
		s.ClipX0 = clip
	case *DPMSolver:
		s.ClipX0 = clip
	}
}
