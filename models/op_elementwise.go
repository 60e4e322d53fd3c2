package models

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SiLU is x·σ(x) (a.k.a. swish), which gorgonia lacks as one op.
func SiLU(x *Node) (*Node, error) {
	return gorgonia.ApplyOp(&siluOp{opBase: opBase{stateful("SiLU"), 1}, rank: x.Dims()}, x)
}

// siluOp keeps σ(x) of its last forward pass: the backward pass needs it,
// and the exponential is most of SiLU's cost.
type siluOp struct {
	opBase
	rank  int
	sig32 []float32
	sig64 []float64
	out   outBuf
}

func (op *siluOp) Type() hm.Type { return fnType(op.rank, op.rank) }
func (op *siluOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *siluOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	y := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	n := v[0].Shape().TotalSize()
	return y, dispatch(v[0],
		func() {
			op.sig32 = grow(op.sig32, n)
			silu(slice[float32](v[0]), slice[float32](y), op.sig32)
		},
		func() {
			op.sig64 = grow(op.sig64, n)
			silu(slice[float64](v[0]), slice[float64](y), op.sig64)
		})
}
func (op *siluOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	dx, err := gorgonia.ApplyOp(&siluGradOp{opBase: opBase{"SiLUGrad" + op.name[4:], 2}, fwd: op}, in[0], grad)
	return Nodes{dx}, err
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func silu[T Float](x, y, sig []T) {
	parallelFor(len(x), func(_, lo, hi int) {
		siluRow(x[lo:hi], sig[lo:hi], y[lo:hi])
	})
}

// siluGradOp: dx from (x, dy) with the σ(x) its forward op kept;
// d/dx x·σ(x) = σ(x)·(1 + x·(1−σ(x))).
type siluGradOp struct {
	opBase
	fwd *siluOp
	out outBuf
}

func (op *siluGradOp) Type() hm.Type { return fnType(op.fwd.rank, op.fwd.rank, op.fwd.rank) }
func (op *siluGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *siluGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	dx := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	return dx, dispatch(v[0],
		func() { siluGrad(slice[float32](v[0]), slice[float32](v[1]), op.fwd.sig32, slice[float32](dx)) },
		func() { siluGrad(slice[float64](v[0]), slice[float64](v[1]), op.fwd.sig64, slice[float64](dx)) })
}

func siluGrad[T Float](x, dy, sig, dx []T) {
	parallelFor(len(x), func(_, lo, hi int) {
		siluGradRow(x[lo:hi], dy[lo:hi], sig[lo:hi], dx[lo:hi])
	})
}

// siluGradRow: dx = dy·σ·(1 + x·(1−σ)), in C for float32 where cgo is on.
func siluGradRow[T Float](x, dy, sig, dx []T) {
	if x, ok := any(x).([]float32); ok {
		siluGradRow32(x, any(dy).([]float32), any(sig).([]float32), any(dx).([]float32))
		return
	}
	siluGradRowGo(x, dy, sig, dx)
}

func siluGradRowGo[T Float](x, dy, sig, dx []T) {
	dy, sig, dx = dy[:len(x)], sig[:len(x)], dx[:len(x)]
	for i, s := range sig {
		dx[i] = dy[i] * s * (1 + x[i]*(1-s))
	}
}

// AddPerChannel adds e (N,C) to every position of x (N,C,...): how a time or
// class embedding enters a residual block.
func AddPerChannel(x, e *Node) (*Node, error) {
	xs, es := x.Shape(), e.Shape()
	if len(xs) < 3 || len(es) != 2 || xs[0] != es[0] || xs[1] != es[1] {
		return nil, fmt.Errorf("models: cannot add %v per channel to %v", es, xs)
	}
	return gorgonia.ApplyOp(&addPerChannelOp{opBase: opBase{"AddPerChannel", 2}, rank: len(xs)}, x, e)
}

type addPerChannelOp struct {
	opBase
	rank int
	out  outBuf
}

func (op *addPerChannelOp) Type() hm.Type { return fnType(op.rank, op.rank, 2) }
func (op *addPerChannelOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *addPerChannelOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := ncp(v[0].Shape())
	y := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	return y, dispatch(v[0],
		func() { addPerChannel(slice[float32](v[0]), slice[float32](v[1]), slice[float32](y), n*c, p) },
		func() { addPerChannel(slice[float64](v[0]), slice[float64](v[1]), slice[float64](y), n*c, p) })
}
func addPerChannel[T Float](x, e, y []T, rows, p int) {
	parallelFor(rows, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			b := e[r]
			out, in := y[r*p:(r+1)*p], x[r*p:(r+1)*p]
			for k, v := range in {
				out[k] = v + b
			}
		}
	})
}
func (op *addPerChannelOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	de, err := gorgonia.ApplyOp(&positionSumOp{opBase: opBase{"PositionSum", 1}, rank: op.rank}, grad)
	return Nodes{grad, de}, err
}

// positionSumOp reduces (N,C,...) to (N,C).
type positionSumOp struct {
	opBase
	rank int
	out  outBuf
	rows []float64
}

func (op *positionSumOp) Type() hm.Type { return fnType(2, op.rank) }
func (op *positionSumOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	return tensor.Shape{s[0], s[1]}, nil
}
func (op *positionSumOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := ncp(v[0].Shape())
	y := op.out.get(dtypeOf(v[0]), n, c)
	return y, dispatch(v[0],
		func() { sumRows(slice[float32](v[0]), slice[float32](y), p, &op.rows) },
		func() { sumRows(slice[float64](v[0]), slice[float64](y), p, &op.rows) })
}
func sumRows[T Float](x, y []T, p int, rows *[]float64) {
	*rows = grow(*rows, len(y))
	parallelRowSums(x, *rows, p)
	for r, v := range *rows {
		y[r] = T(v)
	}
}

// Add is the element-wise sum of two tensors of one shape: the residual
// connections. Unlike gorgonia's Add it splits the work over the cores and
// keeps its output buffer between runs.
func Add(a, b *Node) (*Node, error) {
	if !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("models: adding %v and %v", a.Shape(), b.Shape())
	}
	return gorgonia.ApplyOp(&addOp{opBase: opBase{"Add", 2}, rank: a.Dims()}, a, b)
}

type addOp struct {
	opBase
	rank int
	out  outBuf
}

func (op *addOp) Type() hm.Type { return fnType(op.rank, op.rank, op.rank) }
func (op *addOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *addOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	y := op.out.get(dtypeOf(v[0]), v[0].Shape()...)
	return y, dispatch(v[0],
		func() { addSlices(slice[float32](v[0]), slice[float32](v[1]), slice[float32](y)) },
		func() { addSlices(slice[float64](v[0]), slice[float64](v[1]), slice[float64](y)) })
}
func (op *addOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) { return Nodes{grad, grad}, nil }

func addSlices[T Float](a, b, y []T) {
	n := len(y)
	if n < 1<<14 {
		addRange(a, b, y)
		return
	}
	parallelFor(n, func(_, lo, hi int) { addRange(a[lo:hi], b[lo:hi], y[lo:hi]) })
}

func addRange[T Float](a, b, y []T) {
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		y[i] = a[i] + b[i]
	}
}
