package models

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

var testVocab = []string{"a", "small", "red", "circle", "at", "the", "top", "left"}

func TestTokenize(t *testing.T) {
	c := TextEncoderConfig{Vocab: testVocab, Length: 8, Dim: 4, Layers: 1, Heads: 2}
	for _, tc := range []struct {
		name, prompt string
		want         []int
		err          string
	}{
		{"caption", "a small red circle at the top left", []int{1, 2, 3, 4, 5, 6, 7, 8}, ""},
		{"case, spaces and full stop forgiven", "  A Small  RED circle. ", []int{1, 2, 3, 4, 0, 0, 0, 0}, ""},
		{"empty is the null prompt", "", []int{0, 0, 0, 0, 0, 0, 0, 0}, ""},
		{"unknown word lists the vocabulary", "a small purple circle", nil, `unknown word "purple"; the model knows: a at circle left red small the top`},
		{"too long", "a a a a a a a a a", nil, "at most 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Tokenize(tc.prompt)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Tokenize(%q) = %v, %v; want an error with %q", tc.prompt, got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Tokenize(%q) = %v, %v; want %v", tc.prompt, got, err, tc.want)
			}
		})
	}
	_, err := c.Tokenize("a blue circle")
	var uw *UnknownWordError
	if !errors.As(err, &uw) || uw.Word != "blue" {
		t.Errorf("error %v is not an *UnknownWordError for blue", err)
	}
}

func TestTextEncoderConfigValidate(t *testing.T) {
	good := TextEncoderConfig{Vocab: testVocab, Length: 8, Dim: 8, Layers: 2, Heads: 2}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]TextEncoderConfig{
		"no vocabulary":    {Length: 8, Dim: 8, Layers: 1, Heads: 2},
		"repeated word":    {Vocab: []string{"a", "a"}, Length: 8, Dim: 8, Layers: 1, Heads: 2},
		"upper-case word":  {Vocab: []string{"A"}, Length: 8, Dim: 8, Layers: 1, Heads: 2},
		"heads do not fit": {Vocab: testVocab, Length: 8, Dim: 6, Layers: 1, Heads: 4},
		"no length":        {Vocab: testVocab, Dim: 8, Layers: 1, Heads: 2},
		"negative layers":  {Vocab: testVocab, Length: 8, Dim: 8, Layers: -1, Heads: 2},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

// The whole encoder, embeddings included, against finite differences.
func TestTextEncoderGradient(t *testing.T) {
	blockGradCheck(t, func(p *Params) func(g *Graph) *Node {
		e, err := NewTextEncoder(p, "text", TextEncoderConfig{Vocab: []string{"x", "y", "z"}, Length: 3, Dim: 4, Layers: 2, Heads: 2})
		if err != nil {
			t.Fatal(err)
		}
		return func(g *Graph) *Node {
			ids := g.Input("tokens", 6)
			y := e.Fwd(g, ids)
			// Token ids must stay valid indices, not random values.
			delete(g.inputs, "tokens")
			copy(ids.Value().Data().([]float64), []float64{1, 2, 0, 3, 3, 1})
			return y
		}
	})
}

// An encoding depends on the prompt's words and their order, and the
// final LayerNorm leaves every token vector with zero mean and unit variance.
func TestTextEncoderOutput(t *testing.T) {
	p := NewParams(tensor.Float32, 3)
	c := TextEncoderConfig{Vocab: testVocab, Length: 8, Dim: 16, Layers: 2, Heads: 4}
	e, err := NewTextEncoder(p, "text", c)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGraph(p)
	out := e.Fwd(g, g.Input("tokens", 3*8))
	m, err := g.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][]int
	for _, s := range []string{"a small red circle", "a red small circle", "a small red circle"} {
		row, err := c.Tokenize(s)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, row)
	}
	if err := m.Set("tokens", TokenFloats(ids)); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	if s := out.Shape(); !s.Eq(tensor.Shape{3, 8, 16}) {
		t.Fatalf("output shape %v", s)
	}
	y := out.Value().Data().([]float32)
	prompt := func(i int) []float32 { return y[i*8*16 : (i+1)*8*16] }
	if !slices.Equal(prompt(0), prompt(2)) {
		t.Error("one prompt encoded twice in a batch gives two encodings")
	}
	if slices.Equal(prompt(0), prompt(1)) {
		t.Error("swapping two words leaves the encoding unchanged: positions are ignored")
	}
	for tok := 0; tok < 3*8; tok++ {
		v := y[tok*16 : (tok+1)*16]
		var mean, sq float64
		for _, x := range v {
			mean += float64(x) / 16
		}
		for _, x := range v {
			sq += (float64(x) - mean) * (float64(x) - mean) / 16
		}
		if math.Abs(mean) > 1e-4 || math.Abs(sq-1) > 1e-3 {
			t.Fatalf("token %d: mean %g, variance %g after the final LayerNorm", tok, mean, sq)
		}
	}
}
