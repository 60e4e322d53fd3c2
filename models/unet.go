package models

import "fmt"

// UNetConfig is the architecture of a three-level DDPM UNet; the zero value
// of each field is replaced by the reference network's.
type UNetConfig struct {
	InChannels int `json:"in_channels"` // image channels: 1 (MNIST) or 3 (shapes)
	Size       int `json:"size"`        // image side, divisible by 4 (28, 32)
	Channels   int `json:"channels"`    // width of the first level; the others are twice it (32)
	TimeDim    int `json:"time_dim"`    // sinusoidal and embedding width (128)
	Heads      int `json:"heads"`       // attention heads at the lowest level (4)
	Groups     int `json:"groups"`      // GroupNorm groups (8)
	ContextDim int `json:"context_dim"` // >0: cross-attention to a (N,L,ContextDim) context at the lowest level
	Classes    int `json:"classes"`     // >0: class-conditional, with an embedding row per class plus one for "no class"
	// >0: an image of this many channels is concatenated to x before the
	// first conv (SR3's upsampled low-resolution input); the output keeps
	// InChannels.
	CondChannels int `json:"cond_channels,omitempty"`
}

// UNetSize is a named size of genlab's UNet for images of the given
// channels and side: "tiny" (16 channels, for tests and demos), "small"
// (the reference network's widths) or "base" (64 channels).
func UNetSize(name string, inChannels, size int) (UNetConfig, error) {
	c := UNetConfig{InChannels: inChannels, Size: size, Groups: 8}
	switch name {
	case "tiny":
		c.Channels, c.TimeDim, c.Heads = 16, 64, 2
	case "small":
		c.Channels, c.TimeDim, c.Heads = 32, 128, 4
	case "base":
		c.Channels, c.TimeDim, c.Heads = 64, 256, 4
	default:
		return UNetConfig{}, fmt.Errorf("unknown size %q: use tiny, small or base", name)
	}
	return c, c.Validate()
}

// ReferenceUNet is the network of bench/unet_step.py
// (612,737 parameters), the performance benchmark's subject.
func ReferenceUNet() UNetConfig {
	return UNetConfig{InChannels: 1, Size: 28, Channels: 32, TimeDim: 128, Heads: 4, Groups: 8}
}

func (c UNetConfig) withDefaults() UNetConfig {
	r := ReferenceUNet()
	if c.InChannels == 0 {
		c.InChannels = r.InChannels
	}
	if c.Size == 0 {
		c.Size = r.Size
	}
	if c.Channels == 0 {
		c.Channels = r.Channels
	}
	if c.TimeDim == 0 {
		c.TimeDim = r.TimeDim
	}
	if c.Heads == 0 {
		c.Heads = r.Heads
	}
	if c.Groups == 0 {
		c.Groups = r.Groups
	}
	return c
}

// Validate says what is wrong with a configuration, if anything.
func (c UNetConfig) Validate() error {
	// Zero fields take the reference network's values; anything negative
	// or beyond genlab's generous bounds is refused before it is used.
	b := Bounds{Prefix: "unet"}
	b.Int("in_channels", c.InChannels, 0, MaxInChannels)
	b.Int("size", c.Size, 0, MaxImageSide)
	b.Int("channels", c.Channels, 0, MaxChannels)
	b.Int("time_dim", c.TimeDim, 0, MaxChannels)
	b.Int("heads", c.Heads, 0, MaxHeads)
	b.Int("groups", c.Groups, 0, MaxChannels)
	b.Int("context_dim", c.ContextDim, 0, MaxChannels)
	b.Int("classes", c.Classes, 0, MaxClasses)
	b.Int("cond_channels", c.CondChannels, 0, 2*MaxInChannels)
	if err := b.Err(); err != nil {
		return err
	}
	c = c.withDefaults()
	switch {
	case c.InChannels != 1 && c.InChannels != 3:
		return fmt.Errorf("unet: in_channels %d: want 1 or 3", c.InChannels)
	case c.Size%4 != 0:
		return fmt.Errorf("unet: size %d: want a multiple of 4", c.Size)
	case c.Channels%c.Groups != 0:
		return fmt.Errorf("unet: %d channels do not split into %d groups", c.Channels, c.Groups)
	case (2*c.Channels)%c.Heads != 0:
		return fmt.Errorf("unet: %d channels do not split into %d heads", 2*c.Channels, c.Heads)
	case c.Classes < 0 || c.ContextDim < 0 || c.CondChannels < 0:
		return fmt.Errorf("unet: negative classes, context_dim or cond_channels")
	case c.TimeDim%2 != 0:
		return fmt.Errorf("unet: time_dim %d must be even", c.TimeDim)
	}
	return nil
}

// UNet predicts a tensor of the input's shape (the noise, for DDPM) from an
// image x (N,C,S,S), a time embedding input and optionally a context.
// Levels: C channels at S, 2C at S/2, 2C at S/4 with self-attention
// (and cross-attention when ContextDim > 0) between two residual blocks.
type UNet struct {
	Config       UNetConfig
	temb0, temb2 Dense
	inc          Conv
	d1, d2       ResBlock
	down1, down2 Conv
	m1, m2       ResBlock
	attn         SelfAttention
	cross        *CrossAttention
	classEmb     string // the class embedding table's name, "" without
	u2, u1, u0   ResBlock
	up2, up1     Conv
	outn         Norm
	outc         Conv
}

// NewUNet adds a UNet's parameters to p under the reference script's names
// (temb.0, inc, d1, down1, ..., outc), so its weights load into PyTorch.
func NewUNet(p *Params, c UNetConfig) (*UNet, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	ch, td, gr := c.Channels, c.TimeDim, c.Groups
	u := &UNet{Config: c}
	u.temb0 = NewDense(p, "temb.0", td, td)
	u.temb2 = NewDense(p, "temb.2", td, td)
	if c.Classes > 0 {
		// nn.Embedding's default initialisation, N(0,1).
		u.classEmb = "class_emb.weight"
		p.Add(u.classEmb, []int{c.Classes + 1, td}, Normal(1))
	}
	u.inc = NewConv(p, "inc", c.InChannels+c.CondChannels, ch, 3, 1, 1)
	u.d1 = NewResBlock(p, "d1", ch, ch, td, gr)
	u.down1 = NewConv(p, "down1", ch, ch, 3, 2, 1)
	u.d2 = NewResBlock(p, "d2", ch, 2*ch, td, gr)
	u.down2 = NewConv(p, "down2", 2*ch, 2*ch, 3, 2, 1)
	u.m1 = NewResBlock(p, "m1", 2*ch, 2*ch, td, gr)
	u.attn = NewSelfAttention(p, "attn", 2*ch, c.Heads, gr)
	if c.ContextDim > 0 {
		x := NewCrossAttention(p, "cross", 2*ch, c.ContextDim, c.Heads, gr)
		u.cross = &x
	}
	u.m2 = NewResBlock(p, "m2", 2*ch, 2*ch, td, gr)
	u.u2 = NewResBlock(p, "u2", 4*ch, 2*ch, td, gr)
	u.up2 = NewConv(p, "up2", 2*ch, 2*ch, 3, 1, 1)
	u.u1 = NewResBlock(p, "u1", 4*ch, ch, td, gr)
	u.up1 = NewConv(p, "up1", ch, ch, 3, 1, 1)
	u.u0 = NewResBlock(p, "u0", 2*ch, ch, td, gr)
	u.outn = NewNorm(p, "outn", gr, ch)
	u.outc = NewConv(p, "outc", ch, c.InChannels, 3, 1, 1)
	return u, nil
}

// Cond is what a UNet may be conditioned on besides the time.
type Cond struct {
	Class   *Node // (N) class indices as floats; Classes means "no class"
	Context *Node // (N,L,ContextDim) token encodings, e.g. of a caption
	Image   *Node // (N,CondChannels,S,S), concatenated to x (super-resolution)
}

// Fwd: x (N,C,S,S); temb the sinusoidal embedding of the time (N,TimeDim);
// ctx (N,L,ContextDim) or nil.
func (u *UNet) Fwd(g *Graph, x, temb, ctx *Node) *Node {
	return u.Predict(g, x, temb, Cond{Context: ctx})
}

// Predict is Fwd with every condition: the class embedding is added to the
// time embedding after its MLP (so every residual block sees both), the
// context enters through cross-attention at the lowest level.
func (u *UNet) Predict(g *Graph, x, temb *Node, c Cond) *Node {
	return u.predict(g, x, temb, c, nil)
}

// predict is Predict with after, if not nil, applied to the output of each
// residual block by name (d1, d2, m1, m2, u2, u1, u0): a video UNet's
// temporal layers.
func (u *UNet) predict(g *Graph, x, temb *Node, c Cond, after func(g *Graph, block string, h *Node) *Node) *Node {
	then := func(block string, h *Node) *Node {
		if after == nil || !g.ok(h) {
			return h
		}
		return after(g, block, h)
	}
	ctx := c.Context
	e := u.temb2.Fwd(g, g.SiLU(u.temb0.Fwd(g, temb)))
	if u.classEmb != "" {
		if c.Class == nil {
			return g.fail(fmt.Errorf("unet: a class-conditional UNet needs class indices"))
		}
		e = g.Add(e, g.Embed(g.Param(u.classEmb), c.Class))
	}
	if u.cross != nil && ctx == nil {
		return g.fail(fmt.Errorf("unet: a cross-attention UNet needs a context"))
	}
	if u.Config.CondChannels > 0 {
		if c.Image == nil {
			return g.fail(fmt.Errorf("unet: a UNet with cond_channels needs a conditioning image"))
		}
		x = g.Concat(x, c.Image)
	}
	h0 := then("d1", u.d1.Fwd(g, u.inc.Fwd(g, x), e))
	h1 := then("d2", u.d2.Fwd(g, u.down1.Fwd(g, h0), e))
	h2 := u.down2.Fwd(g, h1)
	h := u.attn.Fwd(g, then("m1", u.m1.Fwd(g, h2, e)))
	if u.cross != nil {
		h = u.cross.Fwd(g, h, ctx)
	}
	h = then("m2", u.m2.Fwd(g, h, e))
	h = then("u2", u.u2.Fwd(g, g.Concat(h, h2), e))
	h = u.up2.FwdUp(g, h)
	h = then("u1", u.u1.Fwd(g, g.Concat(h, h1), e))
	h = u.up1.FwdUp(g, h)
	h = then("u0", u.u0.Fwd(g, g.Concat(h, h0), e))
	return u.outn.FwdSiLUConv(g, u.outc, h, nil, nil)
}
