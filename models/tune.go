package models

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Fine-tuning hooks. A fine-tune (LoRA, adapters, prefix or prompt tuning)
// keeps a trained model's weights frozen and adds a few parameters of its
// own; it reaches the forward pass through a Tuner set on the Graph. The
// blocks call the Tuner only when one is set, so a graph without one
// computes exactly what it did before: the same ops in the same order.

// Layer describes a Dense (Conv false) or Conv layer to a Tuner.
type Layer struct {
	Name                    string
	In, Out, K, Stride, Pad int
	Conv                    bool
}

// Tuner changes a frozen model's forward pass at its hook points; each
// method returns its input unchanged where it has nothing to add.
type Tuner interface {
	// Layer gets the input x and the base output y of a Dense or Conv.
	Layer(g *Graph, l Layer, x, y *Node) *Node
	// KeyValues gets the keys and values (N,C,L) of the cross-attention
	// block named name, before the attention reads them.
	KeyValues(g *Graph, name string, k, v *Node) (*Node, *Node)
	// Block gets the output (N,C,H,W) of the attention block named name.
	Block(g *Graph, name string, h *Node) *Node
	// Table gets the embedding table (rows, D) named name (a text
	// encoder's token embeddings), to add rows for new words.
	Table(g *Graph, name string, t *Node) *Node
}

// Tune sets the graph's Tuner; call it before building the forward pass.
func (g *Graph) Tune(t Tuner) { g.tuner = t }

// TrainOnly restricts the parameters Learnables returns (and so those a
// compiled machine differentiates) to those keep accepts: the rest stay
// constants of the graph, frozen, with no gradient computed for them.
func (g *Graph) TrainOnly(keep func(name string) bool) { g.trainable = keep }

// Scale is s·x.
func (g *Graph) Scale(x *Node, s float64) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(gorgonia.Mul(x, g.scalar(s)))
}

// ConcatAxis joins nodes of equal shapes but along axis.
func (g *Graph) ConcatAxis(axis int, ns ...*Node) *Node {
	if !g.ok(ns...) {
		return nil
	}
	if len(ns) == 1 {
		return ns[0]
	}
	return g.wrap(gorgonia.Concat(axis, ns...))
}

// Zeros is a constant tensor of zeros (the bias of a bias-free Linear or
// Conv2d).
func (g *Graph) Zeros(shape ...int) *Node {
	if g.err != nil {
		return nil
	}
	t := tensor.New(tensor.Of(g.P.dtype), tensor.WithShape(shape...))
	return gorgonia.NewTensor(g.G, g.P.dtype, len(shape), gorgonia.WithShape(shape...), gorgonia.WithValue(t), gorgonia.WithName(fmt.Sprintf("zeros%v#%d", shape, len(g.G.AllNodes()))))
}
