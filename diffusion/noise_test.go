package diffusion

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAddNoiseExact(t *testing.T) {
	s := Linear(1000, 1e-4, 0.02)
	x0 := []float32{1, -1, 0.5, 0, 0.25, -0.75}
	eps := []float32{0.1, 2, -1, 1, 0, -0.5}
	ts := []int{0, 999, 500}
	dst := make([]float32, len(x0))
	s.AddNoise(dst, x0, eps, ts, 2)
	for k := range dst {
		tk := ts[k/2]
		want := math.Sqrt(s.AlphasCumprod[tk])*float64(x0[k]) + math.Sqrt(1-s.AlphasCumprod[tk])*float64(eps[k])
		if !near(float64(dst[k]), want, 1e-6) {
			t.Errorf("x_t[%d] = %g, want √ᾱ x0 + √(1−ᾱ) ε = %g ± 1e-6", k, dst[k], want)
		}
	}
	// In place over x0 gives the same.
	inPlace := append([]float32(nil), x0...)
	s.AddNoise(inPlace, inPlace, eps, ts, 2)
	if maxAbsDiff(inPlace, dst) != 0 {
		t.Errorf("AddNoise in place = %v, want %v", inPlace, dst)
	}
}

// TestAddNoiseStatistics: with ε ~ N(0, 1), x_t of a constant image has
// mean √ᾱ x0 and variance 1 − ᾱ. Tolerances: 5 standard errors of the
// mean (σ/√N) and of the variance (σ²√(2/N)), N = 40000.
func TestAddNoiseStatistics(t *testing.T) {
	const dim, c = 40000, 0.5
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"linear", "cosine"} {
		s, _ := NewSchedule(name, 1000)
		for _, tt := range []int{0, 100, 500, 999} {
			x0 := make([]float32, dim)
			eps := make([]float32, dim)
			for k := range x0 {
				x0[k] = c
				eps[k] = float32(rng.NormFloat64())
			}
			xt := make([]float32, dim)
			s.AddNoise(xt, x0, eps, []int{tt}, dim)
			mean, sd := moments(xt)
			wantMean, wantVar := s.SqrtAlphaBar(tt)*c, 1-s.AlphasCumprod[tt]
			if tol := 5 * math.Sqrt(wantVar/dim); !near(mean, wantMean, tol) {
				t.Errorf("%s t=%d: mean %g, want %g ± %.2g", name, tt, mean, wantMean, tol)
			}
			if tol := 5 * wantVar * math.Sqrt(2.0/dim); !near(sd*sd, wantVar, tol) {
				t.Errorf("%s t=%d: variance %g, want %g ± %.2g", name, tt, sd*sd, wantVar, tol)
			}
		}
	}
}

func TestAddNoisePanics(t *testing.T) {
	s := Linear(10, 0.01, 0.1)
	cases := []struct {
		name string
		f    func()
	}{
		{"short dst", func() { s.AddNoise(make([]float32, 3), make([]float32, 4), make([]float32, 4), []int{0, 1}, 2) }},
		{"timestep T", func() { s.AddNoise(make([]float32, 2), make([]float32, 2), make([]float32, 2), []int{10}, 2) }},
		{"negative timestep", func() { s.AddNoise(make([]float32, 2), make([]float32, 2), make([]float32, 2), []int{-1}, 2) }},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: AddNoise did not panic", c.name)
				}
			}()
			c.f()
		}()
	}
}

// TestSampleTimesteps: 100000 draws over T=10 fall in 0..9, each value
// within 5% of its expected count 10000 (about 5 standard deviations).
func TestSampleTimesteps(t *testing.T) {
	const n, T = 100000, 10
	ts := SampleTimesteps(rand.New(rand.NewPCG(3, 4)), n, T)
	counts := make([]int, T)
	for _, v := range ts {
		if v < 0 || v >= T {
			t.Fatalf("timestep %d outside 0..%d", v, T-1)
		}
		counts[v]++
	}
	for v, c := range counts {
		if math.Abs(float64(c)-n/T) > 0.05*n/T {
			t.Errorf("timestep %d drawn %d times, want %d ± 5%%", v, c, n/T)
		}
	}
}

func TestNoisyBatch(t *testing.T) {
	s := Linear(1000, 1e-4, 0.02)
	x0 := make([]float32, 3*5)
	for k := range x0 {
		x0[k] = float32(k)/15 - 0.5
	}
	xt, eps, ts := s.NoisyBatch(rand.New(rand.NewPCG(5, 6)), x0, 3, 5)
	if len(xt) != len(x0) || len(eps) != len(x0) || len(ts) != 3 {
		t.Fatalf("NoisyBatch lengths %d, %d, %d", len(xt), len(eps), len(ts))
	}
	want := make([]float32, len(x0))
	s.AddNoise(want, x0, eps, ts, 5)
	if maxAbsDiff(xt, want) != 0 {
		t.Errorf("NoisyBatch x_t = %v, want AddNoise(x0, ε, t) = %v", xt, want)
	}
}
