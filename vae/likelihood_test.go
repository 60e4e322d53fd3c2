package vae

import (
	"math"
	"testing"

	"genlab/models"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestLogProbSumsToOne(t *testing.T) {
	for _, c := range []struct{ mu, logs float64 }{
		{0, -2}, {0.3, -4}, {-0.9, -1}, {1.2, 0.5}, {-1, -7}, {0.5, 3}, {0.999, -6},
	} {
		s := 0.0
		for k := 0; k < 256; k++ {
			lp := LogProb(k, c.mu, c.logs)
			if math.IsNaN(lp) || lp > 1e-12 {
				t.Fatalf("μ=%v log s=%v: log P(%d) = %v", c.mu, c.logs, k, lp)
			}
			s += math.Exp(lp)
		}
		if math.Abs(s-1) > 1e-9 {
			t.Errorf("μ=%v log s=%v: Σ P = %.12f, want 1", c.mu, c.logs, s)
		}
	}
	// Far tails stay finite (no log 0).
	if lp := LogProb(128, -1, -7); math.IsInf(lp, 0) || math.IsNaN(lp) {
		t.Errorf("far tail: %v", lp)
	}
}

// likelihoodGraph is −Σ log P(x) over parameters "mu" and "raw" (the
// unbounded log-scale) of dtype dt, for the given 8-bit levels.
func likelihoodGraph(t *testing.T, dt tensor.Dtype, k []int) (*models.Params, *models.Machine) {
	t.Helper()
	shape := []int{1, 1, 1, len(k)}
	p := models.NewParams(dt, 3)
	p.Add("mu", shape, models.Uniform(0.9))
	p.Add("raw", shape, models.Uniform(2))
	g := models.NewGraph(p)
	x, nt, nb, in := g.Input("x", shape...), g.Input("nt", shape...), g.Input("nb", shape...), g.Input("in", shape...)
	o := &ops{g: g}
	lp := o.discLogistic(x, g.Param("mu"), o.logScale(g.Param("raw")), nt, nb, in)
	loss := o.unary(gorgonia.Neg, lp)
	if o.err != nil || g.Err() != nil {
		t.Fatal(o.err, g.Err())
	}
	m, err := g.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	n := len(k)
	xs, a, b, c := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	likelihoodInputs(k, xs, a, b, c)
	for name, v := range map[string][]float32{"x": xs, "nt": a, "nb": b, "in": c} {
		if err := m.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	return p, m
}

var testLevels = []int{0, 255, 1, 254, 128, 40, 200, 0, 255, 90}

func TestGraphLikelihoodMatchesLogProb(t *testing.T) {
	p, m := likelihoodGraph(t, tensor.Float32, testLevels)
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	mu, raw := p.Float32s("mu"), p.Float32s("raw")
	want := 0.0
	for i, k := range testLevels {
		want -= LogProb(k, float64(mu[i]), boundedLogScale(float64(raw[i])))
	}
	if got := m.Loss(); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Fatalf("graph −log P = %v, float64 reference %v", got, want)
	}
}

// TestGraphLikelihoodGradient checks the graph's gradients in float64
// against central finite differences.
func TestGraphLikelihoodGradient(t *testing.T) {
	p, m := likelihoodGraph(t, tensor.Float64, testLevels)
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	grads, err := m.Grads()
	if err != nil {
		t.Fatal(err)
	}
	an := map[string][]float64{}
	for name, g := range grads {
		an[name] = append([]float64(nil), g.Data().([]float64)...)
	}
	const h = 1e-6
	for _, name := range []string{"mu", "raw"} {
		w := p.Get(name).Data().([]float64)
		for i := range w {
			orig := w[i]
			w[i] = orig + h
			m.ZeroGrads()
			if err := m.Run(); err != nil {
				t.Fatal(err)
			}
			up := m.Loss()
			w[i] = orig - h
			m.ZeroGrads()
			if err := m.Run(); err != nil {
				t.Fatal(err)
			}
			down := m.Loss()
			w[i] = orig
			num := (up - down) / (2 * h)
			if d := math.Abs(num - an[name][i]); d > 1e-5*math.Max(1, math.Abs(num)) {
				t.Errorf("d/d%s[%d]: analytic %.8g, numeric %.8g", name, i, an[name][i], num)
			}
		}
	}
}
