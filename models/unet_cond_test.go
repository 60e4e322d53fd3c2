package models

import (
	"testing"

	"gorgonia.org/tensor"
)

// SR3's conditioning: the image concatenated to x reaches the output, and
// its gradient is right.
func TestUNetImageConditionGradient(t *testing.T) {
	blockGradCheck(t, func(p *Params) func(g *Graph) *Node {
		u, err := NewUNet(p, UNetConfig{InChannels: 1, Size: 8, Channels: 8, TimeDim: 8, Heads: 2, Groups: 4, CondChannels: 1})
		if err != nil {
			t.Fatal(err)
		}
		if s := p.Get("inc.weight").Shape(); s[1] != 2 {
			t.Fatalf("inc.weight %v: want 2 input channels", s)
		}
		return func(g *Graph) *Node {
			return u.Predict(g, g.Input("x", 2, 1, 8, 8), g.Input("temb", 2, 8), Cond{Image: g.Input("lowres", 2, 1, 8, 8)})
		}
	})
	p := NewParams(tensor.Float32, 1)
	u, _ := NewUNet(p, UNetConfig{InChannels: 1, Size: 8, Channels: 8, TimeDim: 8, Heads: 2, Groups: 4, CondChannels: 1})
	g := NewGraph(p)
	u.Predict(g, g.Input("x", 2, 1, 8, 8), g.Input("temb", 2, 8), Cond{})
	if g.Err() == nil {
		t.Error("a UNet with cond_channels ran without its image")
	}
}
