package models

import (
	"fmt"
	"slices"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The small text encoder of text-to-image models: a word-level tokenizer
// over a fixed vocabulary (a captioned dataset's words), token and
// position embeddings, and a few pre-LayerNorm transformer layers built on
// the shared attention op. Its output, one vector per token, is the context
// a UNet's cross-attention reads.

// TextEncoderConfig is a text encoder's vocabulary and architecture; it is
// saved in the checkpoint so a prompt is tokenized as in training.
type TextEncoderConfig struct {
	Vocab  []string `json:"vocab"`  // the words it knows; word i has token id i+1 (0 is padding)
	Length int      `json:"length"` // tokens per prompt: shorter prompts are padded, longer ones refused
	Dim    int      `json:"dim"`    // token width, the UNet's context_dim (64)
	Layers int      `json:"layers"` // transformer layers (2)
	Heads  int      `json:"heads"`  // attention heads (4)
}

// PadToken is the id of padding, and a prompt of padding only is the null
// prompt of classifier-free guidance.
const PadToken = 0

// Validate says what is wrong with a configuration, if anything.
func (c TextEncoderConfig) Validate() error {
	b := Bounds{Prefix: "text encoder"}
	b.Int("vocabulary size", len(c.Vocab), 0, MaxClasses)
	b.Int("length", c.Length, 0, MaxTokens)
	b.Int("dim", c.Dim, 0, MaxChannels)
	b.Int("layers", c.Layers, 0, MaxLayers)
	b.Int("heads", c.Heads, 0, MaxHeads)
	if err := b.Err(); err != nil {
		return err
	}
	switch {
	case len(c.Vocab) == 0:
		return fmt.Errorf("text encoder: empty vocabulary")
	case c.Length < 1:
		return fmt.Errorf("text encoder: length %d: want at least 1", c.Length)
	case c.Dim < 1 || c.Heads < 1 || c.Dim%c.Heads != 0:
		return fmt.Errorf("text encoder: %d dims do not split into %d heads", c.Dim, c.Heads)
	case c.Layers < 0:
		return fmt.Errorf("text encoder: %d layers", c.Layers)
	}
	seen := map[string]bool{}
	for _, w := range c.Vocab {
		if w == "" || w != strings.ToLower(w) || strings.ContainsFunc(w, isSpace) || seen[w] {
			return fmt.Errorf("text encoder: vocabulary word %q is empty, not lower case, holds a space or repeats", w)
		}
		seen[w] = true
	}
	return nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// UnknownWordError is a prompt word outside the vocabulary.
type UnknownWordError struct {
	Word  string
	Vocab []string // sorted
}

func (e *UnknownWordError) Error() string {
	return fmt.Sprintf("unknown word %q; the model knows: %s", e.Word, strings.Join(e.Vocab, " "))
}

// Words splits a prompt as the tokenizer does: lower case, split at spaces,
// one final full stop forgiven.
func Words(prompt string) []string {
	return strings.Fields(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(prompt), ".")))
}

// Tokenize turns a prompt into Length token ids, padded with PadToken. An
// empty prompt is the null prompt. A word outside the vocabulary is an
// *UnknownWordError; a prompt of more than Length words is refused too.
func (c TextEncoderConfig) Tokenize(prompt string) ([]int, error) {
	words := Words(prompt)
	ids := make([]int, c.Length)
	for i, w := range words {
		k := slices.Index(c.Vocab, w)
		if k < 0 {
			v := slices.Clone(c.Vocab)
			slices.Sort(v)
			return nil, &UnknownWordError{Word: w, Vocab: v}
		}
		if i >= c.Length {
			return nil, fmt.Errorf("prompt %q has %d words; the model reads at most %d", prompt, len(words), c.Length)
		}
		ids[i] = k + 1
	}
	return ids, nil
}

// TextEncoder maps token ids (N prompts of Length tokens) to their
// encodings (N,Length,Dim). Each layer is
//
//	h = h + out(attn(q(ln1(h)), k(ln1(h)), v(ln1(h))))
//	h = h + fc2(silu(fc1(ln2(h))))
//
// with a final LayerNorm, as in GPT-2 and CLIP's text tower (SiLU for
// GELU). LayerNorm is GroupNorm with one group over each token's vector.
type TextEncoder struct {
	Config   TextEncoderConfig
	tok, pos string // embedding tables
	layers   []textLayer
	norm     Norm
}

type textLayer struct {
	ln1, ln2     Norm
	q, k, v, out Dense
	fc1, fc2     Dense
}

// NewTextEncoder adds an encoder's parameters to p under name:
// name.tok.weight (vocabulary+1, Dim), name.pos.weight (Length, Dim),
// name.layers.I.{ln1,q,k,v,out,ln2,fc1,fc2}, name.norm.
func NewTextEncoder(p *Params, name string, c TextEncoderConfig) (*TextEncoder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d := c.Dim
	e := &TextEncoder{Config: c, tok: name + ".tok.weight", pos: name + ".pos.weight"}
	// nn.Embedding's initialisation, N(0,1); the first LayerNorm rescales.
	p.Add(e.tok, []int{len(c.Vocab) + 1, d}, Normal(1))
	p.Add(e.pos, []int{c.Length, d}, Normal(1))
	for i := range c.Layers {
		n := fmt.Sprintf("%s.layers.%d", name, i)
		e.layers = append(e.layers, textLayer{
			ln1: NewNorm(p, n+".ln1", 1, d),
			q:   NewDense(p, n+".q", d, d),
			k:   NewDense(p, n+".k", d, d),
			v:   NewDense(p, n+".v", d, d),
			out: NewDense(p, n+".out", d, d),
			ln2: NewNorm(p, n+".ln2", 1, d),
			fc1: NewDense(p, n+".fc1", d, 4*d),
			fc2: NewDense(p, n+".fc2", 4*d, d),
		})
	}
	e.norm = NewNorm(p, name+".norm", 1, d)
	return e, nil
}

// Fwd encodes tokens, an input of N·Length token ids (as floats, prompt
// after prompt), into (N,Length,Dim).
func (e *TextEncoder) Fwd(g *Graph, tokens *Node) *Node {
	if !g.ok(tokens) {
		return nil
	}
	l, d := e.Config.Length, e.Config.Dim
	if s := tokens.Shape(); len(s) != 1 || s[0]%l != 0 {
		return g.fail(fmt.Errorf("text encoder: tokens of shape %v: want N·%d ids", s, l))
	}
	rows := tokens.Shape()[0]
	n := rows / l
	tok := g.Param(e.tok)
	if g.tuner != nil && tok != nil {
		tok = g.tuner.Table(g, e.tok, tok)
	}
	h := g.Add(g.Embed(tok, tokens), g.Embed(g.Param(e.pos), g.positions(n, l)))
	for _, t := range e.layers {
		a := layerNorm(g, t.ln1, h)
		// Channel-major (N,Dim,Length) sequences for the attention op.
		seq := func(x *Node) *Node { return g.SwapLastAxes(g.Reshape(x, n, l, d)) }
		o := g.Attention(seq(t.q.Fwd(g, a)), seq(t.k.Fwd(g, a)), seq(t.v.Fwd(g, a)), e.Config.Heads)
		h = g.Add(h, t.out.Fwd(g, g.Reshape(g.SwapLastAxes(o), rows, d)))
		h = g.Add(h, t.fc2.Fwd(g, g.SiLU(t.fc1.Fwd(g, layerNorm(g, t.ln2, h)))))
	}
	return g.Reshape(layerNorm(g, e.norm, h), n, l, d)
}

// layerNorm normalises each row of x (rows,D) over its D values.
func layerNorm(g *Graph, nm Norm, x *Node) *Node {
	if !g.ok(x) {
		return nil
	}
	s := x.Shape()
	return g.Reshape(nm.Fwd(g, g.Reshape(x, s[0], s[1], 1)), s[0], s[1])
}

// positions is a constant node of the position ids 0..l-1, n times.
func (g *Graph) positions(n, l int) *Node {
	if g.err != nil {
		return nil
	}
	t := tensor.New(tensor.Of(g.P.dtype), tensor.WithShape(n*l))
	switch d := t.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(i % l)
		}
	case []float64:
		for i := range d {
			d[i] = float64(i % l)
		}
	}
	return gorgonia.NewTensor(g.G, g.P.dtype, 1, gorgonia.WithShape(n*l), gorgonia.WithValue(t), gorgonia.WithName(fmt.Sprintf("positions(%d,%d)", n, l)))
}

// TokenFloats lays out token ids as a TextEncoder's tokens input.
func TokenFloats(ids [][]int) []float32 {
	var out []float32
	for _, row := range ids {
		for _, id := range row {
			out = append(out, float32(id))
		}
	}
	return out
}
