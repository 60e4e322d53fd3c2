package vae

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"genlab/datasets"
)

func testConfig() Config {
	c := DefaultConfig(1, 28)
	c.Channels, c.Latent, c.Batch, c.Warmup, c.KLWarmup, c.LR = 16, 4, 32, 10, 30, 2e-3
	c.EMA = 0.9
	return c
}

func TestSampleShapeAndRange(t *testing.T) {
	net, err := NewNetwork(testConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net, 10)
	if err != nil {
		t.Fatal(err)
	}
	pix, c, h, w, err := tr.Sample(context.Background(), 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	if c != 1 || h != 28 || w != 28 || len(pix) != 5*28*28 {
		t.Fatalf("got %d values of %d×%d×%d", len(pix), c, h, w)
	}
	for i, v := range pix {
		if math.IsNaN(float64(v)) || v < 0 || v > 1 {
			t.Fatalf("pixel %d = %v", i, v)
		}
	}
	again, _, _, _, err := tr.Sample(context.Background(), 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pix {
		if pix[i] != again[i] {
			t.Fatal("Sample is not deterministic in its seed")
		}
	}
}

// TestTrainerLowersLossOnMNIST trains briefly on real MNIST, then checks
// reconstruction, interpolation and the importance-weighted bound on the
// trained network.
func TestTrainerLowersLossOnMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for ~5 s")
	}
	mnist, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
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
		bpd = append(bpd, l["bpd"])
	}
	first, last := mean(bpd[:10]), mean(bpd[steps-10:])
	t.Logf("negative ELBO %.3f -> %.3f bits/dim in %d steps (%.0f ms/step at batch %d)",
		first, last, steps, float64(time.Since(start).Milliseconds())/steps, cfg.Batch)
	if !(last < 0.75*first) {
		t.Fatalf("bits/dim fell only from %.3f to %.3f", first, last)
	}

	// Evaluate on the raw weights (the EMA of 60 steps lags).
	p := net.Params
	imgs := make([]float32, 0, 16*net.Dim())
	for i := 0; i < 16; i++ {
		imgs = append(imgs, mnist.Image(i)...)
	}
	rec, err := net.Reconstruct(p, imgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != len(imgs) {
		t.Fatalf("reconstruction of %d values, want %d", len(rec), len(imgs))
	}
	inter, err := net.Interpolate(p, mnist.Image(0), mnist.Image(1), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(inter) != 5*net.Dim() {
		t.Fatalf("interpolation of %d values", len(inter))
	}
	for _, v := range append(rec, inter...) {
		if math.IsNaN(float64(v)) || v < 0 || v > 1 {
			t.Fatalf("pixel %v out of [0,1]", v)
		}
	}

	// K = 1 is an unbiased estimate of the ELBO; K > 1 is a tighter bound.
	elbo, err := net.ELBO(p, imgs, 9)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := net.LogLikelihoodBound(p, imgs, 1, 9)
	if err != nil {
		t.Fatal(err)
	}
	bpd1, err := net.BitsPerDim(p, imgs, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	bpd16, err := net.BitsPerDim(p, imgs, 16, 10)
	if err != nil {
		t.Fatal(err)
	}
	me, mk := mean(elbo), mean(k1)
	t.Logf("ELBO %.2f nats, K=1 bound %.2f nats; bits/dim K=1 %.4f, K=16 %.4f", me, mk, bpd1, bpd16)
	if math.Abs(me-mk) > 0.02*math.Abs(me) {
		t.Errorf("K=1 bound %.2f nats differs from the ELBO %.2f", mk, me)
	}
	if bpd16 > bpd1+1e-3 {
		t.Errorf("K=16 bound %.4f bits/dim is worse than K=1 %.4f", bpd16, bpd1)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
