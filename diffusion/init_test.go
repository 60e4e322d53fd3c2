package diffusion

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"genlab/datasets"
)

// A video model started from a text-to-image model takes its spatial
// layers, its words by word, its positions and its first conv's image
// channels; its first-frame channels start at zero and its temporal
// layers as they were.
func TestVideoStartsFromAnImageModel(t *testing.T) {
	clips := datasets.Clips(6, 3, 1, "train")
	video, err := NewNetwork(tinyVideoConfig(t, clips), 1)
	if err != nil {
		t.Fatal(err)
	}
	image, err := NewNetwork(tinyTextConfig(t, datasets.Shapes(6, 1, "train").Captions), 2)
	if err != nil {
		t.Fatal(err)
	}
	randomWeights(t, image.Params, rand.New(rand.NewPCG(1, 2)), 1)
	temporal := map[string][]float32{}
	for _, p := range video.Params.Names() {
		if strings.HasPrefix(p, "temporal.") {
			temporal[p] = slices.Clone(video.Params.Float32s(p))
		}
	}
	n, err := video.InitFrom(image)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(image.Params.Names()) {
		t.Errorf("%d tensors copied, want all %d of the image model's", n, len(image.Params.Names()))
	}
	from, to := image.Params.Shapes(), video.Params.Shapes()
	for name, want := range temporal {
		if !slices.Equal(video.Params.Float32s(name), want) {
			t.Errorf("temporal layer %s changed", name)
		}
	}
	for _, name := range image.Params.Names() {
		if slices.Equal(from[name], to[name]) && !slices.Equal(video.Params.Float32s(name), image.Params.Float32s(name)) {
			t.Errorf("%s was not copied", name)
		}
	}
	// The first conv: the image model's channels first, the rest zero.
	in, want := to["inc.weight"], from["inc.weight"]
	if in[1] <= want[1] {
		t.Fatalf("the video model's first conv takes %d channels, the image model's %d", in[1], want[1])
	}
	k := in[2] * in[3]
	got, src := video.Params.Float32s("inc.weight"), image.Params.Float32s("inc.weight")
	for o := range in[0] {
		if !slices.Equal(got[o*in[1]*k:][:want[1]*k], src[o*want[1]*k:][:want[1]*k]) {
			t.Fatalf("first conv, output %d: the image channels were not copied", o)
		}
		if slices.ContainsFunc(got[o*in[1]*k+want[1]*k:][:(in[1]-want[1])*k], func(v float32) bool { return v != 0 }) {
			t.Fatalf("first conv, output %d: the new channels do not start at zero", o)
		}
	}
	// Words both know have the image model's embedding; others their own.
	d := to["text.tok.weight"][1]
	tok, stok := video.Params.Float32s("text.tok.weight"), image.Params.Float32s("text.tok.weight")
	shared := 0
	for i, w := range video.text.Config.Vocab {
		if k := slices.Index(image.text.Config.Vocab, w); k >= 0 {
			shared++
			if !slices.Equal(tok[(i+1)*d:(i+2)*d], stok[(k+1)*d:(k+2)*d]) {
				t.Errorf("word %q: not the image model's embedding", w)
			}
		}
	}
	if shared == 0 {
		t.Fatal("the two vocabularies share no word; the test shows nothing")
	}
	other := image.Config
	other.Schedule = "cosine"
	cos, err := NewNetwork(other, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := video.InitFrom(cos); err == nil || !strings.Contains(err.Error(), "schedule") {
		t.Errorf("a model of another schedule: %v", err)
	}
}
