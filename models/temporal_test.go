package models

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestFramesPermutationGradients(t *testing.T) {
	GradCheck(t, []tensor.Shape{{6, 2, 2, 3}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
		return FramesToSequences(in[0], 3)
	})
	GradCheck(t, []tensor.Shape{{12, 2, 3}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
		return SequencesToFrames(in[0], 2, 3)
	})
}

// The layouts, element by element: x[b·F+f, c, p] = seq[b·P+p, c, f], and
// the round trip is the identity.
func TestFramesPermutationLayout(t *testing.T) {
	const b, f, c, h, w = 2, 3, 2, 2, 2
	p := NewParams(tensor.Float32, 1)
	g := NewGraph(p)
	x := g.Input("x", b*f, c, h, w)
	seq := g.framesToSequences(x, f)
	back := g.sequencesToFrames(seq, h, w)
	m, err := g.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, b*f*c*h*w)
	for i := range in {
		in[i] = float32(i)
	}
	if err := m.Set("x", in); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	s := seq.Value().Data().([]float32)
	for i := range b {
		for fr := range f {
			for ch := range c {
				for q := range h * w {
					if got, want := s[((i*h*w+q)*c+ch)*f+fr], in[((i*f+fr)*c+ch)*h*w+q]; got != want {
						t.Fatalf("clip %d frame %d channel %d pixel %d: %v, want %v", i, fr, ch, q, got, want)
					}
				}
			}
		}
	}
	if !slices.Equal(back.Value().Data().([]float32), in) {
		t.Error("sequences back to frames is not the identity")
	}
	if _, err := FramesToSequences(x, 4); err == nil {
		t.Error("6 images taken as clips of 4 frames")
	}
}

// frameIDs declares a frame-index input of b clips of f frames and fills
// it, keeping it out of the gradient check's random inputs.
func frameIDs(g *Graph, b, f int) *Node {
	ids := g.Input("frame", b*f)
	delete(g.inputs, "frame")
	d := ids.Value().Data().([]float64)
	for i := range d {
		d[i] = float64(i % f)
	}
	return ids
}

func TestTemporalAttentionGradient(t *testing.T) {
	blockGradCheck(t, func(p *Params) func(g *Graph) *Node {
		a := NewTemporalAttention(p, "temporal", 4, 2, 2, 3)
		return func(g *Graph) *Node { return a.Fwd(g, g.Input("x", 6, 4, 2, 2), frameIDs(g, 2, 3)) }
	})
}

// The video UNet's temporal layers and inputs (the image UNet's own
// parameters are checked by TestBlockGradients).
func TestVideoUNetGradient(t *testing.T) {
	blockGradCheckOf(t, func(p *Params) func(g *Graph) *Node {
		u, err := NewVideoUNet(p, UNetConfig{InChannels: 1, Size: 4, Channels: 4, TimeDim: 4, Heads: 2, Groups: 2, ContextDim: 3, CondChannels: 1}, 2)
		if err != nil {
			t.Fatal(err)
		}
		return func(g *Graph) *Node {
			c := Cond{Context: g.Input("ctx", 4, 2, 3), Image: g.Input("first", 4, 1, 4, 4)}
			return u.Predict(g, g.Input("x", 4, 1, 4, 4), g.Input("temb", 4, 4), frameIDs(g, 2, 2), c)
		}
	}, func(name string) bool { return strings.HasPrefix(name, "temporal.") })
}

// A new video UNet is its image UNet applied per frame (the temporal
// layers' output projections start at zero); once they are not zero, a
// frame's output depends on the clip's other frames, and only on its own
// clip's.
func TestVideoUNetMixesFramesOfOneClip(t *testing.T) {
	const clips, frames, s = 2, 3, 8
	p := NewParams(tensor.Float32, 3)
	cfg := UNetConfig{InChannels: 3, Size: s, Channels: 8, TimeDim: 8, Heads: 2, Groups: 4}
	u, err := NewVideoUNet(p, cfg, frames)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGraph(p)
	x, temb, ids := g.Input("x", clips*frames, 3, s, s), g.Input("temb", clips*frames, 8), g.Input("frame", clips*frames)
	video, image := u.Predict(g, x, temb, ids, Cond{}), u.UNet.Predict(g, x, temb, Cond{})
	m, err := g.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, clips*frames*3*s*s)
	for i := range in {
		in[i] = float32(math.Sin(float64(i)))
	}
	run := func() []float32 {
		t.Helper()
		m.Set("x", in)
		m.Set("temb", make([]float32, clips*frames*8))
		m.Set("frame", []float32{0, 1, 2, 0, 1, 2})
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(video.Value().Data().([]float32))
	}
	if a := run(); !slices.Equal(a, image.Value().Data().([]float32)) {
		t.Fatal("a new video UNet differs from its image UNet per frame")
	}
	for _, name := range p.Names() {
		if slices.Contains([]string{".out.weight"}, name[max(0, len(name)-len(".out.weight")):]) {
			d := p.Get(name).Data().([]float32)
			for i := range d {
				d[i] = 0.3 * float32(math.Cos(float64(i)))
			}
		}
	}
	before := run()
	d := 3 * s * s
	for i := d; i < 2*d; i++ { // frame 1 of clip 0
		in[i] += 0.5
	}
	after := run()
	changed := func(frame int) bool { return !slices.Equal(before[frame*d:(frame+1)*d], after[frame*d:(frame+1)*d]) }
	if !changed(0) || !changed(2) {
		t.Error("changing frame 1 of a clip left its frames 0 and 2 as they were")
	}
	for f := frames; f < 2*frames; f++ {
		if changed(f) {
			t.Errorf("changing clip 0 changed frame %d of clip 1", f-frames)
		}
	}
}

func TestFrameAttentionGradient(t *testing.T) {
	GradCheck(t, []tensor.Shape{{6, 12, 2, 3}}, func(g *gorgonia.ExprGraph, in Nodes) (*Node, error) {
		return FrameAttention(in[0], 3, 2)
	})
}

// FrameAttention is attention over each pixel's sequence of frames: what
// permuting to sequences, slicing q, k and v, Attention and permuting back
// compute, in float64 to rounding, in float32 closely.
func TestFrameAttentionIsAttentionOverFrames(t *testing.T) {
	const b, f, c, h, w, heads = 2, 4, 6, 3, 5, 3
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		p := NewParams(dt, 1)
		g := NewGraph(p)
		qkv := g.Input("qkv", b*f, 3*c, h, w)
		fused := g.frameAttention(qkv, f, heads)
		seq := g.framesToSequences(qkv, f)
		ref := g.sequencesToFrames(g.Attention(g.SliceChannels(seq, 0, c), g.SliceChannels(seq, c, 2*c), g.SliceChannels(seq, 2*c, 3*c), heads), h, w)
		m, err := g.Compile(nil)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float32, b*f*3*c*h*w)
		for i := range in {
			in[i] = float32(math.Sin(float64(i) * 0.37))
		}
		if err := m.Set("qkv", in); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 1e-5
		}
		got, want := asFloat64s(fused.Value().Data()), asFloat64s(ref.Value().Data())
		for i := range want {
			if math.Abs(got[i]-want[i]) > tol {
				t.Fatalf("%v: value %d: fused %v, composed %v", dt, i, got[i], want[i])
			}
		}
	}
	p := NewParams(tensor.Float32, 1)
	g := NewGraph(p)
	if _, err := FrameAttention(g.Input("x", 6, 9, 2, 2), 4, 1); err == nil {
		t.Error("6 images taken as clips of 4 frames")
	}
	if _, err := FrameAttention(g.Input("y", 4, 9, 2, 2), 2, 2); err == nil {
		t.Error("3 channels split into 2 heads")
	}
}

func asFloat64s(d any) []float64 {
	switch d := d.(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}
