package diffusion

import (
	"fmt"
	"math/rand/v2"
)

// AddNoise draws x_t from q(x_t | x0) given the noise (Ho et al. 2020, eq. 4):
//
//	x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε
//
// for each image j of a batch: x0, eps and dst hold len(t) images of dim
// values each (dim = C*H*W), and image j uses timestep t[j]. dst may be x0
// or eps. This is the forward process of the DDPM training loss
// ‖ε − ε_θ(x_t, t)‖² (L_simple, eq. 14); the network side lives in models.
// It panics if the lengths disagree or a timestep is outside 0..T-1.
func (s Schedule) AddNoise(dst, x0, eps []float32, t []int, dim int) {
	n := len(t)
	if dim < 1 || len(x0) != n*dim || len(eps) != n*dim || len(dst) != n*dim {
		panic(fmt.Sprintf("diffusion: AddNoise: %d timesteps of dim %d, but len(dst)=%d, len(x0)=%d, len(eps)=%d", n, dim, len(dst), len(x0), len(eps)))
	}
	for j, tj := range t {
		if tj < 0 || tj >= s.T {
			panic(fmt.Sprintf("diffusion: AddNoise: timestep t[%d]=%d outside 0..%d", j, tj, s.T-1))
		}
		a, b := s.SqrtAlphaBar(tj), s.SqrtOneMinusAlphaBar(tj)
		lo := j * dim
		for i := lo; i < lo+dim; i++ {
			dst[i] = float32(a*float64(x0[i]) + b*float64(eps[i]))
		}
	}
}

// SampleTimesteps returns n timesteps drawn uniformly from 0..T-1, the
// t ~ U{1..T} of DDPM's training (Ho et al. 2020, Algorithm 1).
func SampleTimesteps(rng *rand.Rand, n, T int) []int {
	if T < 1 || n < 0 {
		panic(fmt.Sprintf("diffusion: SampleTimesteps: n=%d, T=%d", n, T))
	}
	t := make([]int, n)
	for i := range t {
		t[i] = rng.IntN(T)
	}
	return t
}

// NoisyBatch prepares one training batch of the DDPM loss from clean images
// x0 (n images of dim values, scaled to [−1, 1]): it draws t ~ U{0..T-1} and
// ε ~ N(0, I) from rng and returns x_t = AddNoise(x0, ε, t), ε (the target
// the network regresses) and t.
func (s Schedule) NoisyBatch(rng *rand.Rand, x0 []float32, n, dim int) (xt, eps []float32, t []int) {
	if n < 0 || dim < 1 || len(x0) != n*dim {
		panic(fmt.Sprintf("diffusion: NoisyBatch: len(x0)=%d, want n*dim = %d*%d", len(x0), n, dim))
	}
	t = SampleTimesteps(rng, n, s.T)
	eps = make([]float32, len(x0))
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
	}
	xt = make([]float32, len(x0))
	s.AddNoise(xt, x0, eps, t, dim)
	return xt, eps, t
}
