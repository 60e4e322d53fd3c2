package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFrechetDistanceOfDiagonalGaussians(t *testing.T) {
	// For diagonal covariances the distance has a closed form:
	// |Δμ|² + Σ (σ₁ᵢ − σ₂ᵢ)² with σ the standard deviations.
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d = 40000, 3
	mu1, sd1 := []float64{0, 1, -2}, []float64{1, 2, 0.5}
	mu2, sd2 := []float64{0.5, 1, -1}, []float64{1.5, 1, 0.5}
	draw := func(mu, sd []float64) []float32 {
		f := make([]float32, n*d)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				f[i*d+j] = float32(mu[j] + sd[j]*rng.NormFloat64())
			}
		}
		return f
	}
	a, err := FitGaussian(draw(mu1, sd1), n, d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FitGaussian(draw(mu2, sd2), n, d)
	want := 0.0
	for j := 0; j < d; j++ {
		want += (mu1[j]-mu2[j])*(mu1[j]-mu2[j]) + (sd1[j]-sd2[j])*(sd1[j]-sd2[j])
	}
	got, err := FrechetDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 0.05 {
		t.Fatalf("Fréchet distance %.4f, want %.4f (±0.05 sampling error)", got, want)
	}
	self, _ := FrechetDistance(a, a)
	if math.Abs(self) > 1e-9 {
		t.Fatalf("distance of a Gaussian to itself %.3g, want 0", self)
	}
}

func TestClassMetrics(t *testing.T) {
	h := ClassHistogram([]int{0, 1, 1, 3}, 4)
	if h[0] != 0.25 || h[1] != 0.5 || h[2] != 0 || h[3] != 0.25 {
		t.Fatalf("histogram %v", h)
	}
	if a := ClassAccuracy([]int{1, 2, 3, 4}, []int{1, 2, 0, 4}); a != 0.75 {
		t.Fatalf("accuracy %v", a)
	}
}
