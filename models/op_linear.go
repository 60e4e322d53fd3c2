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
	// oneSample: the N rows are one sample's (a Gram matrix), computed in
	// one GEMM; otherwise each row is a sample of a batch (see linearRows).
	oneSample bool
	out       outBuf
	scratch   convScratch
}

// Linear applies PyTorch's nn.Linear to the rows of x (N,in), each row as a
// sample of its own: row i of the result is the same bytes whatever the
// other rows are (see linearRows).
func Linear(x, w, b *Node) (*Node, error) { return linear(x, w, b, false) }

// LinearOneSample is Linear for a matrix x that is one sample, not a batch
// (a Gram matrix F·Fᵀ): all its rows go through one GEMM, which is faster
// but lets a row's last bits depend on how many rows there are.
func LinearOneSample(x, w, b *Node) (*Node, error) { return linear(x, w, b, true) }

func linear(x, w, b *Node, oneSample bool) (*Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] || b.Shape().TotalSize() != ws[0] {
		return nil, fmt.Errorf("models: linear of %v with weight %v and bias %v", xs, ws, b.Shape())
	}
	name := "Linear"
	if oneSample {
		name = "LinearOneSample"
	}
	return gorgonia.ApplyOp(&linearOp{opBase: opBase{name, 3}, oneSample: oneSample}, x, w, b)
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
			linearForward(&op.scratch, op.oneSample, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](y), n, in, out)
		},
		func() {
			linearForward(&op.scratch, op.oneSample, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](y), n, in, out)
		})
}

func linearForward[T Float](s *convScratch, oneSample bool, x, w, b, y []T, n, in, out int) {
	if oneSample {
		for i := 0; i < n; i++ {
			copy(y[i*out:(i+1)*out], b)
		}
		gemm(false, true, n, out, in, 1, x, in, w, in, 1, y, out)
		return
	}
	linearRows(s, x, w, b, y, n, in, out)
}

// linearRows computes y = x·Wᵀ + b so that a row's result is a function
// of that row and W alone: of neither its position in the batch, nor the
// batch size, nor the number of workers. Every output is one chain of
// multiply-adds over the inputs in order, starting from the bias, whatever
// block, vector lane or tail it falls in (linearRows32's C kernels on
// x86-64, linearRowsGo elsewhere and in float64). A BLAS GEMM over all N
// rows does not promise that: OpenBLAS's Haswell, Zen and SkylakeX sgemm
// kernels compute the rows of a partial micro-tile another way, so an
// image's time embedding (and a prompt's encoding) changed with the batch
// it was in.
func linearRows[T Float](s *convScratch, x, w, b, y []T, n, in, out int) {
	wt := scratchFor[T](s).get(0, in*out)
	for o := 0; o < out; o++ {
		for k, v := range w[o*in : (o+1)*in] {
			wt[k*out+o] = v
		}
	}
	parallelFor(n, func(_, lo, hi int) {
		if x32, ok := any(x).([]float32); ok {
			linearRows32(x32, any(wt).([]float32), any(b).([]float32), any(y).([]float32), lo, hi, in, out)
			return
		}
		linearRowsGo(x, wt, b, y, lo, hi, in, out)
	})
}

// linearRowsGo is linearRows's kernel in Go: rows [lo,hi) of y from wt = Wᵀ
// (in×out), each output b[o] + x[r][0]·wt[0][o] + x[r][1]·wt[1][o] + ...
// added in that order.
func linearRowsGo[T Float](x, wt, b, y []T, lo, hi, in, out int) {
	for r := lo; r < hi; r++ {
		yr := y[r*out : (r+1)*out]
		copy(yr, b)
		for k, xv := range x[r*in : (r+1)*in] {
			for o, wv := range wt[k*out : (k+1)*out] {
				yr[o] += xv * wv
			}
		}
	}
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
