package noise

import (
	"math"
	"testing"
)

// Slerp ends at its endpoints and keeps the norm of two orthogonal unit
// vectors (a straight line would shrink it to 1/√2 half way).
func TestSlerp(t *testing.T) {
	a, b := []float32{1, 0}, []float32{0, 1}
	for _, c := range []struct {
		t    float64
		want [2]float64
	}{
		{0, [2]float64{1, 0}},
		{1, [2]float64{0, 1}},
		{0.5, [2]float64{math.Sqrt2 / 2, math.Sqrt2 / 2}},
		{1.0 / 3, [2]float64{math.Cos(math.Pi / 6), math.Sin(math.Pi / 6)}},
	} {
		dst := make([]float32, 2)
		Slerp(dst, a, b, c.t)
		for i := range dst {
			if math.Abs(float64(dst[i])-c.want[i]) > 1e-6 {
				t.Errorf("slerp at %g: %v, want %v", c.t, dst, c.want)
			}
		}
	}
	// Parallel vectors: the linear path.
	dst := []float32{2, 2}
	Slerp(dst, dst, []float32{4, 4}, 0.25)
	if dst[0] != 2.5 || dst[1] != 2.5 {
		t.Errorf("parallel: %v, want 2.5 2.5", dst)
	}
	// Vary at strength 1 is the subseed's own noise.
	x := make([]float32, 8)
	Normal(x, RNG(1))
	Vary(x, 2, 1)
	want := make([]float32, 8)
	Normal(want, RNG(2))
	for i := range x {
		if math.Abs(float64(x[i]-want[i])) > 1e-5 {
			t.Fatalf("Vary at 1: %v, want %v", x, want)
		}
	}
}
