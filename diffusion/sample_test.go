package diffusion

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// counted wraps a model and counts its calls.
func counted(m Model, calls *int) Model {
	return func(ctx context.Context, x []float32, t []int, eps []float32) error {
		*calls++
		return m(ctx, x, t, eps)
	}
}

// sampleWith runs DDIM(eta) over n images of dim values from a fixed seed.
func sampleWith(t *testing.T, model Model, g *Guidance, steps int, eta float64) []float32 {
	t.Helper()
	const n, dim = 2, 40
	sched := Linear(1000, 1e-4, 0.02)
	s, _ := NewDDIM(sched, steps, eta)
	rngs := ImageRNGs(21, 0, n)
	x := make([]float32, n*dim)
	InitialNoise(x, rngs, dim)
	if err := Sample(context.Background(), model, s, x, n, dim, rngs, g, nil); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestGuidance: scale 1 is the conditional model (bit for bit, and the
// unconditional model is never called), scale 0 the unconditional one,
// and any scale through Guidance equals the caller's own doubled-batch
// model finishing with Combine.
func TestGuidance(t *testing.T) {
	sched := Linear(1000, 1e-4, 0.02)
	cond, uncond := gaussOracle(sched, 0.3, 0.2), gaussOracle(sched, -0.3, 0.4)
	for _, eta := range []float64{0, 1} {
		plain := sampleWith(t, cond, nil, 20, eta)
		plainU := sampleWith(t, uncond, nil, 20, eta)

		calls := 0
		one := sampleWith(t, cond, &Guidance{Scale: 1, Uncond: counted(uncond, &calls)}, 20, eta)
		if d := maxAbsDiff(one, plain); d != 0 || calls != 0 {
			t.Errorf("eta=%g, scale 1: differs from the conditional model by %g, %d unconditional calls; want 0 and 0", eta, d, calls)
		}
		if d := maxAbsDiff(sampleWith(t, cond, &Guidance{Scale: 1}, 20, eta), plain); d != 0 {
			t.Errorf("eta=%g, scale 1 without Uncond differs by %g", eta, d)
		}
		zero := sampleWith(t, cond, &Guidance{Scale: 0, Uncond: uncond}, 20, eta)
		if d := maxAbsDiff(zero, plainU); d != 0 {
			t.Errorf("eta=%g, scale 0: differs from the unconditional model by %g", eta, d)
		}

		for _, scale := range []float64{0.5, 3, 7.5} {
			g := Guidance{Scale: scale, Uncond: uncond}
			doubled := func(ctx context.Context, x []float32, ts []int, eps []float32) error {
				// What a caller's doubled batch computes: both halves, then Combine.
				ec, eu := make([]float32, len(x)), make([]float32, len(x))
				if err := cond(ctx, x, ts, ec); err != nil {
					return err
				}
				if err := uncond(ctx, x, ts, eu); err != nil {
					return err
				}
				g.Combine(eps, ec, eu)
				return nil
			}
			a := sampleWith(t, cond, &g, 20, eta)
			b := sampleWith(t, doubled, nil, 20, eta)
			if d := maxAbsDiff(a, b); d != 0 {
				t.Errorf("eta=%g, scale %g: Guidance and the doubled-batch model differ by %g", eta, scale, d)
			}
			if maxAbsDiff(a, plain) == 0 {
				t.Errorf("eta=%g, scale %g: guidance had no effect", eta, scale)
			}
		}
	}
}

func TestGuidanceCombine(t *testing.T) {
	cases := []struct {
		scale              float64
		cond, uncond, want float32
	}{
		{1, 0.7, -2, 0.7},
		{0, 0.7, -2, -2},
		{3, 1, 0.5, 2},   // 0.5 + 3·0.5
		{2, -1, 1, -3},   // 1 + 2·(−2)
		{-1, 1, 0.5, 0},  // 0.5 − 0.5
		{7.5, 0, 0, 0},   // no difference, no effect
		{0.5, 2, 4, 3.0}, // halfway
	}
	for _, c := range cases {
		dst := []float32{9}
		Guidance{Scale: c.scale}.Combine(dst, []float32{c.cond}, []float32{c.uncond})
		if !near(float64(dst[0]), float64(c.want), 1e-6) {
			t.Errorf("Combine(scale %g, cond %g, uncond %g) = %g, want %g", c.scale, c.cond, c.uncond, dst[0], c.want)
		}
	}
}

// TestSampleCancel: cancelling stops the loop before the next model call
// and returns context.Canceled, well within a second.
func TestSampleCancel(t *testing.T) {
	const n, dim = 2, 16
	sched := Linear(1000, 1e-4, 0.02)
	for _, c := range []struct {
		name     string
		cancelAt int // model call that cancels; 0 = cancelled before Sample
		guided   bool
	}{
		{"before start", 0, false},
		{"after 3 calls", 3, false},
		{"after 1 call", 1, false},
		{"guided, between cond and uncond", 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			model := func(ctx context.Context, x []float32, ts []int, eps []float32) error {
				calls++
				if calls == c.cancelAt {
					cancel()
				}
				return gaussOracle(sched, 0, 0.5)(ctx, x, ts, eps)
			}
			if c.cancelAt == 0 {
				cancel()
			}
			var g *Guidance
			if c.guided {
				g = &Guidance{Scale: 2, Uncond: model}
			}
			s, _ := NewDDPM(sched, 1000)
			rngs := ImageRNGs(1, 0, n)
			x := make([]float32, n*dim)
			InitialNoise(x, rngs, dim)
			start := time.Now()
			err := Sample(ctx, model, s, x, n, dim, rngs, g, nil)
			if !errors.Is(err, context.Canceled) || err != context.Canceled {
				t.Errorf("Sample error = %v, want context.Canceled as is", err)
			}
			if calls != c.cancelAt {
				t.Errorf("%d model calls, want %d", calls, c.cancelAt)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Sample took %v after cancellation", d)
			}
		})
	}
}

// TestSampleCallback: the callback sees every step in order with x̂0; the
// last x̂0 is the sample itself; its error stops the run and comes back
// unchanged.
func TestSampleCallback(t *testing.T) {
	const n, dim, steps = 2, 16, 12
	sched := Cosine(1000, 0.008)
	for _, name := range []string{"ddpm", "ddim", "dpmpp2m"} {
		s, _ := NewSampler(name, sched, steps, 0.5)
		rngs := ImageRNGs(8, 0, n)
		x := make([]float32, n*dim)
		InitialNoise(x, rngs, dim)
		var seen []int
		var last []float32
		err := Sample(context.Background(), gaussOracle(sched, 0, 0.3), s, x, n, dim, rngs, nil, func(step, total int, x0 []float32) error {
			if total != steps || len(x0) != n*dim {
				t.Errorf("%s: callback(%d, %d, %d values), want total %d and %d values", name, step, total, len(x0), steps, n*dim)
			}
			seen = append(seen, step)
			last = append(last[:0], x0...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != steps || seen[0] != 1 || seen[steps-1] != steps {
			t.Errorf("%s: callback steps %v, want 1..%d", name, seen, steps)
		}
		if d := maxAbsDiff(last, x); d != 0 {
			t.Errorf("%s: last x̂0 differs from the sample by %g", name, d)
		}

		stop := errors.New("stop here")
		s, _ = NewSampler(name, sched, steps, 0.5)
		calls := 0
		err = Sample(context.Background(), counted(gaussOracle(sched, 0, 0.3), &calls), s, x, n, dim, rngs, nil, func(step, _ int, _ []float32) error {
			if step == 4 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 4 {
			t.Errorf("%s: callback error gives %v after %d model calls, want %v after 4", name, err, calls, stop)
		}
	}
}

// TestSampleFrom: starting midway from a noised x*, the point oracle still
// lands on x* (tolerance 1e-5), and the callback counts the steps run.
func TestSampleFrom(t *testing.T) {
	const dim = 32
	sched := Linear(1000, 1e-4, 0.02)
	xstar := make([]float32, dim)
	for k := range xstar {
		xstar[k] = float32(k)/dim - 0.5
	}
	for _, name := range []string{"ddpm", "ddim", "dpmpp2m"} {
		s, _ := NewSampler(name, sched, 20, 0)
		start := 12
		rngs := ImageRNGs(3, 0, 1)
		noise := make([]float32, dim)
		InitialNoise(noise, rngs, dim)
		x := make([]float32, dim)
		sched.AddNoise(x, xstar, noise, []int{s.Timesteps()[start]}, dim)
		var total, steps int
		err := SampleFrom(context.Background(), pointOracle(sched, xstar), s, start, x, 1, dim, rngs, nil, func(step, tot int, _ []float32) error {
			steps, total = step, tot
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if steps != 8 || total != 8 {
			t.Errorf("%s: callback saw %d of %d steps, want 8 of 8", name, steps, total)
		}
		if d := maxAbsDiff(x, xstar); d > 1e-5 {
			t.Errorf("%s: max |x − x*| = %g, want <= 1e-5", name, d)
		}
	}
}

func TestSampleErrors(t *testing.T) {
	sched := Linear(1000, 1e-4, 0.02)
	model := gaussOracle(sched, 0, 1)
	boom := errors.New("boom")
	failing := func(context.Context, []float32, []int, []float32) error { return boom }
	ddim, _ := NewDDIM(sched, 10, 0)
	ddpm, _ := NewDDPM(sched, 10)
	x := make([]float32, 8)
	cases := []struct {
		name    string
		err     error
		wantErr string
		is      error
	}{
		{"nil model", Sample(context.Background(), nil, ddim, x, 2, 4, nil, nil, nil), "model is nil", nil},
		{"len", Sample(context.Background(), model, ddim, x, 3, 4, nil, nil, nil), "len(x)=8 for 3 images of dim 4", nil},
		{"rngs", Sample(context.Background(), model, ddim, x, 2, 4, ImageRNGs(0, 0, 3), nil, nil), "3 rngs for 2 images", nil},
		{"start", SampleFrom(context.Background(), model, ddim, 10, x, 2, 4, nil, nil, nil), "start step 10 outside 0..9", nil},
		{"guidance", Sample(context.Background(), model, ddim, x, 2, 4, nil, &Guidance{Scale: 2}, nil), "needs an unconditional model", nil},
		{"model error", Sample(context.Background(), failing, ddim, x, 2, 4, nil, nil, nil), "diffusion: model at t=999: boom", boom},
		{"uncond error", Sample(context.Background(), model, ddim, x, 2, 4, nil, &Guidance{Scale: 2, Uncond: failing}, nil), "unconditional model at t=999: boom", boom},
		{"ddpm without rngs", Sample(context.Background(), model, ddpm, x, 2, 4, nil, nil, nil), "needs one *rand.Rand per image", nil},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.wantErr) {
			t.Errorf("%s: error = %v, want %q", c.name, c.err, c.wantErr)
		}
		if c.is != nil && !errors.Is(c.err, c.is) {
			t.Errorf("%s: error %v does not wrap %v", c.name, c.err, c.is)
		}
	}
}

func TestImageRNGs(t *testing.T) {
	all := ImageRNGs(500, 0, 4)
	two := ImageRNGs(500, 2, 1)[0]
	alone := ImageRNG(502)
	for range 10 {
		a, b, c := all[2].Uint64(), two.Uint64(), alone.Uint64()
		if a != b || b != c {
			t.Fatalf("image 2's streams differ: %d, %d, %d", a, b, c)
		}
	}
	if all[0].Uint64() == all[1].Uint64() {
		t.Error("images 0 and 1 share a stream")
	}
}

func TestInitialNoise(t *testing.T) {
	const dim = 20000
	x := make([]float32, 2*dim)
	InitialNoise(x, ImageRNGs(9, 0, 2), dim)
	for j := range 2 {
		// N(0, 1): mean within 5/√N = 0.035, sd within 5·√(1/(2N)) = 0.025.
		m, sd := moments(x[j*dim : (j+1)*dim])
		if !near(m, 0, 0.035) || !near(sd, 1, 0.025) {
			t.Errorf("image %d: mean %g, sd %g, want 0 and 1", j, m, sd)
		}
	}
	one := make([]float32, dim)
	InitialNoise(one, ImageRNGs(9, 1, 1), dim)
	if maxAbsDiff(one, x[dim:]) != 0 {
		t.Error("image 1 alone differs from image 1 of the batch")
	}
	defer func() {
		if recover() == nil {
			t.Error("InitialNoise with a wrong length did not panic")
		}
	}()
	InitialNoise(make([]float32, 5), ImageRNGs(0, 0, 2), 2)
}
