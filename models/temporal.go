package models

import "fmt"

// Video: a clip of F frames runs through the image blocks as a batch of
// B·F images (N,C,H,W with N = B·F, clip after clip), so every spatial
// layer is applied per frame; temporal layers mix the frames at each
// pixel. This factorisation of a space-time UNet is that of Video
// Diffusion Models (Ho et al. 2022) and Make-A-Video (Singer et al. 2022).

// TemporalAttention is multi-head self-attention over the frames of a
// clip at each pixel, with a residual and a learned frame-position
// embedding: x + out(attn over frames(qkv(norm(x) + pos[frame]))).
// out starts at zero, so a new temporal layer is the identity and a video
// UNet starts as its image UNet applied per frame. Names: norm, pos, qkv, out.
type TemporalAttention struct {
	Norm          Norm
	Pos           string // (Frames, channels) frame-position table
	QKV, Out      Conv
	Heads, Frames int
}

func NewTemporalAttention(p *Params, name string, channels, heads, groups, frames int) TemporalAttention {
	a := TemporalAttention{
		Norm:   NewNorm(p, name+".norm", groups, channels),
		Pos:    name + ".pos",
		QKV:    NewConv(p, name+".qkv", channels, 3*channels, 1, 1, 0),
		Heads:  heads,
		Frames: frames,
	}
	p.Add(a.Pos, []int{frames, channels}, Normal(0.02))
	a.Out = Conv{Name: name + ".out", In: channels, Out: channels, K: 1, Stride: 1}
	p.Add(a.Out.Name+".weight", []int{channels, channels, 1, 1}, Const(0))
	p.Add(a.Out.Name+".bias", []int{channels}, Const(0))
	return a
}

// Fwd takes x (B·F, C, H, W) and each image's frame index (B·F) as floats.
func (a TemporalAttention) Fwd(g *Graph, x, frame *Node) *Node {
	if !g.ok(x, frame) {
		return nil
	}
	h := g.AddPerChannel(a.Norm.Fwd(g, x), g.Embed(g.Param(a.Pos), frame))
	return g.Add(x, a.Out.Fwd(g, g.frameAttention(a.QKV.Fwd(g, h), a.Frames, a.Heads)))
}

func (g *Graph) frameAttention(qkv *Node, frames, heads int) *Node {
	if !g.ok(qkv) {
		return nil
	}
	return g.wrap(FrameAttention(qkv, frames, heads))
}

func (g *Graph) framesToSequences(x *Node, frames int) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(FramesToSequences(x, frames))
}

func (g *Graph) sequencesToFrames(x *Node, h, w int) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(SequencesToFrames(x, h, w))
}

// VideoUNet is a UNet for clips of Frames frames: the image UNet's blocks
// applied per frame, with a TemporalAttention after each residual block
// of the down and up paths and the first of the middle.
type VideoUNet struct {
	*UNet
	Frames   int
	temporal map[string]TemporalAttention
}

// videoBlocks are the residual blocks a temporal layer follows, with
// their output width in units of the config's channels.
var videoBlocks = []struct {
	name  string
	width int
}{{"d1", 1}, {"d2", 2}, {"m1", 2}, {"u2", 2}, {"u1", 1}, {"u0", 1}}

// NewVideoUNet adds the image UNet's parameters (under their usual names)
// and the temporal layers' (temporal.d1, ...) to p.
func NewVideoUNet(p *Params, c UNetConfig, frames int) (*VideoUNet, error) {
	if frames < 1 || frames > MaxFrames {
		return nil, fmt.Errorf("unet: %d frames: want 1 to %d", frames, MaxFrames)
	}
	u, err := NewUNet(p, c)
	if err != nil {
		return nil, err
	}
	c = u.Config
	if c.Channels%c.Heads != 0 {
		return nil, fmt.Errorf("unet: %d channels do not split into %d heads", c.Channels, c.Heads)
	}
	v := &VideoUNet{UNet: u, Frames: frames, temporal: map[string]TemporalAttention{}}
	for _, b := range videoBlocks {
		v.temporal[b.name] = NewTemporalAttention(p, "temporal."+b.name, b.width*c.Channels, c.Heads, c.Groups, frames)
	}
	return v, nil
}

// MaxFrames bounds the frames of a clip a video UNet is built for.
const MaxFrames = 64

// Predict is UNet.Predict for x (B·F, C, S, S), the frames of B clips, with
// frame (B·F) each image's index in its clip; every condition is per
// image (a clip's caption repeated for each of its frames).
func (v *VideoUNet) Predict(g *Graph, x, temb, frame *Node, c Cond) *Node {
	if !g.ok(x, frame) {
		return nil
	}
	if n := x.Shape()[0]; n%v.Frames != 0 {
		return g.fail(fmt.Errorf("unet: %d images are not whole clips of %d frames", n, v.Frames))
	}
	return v.predict(g, x, temb, c, func(g *Graph, block string, h *Node) *Node {
		if t, ok := v.temporal[block]; ok {
			return t.Fwd(g, h, frame)
		}
		return h
	})
}
