package models

import (
	"testing"

	"gorgonia.org/tensor"
)

func TestReferenceUNetParameterCount(t *testing.T) {
	p := NewParams(tensor.Float32, 1)
	if _, err := NewUNet(p, ReferenceUNet()); err != nil {
		t.Fatal(err)
	}
	// shared/reference/unet_step.py prints "params 612737".
	if got := p.Count(); got != 612737 {
		t.Fatalf("reference UNet has %d parameters, want 612737", got)
	}
}

func TestUNetShapes(t *testing.T) {
	for _, c := range []UNetConfig{ReferenceUNet(), {InChannels: 3, Size: 32, Channels: 16, TimeDim: 32, Heads: 2, Groups: 4, ContextDim: 8}} {
		p := NewParams(tensor.Float32, 1)
		u, err := NewUNet(p, c)
		if err != nil {
			t.Fatal(err)
		}
		c = u.Config
		g := NewGraph(p)
		x := g.Input("x", 2, c.InChannels, c.Size, c.Size)
		temb := g.Input("t", 2, c.TimeDim)
		var ctx *Node
		if c.ContextDim > 0 {
			ctx = g.Input("ctx", 2, 5, c.ContextDim)
		}
		y := u.Fwd(g, x, temb, ctx)
		m, err := g.Compile(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		if !y.Shape().Eq(x.Shape()) {
			t.Fatalf("output %v, want %v", y.Shape(), x.Shape())
		}
	}
}
