package vae

import (
	"context"
	"testing"

	"genlab/datasets"
	"genlab/train"
)

// TestTrainRunAndResume drives the Trainer through the shared loop: a
// checkpoint with a grid, then a resume from it.
func TestTrainRunAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	mnist, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	data := mnist.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	cfg := testConfig()
	cfg.Batch = 8
	newTrainer := func() *Trainer {
		net, err := NewNetwork(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(net, 6)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	dir := t.TempDir()
	o := train.Options{Out: dir, Data: data, DataName: "mnist", Batch: cfg.Batch, Steps: 3, GridN: 4, Seed: 2}
	res, err := train.Run(context.Background(), newTrainer(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint == "" || res.Grid == "" {
		t.Fatalf("no checkpoint or grid: %+v", res)
	}
	net, err := LoadNetwork(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if net.Config != cfg {
		t.Fatalf("config %+v came back as %+v", cfg, net.Config)
	}
	o.Steps, o.Resume = 6, "latest"
	res, err = train.Run(context.Background(), newTrainer(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 6 {
		t.Fatalf("resumed run ended at step %d", res.Step)
	}
}
