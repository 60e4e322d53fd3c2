package models

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// genlab's ops are gorgonia ops (gorgonia.Op plus gorgonia.SDOp for the
// differentiable ones) whose kernels are written here: gorgonia's own Conv2d,
// GroupNorm and broadcasting spend most of their time outside arithmetic (a
// physical transpose after every conv, iterator-driven broadcasts, a log line
// per GroupNorm backward), so the hot path of every model avoids them.

type (
	// Node is a value in a graph: an input, a parameter or an op's result.
	Node = gorgonia.Node
	// Nodes is a list of graph nodes.
	Nodes = gorgonia.Nodes
)

var opSerial atomic.Int64

// opBase answers the parts of gorgonia.Op that are the same for every op.
// name must describe the op's parameters: gorgonia merges nodes whose op
// hash and children are equal.
type opBase struct {
	name  string
	arity int
}

// stateful returns a name unique to one op instance, for ops that keep
// per-instance caches (statistics the backward pass reads), which must never
// be merged with another instance.
func stateful(format string, a ...any) string {
	return fmt.Sprintf(format, a...) + fmt.Sprintf("#%d", opSerial.Add(1))
}

func (o opBase) Arity() int            { return o.arity }
func (o opBase) ReturnsPtr() bool      { return false }
func (o opBase) CallsExtern() bool     { return false }
func (o opBase) OverwritesInput() int  { return -1 }
func (o opBase) WriteHash(h hash.Hash) { io.WriteString(h, o.name) }
func (o opBase) String() string        { return o.name }
func (o opBase) Hashcode() uint32      { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }
func (o opBase) DiffWRT(n int) []bool  { return allTrue(n) }
func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}
func shapeOf(d gorgonia.DimSizer) tensor.Shape { return d.(tensor.Shape) }

// fnType is the hm type of an op taking tensors of the given ranks and
// returning one of rank out, all of one element type.
func fnType(out int, in ...int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, gorgonia.TensorType{Dims: d, Of: a})
	}
	ts = append(ts, gorgonia.TensorType{Dims: out, Of: a})
	return hm.NewFnType(ts...)
}

// outBuf keeps an op's output tensor between steps: gorgonia's tape machine
// drops every value on Reset, and allocating (and clearing) each activation
// again every step costs as much as a small conv.
type outBuf struct{ t *tensor.Dense }

func (b *outBuf) get(dt tensor.Dtype, shape ...int) *tensor.Dense {
	if b.t == nil || b.t.Dtype() != dt || !b.t.Shape().Eq(tensor.Shape(shape)) {
		b.t = tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	}
	return b.t
}

// slice returns the elements of a dense tensor value as []T.
func slice[T Float](v gorgonia.Value) []T { return v.(*tensor.Dense).Data().([]T) }

func dtypeOf(v gorgonia.Value) tensor.Dtype { return v.(*tensor.Dense).Dtype() }

// dispatch runs the float32 or float64 instance of a kernel for v's dtype.
func dispatch(v gorgonia.Value, f32 func(), f64 func()) error {
	switch dtypeOf(v) {
	case tensor.Float32:
		f32()
	case tensor.Float64:
		f64()
	default:
		return fmt.Errorf("models: unsupported dtype %v", dtypeOf(v))
	}
	return nil
}
