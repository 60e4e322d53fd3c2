package models

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linearOp: y = x·Wᵀ + b with x (N,in), W (out,in) as PyTorch stores it, b (out).
type linearOp struct {
	opBase
	out outBuf
}

// Linear applies PyTorch's nn.Linear to the rows of x (N,in).
func Linear(x, w, b *Node) (*Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] || b.Shape().TotalSize() != ws[0] {
		return nil, fmt.Errorf("models: linear of %v with weight %v and bias %v", xs, ws, b.Shape())
	}
	return gorgonia.ApplyOp(&linearOp{opBase: opBase{"Linear", 3}}, x, w, b)
}

func (op *linearOp) Type() hm.Type { return fnType(2, 2, 2, 1) }
func (op *linearOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{shapeOf(in[0])[0], shapeOf(in[1])[0]}, nil
}
func (op *linearOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, in, out := v[0].Shape()[0], v[0].Shape()[1], v[1].Shape()[0]
	y := op.out.get(dtypeOf(v[0]), n, out)
	return y, dispatch(v[0],
		func() {
			linearForward(slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](y), n, in, out)
		},
		func() {
			linearForward(slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](y), n, in, out)
		})
}

func linearForward[T Float](x, w, b, y []T, n, in, out int) {
	for i := 0; i < n; i++ {
		copy(y[i*out:(i+1)*out], b)
	}
	gemm(false, true, n, out, in, 1, x, in, w, in, 1, y, out)
}

func (op *linearOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	dx, err := gorgonia.ApplyOp(&matmulOp{opBase: opBase{"MatMul(dy,W)", 2}}, grad, in[1])
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(&matmulOp{opBase: opBase{"MatMul(dyᵀ,x)", 2}, transA: true}, grad, in[0])
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(&channelSumOp{opBase: opBase{"ChannelSum/2", 1}, rank: 2}, grad)
	if err != nil {
		return nil, err
	}
	return Nodes{dx, dw, db}, nil
}

// matmulOp: op(A)·B for the gradients of linearOp; not differentiated again.
type matmulOp struct {
	opBase
	transA bool
	out    outBuf
}

func (op *matmulOp) Type() hm.Type { return fnType(2, 2, 2) }
func (op *matmulOp) dims(a, b tensor.Shape) (m, k, n int) {
	if op.transA {
		return a[1], a[0], b[1]
	}
	return a[0], a[1], b[1]
}
func (op *matmulOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	m, _, n := op.dims(shapeOf(in[0]), shapeOf(in[1]))
	return tensor.Shape{m, n}, nil
}
func (op *matmulOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	a, b := v[0].Shape(), v[1].Shape()
	m, k, n := op.dims(a, b)
	y := op.out.get(dtypeOf(v[0]), m, n)
	return y, dispatch(v[0],
		func() {
			gemm(op.transA, false, m, n, k, 1, slice[float32](v[0]), a[1], slice[float32](v[1]), n, 0, slice[float32](y), n)
		},
		func() {
			gemm(op.transA, false, m, n, k, 1, slice[float64](v[0]), a[1], slice[float64](v[1]), n, 0, slice[float64](y), n)
		})
}
