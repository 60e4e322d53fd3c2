package finetune

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/train"
)

func TestPriorPrompts(t *testing.T) {
	a, err := PriorPrompts("shapes", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PriorPrompts("shapes", 6, 1)
	c, _ := PriorPrompts("shapes", 6, 2)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("prompts are not a function of the seed: %q, %q, %q", a, b, c)
	}
	for _, p := range a {
		attrs, err := datasets.ParseCaption(p)
		if err != nil || attrs.IsNew() {
			t.Errorf("prior prompt %q is not one of the base's (%v)", p, err)
		}
	}
	file := filepath.Join(t.TempDir(), "prompts.txt")
	if err := os.WriteFile(file, []byte("a red circle\n\n  a blue square  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := PriorPrompts(file, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a red circle", "a blue square"} {
		if n := strings.Count(strings.Join(got, "|"), want); n < 2 {
			t.Errorf("%q drawn %d times of 5 from a file of two prompts: %q", want, n, got)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	for _, bad := range []string{empty, "nosuchset", filepath.Join(t.TempDir(), "missing.txt")} {
		if _, err := PriorPrompts(bad, 3, 1); err == nil {
			t.Errorf("prompts from %s: no error", bad)
		}
	}
}

// The prior images are the base's, drawn once into their folder and read
// back from it on the next call; the training set has about as many
// concept images as prior ones.
func TestDrawPriorAndTrainingSet(t *testing.T) {
	dir := t.TempDir()
	_, net := tinyBase(t, dir, "base.safetensors")
	prompts, err := PriorPrompts("shapes", 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	pdir := filepath.Join(dir, "prior")
	p1, err := DrawPrior(context.Background(), net, prompts, 1, pdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := mustRead(t, filepath.Join(pdir, "prior-00003.png"))
	p2, err := DrawPrior(context.Background(), net, prompts, 1, pdir, func(string, ...any) { t.Error("drew the prior images again") })
	if err != nil {
		t.Fatal(err)
	}
	if p1.N != 16 || !slices.Equal(p1.Pixels, p2.Pixels) || !slices.Equal(p2.Captions, prompts) || !bytes.Equal(first, mustRead(t, filepath.Join(pdir, "prior-00003.png"))) {
		t.Fatalf("prior set: %d images; the reread one differs", p1.N)
	}
	// Other prompts are drawn anew, not read from the stale folder.
	other, _ := PriorPrompts("shapes", 16, 9)
	drawn := false
	if _, err := DrawPrior(context.Background(), net, other, 1, pdir, func(string, ...any) { drawn = true }); err != nil || !drawn {
		t.Errorf("other prompts: drawn %v, %v", drawn, err)
	}
	concept := datasets.Shapes(8, 1, "new")
	mixed, err := WithPrior(concept, p1)
	if err != nil {
		t.Fatal(err)
	}
	if mixed.N != 32 || mixed.Captions[8] != concept.Captions[0] || mixed.Captions[16] != p1.Captions[0] {
		t.Errorf("training set: %d images (want 16 concept + 16 prior), captions %q", mixed.N, mixed.Captions)
	}
	if _, err := DrawPrior(context.Background(), net, []string{"a zorb"}, 1, filepath.Join(dir, "bad"), nil); err == nil {
		t.Error("a prior prompt the base cannot read: no error")
	}
}

// A prior-preserving fine-tune resumed from its checkpoint ends
// byte-identical to one run without a stop, its prior images read back
// from the run's folder.
func TestPriorFineTuneResumes(t *testing.T) {
	dir := t.TempDir()
	base, _ := tinyBase(t, dir, "base.safetensors")
	c, _ := NewConfig("lora")
	c.Prior, c.PriorPrompts, c.Batch = 8, "shapes", 4
	run := func(out string, steps int, resume string) train.Result {
		net, err := diffusion.LoadNetwork(base)
		if err != nil {
			t.Fatal(err)
		}
		set, err := TrainingSet(context.Background(), net, c, datasets.Shapes(8, 1, "new"), 7, filepath.Join(out, "prior"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if set.N != 16 {
			t.Fatalf("training set of %d images, want 8 + 8 prior", set.N)
		}
		tr, err := NewTrainer(net, base, c, set, steps, 7)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Tune.Config.Prior != 8 {
			t.Errorf("the fine-tune's config forgot its prior: %+v", tr.Tune.Config)
		}
		res, err := train.Run(context.Background(), tr, train.Options{Out: out, Data: set, DataName: "shapes-new", Batch: c.Batch, Steps: steps, SaveEvery: 2, GridN: 1, SampleEvery: 1000, Seed: 3, Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	whole := run(filepath.Join(dir, "whole"), 4, "")
	run(filepath.Join(dir, "split"), 2, "")
	split := run(filepath.Join(dir, "split"), 4, "latest")
	if !bytes.Equal(mustRead(t, whole.Checkpoint), mustRead(t, split.Checkpoint)) {
		t.Error("the resumed prior-preserving fine-tune differs from the uninterrupted one")
	}
}

// Prior images taken from data are a function of the seed, come from the
// source's train split with their captions, and make a training set with
// the concept as drawn ones do; a source without captions is refused.
func TestPriorImages(t *testing.T) {
	a, err := PriorImages("shapes", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PriorImages("shapes", 6, 1)
	c, _ := PriorImages("shapes", 6, 2)
	if a.N != 6 || !slices.Equal(a.Pixels, b.Pixels) || !slices.Equal(a.Captions, b.Captions) || slices.Equal(a.Captions, c.Captions) {
		t.Errorf("prior images are not a function of the seed: %q, %q, %q", a.Captions, b.Captions, c.Captions)
	}
	// Every image is one of the train split's, with its own caption.
	full, _ := datasets.Load("shapes", "train")
	for i := range a.N {
		found := false
		for j := range full.N {
			if full.Captions[j] == a.Captions[i] && slices.Equal(full.Image(j), a.Image(i)) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("prior image %d (%q) is not a train image with its caption", i, a.Captions[i])
		}
	}
	cfg, _ := NewConfig("lora")
	cfg.Prior, cfg.PriorImages = 6, "shapes"
	set, err := TrainingSet(context.Background(), nil, cfg, datasets.Shapes(3, 1, "new"), 1, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.N != 12 || !slices.Equal(set.Captions[6:], a.Captions) {
		t.Errorf("training set of %d images (%q), want 3 concept images twice and the 6 prior ones", set.N, set.Captions)
	}
	noCaptions := t.TempDir()
	for _, bad := range []string{"nosuchset", noCaptions} {
		if _, err := PriorImages(bad, 3, 1); err == nil {
			t.Errorf("prior images from %s: no error", bad)
		}
	}
}

func TestPriorConfigValidates(t *testing.T) {
	c, _ := NewConfig("lora")
	for _, tc := range []struct {
		prior           int
		prompts, images string
		ok              bool
	}{
		{0, "", "", true}, {8, "shapes", "", true}, {8, "", "shapes", true},
		{8, "", "", false}, {8, "shapes", "shapes", false}, {0, "shapes", "", false}, {0, "", "shapes", false}, {-1, "shapes", "", false},
	} {
		c.Prior, c.PriorPrompts, c.PriorImages = tc.prior, tc.prompts, tc.images
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("prior %d, prompts %q, images %q: error %v, want ok %v", tc.prior, tc.prompts, tc.images, err, tc.ok)
		}
	}
}

func TestSameRecipe(t *testing.T) {
	a, _ := NewConfig("lora")
	b := a
	b.Base, b.BaseHash, b.NewWords = "other.safetensors", "abc", []string{"star"}
	if !SameRecipe(a, b) {
		t.Error("the base and its missing words made two recipes differ")
	}
	for name, change := range map[string]func(*Config){
		"lr":      func(c *Config) { c.LR *= 2 },
		"targets": func(c *Config) { c.Targets = []string{"attn", "text"} },
		"prior":   func(c *Config) { c.Prior, c.PriorImages = 8, "shapes" },
		"batch":   func(c *Config) { c.Batch = 32 },
	} {
		c := a
		change(&c)
		if SameRecipe(a, c) {
			t.Errorf("a changed %s is the same recipe", name)
		}
	}
}
