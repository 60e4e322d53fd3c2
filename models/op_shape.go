package models

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConcatChannels joins a (N,Ca,...) and b (N,Cb,...) along the channel axis:
// the UNet's skip connections.
func ConcatChannels(a, b *Node) (*Node, error) {
	as, bs := a.Shape(), b.Shape()
	if len(as) != len(bs) || len(as) < 3 || as[0] != bs[0] || !tensor.Shape(as[2:]).Eq(tensor.Shape(bs[2:])) {
		return nil, fmt.Errorf("models: cannot concatenate %v and %v along channels", as, bs)
	}
	return gorgonia.ApplyOp(&concatOp{opBase: opBase{"ConcatChannels", 2}, rank: len(as)}, a, b)
}

type concatOp struct {
	opBase
	rank int
	out  outBuf
}

func (op *concatOp) Type() hm.Type { return fnType(op.rank, op.rank, op.rank) }
func (op *concatOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0]).Clone()
	s[1] += shapeOf(in[1])[1]
	return s, nil
}
func (op *concatOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, ca, p := ncp(v[0].Shape())
	cb := v[1].Shape()[1]
	s := v[0].Shape().Clone()
	s[1] = ca + cb
	y := op.out.get(dtypeOf(v[0]), s...)
	return y, dispatch(v[0],
		func() { concatChannels(slice[float32](v[0]), slice[float32](v[1]), slice[float32](y), n, ca*p, cb*p) },
		func() { concatChannels(slice[float64](v[0]), slice[float64](v[1]), slice[float64](y), n, ca*p, cb*p) })
}
func concatChannels[T Float](a, b, y []T, n, la, lb int) {
	parallelFor(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(y[i*(la+lb):], a[i*la:(i+1)*la])
			copy(y[i*(la+lb)+la:], b[i*lb:(i+1)*lb])
		}
	})
}
func (op *concatOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	ca, cb := in[0].Shape()[1], in[1].Shape()[1]
	da, err := SliceChannels(grad, 0, ca)
	if err != nil {
		return nil, err
	}
	db, err := SliceChannels(grad, ca, ca+cb)
	return Nodes{da, db}, err
}

// SliceChannels takes channels [lo,hi) of x (N,C,...).
func SliceChannels(x *Node, lo, hi int) (*Node, error) {
	s := x.Shape()
	if len(s) < 3 || lo < 0 || hi > s[1] || lo >= hi {
		return nil, fmt.Errorf("models: channels [%d,%d) of %v", lo, hi, s)
	}
	return gorgonia.ApplyOp(&channelWindowOp{opBase: opBase{fmt.Sprintf("SliceChannels[%d:%d]", lo, hi), 1}, rank: len(s), lo: lo, hi: hi, total: s[1]}, x)
}

// channelWindowOp either takes channels [lo,hi) out of total (slice) or, with
// pad set, puts its input at channels [lo,hi) of a zero tensor of total
// channels; each is the other's derivative.
type channelWindowOp struct {
	opBase
	rank, lo, hi, total int
	pad                 bool
	out                 outBuf
}

func (op *channelWindowOp) Type() hm.Type { return fnType(op.rank, op.rank) }
func (op *channelWindowOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0]).Clone()
	if op.pad {
		s[1] = op.total
	} else {
		s[1] = op.hi - op.lo
	}
	return s, nil
}
func (op *channelWindowOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := ncp(v[0].Shape())
	s := v[0].Shape().Clone()
	w := op.hi - op.lo
	if op.pad {
		s[1] = op.total
	} else {
		s[1] = w
	}
	y := op.out.get(dtypeOf(v[0]), s...)
	return y, dispatch(v[0],
		func() { channelWindow(op, slice[float32](v[0]), slice[float32](y), n, c, p) },
		func() { channelWindow(op, slice[float64](v[0]), slice[float64](y), n, c, p) })
}
func channelWindow[T Float](op *channelWindowOp, x, y []T, n, c, p int) {
	w := op.hi - op.lo
	parallelFor(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			if op.pad {
				row := y[i*op.total*p : (i+1)*op.total*p]
				clear(row[:op.lo*p])
				copy(row[op.lo*p:op.hi*p], x[i*w*p:(i+1)*w*p])
				clear(row[op.hi*p:])
			} else {
				copy(y[i*w*p:(i+1)*w*p], x[(i*c+op.lo)*p:(i*c+op.hi)*p])
			}
		}
	})
}
func (op *channelWindowOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	inv := &channelWindowOp{rank: op.rank, lo: op.lo, hi: op.hi, total: op.total, pad: !op.pad}
	inv.opBase = opBase{fmt.Sprintf("ChannelWindow[%d:%d of %d,pad=%v]", op.lo, op.hi, op.total, inv.pad), 1}
	d, err := gorgonia.ApplyOp(inv, grad)
	return Nodes{d}, err
}

// Upsample2x repeats every pixel of x (N,C,H,W) into a 2×2 block (nearest).
func Upsample2x(x *Node) (*Node, error) {
	if x.Dims() != 4 {
		return nil, fmt.Errorf("models: upsample wants NCHW, got %v", x.Shape())
	}
	return gorgonia.ApplyOp(&upsampleOp{opBase: opBase{"Upsample2x", 1}}, x)
}

// upsampleOp is nearest ×2 upsampling, or with down set its adjoint: the sum
// of each 2×2 block.
type upsampleOp struct {
	opBase
	down bool
	out  outBuf
}

func (op *upsampleOp) Type() hm.Type { return fnType(4, 4) }
func (op *upsampleOp) outShape(s tensor.Shape) tensor.Shape {
	if op.down {
		return tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2}
	}
	return tensor.Shape{s[0], s[1], s[2] * 2, s[3] * 2}
}
func (op *upsampleOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.outShape(shapeOf(in[0])), nil
}
func (op *upsampleOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	s := v[0].Shape()
	y := op.out.get(dtypeOf(v[0]), op.outShape(s)...)
	return y, dispatch(v[0],
		func() { upsample(op.down, slice[float32](v[0]), slice[float32](y), s[0]*s[1], s[2], s[3]) },
		func() { upsample(op.down, slice[float64](v[0]), slice[float64](y), s[0]*s[1], s[2], s[3]) })
}
func upsample[T Float](down bool, x, y []T, planes, h, w int) {
	parallelFor(planes, func(_, lo, hi int) { upsamplePlanes(down, x, y, lo, hi, h, w) })
}

func upsamplePlanes[T Float](down bool, x, y []T, lo, hi, h, w int) {
	if down {
		ho, wo := h/2, w/2
		for pl := lo; pl < hi; pl++ {
			in, out := x[pl*h*w:(pl+1)*h*w], y[pl*ho*wo:(pl+1)*ho*wo]
			for oy := 0; oy < ho; oy++ {
				r0, r1 := in[2*oy*w:(2*oy+1)*w], in[(2*oy+1)*w:(2*oy+2)*w]
				o := out[oy*wo : (oy+1)*wo]
				for ox := range o {
					o[ox] = r0[2*ox] + r0[2*ox+1] + r1[2*ox] + r1[2*ox+1]
				}
			}
		}
		return
	}
	for pl := lo; pl < hi; pl++ {
		in, out := x[pl*h*w:(pl+1)*h*w], y[pl*4*h*w:(pl+1)*4*h*w]
		for iy := 0; iy < h; iy++ {
			row := out[2*iy*2*w : (2*iy+1)*2*w]
			for ix, v := range in[iy*w : (iy+1)*w] {
				row[2*ix], row[2*ix+1] = v, v
			}
			copy(out[(2*iy+1)*2*w:(2*iy+2)*2*w], row)
		}
	}
}

func (op *upsampleOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	d, err := gorgonia.ApplyOp(&upsampleOp{opBase: opBase{"Upsample2xGrad", 1}, down: !op.down}, grad)
	return Nodes{d}, err
}

// SwapLastAxes turns (N,A,B) into (N,B,A): token-major sequences (N,L,D)
// into the channel-major layout (N,D,L) that attention takes, and back.
func SwapLastAxes(x *Node) (*Node, error) {
	if x.Dims() != 3 {
		return nil, fmt.Errorf("models: SwapLastAxes wants (N,A,B), got %v", x.Shape())
	}
	return gorgonia.ApplyOp(&swapOp{opBase: opBase{"SwapLastAxes", 1}}, x)
}

type swapOp struct {
	opBase
	out outBuf
}

func (op *swapOp) Type() hm.Type { return fnType(3, 3) }
func (op *swapOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	return tensor.Shape{s[0], s[2], s[1]}, nil
}
func (op *swapOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	s := v[0].Shape()
	y := op.out.get(dtypeOf(v[0]), s[0], s[2], s[1])
	return y, dispatch(v[0],
		func() { swapLast(slice[float32](v[0]), slice[float32](y), s[0], s[1], s[2]) },
		func() { swapLast(slice[float64](v[0]), slice[float64](y), s[0], s[1], s[2]) })
}
func swapLast[T Float](x, y []T, n, a, b int) {
	for i := 0; i < n; i++ {
		in, out := x[i*a*b:], y[i*a*b:]
		for r := 0; r < a; r++ {
			for c := 0; c < b; c++ {
				out[c*a+r] = in[r*b+c]
			}
		}
	}
}
func (op *swapOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	d, err := SwapLastAxes(grad)
	return Nodes{d}, err
}
