package models

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Embed looks up rows of a table w (n,dim) for the indices in ids (N),
// stored as floats since every graph value shares one element type:
// PyTorch's nn.Embedding, for class labels and text tokens.
func Embed(w, ids *Node) (*Node, error) {
	if w.Dims() != 2 || ids.Dims() != 1 {
		return nil, fmt.Errorf("models: embedding of ids %v in a table %v", ids.Shape(), w.Shape())
	}
	return gorgonia.ApplyOp(&embedOp{opBase: opBase{"Embed", 2}}, w, ids)
}

// embedOp: (table, ids) -> rows; with grad set, (table, ids, dy) -> the
// table's gradient, dy's rows summed into the rows they came from.
type embedOp struct {
	opBase
	grad bool
	out  outBuf
}

func (op *embedOp) Type() hm.Type {
	if op.grad {
		return fnType(2, 2, 1, 2)
	}
	return fnType(2, 2, 1)
}
func (op *embedOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	w, ids := shapeOf(in[0]), shapeOf(in[1])
	if op.grad {
		return w.Clone(), nil
	}
	return tensor.Shape{ids[0], w[1]}, nil
}
func (op *embedOp) DiffWRT(n int) []bool { return []bool{true, false} }

func (op *embedOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	ws, n := v[0].Shape(), v[1].Shape()[0]
	var y *tensor.Dense
	if op.grad {
		y = op.out.get(dtypeOf(v[0]), ws...)
	} else {
		y = op.out.get(dtypeOf(v[0]), n, ws[1])
	}
	var err error
	derr := dispatch(v[0],
		func() { err = embed(op.grad, slice[float32](v[1]), v, slice[float32](y), ws[0], ws[1]) },
		func() { err = embed(op.grad, slice[float64](v[1]), v, slice[float64](y), ws[0], ws[1]) })
	if derr != nil {
		return nil, derr
	}
	return y, err
}

func embed[T Float](grad bool, ids []T, v []gorgonia.Value, y []T, rows, dim int) error {
	if grad {
		clear(y)
	}
	for i, f := range ids {
		r := int(f)
		if r < 0 || r >= rows || T(r) != f {
			return fmt.Errorf("models: embedding index %v outside the table's %d rows", f, rows)
		}
		if grad {
			dy := slice[T](v[2])[i*dim : (i+1)*dim]
			axpy(1, dy, y[r*dim:(r+1)*dim])
		} else {
			copy(y[i*dim:(i+1)*dim], slice[T](v[0])[r*dim:(r+1)*dim])
		}
	}
	return nil
}

func (op *embedOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	dw, err := gorgonia.ApplyOp(&embedOp{opBase: opBase{"EmbedGrad", 3}, grad: true}, in[0], in[1], grad)
	return Nodes{dw, nil}, err
}
