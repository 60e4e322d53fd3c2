package models

import (
	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The op kit: what a package needs to write its own gorgonia ops the way
// the ops of this package are written (the flow's layers in package flow
// are). Embed OpBase in the op, give its Type with FnType, keep its output
// in an OutBuf, run the float32 or float64 kernel with Dispatch over the
// data of Slice, and check its gradient with GradCheck.

// OpBase answers the parts of gorgonia.Op that are the same for every op;
// embed it. Its name must describe the op's parameters: gorgonia merges
// nodes whose op hash and children are equal.
type OpBase struct{ opBase }

// NewOpBase is the OpBase of an op called name taking arity inputs.
func NewOpBase(name string, arity int) OpBase { return OpBase{opBase{name, arity}} }

// FnType is the hm type of an op taking tensors of the given ranks and
// returning one of rank out, all of one element type.
func FnType(out int, in ...int) hm.Type { return fnType(out, in...) }

// OutBuf keeps an op's output tensor between steps: gorgonia's tape
// machine drops every value on Reset, and allocating (and clearing) each
// activation again every step costs as much as a small conv.
type OutBuf struct{ outBuf }

// Get returns the kept tensor if it has dt and shape, else a new one.
func (b *OutBuf) Get(dt tensor.Dtype, shape ...int) *tensor.Dense { return b.get(dt, shape...) }

// ShapeOf is the shape of an op's input in InferShape.
func ShapeOf(d gorgonia.DimSizer) tensor.Shape { return shapeOf(d) }

// DtypeOf is the element type of a dense tensor value.
func DtypeOf(v gorgonia.Value) tensor.Dtype { return dtypeOf(v) }

// Slice returns the elements of a dense tensor value as []T.
func Slice[T Float](v gorgonia.Value) []T { return slice[T](v) }

// Dispatch runs the float32 or float64 instance of a kernel for v's dtype.
func Dispatch(v gorgonia.Value, f32 func(), f64 func()) error { return dispatch(v, f32, f64) }

// NCP splits an (N,C,...) shape into N, C and the positions per channel.
func NCP(s tensor.Shape) (n, c, p int) { return ncp(s) }

// ParallelFor splits [0,n) over the kernels' workers, as this package's
// kernels do.
func ParallelFor(n int, fn func(worker, lo, hi int)) { parallelFor(n, fn) }

// Sigmoid is σ(x), in float32 with the kernels' fast exponential.
func Sigmoid[T Float](x T) T { return sigmoid(x) }
