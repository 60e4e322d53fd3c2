package gan

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/train"
)

func randomSet(n int) *datasets.Set {
	rng := rand.New(rand.NewPCG(5, 0))
	px := make([]float32, n*784)
	for i := range px {
		px[i] = rng.Float32()
	}
	return &datasets.Set{Name: "noise", N: n, C: 1, H: 28, W: 28, Pixels: px}
}

// TestTrainLoopResumeIsExact runs the shared loop: a grid and a checkpoint
// come out, and stopping at step 4 then resuming to 6 ends with the weights
// of an uninterrupted run to 6.
func TestTrainLoopResumeIsExact(t *testing.T) {
	cfg := smallConfig()
	cfg.Batch = 8
	set := randomSet(32)
	run := func(dir string, steps int, resume string) *Trainer {
		net, err := NewNetworks(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(net)
		if err != nil {
			t.Fatal(err)
		}
		_, err = train.Run(context.Background(), tr, train.Options{Out: dir, Data: set, DataName: "noise",
			Batch: cfg.Batch, Steps: steps, SaveEvery: 2, GridN: 4, Seed: 3, Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	full := run(t.TempDir(), 6, "")
	dir := t.TempDir()
	run(dir, 4, "")
	if _, err := os.Stat(filepath.Join(dir, "grid-000004.png")); err != nil {
		t.Fatal(err)
	}
	w, err := checkpoint.Load(filepath.Join(dir, "ckpt-000004.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Metadata[checkpoint.KeyFamily] != Family {
		t.Fatalf("family %q", w.Metadata[checkpoint.KeyFamily])
	}
	resumed := run(dir, 6, "latest")
	for _, n := range full.Weights().Names() {
		if !slices.Equal(full.Weights().Float32s(n), resumed.Weights().Float32s(n)) {
			t.Errorf("EMA weight %s differs between a resumed and an uninterrupted run", n)
		}
	}
	for _, n := range full.Net.DP.Names() {
		if !slices.Equal(full.Net.DP.Float32s(n), resumed.Net.DP.Float32s(n)) {
			t.Errorf("discriminator weight %s differs between a resumed and an uninterrupted run", n)
		}
	}
}

// TestGeneratorStepLeavesDiscriminator: the generator update applies only
// the generator's gradients, and the discriminator step only D's.
func TestGeneratorStepLeavesDiscriminator(t *testing.T) {
	cfg := smallConfig()
	cfg.Batch = 4
	net, err := NewNetworks(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(context.Background(), 1, fakeBatch(1, 4), rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if tr.GOpt.Step != 1 || tr.DOpt.Step != 1 {
		t.Fatalf("adam steps %d, %d", tr.GOpt.Step, tr.DOpt.Step)
	}
	for n := range tr.GOpt.M {
		if net.GP.Get(n) == nil {
			t.Errorf("generator optimizer holds %s", n)
		}
	}
	for n := range tr.DOpt.M {
		if net.DP.Get(n) == nil {
			t.Errorf("discriminator optimizer holds %s", n)
		}
	}
	if len(tr.GOpt.M) != len(net.GP.Names()) || len(tr.DOpt.M) != len(net.DP.Names()) {
		t.Errorf("moments for %d/%d G and %d/%d D parameters", len(tr.GOpt.M), len(net.GP.Names()), len(tr.DOpt.M), len(net.DP.Names()))
	}
}
