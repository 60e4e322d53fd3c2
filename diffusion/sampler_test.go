package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSamplersLandOnPoint: when all data is one image x*, the oracle's x̂0
// is x* at every step, so every sampler must end on x*. Tolerance 1e-4
// (float32 rounding, amplified by 1/√ᾱ ≈ 160 at t = T−1).
func TestSamplersLandOnPoint(t *testing.T) {
	const n, dim = 3, 64
	rng := rand.New(rand.NewPCG(7, 8))
	xstar := make([]float32, dim)
	for k := range xstar {
		xstar[k] = float32(rng.Float64()*1.8 - 0.9)
	}
	cases := []struct {
		sampler  string
		schedule string
		steps    int
		eta      float64
	}{
		{"ddpm", "linear", 1000, 0},
		{"ddpm", "cosine", 1000, 0},
		{"ddpm", "linear", 100, 0},
		{"ddim", "linear", 50, 0},
		{"ddim", "linear", 50, 1},
		{"ddim", "cosine", 50, 0.5},
		{"dpmpp2m", "linear", 20, 0},
		{"dpmpp2m", "cosine", 20, 0},
		{"dpmpp2m", "linear", 1, 0},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/%s/%d/eta=%g", c.sampler, c.schedule, c.steps, c.eta)
		t.Run(name, func(t *testing.T) {
			sched, _ := NewSchedule(c.schedule, 1000)
			x := run(t, c.sampler, sched, c.steps, c.eta, pointOracle(sched, xstar), 42, n, dim, true)
			for j := range n {
				if d := maxAbsDiff(x[j*dim:(j+1)*dim], xstar); d > 1e-4 {
					t.Errorf("image %d: max |x − x*| = %g, want <= 1e-4", j, d)
				}
			}
		})
	}
}

// TestSamplersGaussianMoments: with data N(mu, sd²) per value and the exact
// ε̂, samples must have mean mu and standard deviation sd. 8192 values: the
// standard errors are 0.0055 (mean) and 0.004 (sd); the tolerances, 0.02
// on the mean and 3% of sd, leave room for the discretisation error of the
// fewer-step samplers (which is larger on the linear schedule, whose
// evenly spaced timesteps are coarse at low noise: DDIM with η = 1 at 100
// steps gives sd 0.468, DPM-Solver++ at 20 steps 0.479). Clipping is off
// (it would cut the tails at ±1).
func TestSamplersGaussianMoments(t *testing.T) {
	const n, dim, mu, sd = 8, 1024, 0.1, 0.5
	cases := []struct {
		sampler  string
		schedule string
		steps    int
		eta      float64
		beta     bool // DDPM with σ² = β_t
	}{
		{"ddpm", "linear", 1000, 0, false},
		{"ddpm", "linear", 1000, 0, true},
		{"ddpm", "cosine", 1000, 0, false},
		{"ddpm", "linear", 250, 0, false},
		{"ddim", "linear", 100, 0, false},
		{"ddim", "cosine", 50, 0, false},
		{"ddim", "linear", 250, 1, false},
		{"dpmpp2m", "cosine", 20, 0, false},
		{"dpmpp2m", "linear", 30, 0, false},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/%s/%d/eta=%g/beta=%v", c.sampler, c.schedule, c.steps, c.eta, c.beta)
		t.Run(name, func(t *testing.T) {
			sched, _ := NewSchedule(c.schedule, 1000)
			s, err := NewSampler(c.sampler, sched, c.steps, c.eta)
			if err != nil {
				t.Fatal(err)
			}
			setClip(s, false)
			if c.beta {
				s.(*DDPM).Variance = BetaVariance
			}
			rngs := ImageRNGs(11, 0, n)
			x := make([]float32, n*dim)
			InitialNoise(x, rngs, dim)
			if err := Sample(context.Background(), gaussOracle(sched, mu, sd), s, x, n, dim, rngs, nil, nil); err != nil {
				t.Fatal(err)
			}
			m, s2 := moments(x)
			t.Logf("mean %.4f sd %.4f", m, s2)
			if !near(m, mu, 0.02) || !near(s2, sd, 0.03*sd) {
				t.Errorf("samples have mean %.4f and sd %.4f, want %g ± 0.02 and %g ± 3%%", m, s2, mu, sd)
			}
		})
	}
}

// TestDDIMDeterministic: with η = 0 the same noise gives the same images,
// bit for bit, with or without rngs.
func TestDDIMDeterministic(t *testing.T) {
	const n, dim = 2, 32
	sched := Linear(1000, 1e-4, 0.02)
	model := gaussOracle(sched, 0.1, 0.3)
	x0 := make([]float32, n*dim)
	InitialNoise(x0, ImageRNGs(3, 0, n), dim)
	var outs [][]float32
	for _, rngs := range [][]*rand.Rand{nil, ImageRNGs(100, 0, n), ImageRNGs(200, 0, n)} {
		s, _ := NewDDIM(sched, 20, 0)
		x := append([]float32(nil), x0...)
		if err := Sample(context.Background(), model, s, x, n, dim, rngs, nil, nil); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, x)
	}
	for i := 1; i < len(outs); i++ {
		if d := maxAbsDiff(outs[0], outs[i]); d != 0 {
			t.Errorf("run %d differs from run 0 by %g, want identical", i, d)
		}
	}
	if d := maxAbsDiff(outs[0], x0); d == 0 {
		t.Error("DDIM returned its input")
	}
}

// TestPerImageRNG: an image sampled alone equals the same image sampled in
// a batch of 4, bit for bit, for the stochastic samplers.
func TestPerImageRNG(t *testing.T) {
	const dim, seed = 48, 1234
	sched := Linear(1000, 1e-4, 0.02)
	model := gaussOracle(sched, -0.1, 0.3)
	cases := []struct {
		sampler string
		steps   int
		eta     float64
	}{
		{"ddpm", 1000, 0},
		{"ddpm", 30, 0},
		{"ddim", 50, 1},
		{"ddim", 25, 0.3},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%d/eta=%g", c.sampler, c.steps, c.eta), func(t *testing.T) {
			batch := run(t, c.sampler, sched, c.steps, c.eta, model, seed, 4, dim, true)
			for _, j := range []int{0, 2} {
				s, _ := NewSampler(c.sampler, sched, c.steps, c.eta)
				rngs := ImageRNGs(seed, j, 1)
				x := make([]float32, dim)
				InitialNoise(x, rngs, dim)
				if err := Sample(context.Background(), model, s, x, 1, dim, rngs, nil, nil); err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(x, batch[j*dim:(j+1)*dim]); d != 0 {
					t.Errorf("image %d alone differs from image %d of the batch by %g", j, j, d)
				}
			}
			if maxAbsDiff(batch[:dim], batch[dim:2*dim]) == 0 {
				t.Error("images 0 and 1 are identical")
			}
		})
	}
}

// TestDPMSolverBeatsDDIM: on N(mu, sd²) data the probability-flow ODE has
// a closed form. DDIM with 1000 steps must match it (RMS < 2e-3); at 10,
// 15 and 20 steps DPM-Solver++(2M) must be closer to the 1000-step DDIM
// than DDIM at the same number of steps, by the factor in the table (at
// 20 steps about 3x for the linear schedule and 20x for the cosine one).
// Clipping is off: the comparison is between ODE solvers.
func TestDPMSolverBeatsDDIM(t *testing.T) {
	const n, dim, mu, sd = 1, 4096, 0.1, 0.5
	cases := []struct {
		schedule string
		steps    int
		factor   float64 // err(ddim)/err(dpmpp2m) at least
	}{
		{"linear", 10, 1.2},
		{"linear", 15, 1.6},
		{"linear", 20, 2.5},
		{"cosine", 10, 2},
		{"cosine", 15, 5},
		{"cosine", 20, 10},
	}
	for _, schedule := range []string{"linear", "cosine"} {
		sched, _ := NewSchedule(schedule, 1000)
		model := gaussOracle(sched, mu, sd)
		xT := make([]float32, n*dim)
		InitialNoise(xT, ImageRNGs(77, 0, n), dim)
		solve := func(name string, steps int) []float32 {
			s, err := NewSampler(name, sched, steps, 0)
			if err != nil {
				t.Fatal(err)
			}
			setClip(s, false)
			x := append([]float32(nil), xT...)
			if err := Sample(context.Background(), model, s, x, n, dim, nil, nil, nil); err != nil {
				t.Fatal(err)
			}
			return x
		}
		ref := solve("ddim", 1000)
		if d := rms(ref, gaussODE(sched, mu, sd, xT, sched.T-1)); d > 2e-3 {
			t.Errorf("%s: DDIM-1000 is %g (RMS) from the exact ODE solution, want < 2e-3", schedule, d)
		}
		for _, c := range cases {
			if c.schedule != schedule {
				continue
			}
			eDDIM := rms(solve("ddim", c.steps), ref)
			eDPM := rms(solve("dpmpp2m", c.steps), ref)
			t.Logf("%s, %d steps: RMS from DDIM-1000: ddim %.2e, dpmpp2m %.2e", schedule, c.steps, eDDIM, eDPM)
			if !(eDPM*c.factor < eDDIM) {
				t.Errorf("%s, %d steps: dpmpp2m error %.3g is not %gx below ddim's %.3g", schedule, c.steps, eDPM, c.factor, eDDIM)
			}
		}
	}
}

// TestDDIMEta1IsDDPM: DDIM with η = 1 is DDPM's ancestral step (σ_t² = β̃_t
// and the same mean), so from the same x, ε̂ and noise both give the same
// x_{t−1} (tolerance 1e-5, float32 rounding).
func TestDDIMEta1IsDDPM(t *testing.T) {
	const n, dim = 2, 50
	sched := Linear(1000, 1e-4, 0.02)
	model := gaussOracle(sched, 0, 0.4)
	for _, steps := range []int{1000, 40} {
		ddpm, _ := NewDDPM(sched, steps)
		ddim, _ := NewDDIM(sched, steps, 1)
		ddpm.ClipX0, ddim.ClipX0 = false, false
		x := make([]float32, n*dim)
		InitialNoise(x, ImageRNGs(5, 0, n), dim)
		eps := make([]float32, len(x))
		ts := ddpm.Timesteps()
		for _, i := range []int{0, 1, len(ts) / 2, len(ts) - 2, len(ts) - 1} {
			if err := model(context.Background(), x, []int{ts[i], ts[i]}, eps); err != nil {
				t.Fatal(err)
			}
			a, _, err := ddpm.Step(i, eps, x, ImageRNGs(9, 0, n))
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := ddim.Step(i, eps, x, ImageRNGs(9, 0, n))
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(a, b); d > 1e-5 {
				t.Errorf("%d steps, step %d: ddpm and ddim(eta=1) differ by %g", steps, i, d)
			}
		}
	}
}

// TestDPMSolverFirstStepIsDDIM: the first step of DPM-Solver++(2M) is
// first order, which is DDIM's η = 0 step (tolerance 1e-6).
func TestDPMSolverFirstStepIsDDIM(t *testing.T) {
	sched := Cosine(1000, 0.008)
	x := make([]float32, 64)
	InitialNoise(x, ImageRNGs(1, 0, 1), 64)
	eps := make([]float32, 64)
	_ = gaussOracle(sched, 0.2, 0.3)(context.Background(), x, []int{999}, eps)
	dpm, _ := NewDPMSolver(sched, 10)
	ddim, _ := NewDDIM(sched, 10, 0)
	a, x0a, _ := dpm.Step(0, eps, x, nil)
	b, x0b, _ := ddim.Step(0, eps, x, nil)
	if d := maxAbsDiff(a, b); d > 1e-6 {
		t.Errorf("first steps differ by %g", d)
	}
	if d := maxAbsDiff(x0a, x0b); d != 0 {
		t.Errorf("x̂0 differ by %g", d)
	}
}

func TestNewSampler(t *testing.T) {
	sched := Linear(1000, 1e-4, 0.02)
	cases := []struct {
		name    string
		sched   Schedule
		steps   int
		eta     float64
		want    string // type
		wantErr string
	}{
		{"ddpm", sched, 1000, 0, "*diffusion.DDPM", ""},
		{"DDIM", sched, 50, 0.5, "*diffusion.DDIM", ""},
		{"dpmpp2m", sched, 20, 0, "*diffusion.DPMSolver", ""},
		{"euler", sched, 20, 0, "", `unknown sampler "euler" (valid: ddpm, ddim, dpmpp2m)`},
		{"ddim", sched, 0, 0, "", "0 sampling steps on a schedule of T=1000: want 1..1000"},
		{"ddpm", sched, 1001, 0, "", "1001 sampling steps"},
		{"dpmpp2m", sched, -1, 0, "", "-1 sampling steps"},
		{"ddim", sched, 50, -0.1, "", "eta=-0.1, want in [0, 1]"},
		{"ddim", sched, 50, 1.5, "", "eta=1.5"},
		{"ddim", sched, 50, math.NaN(), "", "eta=NaN"},
		{"ddpm", Schedule{}, 50, 0, "", "diffusion: ddpm sampler: schedule has T=0"},
	}
	for _, c := range cases {
		s, err := NewSampler(c.name, c.sched, c.steps, c.eta)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("NewSampler(%q, %d, %g) error = %v, want %q", c.name, c.steps, c.eta, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewSampler(%q, %d, %g): %v", c.name, c.steps, c.eta, err)
			continue
		}
		if got := fmt.Sprintf("%T", s); got != c.want {
			t.Errorf("NewSampler(%q) is a %s, want %s", c.name, got, c.want)
		}
		if len(s.Timesteps()) != c.steps {
			t.Errorf("NewSampler(%q, %d) visits %d timesteps", c.name, c.steps, len(s.Timesteps()))
		}
	}
}

func TestStepErrors(t *testing.T) {
	sched := Linear(100, 1e-3, 0.1)
	x, eps := make([]float32, 8), make([]float32, 8)
	ddpm, _ := NewDDPM(sched, 10)
	ddim, _ := NewDDIM(sched, 10, 1)
	ddim0, _ := NewDDIM(sched, 10, 0)
	dpm, _ := NewDPMSolver(sched, 10)
	badEta, _ := NewDDIM(sched, 10, 0)
	badEta.Eta = 2
	badVar, _ := NewDDPM(sched, 10)
	badVar.Variance = 7
	cases := []struct {
		name    string
		step    func() error
		wantErr string
	}{
		{"zero sampler", func() error { _, _, err := (&DDIM{}).Step(0, eps, x, nil); return err }, "no timesteps"},
		{"step -1", func() error { _, _, err := ddim0.Step(-1, eps, x, nil); return err }, "step -1 outside 0..9"},
		{"step 10", func() error { _, _, err := ddpm.Step(10, eps, x, ImageRNGs(0, 0, 2)); return err }, "step 10 outside 0..9"},
		{"short eps", func() error { _, _, err := ddim0.Step(0, eps[:4], x, nil); return err }, "len(eps)=4, len(x)=8"},
		{"empty", func() error { _, _, err := dpm.Step(0, nil, nil, nil); return err }, "len(eps)=0"},
		{"ddpm without rngs", func() error { _, _, err := ddpm.Step(0, eps, x, nil); return err }, "one *rand.Rand per image, got 0"},
		{"ddim rngs don't divide", func() error { _, _, err := ddim.Step(0, eps, x, ImageRNGs(0, 0, 3)); return err }, "got 3 for 8 values"},
		{"nil rng", func() error { _, _, err := ddim.Step(0, eps, x, []*rand.Rand{nil, nil}); return err }, "rngs[0] is nil"},
		{"bad eta", func() error { _, _, err := badEta.Step(0, eps, x, nil); return err }, "eta=2"},
		{"bad variance", func() error { _, _, err := badVar.Step(0, eps, x, ImageRNGs(0, 0, 1)); return err }, "unknown variance Variance(7)"},
	}
	for _, c := range cases {
		if err := c.step(); err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error = %v, want %q", c.name, err, c.wantErr)
		}
	}
	// The last DDPM step adds no noise, so it needs no rngs; neither does
	// DDIM with η = 0.
	if _, _, err := ddpm.Step(9, eps, x, nil); err != nil {
		t.Errorf("last ddpm step without rngs: %v", err)
	}
	if _, _, err := ddim0.Step(3, eps, x, nil); err != nil {
		t.Errorf("ddim eta=0 without rngs: %v", err)
	}
}

// TestDPMSolverOrder: DPM-Solver++ keeps history, so steps must come in
// order; Reset starts over, and a run may start at any step.
func TestDPMSolverOrder(t *testing.T) {
	sched := Linear(100, 1e-3, 0.1)
	x, eps := make([]float32, 8), make([]float32, 8)
	d, _ := NewDPMSolver(sched, 10)
	for i := range 3 {
		if _, _, err := d.Step(i, eps, x, nil); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if _, _, err := d.Step(5, eps, x, nil); err == nil || !strings.Contains(err.Error(), "step 5 after step 2: steps must come in order") {
		t.Errorf("out of order: error = %v", err)
	}
	if _, _, err := d.Step(3, eps[:4], x[:4], nil); err == nil || !strings.Contains(err.Error(), "4 values, the previous step 8") {
		t.Errorf("size change: error = %v", err)
	}
	d.Reset()
	for _, i := range []int{4, 5} {
		if _, _, err := d.Step(i, eps, x, nil); err != nil {
			t.Errorf("after Reset, step %d: %v", i, err)
		}
	}
}
