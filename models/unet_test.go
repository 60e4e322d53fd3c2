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
	// bench/unet_step.py prints "params 612737".
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

func TestClassConditionalUNet(t *testing.T) {
	c, err := UNetSize("tiny", 1, 28)
	if err != nil {
		t.Fatal(err)
	}
	c.Classes = 10
	p := NewParams(tensor.Float32, 1)
	u, err := NewUNet(p, c)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGraph(p)
	x, temb, ids := g.Input("x", 2, 1, 28, 28), g.Input("t", 2, c.TimeDim), g.Input("class", 2)
	y := u.Predict(g, x, temb, Cond{Class: ids})
	m, err := g.Compile(g.MSE(y, g.Input("target", 2, 1, 28, 28)))
	if err != nil {
		t.Fatal(err)
	}
	m.Set("class", []float32{3, 10}) // a digit and "no class"
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	out := y.Value().Data().([]float32)
	same := true
	for i := 0; i < 784; i++ {
		same = same && out[i] == out[784+i]
	}
	if same {
		t.Fatal("the class did not change the output")
	}
	grads, _ := m.Grads()
	gw := grads["class_emb.weight"].Data().([]float32)
	nonzero := func(row int) bool {
		for _, v := range gw[row*c.TimeDim : (row+1)*c.TimeDim] {
			if v != 0 {
				return true
			}
		}
		return false
	}
	if !nonzero(3) || !nonzero(10) || nonzero(4) {
		t.Fatal("class embedding gradient should reach rows 3 and 10 only")
	}
	if _, err := UNetSize("huge", 1, 28); err == nil {
		t.Fatal("unknown size accepted")
	}
}
