package models

import (
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GraphFunc builds an op's output from its inputs in g, for GradCheck.
type GraphFunc = func(g *gorgonia.ExprGraph, in Nodes) (*Node, error)

// TB is the part of testing.TB a gradient check reports to.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatal(args ...any)
}

// GradCheck compares the gradients gorgonia computes through f, with respect
// to random float64 inputs of the given shapes, with central differences.
func GradCheck(t TB, shapes []tensor.Shape, f GraphFunc) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	g := gorgonia.NewGraph()
	var ins Nodes
	for i, s := range shapes {
		v := tensor.New(tensor.WithShape(s...), tensor.Of(tensor.Float64))
		for j := range v.Data().([]float64) {
			v.Data().([]float64)[j] = rng.NormFloat64()
		}
		ins = append(ins, gorgonia.NewTensor(g, tensor.Float64, len(s), gorgonia.WithShape(s...),
			gorgonia.WithValue(v), gorgonia.WithName(string(rune('a'+i)))))
	}
	out, err := f(g, ins)
	if err != nil {
		t.Fatal(err)
	}
	rv := tensor.New(tensor.WithShape(out.Shape()...), tensor.Of(tensor.Float64))
	for j := range rv.Data().([]float64) {
		rv.Data().([]float64)[j] = rng.NormFloat64()
	}
	CompareWithDifferences(t, g, out, ins, rng, 60)
}

// CompareWithDifferences differentiates Σ out·R (R fixed and random, so
// every output element's gradient path is exercised) with respect to wrt,
// then checks each gradient against central differences at up to maxProbe
// random elements of each node, in float64.
func CompareWithDifferences(t TB, g *gorgonia.ExprGraph, out *Node, wrt Nodes, rng *rand.Rand, maxProbe int) {
	t.Helper()
	const (
		h   = 1e-6
		tol = 1e-6 // on |num-ana| / max(1, |num|, |ana|)
	)
	rv := tensor.New(tensor.WithShape(out.Shape()...), tensor.Of(tensor.Float64))
	for j := range rv.Data().([]float64) {
		rv.Data().([]float64)[j] = rng.NormFloat64()
	}
	r := gorgonia.NewTensor(g, tensor.Float64, out.Dims(), gorgonia.WithShape(out.Shape()...), gorgonia.WithValue(rv), gorgonia.WithName("r"))
	cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, r))))
	if _, err := gorgonia.Grad(cost, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(wrt...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var grads [][]float64
	for _, n := range wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, append([]float64(nil), gv.Data().([]float64)...))
	}
	eval := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return cost.Value().Data().(float64)
	}
	for i, n := range wrt {
		data := n.Value().Data().([]float64)
		probe := rng.Perm(len(data))
		if len(probe) > maxProbe {
			probe = probe[:maxProbe]
		}
		for _, j := range probe {
			old := data[j]
			data[j] = old + h
			fp := eval()
			data[j] = old - h
			fm := eval()
			data[j] = old
			num := (fp - fm) / (2 * h)
			ana := grads[i][j]
			if d := math.Abs(num-ana) / math.Max(1, math.Max(math.Abs(num), math.Abs(ana))); d > tol || math.IsNaN(d) {
				t.Errorf("%s %v element %d: analytic %.9g, numeric %.9g", n.Name(), n.Shape(), j, ana, num)
			}
		}
	}
}
