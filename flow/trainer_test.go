package flow

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"genlab/datasets"
	"genlab/train"
)

func trainConfig() Config {
	c, _ := NewConfig("tiny", 1, 28)
	c.Batch, c.LR, c.Warmup = 32, 2e-3, 5
	return c
}

// TestTrainerLowersLossOnMNIST trains a tiny flow briefly on real MNIST:
// the batch bits/dim must fall well below where the data-initialised flow
// starts, and the exact bits/dim of held-out test images must agree with it.
func TestTrainerLowersLossOnMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	mnist, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	cfg := trainConfig()
	net, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 80
	tr, err := NewTrainer(net, steps)
	if err != nil {
		t.Fatal(err)
	}
	loader := datasets.NewLoader(mnist, cfg.Batch, 1)
	var bpd []float64
	start := time.Now()
	for step := 1; step <= steps; step++ {
		l, err := tr.Step(context.Background(), step, loader.Next(), rand.New(rand.NewPCG(1, uint64(step))))
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(l["loss"]) {
			t.Fatalf("step %d: %v", step, l)
		}
		bpd = append(bpd, l["loss"])
	}
	first, last := mean(bpd[:5]), mean(bpd[steps-10:])
	t.Logf("bits/dim %.3f -> %.3f in %d steps (%.0f ms/step at batch %d)", first, last, steps,
		float64(time.Since(start).Milliseconds())/steps, cfg.Batch)
	if !(last < 0.75*first) {
		t.Fatalf("bits/dim fell only from %.3f to %.3f", first, last)
	}
	test, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	held, err := net.BitsPerDim(net.Params, test.Pixels[:100*test.Dim()], 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exact bits/dim of 100 test images: %.3f", held)
	if math.Abs(held-last) > 0.5 {
		t.Errorf("test bits/dim %.3f is far from the last training batches' %.3f", held, last)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// TestActNormDataInit: after the first step every actnorm has been set
// from data: the first one's output on the first batch has zero mean and
// unit variance per channel.
func TestActNormDataInit(t *testing.T) {
	net := testNet(t, tinyConfig(8))
	y := randomImages(net, 6, 2)
	x, _ := net.toLogit64(y)
	if _, _, err := net.encode(net.Params, x, 6, true); err != nil {
		t.Fatal(err)
	}
	lv := net.levels[0]
	C, P := lv.channels, lv.side*lv.side
	sq := make([]float64, len(x))
	SqueezeData(x, sq, 6, net.Config.InChannels, net.Config.Size, net.Config.Size, false)
	name := lv.steps[0].name
	logs, bias := vals(net.Params, name+".actnorm.logs"), vals(net.Params, name+".actnorm.bias")
	for c := 0; c < C; c++ {
		var s, ss float64
		for i := 0; i < 6; i++ {
			for _, v := range sq[(i*C+c)*P : (i*C+c+1)*P] {
				o := (v + bias[c]) * math.Exp(logs[c])
				s += o
				ss += o * o
			}
		}
		m := float64(6 * P)
		if mu, va := s/m, ss/m-(s/m)*(s/m); math.Abs(mu) > 1e-9 || math.Abs(va-1) > 1e-5 {
			t.Errorf("channel %d: mean %g, variance %g after initialisation", c, mu, va)
		}
	}
}

// TestResumeKeepsActNorm drives the Trainer through the shared loop: 2
// steps, then a resume to 4, must end with the raw weights of 4 steps
// straight; re-initialising actnorm on resume would change them.
func TestResumeKeepsActNorm(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	mnist, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	data := mnist.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	cfg := trainConfig()
	cfg.Batch = 8
	newTrainer := func() *Trainer {
		net, err := NewNetwork(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(net, 4)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	run := func(tr *Trainer, dir string, steps int, resume string) train.Result {
		t.Helper()
		o := train.Options{Out: dir, Data: data, DataName: "mnist", Batch: cfg.Batch, Steps: steps, GridN: 4, Seed: 2, Resume: resume}
		res, err := train.Run(context.Background(), tr, o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	straight := newTrainer()
	run(straight, t.TempDir(), 4, "")
	dir := t.TempDir()
	res := run(newTrainer(), dir, 2, "")
	net, err := LoadNetwork(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if net.Config != cfg {
		t.Fatalf("config %+v came back as %+v", cfg, net.Config)
	}
	resumed := newTrainer()
	run(resumed, dir, 4, "latest")
	if !resumed.Initialised() {
		t.Fatal("the resumed trainer does not know actnorm was initialised")
	}
	for _, name := range straight.Net.Params.Names() {
		if !slices.Equal(straight.Net.Params.Float32s(name), resumed.Net.Params.Float32s(name)) {
			t.Fatalf("%s: 2 + 2 resumed steps differ from 4 straight", name)
		}
	}
}
