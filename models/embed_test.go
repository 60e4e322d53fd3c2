package models

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestEmbedGradientAndLookup(t *testing.T) {
	// Row 2 is used twice, so its gradient sums two rows of dy.
	ids := func(g *gorgonia.ExprGraph) *Node {
		v := tensor.New(tensor.WithBacking([]float64{2, 0, 2, 3}))
		return gorgonia.NewTensor(g, tensor.Float64, 1, gorgonia.WithShape(4), gorgonia.WithValue(v), gorgonia.WithName("ids"))
	}
	gradCheck(t, []tensor.Shape{{5, 3}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Embed(in[0], ids(g)) })

	table := tensor.New(tensor.WithShape(5, 3), tensor.WithBacking([]float64{0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42}))
	got := forward(t, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Embed(in[0], ids(g)) }, table)
	assertClose(t, "embedding", got, []float64{20, 21, 22, 0, 1, 2, 20, 21, 22, 30, 31, 32}, 0)
}
