package diffusion

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"genlab/datasets"
)

func TestTrainerLowersLossOnMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for ~20 s")
	}
	mnist, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Batch, cfg.Warmup = 32, 10
	net, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net, 60)
	if err != nil {
		t.Fatal(err)
	}
	loader := datasets.NewLoader(mnist, cfg.Batch, 1)
	var losses []float64
	start := time.Now()
	for step := 1; step <= 60; step++ {
		l, err := tr.Step(context.Background(), step, loader.Next(), rand.New(rand.NewPCG(1, uint64(step))))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l["loss"])
	}
	first, last := mean(losses[:10]), mean(losses[50:])
	t.Logf("loss %.3f -> %.3f in 60 steps (%.0f ms/step at batch %d)", first, last, float64(time.Since(start).Milliseconds())/60, cfg.Batch)
	if !(last < 0.6*first) {
		t.Fatalf("loss fell only from %.3f to %.3f", first, last)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
