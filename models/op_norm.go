package models

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GroupNorm as PyTorch's nn.GroupNorm: the channels of each sample are split
// into groups, each normalised to zero mean and unit variance (biased
// estimate), then scaled and shifted per channel. x is (N,C,...).
//
// It replaces gorgonia's GroupNorm, whose backward pass logs every gradient
// tensor, and fuses the affine part, which gorgonia does with two broadcasts.
func GroupNorm(x, gamma, beta *Node, groups int, eps float64) (*Node, error) {
	s := x.Shape()
	if len(s) < 3 || s[1]%groups != 0 || gamma.Shape().TotalSize() != s[1] || beta.Shape().TotalSize() != s[1] {
		return nil, fmt.Errorf("models: GroupNorm(%d groups) of %v with scale %v and shift %v", groups, s, gamma.Shape(), beta.Shape())
	}
	op := &groupNormOp{opBase: opBase{stateful("GroupNorm(%d,%g)", groups, eps), 3}, groups: groups, eps: eps, rank: len(s)}
	return gorgonia.ApplyOp(op, x, gamma, beta)
}

// groupNormOp keeps each group's mean and 1/σ of the last forward pass for
// the backward ops, which run later in the same tape.
type groupNormOp struct {
	opBase
	groups     int
	eps        float64
	rank       int
	mean, rstd []float64 // per (sample, group)
	out        outBuf
}

func (op *groupNormOp) Type() hm.Type { return fnType(op.rank, op.rank, 1, 1) }
func (op *groupNormOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}

// geometry: n samples, c channels, p positions per channel.
func ncp(s tensor.Shape) (n, c, p int) { return s[0], s[1], s.TotalSize() / (s[0] * s[1]) }

func (op *groupNormOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := ncp(v[0].Shape())
	if len(op.mean) != n*op.groups {
		op.mean, op.rstd = make([]float64, n*op.groups), make([]float64, n*op.groups)
	}
	y := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	return y, dispatch(v[0],
		func() {
			groupNormForward(op, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](y), n, c, p)
		},
		func() {
			groupNormForward(op, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](y), n, c, p)
		})
}

func groupNormForward[T Float](op *groupNormOp, x, gamma, beta, y []T, n, c, p int) {
	cg := c / op.groups
	m := cg * p
	parallelFor(n*op.groups, func(_, lo, hi int) {
		for ng := lo; ng < hi; ng++ {
			xs := x[ng*m : (ng+1)*m]
			// Two passes in float64: the variance of a shifted activation
			// loses digits in a one-pass float32 sum.
			var sum float64
			for _, v := range xs {
				sum += float64(v)
			}
			mean := sum / float64(m)
			var ss float64
			for _, v := range xs {
				d := float64(v) - mean
				ss += d * d
			}
			rstd := 1 / math.Sqrt(ss/float64(m)+op.eps)
			op.mean[ng], op.rstd[ng] = mean, rstd
			g0 := (ng % op.groups) * cg
			for j := 0; j < cg; j++ {
				a := T(rstd) * gamma[g0+j]
				b := beta[g0+j] - T(mean)*a
				row := xs[j*p : (j+1)*p]
				out := y[ng*m+j*p:][:p]
				for k, v := range row {
					out[k] = v*a + b
				}
			}
		}
	})
}

func (op *groupNormOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	dx, err := gorgonia.ApplyOp(&groupNormGradOp{opBase: opBase{"GroupNormDataGrad" + op.name[9:], 3}, fwd: op}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dgamma, err := gorgonia.ApplyOp(&groupNormGradOp{opBase: opBase{"GroupNormScaleGrad" + op.name[9:], 2}, fwd: op, scale: true}, in[0], grad)
	if err != nil {
		return nil, err
	}
	dbeta, err := gorgonia.ApplyOp(&channelSumOp{opBase: opBase{fmt.Sprintf("ChannelSum/%d", op.rank), 1}, rank: op.rank}, grad)
	if err != nil {
		return nil, err
	}
	return Nodes{dx, dgamma, dbeta}, nil
}

// groupNormGradOp computes dx from (x, γ, dy), or with scale set dγ from (x, dy),
// with the statistics its forward op kept.
type groupNormGradOp struct {
	opBase
	fwd   *groupNormOp
	scale bool
	out   outBuf
}

func (op *groupNormGradOp) Type() hm.Type {
	r := op.fwd.rank
	if op.scale {
		return fnType(1, r, r)
	}
	return fnType(r, r, 1, r)
}
func (op *groupNormGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.scale {
		return tensor.Shape{shapeOf(in[0])[1]}, nil
	}
	return shapeOf(in[0]).Clone(), nil
}
func (op *groupNormGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := ncp(v[0].Shape())
	if op.scale {
		dg := op.out.get(dtypeOf(v[0]), c)
		return dg, dispatch(v[0],
			func() {
				groupNormScaleGrad(op.fwd, slice[float32](v[0]), slice[float32](v[1]), slice[float32](dg), n, c, p)
			},
			func() {
				groupNormScaleGrad(op.fwd, slice[float64](v[0]), slice[float64](v[1]), slice[float64](dg), n, c, p)
			})
	}
	dx := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	return dx, dispatch(v[0],
		func() {
			groupNormDataGrad(op.fwd, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](dx), n, c, p)
		},
		func() {
			groupNormDataGrad(op.fwd, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](dx), n, c, p)
		})
}

// groupNormDataGrad: with x̂ = (x-μ)/σ and g = γ·dy over one group of m values,
// dx = (g - mean(g) - x̂·mean(g·x̂)) / σ.
func groupNormDataGrad[T Float](op *groupNormOp, x, gamma, dy, dx []T, n, c, p int) {
	cg := c / op.groups
	m := cg * p
	parallelFor(n*op.groups, func(_, lo, hi int) {
		for ng := lo; ng < hi; ng++ {
			mean, rstd := op.mean[ng], op.rstd[ng]
			g0 := (ng % op.groups) * cg
			var sg, sgx float64
			for j := 0; j < cg; j++ {
				gm := float64(gamma[g0+j])
				off := ng*m + j*p
				for k := 0; k < p; k++ {
					g := gm * float64(dy[off+k])
					sg += g
					sgx += g * (float64(x[off+k]) - mean) * rstd
				}
			}
			sg /= float64(m)
			sgx /= float64(m)
			for j := 0; j < cg; j++ {
				gm := float64(gamma[g0+j])
				off := ng*m + j*p
				for k := 0; k < p; k++ {
					xh := (float64(x[off+k]) - mean) * rstd
					dx[off+k] = T((gm*float64(dy[off+k]) - sg - xh*sgx) * rstd)
				}
			}
		}
	})
}

// groupNormScaleGrad: dγ[c] = Σ dy·x̂ over samples and positions.
func groupNormScaleGrad[T Float](op *groupNormOp, x, dy, dg []T, n, c, p int) {
	cg := c / op.groups
	acc := make([]float64, c)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			ng := i*op.groups + ch/cg
			mean, rstd := op.mean[ng], op.rstd[ng]
			off := (i*c + ch) * p
			var s float64
			for k := 0; k < p; k++ {
				s += float64(dy[off+k]) * (float64(x[off+k]) - mean)
			}
			acc[ch] += s * rstd
		}
	}
	for ch := range dg {
		dg[ch] = T(acc[ch])
	}
}
