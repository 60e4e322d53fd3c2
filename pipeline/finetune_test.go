package pipeline_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"genlab/diffusion"
	"genlab/finetune"
	"genlab/images"
	"genlab/pipeline"
	"genlab/pipeline/pipelinetest"
)

// A prefix and an adapter (with non-zero weights) on a tiny text model:
// the new word is known, each image is the same drawn alone or in a batch,
// the fine-tunes change the images, and the parameters record both.
func TestFineTunedPipelineBatchInvariant(t *testing.T) {
	dir := t.TempDir()
	base := pipelinetest.Tiny(t, dir, "base.safetensors", pipelinetest.Kind{Family: diffusion.Family, Cond: "text"})
	net, err := diffusion.LoadNetwork(base)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := images.ModelHash(base)
	if err != nil {
		t.Fatal(err)
	}
	var uses []finetune.Use
	for i, c := range []finetune.Config{{Method: "prefix", Prefix: 2, NewWords: []string{"star"}}, {Method: "adapter", Rank: 2}} {
		c.BaseHash = hash
		tune, err := finetune.New(net.Params, c, "", uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, uint64(i)))
		for _, n := range tune.Store.Names() {
			d := tune.Store.Float32s(n)
			for j := range d {
				d[j] += float32(0.2 * rng.NormFloat64())
			}
		}
		path := filepath.Join(dir, c.Method+".safetensors")
		if err := tune.Save(path, 1, nil); err != nil {
			t.Fatal(err)
		}
		uses = append(uses, finetune.Use{Path: path, Scale: 1})
	}
	uses[1].Scale = 0.5
	draw := func(p pipeline.Pipeline, prompt string, batch int) *pipeline.Output {
		r := p.Knobs().Request(7, 3)
		r.Prompt, r.Steps, r.Batch = prompt, 2, batch
		out, err := p.Generate(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	p, err := pipeline.Open(base, pipeline.WithFineTunes(uses...))
	if err != nil {
		t.Fatal(err)
	}
	one, three := draw(p, "a small red star in the center", 1), draw(p, "a small red star in the center", 3)
	for i, v := range one.Pixels {
		if three.Pixels[i] != v {
			t.Fatalf("value %d: %v alone, %v in a batch of 3", i, v, three.Pixels[i])
		}
	}
	q := one.Params[0].String()
	if !strings.Contains(q, "<prefix:prefix:1> <adapter:adapter:0.5>") || !strings.Contains(q, "Fine-tune hashes:") {
		t.Errorf("parameters %q", q)
	}
	plain, err := pipeline.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	tuned, orig := draw(p, "a small red circle in the center", 3), draw(plain, "a small red circle in the center", 3)
	same := true
	for i := range orig.Pixels {
		same = same && orig.Pixels[i] == tuned.Pixels[i]
	}
	if same {
		t.Error("the fine-tunes change nothing")
	}
}

func TestSplitFineTuneTags(t *testing.T) {
	prompt, tags := pipeline.SplitFineTuneTags("a small red star in the center <lora:stars:0.8> <prefix:pre:1> <lora:x>")
	if prompt != "a small red star in the center" || len(tags) != 3 || tags[0] != (pipeline.FineTuneTag{Method: "lora", Name: "stars", Scale: 0.8}) ||
		tags[1].Method != "prefix" || tags[2] != (pipeline.FineTuneTag{Method: "lora", Name: "x", Scale: 1}) {
		t.Errorf("%q %+v", prompt, tags)
	}
	if p, tags := pipeline.SplitFineTuneTags("a <b> <hypernet:x:1> c"); p != "a <b> <hypernet:x:1> c" || len(tags) != 0 {
		t.Errorf("%q %+v", p, tags)
	}
}
