package models

import (
	"math"
	"strings"
)

// The blocks every generator is built from. A block's constructor adds its
// parameters to a Params under its dotted name (PyTorch's module path) with
// PyTorch's default initialisation; its Fwd adds its computation to a Graph.

// Conv is nn.Conv2d(in, out, k, stride, padding) with bias.
type Conv struct {
	Name                    string
	In, Out, K, Stride, Pad int
}

// NewConv adds name.weight (out,in,k,k) and name.bias (out).
func NewConv(p *Params, name string, in, out, k, stride, pad int) Conv {
	b := fanInBound(in * k * k)
	p.Add(name+".weight", []int{out, in, k, k}, Uniform(b))
	p.Add(name+".bias", []int{out}, Uniform(b))
	return Conv{name, in, out, k, stride, pad}
}

func (c Conv) Fwd(g *Graph, x *Node) *Node {
	y := g.Conv2d(x, g.Param(c.Name+".weight"), g.Param(c.Name+".bias"), c.Stride, c.Pad)
	if g.tuner != nil && y != nil {
		y = g.tuner.Layer(g, Layer{Name: c.Name, In: c.In, Out: c.Out, K: c.K, Stride: c.Stride, Pad: c.Pad, Conv: true}, x, y)
	}
	return y
}

// FwdUp is c.Fwd(g, g.Upsample2x(x)); in an inference graph without a
// tuner, one fused op (UpsampleConv).
func (c Conv) FwdUp(g *Graph, x *Node) *Node {
	if !g.infer || g.tuner != nil {
		return c.Fwd(g, g.Upsample2x(x))
	}
	return g.UpsampleConv(x, g.Param(c.Name+".weight"), g.Param(c.Name+".bias"), c.Stride, c.Pad)
}

// FwdAdd is c.Fwd(x) + e per channel + r, either nil for none (a residual
// block's embedding and residual), in one op where no tuner changes the
// conv's output in between.
func (c Conv) FwdAdd(g *Graph, x, e, r *Node) *Node {
	if g.tuner != nil {
		y := c.Fwd(g, x)
		if e != nil {
			y = g.AddPerChannel(y, e)
		}
		if r != nil {
			y = g.Add(y, r)
		}
		return y
	}
	return g.Conv2dAdd(x, g.Param(c.Name+".weight"), g.Param(c.Name+".bias"), e, r, c.Stride, c.Pad)
}

// Dense is nn.Linear(in, out): weight (out,in), bias (out).
type Dense struct {
	Name    string
	In, Out int
}

func NewDense(p *Params, name string, in, out int) Dense {
	b := fanInBound(in)
	p.Add(name+".weight", []int{out, in}, Uniform(b))
	p.Add(name+".bias", []int{out}, Uniform(b))
	return Dense{name, in, out}
}

// Fwd maps the rows of x (N,in) to (N,out).
func (d Dense) Fwd(g *Graph, x *Node) *Node {
	y := g.Linear(x, g.Param(d.Name+".weight"), g.Param(d.Name+".bias"))
	if g.tuner != nil && y != nil {
		y = g.tuner.Layer(g, Layer{Name: d.Name, In: d.In, Out: d.Out, K: 1, Stride: 1}, x, y)
	}
	return y
}

// Norm is nn.GroupNorm(groups, channels) with its default eps.
type Norm struct {
	Name             string
	Groups, Channels int
}

func NewNorm(p *Params, name string, groups, channels int) Norm {
	p.Add(name+".weight", []int{channels}, Const(1))
	p.Add(name+".bias", []int{channels}, Const(0))
	return Norm{name, groups, channels}
}

func (n Norm) Fwd(g *Graph, x *Node) *Node {
	return g.GroupNorm(x, g.Param(n.Name+".weight"), g.Param(n.Name+".bias"), n.Groups, 1e-5)
}

// FwdSiLUConv is c.FwdAdd(g, n.FwdSiLU(g, x), e, r); in an inference
// graph without a tuner, one fused op (NormSiLUConv).
func (n Norm) FwdSiLUConv(g *Graph, c Conv, x, e, r *Node) *Node {
	if !g.infer || g.tuner != nil {
		return c.FwdAdd(g, n.FwdSiLU(g, x), e, r)
	}
	return g.NormSiLUConv(x, g.Param(n.Name+".weight"), g.Param(n.Name+".bias"), n.Groups, 1e-5,
		g.Param(c.Name+".weight"), g.Param(c.Name+".bias"), e, r, c.Stride, c.Pad)
}

// FwdSiLU is silu(n.Fwd(x)) as one fused op.
func (n Norm) FwdSiLU(g *Graph, x *Node) *Node {
	return g.GroupNormSiLU(x, g.Param(n.Name+".weight"), g.Param(n.Name+".bias"), n.Groups, 1e-5)
}

// ResBlock is the residual block of DDPM-style UNets:
// h = conv1(silu(norm1(x))) + emb(silu(e)); out = conv2(silu(norm2(h))) + skip(x),
// with skip a 1×1 conv when the channel count changes. The embedding e
// (time, class or text, summed) enters every block; EmbDim 0 means none.
type ResBlock struct {
	N1, N2 Norm
	C1, C2 Conv
	Emb    *Dense
	Skip   *Conv
}

// NewResBlock uses PyTorch-style names name.n1, name.c1, name.t, name.n2,
// name.c2, name.skip.
func NewResBlock(p *Params, name string, in, out, embDim, groups int) ResBlock {
	r := ResBlock{
		N1: NewNorm(p, name+".n1", groups, in),
		C1: NewConv(p, name+".c1", in, out, 3, 1, 1),
	}
	if embDim > 0 {
		d := NewDense(p, name+".t", embDim, out)
		r.Emb = &d
	}
	r.N2 = NewNorm(p, name+".n2", groups, out)
	r.C2 = NewConv(p, name+".c2", out, out, 3, 1, 1)
	if in != out {
		s := NewConv(p, name+".skip", in, out, 1, 1, 0)
		r.Skip = &s
	}
	return r
}

// Fwd takes x (N,in,H,W) and the embedding e (N,embDim), nil without one.
// The embedding enters as c1 writes h, the residual as c2 writes the
// output (Conv.FwdAdd).
func (r ResBlock) Fwd(g *Graph, x, e *Node) *Node {
	var emb *Node
	if r.Emb != nil {
		emb = r.Emb.Fwd(g, g.SiLU(e))
	}
	h := r.N1.FwdSiLUConv(g, r.C1, x, emb, nil)
	skip := x
	if r.Skip != nil {
		skip = r.Skip.Fwd(g, x)
	}
	return r.N2.FwdSiLUConv(g, r.C2, h, nil, skip)
}

// SelfAttention is multi-head self-attention over the pixels of a feature
// map, with a residual: x + out(attn(qkv(norm(x)))). Names: norm, qkv, out.
type SelfAttention struct {
	Norm     Norm
	QKV, Out Conv
	Heads    int
}

func NewSelfAttention(p *Params, name string, channels, heads, groups int) SelfAttention {
	return SelfAttention{
		Norm:  NewNorm(p, name+".norm", groups, channels),
		QKV:   NewConv(p, name+".qkv", channels, 3*channels, 1, 1, 0),
		Out:   NewConv(p, name+".out", channels, channels, 1, 1, 0),
		Heads: heads,
	}
}

func (a SelfAttention) Fwd(g *Graph, x *Node) *Node {
	if !g.ok(x) {
		return nil
	}
	s := x.Shape()
	n, c, p := s[0], s[1], s[2]*s[3]
	qkv := g.Reshape(a.QKV.Fwd(g, a.Norm.Fwd(g, x)), n, 3*c, p)
	o := g.Attention(g.SliceChannels(qkv, 0, c), g.SliceChannels(qkv, c, 2*c), g.SliceChannels(qkv, 2*c, 3*c), a.Heads)
	h := g.Add(x, a.Out.Fwd(g, g.Reshape(o, s...)))
	if g.tuner != nil && h != nil {
		h = g.tuner.Block(g, strings.TrimSuffix(a.Norm.Name, ".norm"), h)
	}
	return h
}

// CrossAttention lets every pixel attend to a context sequence (N,L,D),
// such as a caption's token encodings: x + out(attn(q(norm(x)), k(ctx), v(ctx))).
// Names: norm, q, k, v, out.
type CrossAttention struct {
	Norm   Norm
	Q, Out Conv
	K, V   Dense
	Heads  int
}

func NewCrossAttention(p *Params, name string, channels, ctxDim, heads, groups int) CrossAttention {
	return CrossAttention{
		Norm:  NewNorm(p, name+".norm", groups, channels),
		Q:     NewConv(p, name+".q", channels, channels, 1, 1, 0),
		K:     NewDense(p, name+".k", ctxDim, channels),
		V:     NewDense(p, name+".v", ctxDim, channels),
		Out:   NewConv(p, name+".out", channels, channels, 1, 1, 0),
		Heads: heads,
	}
}

func (a CrossAttention) Fwd(g *Graph, x, ctx *Node) *Node {
	if !g.ok(x, ctx) {
		return nil
	}
	s, cs := x.Shape(), ctx.Shape()
	n, c, l := s[0], s[1], cs[1]
	q := g.Reshape(a.Q.Fwd(g, a.Norm.Fwd(g, x)), n, c, s[2]*s[3])
	tokens := g.Reshape(ctx, n*l, cs[2])
	k := g.SwapLastAxes(g.Reshape(a.K.Fwd(g, tokens), n, l, c))
	v := g.SwapLastAxes(g.Reshape(a.V.Fwd(g, tokens), n, l, c))
	name := strings.TrimSuffix(a.Norm.Name, ".norm")
	if g.tuner != nil && k != nil && v != nil {
		k, v = g.tuner.KeyValues(g, name, k, v)
	}
	h := g.Add(x, a.Out.Fwd(g, g.Reshape(g.Attention(q, k, v, a.Heads), s...)))
	if g.tuner != nil && h != nil {
		h = g.tuner.Block(g, name, h)
	}
	return h
}

// SinusoidalEmbedding embeds each t as [sin(t·f_i), cos(t·f_i)] with
// f_i = 10000^(−i/half), as in "Attention Is All You Need" and DDPM.
// It returns len(t)×dim values, row-major.
func SinusoidalEmbedding(t []float64, dim int) []float32 {
	half := dim / 2
	out := make([]float32, len(t)*dim)
	for n, tv := range t {
		for i := 0; i < half; i++ {
			f := math.Exp(-math.Log(10000) * float64(i) / float64(half))
			out[n*dim+i] = float32(math.Sin(tv * f))
			out[n*dim+half+i] = float32(math.Cos(tv * f))
		}
	}
	return out
}
