package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

type graphFn = func(g *gorgonia.ExprGraph, in Nodes) (*Node, error)

func TestOpGradients(t *testing.T) {
	for _, c := range []struct {
		name   string
		shapes []tensor.Shape
		f      graphFn
	}{
		{"Linear", []tensor.Shape{{3, 5}, {4, 5}, {4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Linear(in[0], in[1], in[2]) }},
		{"GroupNorm NCHW", []tensor.Shape{{2, 6, 3, 4}, {6}, {6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return GroupNorm(in[0], in[1], in[2], 3, 1e-5)
		}},
		{"GroupNorm NCL", []tensor.Shape{{2, 4, 5}, {4}, {4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return GroupNorm(in[0], in[1], in[2], 2, 1e-5)
		}},
		{"GroupNormSiLU NCHW", []tensor.Shape{{2, 6, 3, 4}, {6}, {6}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return GroupNormSiLU(in[0], in[1], in[2], 3, 1e-5)
		}},
		{"GroupNormSiLU NCL", []tensor.Shape{{2, 4, 5}, {4}, {4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return GroupNormSiLU(in[0], in[1], in[2], 2, 1e-5)
		}},
		{"SiLU", []tensor.Shape{{2, 3, 4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return SiLU(in[0]) }},
		{"Add", []tensor.Shape{{2, 3, 4}, {2, 3, 4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Add(in[0], in[1]) }},
		{"Add residuals", []tensor.Shape{{2, 3, 4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			// x + silu(x), then that plus itself and silu of it: shared gradients.
			h, err := Add(in[0], gorgonia.Must(SiLU(in[0])))
			if err != nil {
				return nil, err
			}
			h2, err := Add(h, h)
			if err != nil {
				return nil, err
			}
			return Add(h2, gorgonia.Must(SiLU(h)))
		}},
		{"AddPerChannel", []tensor.Shape{{2, 3, 2, 2}, {2, 3}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return AddPerChannel(in[0], in[1]) }},
		{"ConcatChannels", []tensor.Shape{{2, 3, 2, 2}, {2, 2, 2, 2}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return ConcatChannels(in[0], in[1]) }},
		{"SliceChannels", []tensor.Shape{{2, 5, 3}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return SliceChannels(in[0], 1, 4) }},
		{"Upsample2x", []tensor.Shape{{2, 2, 3, 2}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Upsample2x(in[0]) }},
		{"SwapLastAxes", []tensor.Shape{{2, 3, 4}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return SwapLastAxes(in[0]) }},
		{"Attention self", []tensor.Shape{{2, 4, 5}, {2, 4, 5}, {2, 4, 5}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Attention(in[0], in[1], in[2], 2)
		}},
		{"Attention cross", []tensor.Shape{{2, 6, 5}, {2, 6, 3}, {2, 6, 3}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
			return Attention(in[0], in[1], in[2], 3)
		}},
	} {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c.shapes, c.f) })
	}
}

// forward runs f once on the given float64 inputs and returns its output.
func forward(t *testing.T, f graphFn, vals ...*tensor.Dense) []float64 {
	t.Helper()
	g := gorgonia.NewGraph()
	var ins Nodes
	for i, v := range vals {
		// Named: gorgonia merges unnamed inputs of equal type and shape.
		ins = append(ins, gorgonia.NewTensor(g, tensor.Float64, v.Dims(), gorgonia.WithShape(v.Shape()...),
			gorgonia.WithValue(v), gorgonia.WithName(string(rune('a'+i)))))
	}
	out, err := f(g, ins)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), out.Value().Data().([]float64)...)
}

func randDense(rng *rand.Rand, shape ...int) *tensor.Dense {
	v := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float64))
	for i := range v.Data().([]float64) {
		v.Data().([]float64)[i] = rng.NormFloat64()
	}
	return v
}

func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %.9g, want %.9g", what, i, got[i], want[i])
		}
	}
}

// The forward passes against direct definitions (the gradient checks only
// show that backward matches forward).
func TestConv2dMatchesDirectDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ cin, cout, k, s, p, h, w int }{
		{3, 4, 3, 1, 1, 6, 5}, {2, 3, 3, 2, 1, 7, 8}, {4, 2, 1, 1, 0, 3, 3}, {1, 2, 5, 1, 2, 6, 6},
		// C_in ≥ 8: the shifted-GEMM forward pass at stride 1, im2col otherwise.
		{8, 3, 3, 1, 1, 6, 5}, {9, 4, 3, 2, 1, 7, 8}, {8, 3, 3, 2, 1, 6, 6}, {8, 3, 3, 1, 0, 6, 5},
		{8, 2, 5, 2, 2, 9, 7}, {8, 2, 3, 3, 1, 8, 7}, {8, 2, 4, 2, 1, 7, 6},
	} {
		x, w, b := randDense(rng, 2, c.cin, c.h, c.w), randDense(rng, c.cout, c.cin, c.k, c.k), randDense(rng, c.cout)
		got := forward(t, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Conv2d(in[0], in[1], in[2], c.s, c.p) }, x, w, b)
		ho, wo := (c.h+2*c.p-c.k)/c.s+1, (c.w+2*c.p-c.k)/c.s+1
		xd, wd, bd := x.Data().([]float64), w.Data().([]float64), b.Data().([]float64)
		var want []float64
		for n := 0; n < 2; n++ {
			for o := 0; o < c.cout; o++ {
				for oy := 0; oy < ho; oy++ {
					for ox := 0; ox < wo; ox++ {
						s := bd[o]
						for i := 0; i < c.cin; i++ {
							for ky := 0; ky < c.k; ky++ {
								for kx := 0; kx < c.k; kx++ {
									iy, ix := oy*c.s-c.p+ky, ox*c.s-c.p+kx
									if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w {
										s += xd[((n*c.cin+i)*c.h+iy)*c.w+ix] * wd[((o*c.cin+i)*c.k+ky)*c.k+kx]
									}
								}
							}
						}
						want = append(want, s)
					}
				}
			}
		}
		assertClose(t, "conv", got, want, 1e-12)
	}
}

func TestGroupNormNormalises(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := randDense(rng, 2, 4, 3, 3)
	for i := range x.Data().([]float64) {
		x.Data().([]float64)[i] = 5 + 3*x.Data().([]float64)[i]
	}
	ones := tensor.New(tensor.WithBacking([]float64{1, 1, 1, 1}))
	zeros := tensor.New(tensor.WithBacking([]float64{0, 0, 0, 0}))
	y := forward(t, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return GroupNorm(in[0], in[1], in[2], 2, 0) }, x, ones, zeros)
	for grp := 0; grp < 4; grp++ { // 2 samples × 2 groups of 18 values
		var s, ss float64
		for _, v := range y[grp*18 : (grp+1)*18] {
			s += v
			ss += v * v
		}
		if math.Abs(s/18) > 1e-12 || math.Abs(ss/18-1) > 1e-12 {
			t.Errorf("group %d: mean %g, variance %g", grp, s/18, ss/18)
		}
	}
}

func TestAttentionRowsMixValues(t *testing.T) {
	// With q = 0 every weight is 1/Pk, so each output is the mean of v.
	rng := rand.New(rand.NewPCG(7, 8))
	q := tensor.New(tensor.WithShape(1, 2, 3), tensor.Of(tensor.Float64))
	k, v := randDense(rng, 1, 2, 4), randDense(rng, 1, 2, 4)
	got := forward(t, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Attention(in[0], in[1], in[2], 1) }, q, k, v)
	vd := v.Data().([]float64)
	var want []float64
	for c := 0; c < 2; c++ {
		m := (vd[c*4] + vd[c*4+1] + vd[c*4+2] + vd[c*4+3]) / 4
		want = append(want, m, m, m)
	}
	assertClose(t, "attention", got, want, 1e-12)
}

func TestGroupNormSiLUMatchesComposition(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x, gm, bt := randDense(rng, 3, 8, 4, 5), randDense(rng, 8), randDense(rng, 8)
	fused := forward(t, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
		return GroupNormSiLU(in[0], in[1], in[2], 4, 1e-5)
	}, x, gm, bt)
	composed := forward(t, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
		n, err := GroupNorm(in[0], in[1], in[2], 4, 1e-5)
		if err != nil {
			return nil, err
		}
		return SiLU(n)
	}, x, gm, bt)
	assertClose(t, "GroupNormSiLU", fused, composed, 1e-14)
}

func TestConv2dShiftedGradients(t *testing.T) {
	for _, c := range []struct {
		name                string
		cin, cout, k, h, wd int
	}{
		{"3x3 one channel in", 1, 3, 3, 5, 6},
		{"3x3 one channel out", 3, 1, 3, 6, 5},
		{"5x5", 2, 3, 5, 6, 7},
		{"3x3 on 1xW", 2, 2, 3, 1, 4},
		{"3x3 shifted", 8, 3, 3, 5, 4},
		{"5x5 shifted", 9, 2, 5, 4, 6},
		{"3x3 shifted on 1xW", 8, 2, 3, 1, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			gradCheck(t, []tensor.Shape{{3, c.cin, c.h, c.wd}, {c.cout, c.cin, c.k, c.k}, {c.cout}},
				func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Conv2d(in[0], in[1], in[2], 1, (c.k-1)/2) })
		})
	}
	// Strided and unpadded convs with C_in ≥ 8.
	for _, c := range []struct {
		name                      string
		cin, cout, k, s, p, h, wd int
	}{
		{"3x3 stride 2 even", 8, 3, 3, 2, 1, 6, 6},
		{"3x3 stride 2 odd", 8, 2, 3, 2, 1, 7, 5},
		{"3x3 valid", 8, 2, 3, 1, 0, 5, 6},
		{"5x5 stride 2", 8, 2, 5, 2, 2, 7, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			gradCheck(t, []tensor.Shape{{2, c.cin, c.h, c.wd}, {c.cout, c.cin, c.k, c.k}, {c.cout}},
				func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Conv2d(in[0], in[1], in[2], c.s, c.p) })
		})
	}
}
