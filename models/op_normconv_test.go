package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

// normConvCase is conv(silu(norm(x))) + e + r on n images of c×h×w.
type normConvCase struct {
	n, cin, groups, cout, h, w int
	e, r                       bool
}

// runNormConv builds "conv(silu(norm(x)))" (+ e, + r) in a training graph
// or an inference one over p and returns its output on the given inputs.
func runNormConv(t *testing.T, p *Params, c normConvCase, infer bool, x, e, r []float32) []float64 {
	t.Helper()
	nm := Norm{Name: "n", Groups: c.groups, Channels: c.cin}
	cv := Conv{Name: "c", In: c.cin, Out: c.cout, K: 3, Stride: 1, Pad: 1}
	g := NewGraph(p)
	if infer {
		g.ForInference()
	}
	xn := g.Input("x", c.n, c.cin, c.h, c.w)
	var en, rn *Node
	if c.e {
		en = g.Input("e", c.n, c.cout)
	}
	if c.r {
		rn = g.Input("r", c.n, c.cout, c.h, c.w)
	}
	out := nm.FwdSiLUConv(g, cv, xn, en, rn)
	m, err := g.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	set := func(name string, v []float32) {
		if v != nil {
			if err := m.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	set("x", x)
	set("e", e)
	set("r", r)
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	switch d := out.Value().Data().(type) {
	case []float32:
		o := make([]float64, len(d))
		for i, v := range d {
			o[i] = float64(v)
		}
		return o
	default:
		return slices.Clone(d.([]float64))
	}
}

// The inference graph's fused NormSiLUConv gives the bytes of
// GroupNormSiLU then Conv2dAdd, the training graph's ops, for every kernel
// variant, in float32 and float64, one image or a batch, on one worker or
// two.
func TestNormSiLUConvIsTheOpsInARow(t *testing.T) {
	cases := []normConvCase{
		{1, 8, 4, 6, 7, 5, true, false}, {3, 8, 4, 6, 7, 5, true, false},
		{3, 16, 8, 16, 6, 6, false, true}, {2, 4, 2, 1, 9, 9, false, false}, {1, 6, 3, 5, 4, 11, true, true},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, c := range cases {
			p := NewParams(dt, 3)
			NewNorm(p, "n", c.groups, c.cin)
			NewConv(p, "c", c.cin, c.cout, 3, 1, 1)
			for _, name := range []string{"n.weight", "n.bias"} { // not 1 and 0
				for i := range c.cin {
					p.Get(name).SetAt(float32ish(dt, 1+0.3*rng.NormFloat64()), i)
				}
			}
			x := randFloats32(rng, c.n*c.cin*c.h*c.w)
			for i := range x {
				x[i] = 3*x[i] + 0.5 // off zero mean and unit variance
			}
			var e, r []float32
			if c.e {
				e = randFloats32(rng, c.n*c.cout)
			}
			if c.r {
				r = randFloats32(rng, c.n*c.cout*c.h*c.w)
			}
			for _, level := range kernelLevels() {
				for _, wk := range []int{1, 2} {
					t.Run(fmt.Sprintf("%v/%+v/level%d/workers%d", dt, c, level, wk), func(t *testing.T) {
						defer setKernelLevel(setKernelLevel(level))
						defer SetWorkers(SetWorkers(wk))
						want := runNormConv(t, p, c, false, x, e, r)
						got := runNormConv(t, p, c, true, x, e, r)
						if !slices.Equal(got, want) {
							t.Fatalf("the fused op differs from the ops in a row")
						}
					})
				}
			}
		}
	}
}

func float32ish(dt tensor.Dtype, v float64) any {
	if dt == tensor.Float32 {
		return float32(v)
	}
	return v
}

// Each C variant of the normalisation into padded planes against its Go
// instance, within rounding (their sums have different partial sums, as
// GroupNorm's C and Go); and the planes' borders stay zero.
func TestGNSiLUPadMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range []normConvCase{{1, 8, 4, 6, 7, 5, false, false}, {1, 32, 8, 32, 14, 14, false, false}} {
		g := convGeom{cin: c.cin, cout: c.cout, k: 3, stride: 1, pad: 1}
		sg := newShiftGeom(g, c.h, c.w)
		x, gamma, beta := randFloats32(rng, c.cin*c.h*c.w), randFloats32(rng, c.cin), randFloats32(rng, c.cin)
		mean, rstd := make([]float64, c.groups), make([]float64, c.groups)
		want := make([]float32, sg.planes())
		gnSiLUPadGo(sg, x, gamma, beta, want, mean, rstd, 0, c.groups, c.cin/c.groups, 1e-5)
		for _, level := range kernelLevels() {
			old := setKernelLevel(level)
			got := make([]float32, sg.planes())
			gnSiLUPad32(sg, x, gamma, beta, got, mean, rstd, 0, c.groups, c.cin/c.groups, 1e-5)
			setKernelLevel(old)
			for i, v := range got {
				if math.Abs(float64(v-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("level %d, %+v: xp[%d] = %g, Go %g", level, c, i, v, want[i])
				}
			}
		}
		for ch := 0; ch < c.cin; ch++ {
			for q := 0; q < sg.pp; q++ {
				row, col := q/sg.wq, q%sg.wq
				inside := row >= 1 && row <= c.h && col >= 1 && col <= c.w
				if v := want[ch*sg.pp+q]; !inside && v != 0 {
					t.Fatalf("%+v: border of plane %d at %d holds %g", c, ch, q, v)
				}
			}
		}
	}
}

// A graph built for inference (with its fused ops) refuses a loss.
func TestInferenceGraphRefusesALoss(t *testing.T) {
	p := NewParams(tensor.Float32, 0)
	u, err := NewUNet(p, UNetConfig{Channels: 16, TimeDim: 32, Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGraph(p)
	g.ForInference()
	y := u.Fwd(g, g.Input("x", 2, 1, 28, 28), g.Input("temb", 2, 32), nil)
	if _, err := g.Compile(g.MSE(y, g.Input("noise", 2, 1, 28, 28))); err == nil {
		t.Fatal("an inference graph compiled a loss")
	}
}

// The inference graph's fused UpsampleConv gives the bytes of Upsample2x
// then Conv2d, for every kernel variant, in float32 and float64, one image
// or a batch, on one worker or two.
func TestUpsampleConvIsTheOpsInARow(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, c := range []convCase{{6, 5, 3, 1, 1, 4, 3}, {16, 8, 3, 1, 1, 7, 7}, {2, 3, 3, 1, 1, 1, 5}} {
			p := NewParams(dt, 4)
			cv := NewConv(p, "c", c.cin, c.cout, c.k, c.stride, c.pad)
			for _, n := range []int{1, 3} {
				x := randFloats32(rng, n*c.cin*c.h*c.w)
				run := func(infer bool) []float64 {
					g := NewGraph(p)
					if infer {
						g.ForInference()
					}
					out := cv.FwdUp(g, g.Input("x", n, c.cin, c.h, c.w))
					m, err := g.Compile(nil)
					if err != nil {
						t.Fatal(err)
					}
					defer m.Close()
					if err := m.Set("x", x); err != nil {
						t.Fatal(err)
					}
					if err := m.Run(); err != nil {
						t.Fatal(err)
					}
					if d, ok := out.Value().Data().([]float32); ok {
						o := make([]float64, len(d))
						for i, v := range d {
							o[i] = float64(v)
						}
						return o
					}
					return slices.Clone(out.Value().Data().([]float64))
				}
				for _, level := range kernelLevels() {
					for _, wk := range []int{1, 2} {
						t.Run(fmt.Sprintf("%v/%+v/b%d/level%d/workers%d", dt, c, n, level, wk), func(t *testing.T) {
							defer setKernelLevel(setKernelLevel(level))
							defer SetWorkers(SetWorkers(wk))
							if !slices.Equal(run(true), run(false)) {
								t.Fatalf("the fused op differs from the ops in a row")
							}
						})
					}
				}
			}
		}
	}
}
