package models

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// blockGradCheck is gradCheck for whole blocks: it builds a float64 Graph
// over fresh Params, fills the inputs with random values, and checks the
// gradients with respect to every input and every parameter.
func blockGradCheck(t *testing.T, build func(p *Params) func(g *Graph) *Node) {
	t.Helper()
	blockGradCheckOf(t, build, func(string) bool { return true })
}

// blockGradCheckOf is blockGradCheck probing only the parameters whose
// names pass keep (and every input).
func blockGradCheckOf(t *testing.T, build func(p *Params) func(g *Graph) *Node, keep func(name string) bool) {
	t.Helper()
	p := NewParams(tensor.Float64, 5)
	fwd := build(p)
	g := NewGraph(p)
	out := fwd(g)
	if g.Err() != nil {
		t.Fatal(g.Err())
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range g.inputs {
		d := n.Value().Data().([]float64)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
	}
	// Non-zero everywhere: GroupNorm's shift starts at 0 and its scale at 1,
	// which would hide a wrong gradient that happens to vanish there.
	for _, name := range p.Names() {
		d := p.Get(name).Data().([]float64)
		for i := range d {
			d[i] += 0.1 * rng.NormFloat64()
		}
	}
	var wrt Nodes
	for _, n := range g.Learnables() {
		if keep(n.Name()) {
			wrt = append(wrt, n)
		}
	}
	for _, n := range g.inputs {
		wrt = append(wrt, n)
	}
	compareWithDifferences(t, g.G, out, wrt, rng, 12)
}

func TestBlockGradients(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(p *Params) func(g *Graph) *Node
	}{
		{"ResBlock with embedding and skip conv", func(p *Params) func(g *Graph) *Node {
			r := NewResBlock(p, "res", 4, 8, 6, 2)
			return func(g *Graph) *Node { return r.Fwd(g, g.Input("x", 2, 4, 5, 5), g.Input("e", 2, 6)) }
		}},
		{"ResBlock without embedding", func(p *Params) func(g *Graph) *Node {
			r := NewResBlock(p, "res", 4, 4, 0, 2)
			return func(g *Graph) *Node { return r.Fwd(g, g.Input("x", 2, 4, 4, 4), nil) }
		}},
		{"SelfAttention", func(p *Params) func(g *Graph) *Node {
			a := NewSelfAttention(p, "attn", 8, 2, 4)
			return func(g *Graph) *Node { return a.Fwd(g, g.Input("x", 2, 8, 3, 3)) }
		}},
		{"CrossAttention", func(p *Params) func(g *Graph) *Node {
			a := NewCrossAttention(p, "cross", 8, 5, 2, 4)
			return func(g *Graph) *Node { return a.Fwd(g, g.Input("x", 2, 8, 3, 3), g.Input("ctx", 2, 4, 5)) }
		}},
		{"Downsample (stride-2 conv)", func(p *Params) func(g *Graph) *Node {
			c := NewConv(p, "down", 3, 4, 3, 2, 1)
			return func(g *Graph) *Node { return c.Fwd(g, g.Input("x", 2, 3, 6, 6)) }
		}},
		{"Upsample (nearest + conv)", func(p *Params) func(g *Graph) *Node {
			c := NewConv(p, "up", 3, 3, 3, 1, 1)
			return func(g *Graph) *Node { return c.Fwd(g, g.Upsample2x(g.Input("x", 2, 3, 3, 3))) }
		}},
		{"Dense + SiLU (time MLP)", func(p *Params) func(g *Graph) *Node {
			d := NewDense(p, "mlp", 6, 4)
			return func(g *Graph) *Node { return g.SiLU(d.Fwd(g, g.Input("t", 3, 6))) }
		}},
		{"UNet, class- and context-conditioned", func(p *Params) func(g *Graph) *Node {
			u, err := NewUNet(p, UNetConfig{InChannels: 1, Size: 8, Channels: 8, TimeDim: 8, Heads: 2, Groups: 4, ContextDim: 3, Classes: 3})
			if err != nil {
				t.Fatal(err)
			}
			return func(g *Graph) *Node {
				ids := g.Input("class", 2)
				y := u.Predict(g, g.Input("x", 2, 1, 8, 8), g.Input("temb", 2, 8), Cond{Class: ids, Context: g.Input("ctx", 2, 2, 3)})
				// Class ids must stay valid indices, not random values.
				delete(g.inputs, "class")
				ids.Value().Data().([]float64)[1] = 3
				return y
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) { blockGradCheck(t, c.build) })
	}
}
