package models

import (
	"math/rand/v2"
	"testing"
	"time"

	"gorgonia.org/tensor"
)

// The performance benchmark (README, Performance): the reference UNet of
// bench/unet_step.py at batch 64, one training step (forward,
// MSE on the noise, backward, Adam) and one sampling step (forward only).
// `make bench` runs these beside bench/unet_step.py's PyTorch figures.

type refStep struct {
	m   *Machine
	p   *Params
	opt *AdamW
}

func newRefStep(b testing.TB, batch int, train bool) *refStep {
	p := NewParams(tensor.Float32, 0)
	u, err := NewUNet(p, ReferenceUNet())
	if err != nil {
		b.Fatal(err)
	}
	g := NewGraph(p)
	if !train {
		g.ForInference() // as a sampler's graph
	}
	x := g.Input("x", batch, 1, 28, 28)
	temb := g.Input("temb", batch, 128)
	y := u.Fwd(g, x, temb, nil)
	var loss *Node
	if train {
		loss = g.MSE(y, g.Input("noise", batch, 1, 28, 28))
	}
	m, err := g.Compile(loss)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(0, 0))
	fill := func(name string) {
		d := m.Input(name).Data().([]float32)
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
	}
	fill("x")
	if train {
		fill("noise")
	}
	ts := make([]float64, batch)
	for i := range ts {
		ts[i] = float64(rng.IntN(1000))
	}
	if err := m.Set("temb", SinusoidalEmbedding(ts, 128)); err != nil {
		b.Fatal(err)
	}
	return &refStep{m: m, p: p, opt: NewAdamW(2e-4, 0)}
}

func (s *refStep) train(b testing.TB) {
	if err := s.m.Run(); err != nil {
		b.Fatal(err)
	}
	grads, err := s.m.Grads()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.opt.Update(s.p, grads); err != nil {
		b.Fatal(err)
	}
	s.m.ZeroGrads()
}

func BenchmarkReferenceUNetTrainStep(b *testing.B) {
	s := newRefStep(b, 64, true)
	s.train(b)
	b.Logf("BLAS: %s; kernels: %s", BLASName, KernelISA)
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		s.train(b)
	}
	reportCPU(b, cpu)
}

func BenchmarkReferenceUNetSampleStep(b *testing.B) { benchSampleStep(b, 64) }

// BenchmarkReferenceUNetSampleStepBatch1 is the latency a user waits on for
// each step of one image (the app's live preview).
func BenchmarkReferenceUNetSampleStepBatch1(b *testing.B) { benchSampleStep(b, 1) }

func benchSampleStep(b *testing.B, batch int) {
	s := newRefStep(b, batch, false)
	if err := s.m.Run(); err != nil {
		b.Fatal(err)
	}
	b.Logf("BLAS: %s; kernels: %s", BLASName, KernelISA)
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		if err := s.m.Run(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU adds the CPU milliseconds per step since start (all threads).
func reportCPU(b *testing.B, start time.Duration) {
	if d := processCPU() - start; d > 0 {
		b.ReportMetric(float64(d.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	}
}

// A short training run on a fixed batch must drive the loss down: the whole
// chain (ops, gradients, Adam) works together.
func TestReferenceUNetLearnsFixedBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	s := newRefStep(t, 8, true)
	s.opt.LR = 1e-3
	s.train(t)
	first := s.m.Loss()
	for i := 0; i < 40; i++ {
		s.train(t)
	}
	last := s.m.Loss()
	if !(last < 0.7*first) {
		t.Fatalf("loss went from %.4f to %.4f in 40 steps", first, last)
	}
	t.Logf("loss %.4f -> %.4f", first, last)
}
