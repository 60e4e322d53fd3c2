package models

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Attention is scaled dot-product attention over channel-major sequences:
// q (N,C,Pq), k and v (N,C,Pk), C split into `heads` heads of C/heads
// channels. It returns (N,C,Pq): for every query position, the softmax-
// weighted mix of the values. Self-attention passes the same sequence's
// projections as q, k, v; cross-attention takes k and v from a context.
//
// It is two ops, weights A = softmax(qᵀk/√d) (N,heads,Pq,Pk) and the mix
// V·Aᵀ, so the backward pass reads A from the graph instead of recomputing it.
func Attention(q, k, v *Node, heads int) (*Node, error) {
	qs, ks, vs := q.Shape(), k.Shape(), v.Shape()
	if len(qs) != 3 || !ks.Eq(vs) || len(ks) != 3 || qs[0] != ks[0] || qs[1] != ks[1] || qs[1]%heads != 0 {
		return nil, fmt.Errorf("models: attention of q %v, k %v, v %v with %d heads", qs, ks, vs, heads)
	}
	scale := 1 / math.Sqrt(float64(qs[1]/heads))
	a, err := gorgonia.ApplyOp(&attnWeightsOp{opBase: opBase{fmt.Sprintf("AttentionWeights(%d)", heads), 2}, heads: heads, scale: scale}, q, k)
	if err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(&attnMixOp{opBase: opBase{fmt.Sprintf("AttentionMix(%d)", heads), 2}, heads: heads}, a, v)
}

// attnWeightsOp: (q, k) -> A.
type attnWeightsOp struct {
	opBase
	heads int
	scale float64
	out   outBuf
}

func (op *attnWeightsOp) Type() hm.Type { return fnType(4, 3, 3) }
func (op *attnWeightsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	q, k := shapeOf(in[0]), shapeOf(in[1])
	return tensor.Shape{q[0], op.heads, q[2], k[2]}, nil
}
func (op *attnWeightsOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	q, k := v[0].Shape(), v[1].Shape()
	a := op.out.get(dtypeOf(v[0]), q[0], op.heads, q[2], k[2])
	return a, dispatch(v[0],
		func() {
			attnWeights(op, slice[float32](v[0]), slice[float32](v[1]), slice[float32](a), q[0], q[1], q[2], k[2])
		},
		func() {
			attnWeights(op, slice[float64](v[0]), slice[float64](v[1]), slice[float64](a), q[0], q[1], q[2], k[2])
		})
}

func attnWeights[T Float](op *attnWeightsOp, q, k, a []T, n, c, pq, pk int) {
	d := c / op.heads
	parallelFor(n*op.heads, func(_, lo, hi int) {
		for nh := lo; nh < hi; nh++ {
			qh, kh := q[nh*d*pq:][:d*pq], k[nh*d*pk:][:d*pk]
			ah := a[nh*pq*pk:][:pq*pk]
			gemm(true, false, pq, pk, d, T(op.scale), qh, pq, kh, pk, 0, ah, pk)
			if a32, ok := any(ah).([]float32); ok {
				softmaxRows32(a32, pk)
				continue
			}
			for i := 0; i < pq; i++ {
				softmaxInPlace(ah[i*pk : (i+1)*pk])
			}
		}
	})
}

func softmaxInPlace[T Float](row []T) {
	m := row[0]
	for _, v := range row {
		m = max(m, v)
	}
	var s float64
	if r, ok := any(row).([]float32); ok { // float32 through expf
		m := float32(m)
		for i, v := range r {
			e := expf(v - m)
			r[i] = e
			s += float64(e)
		}
	} else {
		for i, v := range row {
			e := math.Exp(float64(v - m))
			row[i] = T(e)
			s += e
		}
	}
	inv := T(1 / s)
	for i := range row {
		row[i] *= inv
	}
}

func (op *attnWeightsOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	dq, err := gorgonia.ApplyOp(&attnWeightsGradOp{opBase: opBase{"AttentionWeightsGrad(q)" + op.name, 3}, fwd: op, wrtK: false}, in[1], out, grad)
	if err != nil {
		return nil, err
	}
	dk, err := gorgonia.ApplyOp(&attnWeightsGradOp{opBase: opBase{"AttentionWeightsGrad(k)" + op.name, 3}, fwd: op, wrtK: true}, in[0], out, grad)
	return Nodes{dq, dk}, err
}

// attnWeightsGradOp: from (other, A, dA), the gradient for q (other = k) or
// for k (other = q). With dS = A∘(dA − rowsum(A∘dA)), the softmax's
// backward pass: dq = s·k·dSᵀ and dk = s·q·dS per head.
type attnWeightsGradOp struct {
	opBase
	fwd  *attnWeightsOp
	wrtK bool
	out  outBuf
	s    convScratch
}

func (op *attnWeightsGradOp) Type() hm.Type { return fnType(3, 3, 4, 4) }
func (op *attnWeightsGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	o, a := shapeOf(in[0]), shapeOf(in[1])
	if op.wrtK {
		return tensor.Shape{o[0], o[1], a[3]}, nil
	}
	return tensor.Shape{o[0], o[1], a[2]}, nil
}
func (op *attnWeightsGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	o, a := v[0].Shape(), v[1].Shape()
	p := a[2]
	if op.wrtK {
		p = a[3]
	}
	g := op.out.get(dtypeOf(v[0]), o[0], o[1], p)
	return g, dispatch(v[0],
		func() {
			attnWeightsGrad(op, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](g), o[0], o[1], a[2], a[3])
		},
		func() {
			attnWeightsGrad(op, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](g), o[0], o[1], a[2], a[3])
		})
}

func attnWeightsGrad[T Float](op *attnWeightsGradOp, other, a, da, g []T, n, c, pq, pk int) {
	heads := op.fwd.heads
	d, s := c/heads, T(op.fwd.scale)
	sc := scratchFor[T](&op.s)
	parallelFor(n*heads, func(worker, lo, hi int) {
		ds := sc.get(worker, pq*pk)
		for nh := lo; nh < hi; nh++ {
			ah, dah := a[nh*pq*pk:][:pq*pk], da[nh*pq*pk:][:pq*pk]
			for i := 0; i < pq; i++ {
				var dot T
				for j := 0; j < pk; j++ {
					dot += ah[i*pk+j] * dah[i*pk+j]
				}
				for j := 0; j < pk; j++ {
					ds[i*pk+j] = ah[i*pk+j] * (dah[i*pk+j] - dot)
				}
			}
			if op.wrtK { // dk (d×Pk) = s·q (d×Pq) · dS (Pq×Pk)
				gemm(false, false, d, pk, pq, s, other[nh*d*pq:], pq, ds, pk, 0, g[nh*d*pk:], pk)
			} else { // dq (d×Pq) = s·k (d×Pk) · dSᵀ (Pk×Pq)
				gemm(false, true, d, pq, pk, s, other[nh*d*pk:], pk, ds, pk, 0, g[nh*d*pq:], pq)
			}
		}
	})
}

// attnMixOp: (A, v) -> o with o_h (d×Pq) = v_h (d×Pk) · A_hᵀ.
type attnMixOp struct {
	opBase
	heads int
	out   outBuf
}

func (op *attnMixOp) Type() hm.Type { return fnType(3, 4, 3) }
func (op *attnMixOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	a, v := shapeOf(in[0]), shapeOf(in[1])
	return tensor.Shape{v[0], v[1], a[2]}, nil
}
func (op *attnMixOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	a, vs := v[0].Shape(), v[1].Shape()
	o := op.out.get(dtypeOf(v[0]), vs[0], vs[1], a[2])
	return o, dispatch(v[0],
		func() {
			attnMix(op.heads, slice[float32](v[0]), slice[float32](v[1]), slice[float32](o), vs[0], vs[1], a[2], a[3])
		},
		func() {
			attnMix(op.heads, slice[float64](v[0]), slice[float64](v[1]), slice[float64](o), vs[0], vs[1], a[2], a[3])
		})
}
func attnMix[T Float](heads int, a, v, o []T, n, c, pq, pk int) {
	d := c / heads
	parallelFor(n*heads, func(_, lo, hi int) {
		for nh := lo; nh < hi; nh++ {
			gemm(false, true, d, pq, pk, 1, v[nh*d*pk:], pk, a[nh*pq*pk:], pk, 0, o[nh*d*pq:], pq)
		}
	})
}
func (op *attnMixOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	da, err := gorgonia.ApplyOp(&attnMixGradOp{opBase: opBase{"AttentionMixGrad(A)" + op.name, 2}, heads: op.heads, wrtV: false}, in[1], grad)
	if err != nil {
		return nil, err
	}
	dv, err := gorgonia.ApplyOp(&attnMixGradOp{opBase: opBase{"AttentionMixGrad(v)" + op.name, 2}, heads: op.heads, wrtV: true}, in[0], grad)
	return Nodes{da, dv}, err
}

// attnMixGradOp: dA_h = do_hᵀ·v_h from (v, do), or dv_h = do_h·A_h from (A, do).
type attnMixGradOp struct {
	opBase
	heads int
	wrtV  bool
	out   outBuf
}

func (op *attnMixGradOp) Type() hm.Type {
	if op.wrtV {
		return fnType(3, 4, 3)
	}
	return fnType(4, 3, 3)
}
func (op *attnMixGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	x, do := shapeOf(in[0]), shapeOf(in[1])
	if op.wrtV { // x is A (N,H,Pq,Pk)
		return tensor.Shape{do[0], do[1], x[3]}, nil
	}
	return tensor.Shape{do[0], op.heads, do[2], x[2]}, nil // x is v (N,C,Pk)
}
func (op *attnMixGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	s, err := op.InferShape(v[0].Shape(), v[1].Shape())
	if err != nil {
		return nil, err
	}
	g := op.out.get(dtypeOf(v[0]), s...)
	do := v[1].Shape()
	return g, dispatch(v[0],
		func() {
			attnMixGrad(op, slice[float32](v[0]), slice[float32](v[1]), slice[float32](g), v[0].Shape(), do)
		},
		func() {
			attnMixGrad(op, slice[float64](v[0]), slice[float64](v[1]), slice[float64](g), v[0].Shape(), do)
		})
}
func attnMixGrad[T Float](op *attnMixGradOp, x, do, g []T, xs, dos tensor.Shape) {
	n, c, pq := dos[0], dos[1], dos[2]
	d := c / op.heads
	parallelFor(n*op.heads, func(_, lo, hi int) {
		for nh := lo; nh < hi; nh++ {
			doh := do[nh*d*pq:]
			if op.wrtV { // dv (d×Pk) = do (d×Pq) · A (Pq×Pk)
				pk := xs[3]
				gemm(false, false, d, pk, pq, 1, doh, pq, x[nh*pq*pk:], pk, 0, g[nh*d*pk:], pk)
			} else { // dA (Pq×Pk) = doᵀ (Pq×d) · v (d×Pk)
				pk := xs[2]
				gemm(true, false, pq, pk, d, 1, doh, pq, x[nh*d*pk:], pk, 0, g[nh*pq*pk:], pk)
			}
		}
	})
}
