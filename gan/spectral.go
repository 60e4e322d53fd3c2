package gan

import (
	"math"
	"math/rand/v2"
	"strings"

	"genlab/models"

	"gorgonia.org/tensor"
)

// spectral is spectral normalisation (Miyato et al. 2018) of the
// discriminator's conv and linear weights, done on the host: the graphs
// read a second store holding Ŵ = W/σ(W), σ estimated by one power
// iteration per discriminator step, and the gradients they return for Ŵ are
// mapped back to the raw W the optimizer updates:
// ∂L/∂W = (G − ⟨G, Ŵ⟩·u vᵀ)/σ with G = ∂L/∂Ŵ (u, v held fixed, as in the paper).
type spectral struct {
	raw, norm *models.Params
	u, v      map[string][]float64
	sigma     map[string]float64
	names     []string
}

func newSpectral(raw *models.Params, seed uint64) *spectral {
	s := &spectral{raw: raw, norm: raw.Clone(), u: map[string][]float64{}, v: map[string][]float64{}, sigma: map[string]float64{}}
	rng := rand.New(rand.NewPCG(seed, 0x736e))
	for _, n := range raw.Names() {
		if !strings.HasSuffix(n, ".weight") {
			continue
		}
		sh := raw.Get(n).Shape()
		out := sh[0]
		u := make([]float64, out)
		for i := range u {
			u[i] = rng.NormFloat64()
		}
		unit(u)
		s.u[n] = u
		s.v[n] = make([]float64, sh.TotalSize()/out)
		s.names = append(s.names, n)
	}
	s.refresh(true)
	return s
}

func unit(x []float64) {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	k := 1 / (math.Sqrt(ss) + 1e-12)
	for i := range x {
		x[i] *= k
	}
}

// refresh recomputes Ŵ from the raw weights (biases copied), after one
// power iteration when iterate is set.
func (s *spectral) refresh(iterate bool) {
	for _, n := range s.raw.Names() {
		w := s.raw.Float32s(n)
		u, ok := s.u[n]
		if !ok {
			_ = s.norm.SetFloat32s(n, w)
			continue
		}
		v := s.v[n]
		rows, cols := len(u), len(v)
		if iterate {
			clear(v)
			for i := 0; i < rows; i++ {
				for j, x := range w[i*cols : (i+1)*cols] {
					v[j] += float64(x) * u[i]
				}
			}
			unit(v)
			for i := 0; i < rows; i++ {
				d := 0.0
				for j, x := range w[i*cols : (i+1)*cols] {
					d += float64(x) * v[j]
				}
				u[i] = d
			}
			unit(u)
		}
		sigma := 0.0
		for i := 0; i < rows; i++ {
			d := 0.0
			for j, x := range w[i*cols : (i+1)*cols] {
				d += float64(x) * v[j]
			}
			sigma += u[i] * d
		}
		sigma = max(sigma, 1e-8)
		s.sigma[n] = sigma
		out := make([]float32, len(w))
		for i, x := range w {
			out[i] = float32(float64(x) / sigma)
		}
		_ = s.norm.SetFloat32s(n, out)
	}
}

// rawGrads maps the gradients w.r.t. Ŵ in place to gradients w.r.t. W.
func (s *spectral) rawGrads(grads map[string]*tensor.Dense) {
	for _, n := range s.names {
		gt, ok := grads[n]
		if !ok {
			continue
		}
		g := gt.Data().([]float32)
		wh := s.norm.Float32s(n)
		u, v, sigma := s.u[n], s.v[n], s.sigma[n]
		dot := 0.0
		for i, x := range g {
			dot += float64(x) * float64(wh[i])
		}
		cols := len(v)
		for i := range u {
			for j := range v {
				k := i*cols + j
				g[k] = float32((float64(g[k]) - dot*u[i]*v[j]) / sigma)
			}
		}
	}
}
