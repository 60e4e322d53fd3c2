package finetune

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"genlab/models"
)

// tokTable is the text encoder's token embedding table in a text
// diffusion model, and tokNew the rows a fine-tune adds for its new words.
const (
	tokTable = "text.tok.weight"
	tokNew   = "text.tok_new.weight"
)

// Tune is one fine-tune: its configuration and parameters, and the hooks
// (models.Tuner) that add them to a base model's forward pass.
type Tune struct {
	Config Config
	// Store holds the fine-tune's parameters under Prefix + their file
	// names (for "full", every weight of the model).
	Store  *models.Params
	Prefix string
	// Scale weighs the fine-tune at inference (1: as trained).
	Scale float64
	// layers are LoRA's target layers (base names).
	layers map[string]bool
	// folded: LoRA's or full fine-tuning's weights were added to the
	// base's (Fold); only the new words still enter through the hooks.
	folded bool
}

var _ models.Tuner = (*Tune)(nil)

// New makes a fine-tune of c on the base weights, its new parameters
// initialised from seed and named prefix + their file names.
func New(base *models.Params, c Config, prefix string, seed uint64) (*Tune, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Method == "prompt" && len(c.NewWords) == 0 {
		return nil, fmt.Errorf("finetune: prompt tuning trains new words' embeddings, and the captions have no word the base lacks")
	}
	p := models.NewParams(base.Dtype(), seed)
	t := &Tune{Config: c, Store: p, Prefix: prefix, Scale: 1, layers: map[string]bool{}}
	shapes := base.Shapes()
	shape := func(name string) []int { return shapes[name] }
	switch c.Method {
	case "lora":
		for _, l := range loraLayers(base, c.Targets) {
			w := shape(l + ".weight")
			t.layers[l] = true
			in := w[1]
			fanIn := in
			aShape, bShape := []int{c.Rank, in}, []int{w[0], c.Rank}
			if len(w) == 4 {
				fanIn = in * w[2] * w[3]
				aShape, bShape = []int{c.Rank, in, w[2], w[3]}, []int{w[0], c.Rank, 1, 1}
			}
			// peft: A as nn.Linear's weight (kaiming uniform), B zero.
			p.Add(prefix+l+".lora_A.weight", aShape, models.Uniform(1/math.Sqrt(float64(fanIn))))
			p.Add(prefix+l+".lora_B.weight", bShape, models.Const(0))
		}
		if len(t.layers) == 0 {
			return nil, fmt.Errorf("finetune: the base model has no %s layers for lora", strings.Join(c.Targets, ", "))
		}
	case "adapter":
		for _, b := range attentionBlocks(base) {
			ch := shape(b + ".out.weight")[0]
			bound := 1 / math.Sqrt(float64(ch))
			p.Add(prefix+b+".adapter.down.weight", []int{c.Rank, ch, 1, 1}, models.Uniform(bound))
			p.Add(prefix+b+".adapter.down.bias", []int{c.Rank}, models.Uniform(bound))
			p.Add(prefix+b+".adapter.up.weight", []int{ch, c.Rank, 1, 1}, models.Const(0))
			p.Add(prefix+b+".adapter.up.bias", []int{ch}, models.Const(0))
		}
	case "prefix":
		k := shape("cross.k.weight")
		if k == nil {
			return nil, fmt.Errorf("finetune: prefix tuning needs a model with cross-attention (a text model)")
		}
		p.Add(prefix+"cross.prefix.key", []int{k[0], c.Prefix}, models.Normal(1))
		p.Add(prefix+"cross.prefix.value", []int{k[0], c.Prefix}, models.Normal(0.1))
	case "full":
		for _, n := range base.Names() {
			p.Add(prefix+n, shape(n), models.Const(0))
			if err := p.SetFloat32s(prefix+n, base.Float32s(n)); err != nil {
				return nil, err
			}
		}
	}
	if len(c.NewWords) > 0 {
		tok := shape(tokTable)
		if tok == nil {
			return nil, fmt.Errorf("finetune: new words %v, but the base model has no text encoder", c.NewWords)
		}
		// nn.Embedding's initialisation, like the base table's.
		p.Add(prefix+tokNew, []int{len(c.NewWords), tok[1]}, models.Normal(1))
	}
	return t, nil
}

// loraLayers are the Dense and Conv layers (a weight of 2 or 4 dimensions
// with a bias beside it) of the target groups, sorted.
func loraLayers(base *models.Params, targets []string) []string {
	shapes := base.Shapes()
	var out []string
	for _, n := range base.Names() {
		l, ok := strings.CutSuffix(n, ".weight")
		if _, bias := shapes[l+".bias"]; !ok || !bias || (len(shapes[n]) != 2 && len(shapes[n]) != 4) {
			continue
		}
		if slices.Contains(targets, layerGroup(l, len(shapes[n]))) {
			out = append(out, l)
		}
	}
	return out
}

// layerGroup says which target group a layer belongs to, "" for none.
func layerGroup(l string, dims int) string {
	last := l[strings.LastIndex(l, ".")+1:]
	proj := last == "q" || last == "k" || last == "v" || last == "qkv" || last == "out"
	switch {
	case (strings.HasPrefix(l, "attn.") || strings.HasPrefix(l, "cross.")) && proj:
		return "attn"
	case strings.HasPrefix(l, "text.layers.") && proj:
		return "text"
	case !strings.HasPrefix(l, "text.") && dims == 4:
		return "conv"
	}
	return ""
}

// attentionBlocks are the UNet's attention blocks: self-attention, and
// cross-attention in a text model.
func attentionBlocks(base *models.Params) []string {
	var out []string
	for _, b := range []string{"attn", "cross"} {
		if base.Shapes()[b+".out.weight"] != nil {
			out = append(out, b)
		}
	}
	return out
}

// Layer adds LoRA's update (alpha/r)·B(A(x)) to a target layer's output.
func (t *Tune) Layer(g *models.Graph, l models.Layer, x, y *models.Node) *models.Node {
	if t.folded || !t.layers[l.Name] {
		return y
	}
	a, b := g.Param(t.Prefix+l.Name+".lora_A.weight"), g.Param(t.Prefix+l.Name+".lora_B.weight")
	r := t.Config.Rank
	var d *models.Node
	if l.Conv {
		d = g.Conv2d(g.Conv2d(x, a, g.Zeros(r), l.Stride, l.Pad), b, g.Zeros(l.Out), 1, 0)
	} else {
		d = g.Linear(g.Linear(x, a, g.Zeros(r)), b, g.Zeros(l.Out))
	}
	return g.Add(y, g.Scale(d, t.Scale*t.Config.Alpha/float64(r)))
}

// KeyValues prepends prefix tuning's keys and values in the
// cross-attention, the same for every prompt of the batch.
func (t *Tune) KeyValues(g *models.Graph, name string, k, v *models.Node) (*models.Node, *models.Node) {
	if t.Config.Method != "prefix" || name != "cross" {
		return k, v
	}
	n := k.Shape()[0]
	tile := func(p *models.Node) *models.Node {
		if p == nil {
			return nil
		}
		s := p.Shape()
		one := g.Reshape(p, 1, s[0], s[1])
		rows := make([]*models.Node, n)
		for i := range rows {
			rows[i] = one
		}
		return g.ConcatAxis(0, rows...)
	}
	pk := tile(g.Param(t.Prefix + "cross.prefix.key"))
	pv := tile(g.Param(t.Prefix + "cross.prefix.value"))
	return g.ConcatAxis(2, pk, k), g.ConcatAxis(2, pv, v)
}

// Block adds an adapter's bottleneck after an attention block.
func (t *Tune) Block(g *models.Graph, name string, h *models.Node) *models.Node {
	if t.Config.Method != "adapter" {
		return h
	}
	n := t.Prefix + name + ".adapter"
	if t.Store.Get(n+".up.weight") == nil {
		return h
	}
	ch, r := h.Shape()[1], t.Config.Rank
	down := models.Conv{Name: n + ".down", In: ch, Out: r, K: 1, Stride: 1}
	up := models.Conv{Name: n + ".up", In: r, Out: ch, K: 1, Stride: 1}
	d := up.Fwd(g, g.SiLU(down.Fwd(g, h)))
	if t.Scale != 1 {
		d = g.Scale(d, t.Scale)
	}
	return g.Add(h, d)
}

// Table appends the new words' embeddings to the token table.
func (t *Tune) Table(g *models.Graph, name string, tab *models.Node) *models.Node {
	if name != tokTable || len(t.Config.NewWords) == 0 {
		return tab
	}
	return g.ConcatAxis(0, tab, g.Param(t.Prefix+tokNew))
}

// Stack applies several fine-tunes one after the other.
type Stack []*Tune

var _ models.Tuner = Stack(nil)

func (s Stack) Layer(g *models.Graph, l models.Layer, x, y *models.Node) *models.Node {
	for _, t := range s {
		y = t.Layer(g, l, x, y)
	}
	return y
}
func (s Stack) KeyValues(g *models.Graph, name string, k, v *models.Node) (*models.Node, *models.Node) {
	for _, t := range s {
		k, v = t.KeyValues(g, name, k, v)
	}
	return k, v
}
func (s Stack) Block(g *models.Graph, name string, h *models.Node) *models.Node {
	for _, t := range s {
		h = t.Block(g, name, h)
	}
	return h
}
func (s Stack) Table(g *models.Graph, name string, tab *models.Node) *models.Node {
	for _, t := range s {
		tab = t.Table(g, name, tab)
	}
	return tab
}

// Count is the number of trained parameters.
func (t *Tune) Count() int { return t.Store.Count() }

// Fold adds a LoRA's scaled update to the base weights, or moves them
// Scale of the way to a full fine-tune's, so sampling runs the base
// graph; the new words still enter through the hooks. Other methods are
// left as they are.
func (t *Tune) Fold(base *models.Params) error {
	switch t.Config.Method {
	case "lora":
		for _, l := range slices.Sorted(maps.Keys(t.layers)) {
			w := base.Float32s(l + ".weight")
			a, b := t.Store.Float32s(t.Prefix+l+".lora_A.weight"), t.Store.Float32s(t.Prefix+l+".lora_B.weight")
			r := t.Config.Rank
			out, in := len(b)/r, len(a)/r
			s := float32(t.Scale * t.Config.Alpha / float64(r))
			nw := slices.Clone(w)
			for o := range out {
				for i := range in {
					var acc float32
					for k := range r {
						acc += b[o*r+k] * a[k*in+i]
					}
					nw[o*in+i] += s * acc
				}
			}
			if err := base.SetFloat32s(l+".weight", nw); err != nil {
				return err
			}
		}
	case "full":
		for _, n := range base.Names() {
			w, f := slices.Clone(base.Float32s(n)), t.Store.Float32s(t.Prefix+n)
			if f == nil {
				return fmt.Errorf("finetune: the full fine-tune has no %s", n)
			}
			s := float32(t.Scale)
			for i := range w {
				w[i] += s * (f[i] - w[i])
			}
			if err := base.SetFloat32s(n, w); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	t.folded = true
	return nil
}
