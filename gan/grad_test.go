package gan

import (
	"math"
	"math/rand/v2"
	"testing"

	"genlab/models"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The conditional players' gradients (the projection term, the class
// vectors) against central finite differences, in float64.
func TestConditionalGradients(t *testing.T) {
	c := DefaultConfig(1, 8)
	c.ZDim, c.GenCh, c.DiscCh, c.Groups, c.Classes = 3, 4, 2, 2, 3
	const n = 2
	p := models.NewParams(tensor.Float64, 5)
	G, D := NewGenerator(p, c), NewDiscriminator(p, c)
	g := models.NewGraph(p)
	z := g.Input("z", n, c.ZDim)
	y := g.Input("class", n)
	x, err := G.Fwd(g, z, y)
	if err != nil {
		t.Fatal(err)
	}
	s, err := D.Fwd(g, x, y)
	if err != nil {
		t.Fatal(err)
	}
	// A loss with uneven weights per sample, so every path matters.
	w := gorgonia.NewConstant(tensor.New(tensor.WithShape(n, 1), tensor.WithBacking([]float64{0.7, -1.3})))
	loss, err := gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(s, w)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := g.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, zs := 0, m.Input("z").Data().([]float64); i < len(zs); i++ {
		zs[i] = rng.NormFloat64()
	}
	if err := m.Set("class", []float32{2, 0}); err != nil {
		t.Fatal(err)
	}
	eval := func() float64 {
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		return m.Loss()
	}
	eval()
	grads, err := m.Grads()
	if err != nil {
		t.Fatal(err)
	}
	analytic := map[string][]float64{}
	for name, gr := range grads {
		analytic[name] = append([]float64(nil), gr.Data().([]float64)...)
	}
	m.ZeroGrads()
	for _, name := range []string{"d.embed.weight", "class_emb.weight", "d.c2.weight", "d.fc.weight", "fc.weight"} {
		vals := p.Get(name).Data().([]float64)
		for _, i := range []int{0, len(vals) / 2, len(vals) - 1} {
			const h = 1e-6
			old := vals[i]
			vals[i] = old + h
			up := eval()
			vals[i] = old - h
			down := eval()
			vals[i] = old
			num := (up - down) / (2 * h)
			got := analytic[name][i]
			if math.Abs(num-got) > 1e-5*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: autodiff %.8g, finite differences %.8g", name, i, got, num)
			}
		}
	}
}
