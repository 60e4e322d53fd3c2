package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The gradient checks run in float64; training runs the float32 kernels,
// some of which are separate code (the exponential, SIMD rows). These tests
// run an op in both precisions on the same values and compare the outputs
// and the gradients of Σ f·R.

// run32or64 evaluates f and the gradients of Σ f·R on vals in dtype dt.
func run32or64(t *testing.T, dt tensor.Dtype, vals []*tensor.Dense, r *tensor.Dense, f graphFn) (out []float64, grads [][]float64) {
	t.Helper()
	conv := func(v *tensor.Dense) *tensor.Dense {
		if dt == tensor.Float64 {
			return v.Clone().(*tensor.Dense)
		}
		d := make([]float32, v.Shape().TotalSize())
		for i, x := range v.Data().([]float64) {
			d[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(v.Shape()...), tensor.WithBacking(d))
	}
	f64 := func(v gorgonia.Value) []float64 {
		switch d := v.Data().(type) {
		case []float64:
			return append([]float64(nil), d...)
		case []float32:
			o := make([]float64, len(d))
			for i, x := range d {
				o[i] = float64(x)
			}
			return o
		}
		t.Fatalf("unexpected value %T", v.Data())
		return nil
	}
	g := gorgonia.NewGraph()
	var ins Nodes
	for i, v := range vals {
		ins = append(ins, gorgonia.NewTensor(g, dt, v.Dims(), gorgonia.WithShape(v.Shape()...),
			gorgonia.WithValue(conv(v)), gorgonia.WithName(string(rune('a'+i)))))
	}
	o, err := f(g, ins)
	if err != nil {
		t.Fatal(err)
	}
	rn := gorgonia.NewTensor(g, dt, r.Dims(), gorgonia.WithShape(r.Shape()...), gorgonia.WithValue(conv(r)), gorgonia.WithName("r"))
	cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(o, rn))))
	if _, err := gorgonia.Grad(cost, ins...); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(ins...))
	defer vm.Close()
	// Twice: kernels keep buffers between runs, and the second run must
	// not depend on what the first left in them.
	for k := 0; k < 2; k++ {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
	}
	out = f64(o.Value())
	for _, n := range ins {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, f64(gv))
	}
	return out, grads
}

// maxRelDiff is max|a−b| over max(1e-3, max|b|).
func maxRelDiff(a, b []float64) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Abs(b[i]))
	}
	return d / math.Max(s, 1e-3)
}

// check32 compares f in float32 with f in float64 on the same values.
func check32(t *testing.T, shapes []tensor.Shape, f graphFn, tol float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	round := func(v *tensor.Dense) *tensor.Dense { // exactly representable in float32
		for i, x := range v.Data().([]float64) {
			v.Data().([]float64)[i] = float64(float32(x))
		}
		return v
	}
	var vals []*tensor.Dense
	for _, s := range shapes {
		vals = append(vals, round(randDense(rng, s...)))
	}
	r := round(randDense(rng, outShape(t, vals, f)...))
	o64, g64 := run32or64(t, tensor.Float64, vals, r, f)
	o32, g32 := run32or64(t, tensor.Float32, vals, r, f)
	if d := maxRelDiff(o32, o64); d > tol {
		t.Errorf("output: float32 differs from float64 by %.3g (relative)", d)
	}
	for i := range g64 {
		if d := maxRelDiff(g32[i], g64[i]); d > tol {
			t.Errorf("gradient %d: float32 differs from float64 by %.3g (relative)", i, d)
		}
	}
}

// outShape is the shape f gives on inputs of vals' shapes.
func outShape(t *testing.T, vals []*tensor.Dense, f graphFn) tensor.Shape {
	t.Helper()
	g := gorgonia.NewGraph()
	var ins Nodes
	for i, v := range vals {
		ins = append(ins, gorgonia.NewTensor(g, tensor.Float64, v.Dims(), gorgonia.WithShape(v.Shape()...), gorgonia.WithName(string(rune('a'+i)))))
	}
	o, err := f(g, ins)
	if err != nil {
		t.Fatal(err)
	}
	return o.Shape().Clone()
}

func TestFloat32KernelsMatchFloat64(t *testing.T) {
	for _, c := range []struct {
		name   string
		shapes []tensor.Shape
		f      graphFn
	}{
		{"GroupNorm", []tensor.Shape{{3, 8, 6, 7}, {8}, {8}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return GroupNorm(in[0], in[1], in[2], 4, 1e-5)
		}},
		{"GroupNormSiLU", []tensor.Shape{{3, 8, 6, 7}, {8}, {8}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return GroupNormSiLU(in[0], in[1], in[2], 4, 1e-5)
		}},
		{"SiLU", []tensor.Shape{{3, 5, 37}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return SiLU(in[0]) }},
		{"Conv2d 3x3 same", []tensor.Shape{{3, 5, 9, 8}, {6, 5, 3, 3}, {6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Conv2d(in[0], in[1], in[2], 1, 1)
		}},
		{"Conv2d 3x3 shifted", []tensor.Shape{{3, 9, 7, 8}, {6, 9, 3, 3}, {6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Conv2d(in[0], in[1], in[2], 1, 1)
		}},
		{"Conv2d 3x3 stride 2 C_in 9", []tensor.Shape{{3, 9, 9, 8}, {6, 9, 3, 3}, {6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Conv2d(in[0], in[1], in[2], 2, 1)
		}},
		{"Conv2d 3x3 stride 2", []tensor.Shape{{3, 5, 9, 8}, {6, 5, 3, 3}, {6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Conv2d(in[0], in[1], in[2], 2, 1)
		}},
		{"Conv2d 1x1", []tensor.Shape{{3, 5, 4, 4}, {6, 5, 1, 1}, {6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Conv2d(in[0], in[1], in[2], 1, 0)
		}},
		{"Conv2dAdd 3x3 embedding", []tensor.Shape{{3, 5, 9, 8}, {6, 5, 3, 3}, {6}, {3, 6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Conv2dAdd(in[0], in[1], in[2], in[3], nil, 1, 1)
		}},
		{"Conv2dAdd 3x3 residual", []tensor.Shape{{3, 9, 7, 8}, {6, 9, 3, 3}, {6}, {3, 6, 7, 8}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Conv2dAdd(in[0], in[1], in[2], nil, in[3], 1, 1)
		}},
		{"AddPerChannel", []tensor.Shape{{3, 4, 5, 5}, {3, 4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return AddPerChannel(in[0], in[1]) }},
		{"Attention", []tensor.Shape{{2, 8, 19}, {2, 8, 19}, {2, 8, 19}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Attention(in[0], in[1], in[2], 2)
		}},
	} {
		// Every variant of the C kernels this CPU can run.
		for _, l := range kernelLevels() {
			t.Run(fmt.Sprintf("%s/level%d", c.name, l), func(t *testing.T) {
				defer setKernelLevel(setKernelLevel(l))
				check32(t, c.shapes, c.f, 2e-5)
			})
		}
	}
}
