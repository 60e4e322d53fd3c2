package flow

import (
	"math"
	"math/rand/v2"
	"testing"

	"genlab/models"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestFlowOpGradients(t *testing.T) {
	for _, c := range []struct {
		name   string
		shapes []tensor.Shape
		f      models.GraphFunc
	}{
		{"Squeeze2x", []tensor.Shape{{2, 3, 4, 6}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) { return Squeeze2x(in[0]) }},
		{"Unsqueeze2x", []tensor.Shape{{2, 8, 2, 3}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) { return Unsqueeze2x(in[0]) }},
		{"ActNorm", []tensor.Shape{{2, 3, 2, 3}, {3}, {3}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) {
			return ActNorm(in[0], in[1], in[2])
		}},
		{"AffineCoupling", []tensor.Shape{{2, 2, 3, 3}, {2, 4, 3, 3}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) {
			return AffineCoupling(in[0], in[1])
		}},
		{"CouplingLogDet", []tensor.Shape{{3, 4, 2, 2}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) { return CouplingLogDet(in[0]) }},
		{"GaussianLogDensity standard", []tensor.Shape{{3, 2, 2, 2}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) {
			return GaussianLogDensity(in[0], nil)
		}},
		{"GaussianLogDensity conditional", []tensor.Shape{{2, 2, 3, 2}, {2, 4, 3, 2}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) {
			return GaussianLogDensity(in[0], in[1])
		}},
		{"coupling step: actnorm, squeeze, coupling and its log-det", []tensor.Shape{{2, 1, 4, 4}, {1}, {1}, {2, 4, 2, 2}}, func(g *gorgonia.ExprGraph, in gorgonia.Nodes) (*gorgonia.Node, error) {
			h := gorgonia.Must(Squeeze2x(gorgonia.Must(ActNorm(in[0], in[1], in[2]))))
			y := gorgonia.Must(AffineCoupling(gorgonia.Must(models.SliceChannels(h, 0, 2)), in[3]))
			ld := gorgonia.Must(CouplingLogDet(gorgonia.Must(models.ConcatChannels(y, y))))
			return gorgonia.Add(gorgonia.Must(GaussianLogDensity(y, in[3])), ld)
		}},
	} {
		t.Run(c.name, func(t *testing.T) { models.GradCheck(t, c.shapes, c.f) })
	}
}

// luInputs are random LU parameters of a c×c weight with a random
// permutation and signs, as float64 graph inputs; perm and sign last.
func luInputs(g *gorgonia.ExprGraph, c int, rng *rand.Rand) gorgonia.Nodes {
	mk := func(name string, vals []float64, shape ...int) *gorgonia.Node {
		v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals))
		return gorgonia.NewTensor(g, tensor.Float64, len(shape), gorgonia.WithShape(shape...), gorgonia.WithValue(v), gorgonia.WithName(name))
	}
	randn := func(n int) []float64 {
		d := make([]float64, n)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		return d
	}
	perm, sign := make([]float64, c), make([]float64, c)
	for i, p := range rng.Perm(c) {
		perm[i] = float64(p)
		sign[i] = float64(2*rng.IntN(2) - 1)
	}
	return gorgonia.Nodes{mk("l", randn(c*c), c, c), mk("u", randn(c*c), c, c), mk("logs", randn(c), c), mk("perm", perm, c), mk("sign", sign, c)}
}

func TestLUWeightGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := gorgonia.NewGraph()
	in := luInputs(g, 5, rng)
	w, err := LUWeight(in[0], in[1], in[2], in[3], in[4])
	if err != nil {
		t.Fatal(err)
	}
	models.CompareWithDifferences(t, g, w, in[:3], rng, 25)
}

// The composed weight has log|det W| = Σ logs, and a conv with it is the
// matrix product over channels.
func TestLUWeightDeterminant(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := gorgonia.NewGraph()
	const c = 6
	in := luInputs(g, c, rng)
	w := gorgonia.Must(LUWeight(in[0], in[1], in[2], in[3], in[4]))
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	wv := w.Value().Data().([]float64)
	logDet, sign := mat.LogDet(mat.NewDense(c, c, append([]float64(nil), wv...)))
	want := 0.0
	for _, v := range in[2].Value().Data().([]float64) {
		want += v
	}
	if sign == 0 || math.Abs(logDet-want) > 1e-9 {
		t.Fatalf("log|det W| = %.12g (sign %v), Σ logs = %.12g", logDet, sign, want)
	}
}

func TestSqueezeLayout(t *testing.T) {
	// One 1×4×4 image numbered 0..15: channel 4c+2dy+dx at (i,j) is pixel (2i+dy, 2j+dx).
	x := make([]float64, 16)
	for i := range x {
		x[i] = float64(i)
	}
	y := make([]float64, 16)
	SqueezeData(x, y, 1, 1, 4, 4, false)
	want := []float64{0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15}
	for i := range want {
		if y[i] != want[i] {
			t.Fatalf("squeezed %v, want %v", y, want)
		}
	}
	back := make([]float64, 16)
	SqueezeData(y, back, 1, 1, 4, 4, true)
	for i := range x {
		if back[i] != x[i] {
			t.Fatalf("unsqueezed %v, want %v", back, x)
		}
	}
}
