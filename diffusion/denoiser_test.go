package diffusion

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDenoiserIsClassifierFreeGuidance: Network.Denoiser, the guided
// ε-model every front end and task uses, is ε_u + w·(ε_c − ε_u) in
// diffusers' convention: w = 0 is the unconditional model exactly, w = 1
// the conditional one exactly, and other scales cost two evaluations.
func TestDenoiserIsClassifierFreeGuidance(t *testing.T) {
	cfg, err := NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewNetwork(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 2
	dim := net.Dim()
	x := make([]float32, n*dim)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	ts := []int{500, 500}
	eval := func(m Model) []float32 {
		eps := make([]float32, n*dim)
		if err := m(ctx, x, ts, eps); err != nil {
			t.Fatal(err)
		}
		return eps
	}
	cond := Condition{Classes: []int{3, 7}}
	null, _ := net.NullCondition(n)
	c, u := eval(net.CondModel(net.Params, cond)), eval(net.CondModel(net.Params, null))
	for _, w := range []float64{0, 1, 2.5} {
		m, evals := net.Denoiser(net.Params, cond, w)
		if want := map[bool]int{true: 1, false: 2}[w == 0 || w == 1]; evals != want {
			t.Errorf("w=%g: %d evaluations, want %d", w, evals, want)
		}
		got := eval(m)
		for i := range got {
			want := float64(u[i]) + w*(float64(c[i])-float64(u[i]))
			if d := math.Abs(float64(got[i]) - want); d > 1e-6 || (w == 0 && got[i] != u[i]) || (w == 1 && got[i] != c[i]) {
				t.Fatalf("w=%g: value %d is %g, want %g", w, i, got[i], want)
			}
		}
	}
	// An unconditional network has nothing to guide: any scale is the model.
	ucfg, _ := NewConfig("tiny", 1, 28, "none", 0)
	unet, err := NewNetwork(ucfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, evals := unet.Denoiser(unet.Params, Condition{}, 0); evals != 1 {
		t.Errorf("an unconditional network guided: %d evaluations", evals)
	}
}
