package gan

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"genlab/checkpoint"
	"genlab/datasets"

	"gorgonia.org/tensor"
)

func meanOf(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func meanPix(p []float32) float64 {
	s := 0.0
	for _, v := range p {
		s += float64(v)
	}
	return s / float64(len(p))
}

func smallConfig() Config {
	c := DefaultConfig(1, 28)
	c.Batch, c.GenCh, c.DiscCh, c.Groups = 32, 32, 32, 8
	c.EMA = 0.9
	return c
}

func TestShortRunOnMNIST(t *testing.T) {
	for _, sn := range []bool{false, true} {
		name := "hinge"
		if sn {
			name = "hinge+spectral_norm"
		}
		t.Run(name, func(t *testing.T) { shortRun(t, sn) })
	}
}

func shortRun(t *testing.T, sn bool) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	mnist, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig()
	cfg.SpectralNorm = sn
	net, err := NewNetworks(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := net.Generate(ctx, net.GP, 64, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	loader := datasets.NewLoader(mnist, cfg.Batch, 1)
	const steps = 100
	var dl, acc, gl []float64
	start := time.Now()
	for step := 1; step <= steps; step++ {
		l, err := tr.Step(ctx, step, loader.Next(), rand.New(rand.NewPCG(1, uint64(step))))
		if err != nil {
			t.Fatal(err)
		}
		dl, acc, gl = append(dl, l["d_loss"]), append(acc, l["d_acc"]), append(gl, l["loss"])
	}
	el := time.Since(start)
	after, err := net.Generate(ctx, net.GP, 64, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := meanPix(mnist.Pixels[:1000*mnist.Dim()])
	d0, d1 := meanOf(dl[:10]), meanOf(dl[steps-10:])
	a0, a1 := meanOf(acc[:10]), meanOf(acc[steps-10:])
	m0, m1 := meanPix(before), meanPix(after)
	t.Logf("%d steps at batch %d in %v (%.0f ms/step)", steps, cfg.Batch, el.Round(time.Millisecond), float64(el.Milliseconds())/steps)
	t.Logf("d_loss %.3f -> %.3f, d_acc %.2f -> %.2f, g loss %.3f -> %.3f", d0, d1, a0, a1, meanOf(gl[:10]), meanOf(gl[steps-10:]))
	for i := 0; i < steps; i += 20 {
		t.Logf("steps %d-%d: d_loss %.3f d_acc %.2f g_loss %.3f", i+1, i+20, meanOf(dl[i:i+20]), meanOf(acc[i:i+20]), meanOf(gl[i:i+20]))
	}
	t.Logf("sample mean pixel %.3f -> %.3f (MNIST %.3f)", m0, m1, data)
	if !(d1 < d0) {
		t.Errorf("discriminator loss did not fall: %.3f -> %.3f", d0, d1)
	}
	if abs(m1-data) >= abs(m0-data) {
		t.Errorf("samples' mean pixel moved away from the data's %.3f: %.3f -> %.3f", data, m0, m1)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestSampleDeterministic(t *testing.T) {
	net, err := NewNetworks(smallConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, c, h, w, err := tr.Sample(ctx, 5, 11)
	if err != nil {
		t.Fatal(err)
	}
	if c != 1 || h != 28 || w != 28 || len(a) != 5*28*28 {
		t.Fatalf("shape %d×%d×%d, %d values", c, h, w, len(a))
	}
	b, _, _, _, _ := tr.Sample(ctx, 5, 11)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different images")
	}
	// Image i depends only on seed+i, not on the batch it is drawn in.
	s, _, _, _, _ := tr.Sample(ctx, 3, 13)
	if !slices.Equal(s[:784], a[2*784:3*784]) {
		t.Fatal("image of seed 13 differs between batches")
	}
	if slices.Equal(a[:784], a[784:2*784]) {
		t.Fatal("two seeds gave one image")
	}
	for _, v := range a {
		if v < 0 || v > 1 {
			t.Fatalf("pixel %v outside [0,1]", v)
		}
	}
}

func fakeBatch(seed uint64, n int) datasets.Batch {
	rng := rand.New(rand.NewPCG(seed, 0))
	x := make([]float32, n*784)
	for i := range x {
		x[i] = rng.Float32()
	}
	return datasets.Batch{X: x, Labels: make([]int, n)}
}

func TestStateRestoreRoundTrip(t *testing.T) {
	t.Run("plain", func(t *testing.T) { roundTrip(t, false) })
	t.Run("spectral_norm", func(t *testing.T) { roundTrip(t, true) })
}

func roundTrip(t *testing.T, sn bool) {
	cfg := smallConfig()
	cfg.SpectralNorm = sn
	cfg.Batch = 8
	ctx := context.Background()
	newT := func(seed uint64) *Trainer {
		net, err := NewNetworks(cfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(net)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a := newT(1)
	for step := 1; step <= 3; step++ {
		if _, err := a.Step(ctx, step, fakeBatch(uint64(step), cfg.Batch), rand.New(rand.NewPCG(9, uint64(step)))); err != nil {
			t.Fatal(err)
		}
	}
	ts, md := a.State()
	state := &checkpoint.File{Metadata: md, Tensors: ts}
	weights := &checkpoint.File{Metadata: map[string]string{}, Tensors: a.Weights().Tensors("")}
	b := newT(2) // other initial weights: all must come from the checkpoint
	if err := b.Restore(weights, state); err != nil {
		t.Fatal(err)
	}
	la, err := a.Step(ctx, 4, fakeBatch(4, cfg.Batch), rand.New(rand.NewPCG(9, 4)))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Step(ctx, 4, fakeBatch(4, cfg.Batch), rand.New(rand.NewPCG(9, 4)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range la {
		if lb[k] != v {
			t.Errorf("%s: %v vs %v after restore", k, v, lb[k])
		}
	}
	for _, p := range [][2]interface {
		Names() []string
		Float32s(string) []float32
	}{{a.Net.GP, b.Net.GP}, {a.Net.DP, b.Net.DP}, {a.Weights(), b.Weights()}} {
		for _, n := range p[0].Names() {
			if !slices.Equal(p[0].Float32s(n), p[1].Float32s(n)) {
				t.Errorf("parameter %s differs after restore and one step", n)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig(1, 28)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Size = 30
	if c.Validate() == nil {
		t.Error("size 30 accepted")
	}
	c = DefaultConfig(1, 28)
	c.Loss = "wgan"
	if c.Validate() == nil {
		t.Error("unknown loss accepted")
	}
}

// TestSpectralNorm: after some power iterations the normalised weights
// have largest singular value ≈ 1, and the mapped gradient of a linear
// loss L = ⟨c, W/σ(W)⟩ matches finite differences (u, v held fixed).
func TestSpectralNorm(t *testing.T) {
	net, err := NewNetworks(smallConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpectral(net.DP, 0)
	for i := 0; i < 50; i++ {
		s.refresh(true)
	}
	for _, n := range s.names {
		// σ(Ŵ) by the same u, v: uᵀŴv.
		w := s.norm.Float32s(n)
		u, v := s.u[n], s.v[n]
		sig := 0.0
		for i := range u {
			for j := range v {
				sig += u[i] * float64(w[i*len(v)+j]) * v[j]
			}
		}
		if sig < 0.99 || sig > 1.01 {
			t.Errorf("%s: σ(Ŵ) = %.4f", n, sig)
		}
	}
}

func TestSpectralNormGradient(t *testing.T) {
	net, err := NewNetworks(smallConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpectral(net.DP, 0)
	const n = "d.c1.weight"
	w := slices.Clone(net.DP.Float32s(n))
	rng := rand.New(rand.NewPCG(4, 0))
	c := make([]float32, len(w))
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	u, v := s.u[n], s.v[n]
	loss := func(w []float32) float64 {
		sig := 0.0
		for i := range u {
			for j := range v {
				sig += u[i] * float64(w[i*len(v)+j]) * v[j]
			}
		}
		l := 0.0
		for i := range w {
			l += float64(c[i]) * float64(w[i]) / sig
		}
		return l
	}
	g := tensor.New(tensor.WithShape(len(c)), tensor.WithBacking(slices.Clone(c)))
	s.rawGrads(map[string]*tensor.Dense{n: g})
	an := g.Data().([]float32)
	for _, k := range []int{0, 7, 100, len(w) - 1} {
		const h = 1e-2
		wp, wm := slices.Clone(w), slices.Clone(w)
		wp[k] += h
		wm[k] -= h
		num := (loss(wp) - loss(wm)) / (2 * h)
		if d := num - float64(an[k]); d > 1e-3*max(1, abs(num)) || -d > 1e-3*max(1, abs(num)) {
			t.Errorf("∂L/∂W[%d]: analytic %.5f, numeric %.5f", k, an[k], num)
		}
	}
}
