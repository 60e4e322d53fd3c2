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
	return groupNorm(x, gamma, beta, groups, eps, false)
}

// GroupNormSiLU is SiLU(GroupNorm(x, gamma, beta)) as one op, the
// "silu(norm(x))" that opens every residual block and closes the UNet: one
// pass over each group (which sits in cache) computes the statistics and the
// output; the backward pass recomputes the normalised value and its sigmoid
// from x and the kept statistics. These kernels are limited by memory
// traffic, not arithmetic, so recomputing the sigmoid costs less than
// writing it in the forward pass and reading it back.
func GroupNormSiLU(x, gamma, beta *Node, groups int, eps float64) (*Node, error) {
	return groupNorm(x, gamma, beta, groups, eps, true)
}

func groupNorm(x, gamma, beta *Node, groups int, eps float64, silu bool) (*Node, error) {
	s := x.Shape()
	if len(s) < 3 || groups <= 0 || s[1]%groups != 0 || gamma.Shape().TotalSize() != s[1] || beta.Shape().TotalSize() != s[1] {
		return nil, fmt.Errorf("models: GroupNorm(%d groups) of %v with scale %v and shift %v", groups, s, gamma.Shape(), beta.Shape())
	}
	name := "GroupNorm"
	if silu {
		name = "GroupNormSiLU"
	}
	op := &groupNormOp{opBase: opBase{stateful("%s(%d,%g)", name, groups, eps), 3}, groups: groups, eps: eps, rank: len(s), silu: silu}
	return gorgonia.ApplyOp(op, x, gamma, beta)
}

// groupNormOp keeps what its backward ops, which run later in the same tape,
// need: each group's mean and 1/σ of the last forward pass, and the
// per-(sample, channel) sums of the last backward pass from which the scale
// and shift gradients follow.
type groupNormOp struct {
	opBase
	groups     int
	eps        float64
	rank       int
	silu       bool
	mean, rstd []float64 // per (sample, group)
	sdz, sdzx  []float64 // per (sample, channel): Σ dz and Σ dz·x̂
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
	op.mean, op.rstd = grow(op.mean, n*op.groups), grow(op.rstd, n*op.groups)
	y := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	return y, dispatch(v[0],
		func() {
			groupNormForward(op, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](y), n, c, p)
		},
		func() {
			groupNormForward(op, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](y), n, c, p)
		})
}

// gnAffine is the per-channel form of the normalisation, z = x·a + b with
// a = γ/σ and b = β − μ·a; forward and backward compute it the same way.
func gnAffine[T Float](gamma, beta T, mean, rstd float64) (a, b T) {
	a = T(rstd) * gamma
	return a, beta - T(mean)*a
}

func groupNormForward[T Float](op *groupNormOp, x, gamma, beta, y []T, n, c, p int) {
	parallelFor(n*op.groups, func(_, lo, hi int) {
		if x, ok := any(x).([]float32); ok {
			gnForward32(op, x, any(gamma).([]float32), any(beta).([]float32), any(y).([]float32), lo, hi, c, p)
			return
		}
		groupNormForwardRange(op, x, gamma, beta, y, lo, hi, c, p)
	})
}

// groupNormForwardRange normalises groups [lo,hi) (sample·groups + group).
func groupNormForwardRange[T Float](op *groupNormOp, x, gamma, beta, y []T, lo, hi, c, p int) {
	cg := c / op.groups
	m := cg * p
	for ng := lo; ng < hi; ng++ {
		xs := x[ng*m : (ng+1)*m]
		// Two passes in float64 over a group that sits in cache: the
		// variance of a shifted activation loses digits in a one-pass
		// float32 sum.
		mean := sumF64(xs) / float64(m)
		rstd := 1 / math.Sqrt(sqDevF64(xs, mean)/float64(m)+op.eps)
		op.mean[ng], op.rstd[ng] = mean, rstd
		g0 := (ng % op.groups) * cg
		for j := 0; j < cg; j++ {
			a, b := gnAffine(gamma[g0+j], beta[g0+j], mean, rstd)
			out := y[ng*m+j*p:][:p]
			affineRow(xs[j*p:(j+1)*p], out, a, b)
			if op.silu {
				siluRow(out, nil, out)
			}
		}
	}
}

func (op *groupNormOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	id := op.name[len("GroupNorm"):]
	dx, err := gorgonia.ApplyOp(&groupNormGradOp{opBase: opBase{"GroupNormDataGrad" + id, 4}, fwd: op}, in[0], in[1], in[2], grad)
	if err != nil {
		return nil, err
	}
	// The scale and shift gradients are reductions of sums the data
	// gradient's pass leaves in op; dx is their input so the tape runs them
	// after it.
	dgamma, err := gorgonia.ApplyOp(&groupNormParamGradOp{opBase: opBase{"GroupNormScaleGrad" + id, 1}, fwd: op, scale: true}, dx)
	if err != nil {
		return nil, err
	}
	dbeta, err := gorgonia.ApplyOp(&groupNormParamGradOp{opBase: opBase{"GroupNormShiftGrad" + id, 1}, fwd: op}, dx)
	if err != nil {
		return nil, err
	}
	return Nodes{dx, dgamma, dbeta}, nil
}

// groupNormGradOp computes dx from (x, γ, β, dy) with the statistics its
// forward op kept, and leaves in the forward op the sums the
// scale and shift gradients are made of.
type groupNormGradOp struct {
	opBase
	fwd *groupNormOp
	out outBuf
}

func (op *groupNormGradOp) Type() hm.Type {
	r := op.fwd.rank
	return fnType(r, r, 1, 1, r)
}
func (op *groupNormGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *groupNormGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := ncp(v[0].Shape())
	f := op.fwd
	f.sdz, f.sdzx = grow(f.sdz, n*c), grow(f.sdzx, n*c)
	dx := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	return dx, dispatch(v[0],
		func() {
			groupNormBackward(f, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](v[3]), slice[float32](dx), n, c, p)
		},
		func() {
			groupNormBackward(f, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](v[3]), slice[float64](dx), n, c, p)
		})
}

// groupNormBackward: with z = γ·x̂ + β the normalised value (x̂ = (x−μ)/σ)
// and dz the gradient reaching it (dy, or dy·silu'(z) when fused), over one
// group of m values with g = γ·dz:
//
//	dx = (g − mean(g) − x̂·mean(g·x̂)) / σ
//
// The first pass leaves dz in dx and the per-channel sums Σdz, Σdz·x̂ (which
// are also dβ and dγ per sample); the second turns dz into dx in place.
func groupNormBackward[T Float](op *groupNormOp, x, gamma, beta, dy, dx []T, n, c, p int) {
	parallelFor(n*op.groups, func(_, lo, hi int) {
		if x, ok := any(x).([]float32); ok {
			gnBackward32(op, x, any(gamma).([]float32), any(beta).([]float32), any(dy).([]float32), any(dx).([]float32), lo, hi, c, p)
			return
		}
		groupNormBackwardRange(op, x, gamma, beta, dy, dx, lo, hi, c, p)
	})
}

func groupNormBackwardRange[T Float](op *groupNormOp, x, gamma, beta, dy, dx []T, lo, hi, c, p int) {
	cg := c / op.groups
	m := cg * p
	for ng := lo; ng < hi; ng++ {
		mean, rstd := op.mean[ng], op.rstd[ng]
		g0 := (ng % op.groups) * cg
		nc0 := (ng/op.groups)*c + g0
		var sg, sgx float64
		for j := 0; j < cg; j++ {
			off := ng*m + j*p
			xr, dzr := x[off:off+p], dy[off:off+p]
			if op.silu {
				a, b := gnAffine(gamma[g0+j], beta[g0+j], mean, rstd)
				dzr = dx[off : off+p]
				siluBackRow(xr, dy[off:off+p], dzr, a, b)
			}
			s1 := sumF64(dzr)
			s2 := (dotF64(dzr, xr) - mean*s1) * rstd // Σ dz·x̂
			op.sdz[nc0+j], op.sdzx[nc0+j] = s1, s2
			gm := float64(gamma[g0+j])
			sg += gm * s1
			sgx += gm * s2
		}
		sg /= float64(m)
		sgx /= float64(m)
		// dx = γ/σ·dz − (x−μ)·sgx/σ² − sg/σ
		bx, cc := T(-sgx*rstd*rstd), T(-sg*rstd)
		meanT := T(mean)
		for j := 0; j < cg; j++ {
			off := ng*m + j*p
			a := T(rstd) * gamma[g0+j]
			dzr := dy[off : off+p]
			if op.silu {
				dzr = dx[off : off+p]
			}
			gnDataGradRow(x[off:off+p], dzr, dx[off:off+p], a, bx, cc, meanT)
		}
	}
}

// siluBackRow: dz = dy·silu'(z) with z = x·a + b and σ(z) recomputed,
// silu'(z) = σ·(1 + z·(1−σ)).
func siluBackRow[T Float](x, dy, dz []T, a, b T) {
	dy, dz = dy[:len(x)], dz[:len(x)]
	for i, v := range x {
		z := v*a + b
		s := sigmoid(z)
		dz[i] = dy[i] * s * (1 + z*(1-s))
	}
}

// gnDataGradRow: dx = a·dz + (x−μ)·bx + c; dz may be dx itself.
func gnDataGradRow[T Float](x, dz, dx []T, a, bx, c, mean T) {
	dz, dx = dz[:len(x)], dx[:len(x)]
	for i, v := range x {
		dx[i] = a*dz[i] + (v-mean)*bx + c
	}
}

// groupNormParamGradOp reduces the per-sample sums its forward op's data
// gradient left: dγ[c] = Σₙ Σ dz·x̂, dβ[c] = Σₙ Σ dz. Its input (dx) only
// orders it after that pass.
type groupNormParamGradOp struct {
	opBase
	fwd   *groupNormOp
	scale bool
	out   outBuf
}

func (op *groupNormParamGradOp) Type() hm.Type { return fnType(1, op.fwd.rank) }
func (op *groupNormParamGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{shapeOf(in[0])[1]}, nil
}
func (op *groupNormParamGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, _ := ncp(v[0].Shape())
	d := op.out.get(dtypeOf(v[0]), c)
	src := op.fwd.sdz
	if op.scale {
		src = op.fwd.sdzx
	}
	return d, dispatch(v[0],
		func() { sumSamples(src, slice[float32](d), n, c) },
		func() { sumSamples(src, slice[float64](d), n, c) })
}

// sumSamples: d[c] = Σₙ s[n·C+c], in sample order.
func sumSamples[T Float](s []float64, d []T, n, c int) {
	for ch := 0; ch < c; ch++ {
		var acc float64
		for i := 0; i < n; i++ {
			acc += s[i*c+ch]
		}
		d[ch] = T(acc)
	}
}

// GroupNormSiLU is the sticky-error form of GroupNormSiLU.
func (g *Graph) GroupNormSiLU(x, gamma, beta *Node, groups int, eps float64) *Node {
	if !g.ok(x, gamma, beta) {
		return nil
	}
	return g.wrap(GroupNormSiLU(x, gamma, beta, groups, eps))
}
