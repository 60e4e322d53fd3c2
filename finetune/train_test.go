package finetune

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/models"
	"genlab/pipeline/pipelinetest"
	"genlab/train"
)

// tinyBase writes a tiny untrained text diffusion model and loads it.
func tinyBase(t *testing.T, dir, name string) (string, *diffusion.Network) {
	t.Helper()
	path := pipelinetest.Tiny(t, dir, name, pipelinetest.Kind{Family: diffusion.Family, Cond: "text"})
	net, err := diffusion.LoadNetwork(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, net
}

// fineTune runs the shared loop for steps on 8 images of the new split.
// It returns the trainer, the base weights the network was loaded with
// and the loop's result.
func fineTune(t *testing.T, base string, c Config, out string, steps int, resume string) (*Trainer, *models.Params, train.Result) {
	t.Helper()
	net, err := diffusion.LoadNetwork(base)
	if err != nil {
		t.Fatal(err)
	}
	baseParams := net.Params
	set := datasets.Shapes(8, 1, "new")
	c.Batch = 4
	tr, err := NewTrainer(net, base, c, set, steps, 7)
	if err != nil {
		t.Fatal(err)
	}
	res, err := train.Run(context.Background(), tr, train.Options{Out: out, Data: set, DataName: "shapes-new", Batch: c.Batch, Steps: steps, SaveEvery: 2, GridN: 1, SampleEvery: 1000, Seed: 3, Resume: resume})
	if err != nil {
		t.Fatal(err)
	}
	return tr, baseParams, res
}

// Each method trains only its own parameters: the base's weights are
// bit-identical afterwards, the optimiser has moments for the
// fine-tune's parameters alone, and those did change.
func TestFineTuneTrainsOnlyItsParameters(t *testing.T) {
	dir := t.TempDir()
	base, orig := tinyBase(t, dir, "base.safetensors")
	for _, method := range Methods {
		t.Run(method, func(t *testing.T) {
			c, err := NewConfig(method)
			if err != nil {
				t.Fatal(err)
			}
			if method == "lora" {
				c.Targets = []string{"attn", "conv", "text"}
			}
			tr, baseParams, _ := fineTune(t, base, c, filepath.Join(dir, method), 2, "")
			if !slices.Equal(tr.Tune.Config.NewWords, []string{"purple", "star"}) && !slices.Equal(tr.Tune.Config.NewWords, []string{"star", "purple"}) {
				t.Errorf("new words %v", tr.Tune.Config.NewWords)
			}
			fresh, err := New(orig.Params, tr.Tune.Config, "", 7)
			if err != nil {
				t.Fatal(err)
			}
			changed := 0
			for _, n := range tr.Tune.Store.Names() {
				if !slices.Equal(tr.Tune.Store.Float32s(n), fresh.Store.Float32s(n)) {
					changed++
				}
			}
			if changed == 0 {
				t.Error("no fine-tune parameter changed")
			}
			ts, _ := tr.State()
			for _, x := range ts {
				if n, ok := cutAdam(x.Name); ok && tr.Tune.Store.Get(n) == nil {
					t.Errorf("optimiser state for %s, not a fine-tune parameter", n)
				}
			}
			reloaded, err := diffusion.LoadNetwork(base)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range reloaded.Params.Names() {
				if !slices.Equal(baseParams.Float32s(n), reloaded.Params.Float32s(n)) {
					t.Fatalf("base weight %s changed", n)
				}
			}
		})
	}
}

func cutAdam(name string) (string, bool) {
	for _, p := range []string{"adam.m.", "adam.v."} {
		if len(name) > len(p) && name[:len(p)] == p {
			return name[len(p):], true
		}
	}
	return "", false
}

// A fine-tune resumed from its checkpoint ends byte-identical to one run
// without a stop; its file loads on its base and is refused on another.
func TestFineTuneResumeAndFiles(t *testing.T) {
	dir := t.TempDir()
	base, _ := tinyBase(t, dir, "base.safetensors")
	c, _ := NewConfig("lora")
	whole, _, res := fineTune(t, base, c, filepath.Join(dir, "whole"), 4, "")
	fineTune(t, base, c, filepath.Join(dir, "split"), 2, "")
	_, _, res2 := fineTune(t, base, c, filepath.Join(dir, "split"), 4, "latest")
	a, err1 := os.ReadFile(res.Checkpoint)
	b, err2 := os.ReadFile(res2.Checkpoint)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the resumed fine-tune's checkpoint differs from the uninterrupted one's")
	}

	file := filepath.Join(dir, "lora.safetensors")
	if err := whole.Tune.Save(file, 4, nil); err != nil {
		t.Fatal(err)
	}
	net, err := diffusion.LoadNetwork(base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(net, base, []Use{{Path: file, Scale: 1}}); err != nil {
		t.Fatal(err)
	}
	found, err := ForBase(dir, base)
	if err != nil || len(found) != 1 || found[0].Path != file || found[0].Method != "lora" {
		t.Errorf("ForBase: %+v, %v; want only %s", found, err, file)
	}
	if _, err := net.Tokenize("a small purple star at the top left"); err != nil {
		t.Errorf("the fine-tune's words: %v", err)
	}
	other, _ := tinyBase(t, filepath.Join(dir, "o"), "other.safetensors")
	if err := os.WriteFile(other, append(mustRead(t, other), ' '), 0o644); err != nil { // another hash
		t.Fatal(err)
	}
	onet, err := diffusion.LoadNetwork(base)
	if err != nil {
		t.Fatal(err)
	}
	var mismatch *BaseMismatchError
	if _, err := Apply(onet, other, []Use{{Path: file, Scale: 1}}); !errors.As(err, &mismatch) {
		t.Errorf("loading on another base: %v, want a BaseMismatchError", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
