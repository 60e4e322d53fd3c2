package models

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradCheck and compareWithDifferences are GradCheck and
// CompareWithDifferences for this package's tests.
func gradCheck(t *testing.T, shapes []tensor.Shape, f GraphFunc) {
	t.Helper()
	GradCheck(t, shapes, f)
}

func compareWithDifferences(t *testing.T, g *gorgonia.ExprGraph, out *Node, wrt Nodes, rng *rand.Rand, maxProbe int) {
	t.Helper()
	CompareWithDifferences(t, g, out, wrt, rng, maxProbe)
}

func TestConv2dGradient(t *testing.T) {
	for _, c := range []struct {
		name               string
		cin, cout, k, s, p int
		h, w               int
	}{
		{"3x3 same", 3, 4, 3, 1, 1, 6, 5},
		{"3x3 stride 2", 2, 3, 3, 2, 1, 7, 7},
		{"1x1 pointwise", 4, 3, 1, 1, 0, 5, 5},
		{"3x3 valid", 2, 2, 3, 1, 0, 5, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			gradCheck(t, []tensor.Shape{{2, c.cin, c.h, c.w}, {c.cout, c.cin, c.k, c.k}, {c.cout}},
				func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) { return Conv2d(in[0], in[1], in[2], c.s, c.p) })
		})
	}
}
