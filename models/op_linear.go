package models

import (
	"fmt"
	"unsafe"

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

// linearRows computes y = x·Wᵀ + b one row at a time, each row its own
// GEMM call (M = 1) on a copy in aligned scratch, so that a row's result is
// a function of that row and W alone: of neither its position in the batch,
// nor the batch size, nor the number of workers, nor its address. One GEMM
// over all N rows is not: OpenBLAS's Haswell and Zen sgemm kernels compute
// the rows of a partial micro-tile another way, so an image's time
// embedding (and a prompt's encoding) changed with the batch it was in.
func linearRows[T Float](s *convScratch, x, w, b, y []T, n, in, out int) {
	sc := scratchFor[T](s)
	stride := alignUp(in)
	parallelFor(n, func(worker, lo, hi int) {
		buf := aligned(sc.get(worker, stride+alignUp(out)+alignPad))
		xr, yr := buf[:in], buf[stride:stride+out]
		for i := lo; i < hi; i++ {
			copy(xr, x[i*in:(i+1)*in])
			copy(yr, b)
			gemm(false, true, 1, out, in, 1, xr, in, w, in, 1, yr, out)
			copy(y[i*out:(i+1)*out], yr)
		}
	})
}

// alignPad elements of slack let aligned find a 64-byte boundary in any
// buffer of float32 or float64.
const alignPad = 16

// alignUp rounds n elements up to a multiple of alignPad, so that a slice
// starting there on an aligned buffer is aligned too.
func alignUp(n int) int { return (n + alignPad - 1) / alignPad * alignPad }

// aligned returns buf from its first 64-byte-aligned element on; buf needs
// alignPad elements of slack.
func aligned[T Float](buf []T) []T {
	var z T
	size := uintptr(unsafe.Sizeof(z))
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	skip := int(((64 - addr%64) % 64) / size)
	return buf[skip:]
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
