package finetune

import (
	"math/rand/v2"
	"testing"

	"genlab/models"

	"gorgonia.org/tensor"
)

// miniBase is a float64 model with every hook point: a conv, self- and
// cross-attention, and a text encoder whose output the cross-attention
// reads.
type miniBase struct {
	p     *models.Params
	conv  models.Conv
	attn  models.SelfAttention
	cross models.CrossAttention
	text  *models.TextEncoder
}

func newMiniBase(t *testing.T) miniBase {
	p := models.NewParams(tensor.Float64, 3)
	text, err := models.NewTextEncoder(p, "text", models.TextEncoderConfig{Vocab: []string{"a", "b"}, Length: 3, Dim: 4, Layers: 1, Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return miniBase{p: p, conv: models.NewConv(p, "inc", 3, 8, 3, 1, 1), attn: models.NewSelfAttention(p, "attn", 8, 2, 4),
		cross: models.NewCrossAttention(p, "cross", 8, 4, 2, 4), text: text}
}

// fwd builds the forward pass for 2 images and prompts; ids are the
// token ids (the new word "c" is id 3).
func (m miniBase) fwd(g *models.Graph, ids []float64) *models.Node {
	tok := g.Input("tokens", 6)
	ctx := m.text.Fwd(g, tok)
	if g.Err() == nil {
		copy(tok.Value().Data().([]float64), ids)
	}
	return m.cross.Fwd(g, m.attn.Fwd(g, m.conv.Fwd(g, g.Input("x", 2, 3, 3, 3))), ctx)
}

var miniIDs = []float64{1, 3, 0, 2, 1, 3}

// Every method's new parameters get the gradients central differences
// give, through every hook point it uses.
func TestFineTuneGradients(t *testing.T) {
	for _, c := range []Config{
		{Method: "lora", Rank: 2, Alpha: 3, Targets: []string{"attn", "conv", "text"}, NewWords: []string{"c"}},
		{Method: "adapter", Rank: 3, NewWords: []string{"c"}},
		{Method: "prefix", Prefix: 2, NewWords: []string{"c"}},
		{Method: "prompt", NewWords: []string{"c"}},
	} {
		t.Run(c.Method, func(t *testing.T) {
			m := newMiniBase(t)
			tune, err := New(m.p, c, "", 5)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(4, 4))
			for _, n := range tune.Store.Names() { // B and up start at zero
				d := tune.Store.Get(n).Data().([]float64)
				for i := range d {
					d[i] += 0.3 * rng.NormFloat64()
				}
			}
			g := models.NewGraph(m.p, tune.Store)
			g.Tune(tune)
			g.TrainOnly(func(n string) bool { return tune.Store.Get(n) != nil })
			out := m.fwd(g, miniIDs)
			if g.Err() != nil {
				t.Fatal(g.Err())
			}
			x := g.Learnables()
			if len(x) != len(tune.Store.Names()) {
				t.Fatalf("%d learnables, the fine-tune has %d parameters", len(x), len(tune.Store.Names()))
			}
			models.CompareWithDifferences(t, g.G, out, x, rng, 12)
		})
	}
}

// LoRA and adapters start as the base model: B and up are zero.
func TestFineTuneStartsAtTheBase(t *testing.T) {
	m := newMiniBase(t)
	run := func(tu models.Tuner, stores ...*models.Params) []float64 {
		g := models.NewGraph(m.p, stores...)
		if tu != nil {
			g.Tune(tu)
		}
		out := m.fwd(g, []float64{1, 2, 0, 2, 1, 1})
		rng := rand.New(rand.NewPCG(1, 1))
		mach, err := g.Compile(nil)
		if err != nil {
			t.Fatal(err)
		}
		x := mach.Input("x").Data().([]float64)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		if err := mach.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float64(nil), out.Value().Data().([]float64)...)
	}
	want := run(nil)
	for _, c := range []Config{
		{Method: "lora", Rank: 2, Alpha: 2, Targets: []string{"attn", "conv", "text"}},
		{Method: "adapter", Rank: 2},
	} {
		tune, err := New(m.p, c, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		got := run(tune, tune.Store)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: output %d is %v, the base's %v", c.Method, i, got[i], want[i])
			}
		}
	}
}
