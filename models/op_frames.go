package models

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The temporal layers attend over frames with FrameAttention, in place;
// these permutations remain the reference it is tested against.

// FramesToSequences regroups x (B·F, C, H, W), the frames of B clips of F
// frames each, as (B·H·W, C, F): for every clip and pixel, the sequence of
// its features over the frames, the input of temporal attention.
func FramesToSequences(x *Node, frames int) (*Node, error) {
	s := x.Shape()
	if len(s) != 4 || frames < 1 || s[0]%frames != 0 {
		return nil, fmt.Errorf("models: frames to sequences of %v with %d frames", s, frames)
	}
	return gorgonia.ApplyOp(newFramesOp(false, frames, s[2], s[3]), x)
}

// SequencesToFrames is the inverse of FramesToSequences: x (B·H·W, C, F)
// back to (B·F, C, H, W).
func SequencesToFrames(x *Node, h, w int) (*Node, error) {
	s := x.Shape()
	if len(s) != 3 || h < 1 || w < 1 || s[0]%(h*w) != 0 {
		return nil, fmt.Errorf("models: sequences %v to frames of %dx%d", s, h, w)
	}
	return gorgonia.ApplyOp(newFramesOp(true, s[2], h, w), x)
}

// framesOp permutes between the frame layout ((b·F+f)·C+c)·P+p and the
// sequence layout ((b·P+p)·C+c)·F+f, P = H·W; back selects the direction.
// Each direction's derivative is the other.
type framesOp struct {
	opBase
	back         bool
	frames, h, w int
	out          outBuf
}

func newFramesOp(back bool, frames, h, w int) *framesOp {
	return &framesOp{opBase: opBase{fmt.Sprintf("Frames(back=%v,%d,%dx%d)", back, frames, h, w), 1}, back: back, frames: frames, h: h, w: w}
}

func (op *framesOp) Type() hm.Type {
	if op.back {
		return fnType(4, 3)
	}
	return fnType(3, 4)
}
func (op *framesOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, f, p := shapeOf(in[0]), op.frames, op.h*op.w
	if op.back {
		return tensor.Shape{s[0] / p * f, s[1], op.h, op.w}, nil
	}
	return tensor.Shape{s[0] / f * p, s[1], f}, nil
}
func (op *framesOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	s, err := op.InferShape(v[0].Shape())
	if err != nil {
		return nil, err
	}
	y := op.out.get(dtypeOf(v[0]), s...)
	c := s[1]
	b := v[0].Shape()[0] / op.frames
	if op.back {
		b = v[0].Shape()[0] / (op.h * op.w)
	}
	return y, dispatch(v[0],
		func() { permuteFrames(op, slice[float32](v[0]), slice[float32](y), b, c) },
		func() { permuteFrames(op, slice[float64](v[0]), slice[float64](y), b, c) })
}
func permuteFrames[T Float](op *framesOp, x, y []T, b, c int) {
	f, p := op.frames, op.h*op.w
	parallelFor(b*c, func(_, lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			i, ch := bc/c, bc%c
			for t := range f {
				frame := ((i*f+t)*c + ch) * p
				for q := range p {
					seq := ((i*p+q)*c+ch)*f + t
					if op.back {
						y[frame+q] = x[seq]
					} else {
						y[seq] = x[frame+q]
					}
				}
			}
		}
	})
}
func (op *framesOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	d, err := gorgonia.ApplyOp(newFramesOp(!op.back, op.frames, op.h, op.w), grad)
	return Nodes{d}, err
}
