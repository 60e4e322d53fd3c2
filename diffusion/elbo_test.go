package diffusion

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNormalKL(t *testing.T) {
	// Closed forms of KL(N(m1, v1) ‖ N(m2, v2)) = ½(log(v2/v1) + v1/v2 + (m1−m2)²/v2 − 1).
	cases := []struct {
		name                   string
		m1, lv1, m2, lv2, want float64
	}{
		{"same", 0.3, -1, 0.3, -1, 0},
		{"mean shift 1, unit variance", 1, 0, 0, 0, 0.5},
		{"mean shift 2, variance 4", 2, math.Log(4), 0, math.Log(4), 0.5},
		{"variance e vs 1", 0, 1, 0, 0, 0.5 * (math.E - 2)},
		{"variance 1 vs e", 0, 0, 0, 1, 0.5 / math.E},
		{"both", 1, math.Log(2), -1, math.Log(0.5), 0.5 * (math.Log(0.25) + 4 + 8 - 1)},
	}
	for _, c := range cases {
		if got := normalKL(c.m1, c.lv1, c.m2, c.lv2); !near(got, c.want, 1e-12) {
			t.Errorf("%s: normalKL = %.15g, want %.15g", c.name, got, c.want)
		}
	}
}

// simpson integrates the N(mean, σ²) density over [a, b] with 2000
// intervals (error far below 1e-9 for bins of width 2/255 and σ >= 0.01).
func simpson(mean, sigma, a, b float64) float64 {
	const m = 2000
	f := func(x float64) float64 {
		z := (x - mean) / sigma
		return math.Exp(-z*z/2) / (sigma * math.Sqrt(2*math.Pi))
	}
	h := (b - a) / m
	s := f(a) + f(b)
	for i := 1; i < m; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * f(a+float64(i)*h)
	}
	return s * h / 3
}

// level returns the i-th of the 256 levels of 8-bit data on [−1, 1].
func level(i int) float64 { return 2*float64(i)/255 - 1 }

// TestDiscretizedGaussian: the 256 bin probabilities sum to 1 (the edge
// bins reach ±∞; tolerance 1e-9), and inner bins match a numerical
// integral of the density (relative tolerance 1e-8), in the far tail too.
func TestDiscretizedGaussian(t *testing.T) {
	cases := []struct{ mean, sigma float64 }{
		{0, 0.1}, {0.5, 0.01}, {-0.99, 0.5}, {1, 0.02}, {3, 1}, {0, 5}, {0.2, 0.003},
	}
	for _, c := range cases {
		var sum float64
		for i := range 256 {
			sum += math.Exp(discretizedGaussianLogLikelihood(level(i), c.mean, math.Log(c.sigma)))
		}
		if !near(sum, 1, 1e-9) {
			t.Errorf("mean %g, sigma %g: bins sum to %.12f, want 1", c.mean, c.sigma, sum)
		}
	}
	for _, c := range []struct {
		mean, sigma float64
		i           int
	}{
		{0, 0.1, 128}, {0, 0.1, 140}, {0.3, 0.05, 170}, {0, 0.05, 150}, {-0.5, 0.2, 3}, {0.9, 0.01, 245},
	} {
		x := level(c.i)
		got := discretizedGaussianLogLikelihood(x, c.mean, math.Log(c.sigma))
		want := math.Log(simpson(c.mean, c.sigma, x-1.0/255, x+1.0/255))
		if math.Abs(got-want) > 1e-8 {
			t.Errorf("bin %d under N(%g, %g²): log P = %.12g, want %.12g", c.i, c.mean, c.sigma, got, want)
		}
	}
	// Edge bins: P(x = −1) = Φ((−1 + 1/255 − mean)/σ), and the 1e-12 floor.
	if got, want := discretizedGaussianLogLikelihood(-1, -0.9, math.Log(0.1)), math.Log(0.5*math.Erfc((0.9-1+1.0/255)/0.1/-math.Sqrt2)); !near(got, want, 1e-12) {
		t.Errorf("edge bin: log P = %g, want %g", got, want)
	}
	if got := discretizedGaussianLogLikelihood(1, 0, math.Log(0.01)); got != math.Log(1e-12) {
		t.Errorf("bin 100σ away: log P = %g, want the floor log(1e-12) = %g", got, math.Log(1e-12))
	}
}

// quantizedGauss returns n*dim values of N(mu, sd²) rounded to the 8-bit
// grid and clipped to [−1, 1], and the entropy of that discrete
// distribution in bits per value.
func quantizedGauss(rng *rand.Rand, mu, sd float64, size int) ([]float32, float64) {
	x := make([]float32, size)
	for k := range x {
		v := math.Round((mu + sd*rng.NormFloat64() + 1) * 255 / 2)
		x[k] = float32(level(int(max(0, min(255, v)))))
	}
	var h float64
	for i := range 256 {
		lo, hi := (level(i)-1.0/255-mu)/sd, (level(i)+1.0/255-mu)/sd
		if i == 0 {
			lo = math.Inf(-1)
		}
		if i == 255 {
			hi = math.Inf(1)
		}
		if p := normalMass(lo, hi); p > 0 {
			h -= p * math.Log2(p)
		}
	}
	return x, h
}

// TestBitsPerDimGaussian: for 8-bit Gaussian data, the bound of the exact
// oracle is finite, above the data's entropy H (the best any model can
// do; allowing 0.02 bits of Monte-Carlo noise) and within 0.8 bits of it,
// and worse models score at least 0.5 bits worse. The gap to H is DDPM's:
// the KL term at t = 2 alone is about β_2/(2(1−ᾱ_1)) ≈ 0.6 nats where
// the continuous-time bound has ½ log(SNR_1/SNR_2) ≈ 0.4, and the
// decoder's σ ≈ 0.01 is wider than a bin (2/255); the measured gap is
// about 0.6 bits for both schedules.
//
// Each bound is a Monte-Carlo estimate (one x_t per term): the full sum
// varies by about 0.04 bits between seeds on these 1024 values. The
// K-term estimate is unbiased: the mean of 30 estimates with K = 100 is
// within 4 combined standard errors of the mean of 6 full sums; with the
// inclusion probabilities favouring small t its spread is about 0.06 bits
// (uniform strides gave 2.4).
func TestBitsPerDimGaussian(t *testing.T) {
	const n, dim, mu, sd = 4, 256, 0.1, 0.1
	x0, H := quantizedGauss(rand.New(rand.NewPCG(1, 1)), mu, sd, n*dim)
	ctx := context.Background()
	for _, schedule := range []string{"linear", "cosine"} {
		sched, _ := NewSchedule(schedule, 1000)
		bpd := func(model Model, K int, seed uint64) float64 {
			b, err := sched.BitsPerDim(ctx, model, x0, n, dim, rand.New(rand.NewPCG(seed, 2)), K)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		oracle := gaussOracle(sched, mu, sd)
		// meanSE returns the mean of R bounds from seeds 100.. and its standard error.
		meanSE := func(K, R int) (mean, se float64) {
			var sum, sum2 float64
			for r := range R {
				e := bpd(oracle, K, uint64(100+r))
				sum += e
				sum2 += e * e
			}
			mean = sum / float64(R)
			return mean, math.Sqrt((sum2/float64(R) - mean*mean) / float64(R-1))
		}
		exact, exactSE := meanSE(0, 6)
		t.Logf("%s: H = %.4f bits, oracle bound %.4f ± %.4f", schedule, H, exact, exactSE)
		if math.IsNaN(exact) || math.IsInf(exact, 0) || exact <= 0 {
			t.Fatalf("%s: oracle bound %g, want finite and positive", schedule, exact)
		}
		if exact < H-0.02 || exact > H+0.8 {
			t.Errorf("%s: oracle bound %.4f bits, want in [H − 0.02, H + 0.8] with H = %.4f", schedule, exact, H)
		}
		if all, zero := bpd(oracle, sched.T, 1), bpd(oracle, 0, 1); all != zero {
			t.Errorf("%s: timesteps=T gives %g, timesteps=0 %g; want the same full sum", schedule, all, zero)
		}
		est, estSE := meanSE(100, 30)
		t.Logf("%s: estimates from 100 terms: %.4f ± %.4f", schedule, est, estSE)
		if tol := 4 * math.Hypot(exactSE, estSE); math.Abs(est-exact) > tol {
			t.Errorf("%s: estimates from 100 terms average %.4f, full sums %.4f; want within %.4f", schedule, est, exact, tol)
		}

		worse := []struct {
			name  string
			model Model
		}{
			{"eps = 0", func(_ context.Context, _ []float32, _ []int, eps []float32) error { clear(eps); return nil }},
			{"wrong mean", gaussOracle(sched, 0.3, sd)},
			{"wrong sd", gaussOracle(sched, mu, 0.3)},
			{"pure noise data", gaussOracle(sched, 0, 1)},
		}
		for _, w := range worse {
			b := bpd(w.model, 0, 1)
			t.Logf("%s: %s: %.4f bits", schedule, w.name, b)
			if !(b > exact+0.5) {
				t.Errorf("%s: model %q scores %.4f bits, not 0.5 worse than the oracle's %.4f", schedule, w.name, b, exact)
			}
		}
	}
}

// TestBoundPointOracle: when the data is one image and the model knows it,
// p_θ(x_{t−1} | x_t) with σ² = β̃_t is exactly q(x_{t−1} | x_t, x0), so
// every KL term is 0 (tolerance 1e-6 bits/dim, float32 rounding of x_t),
// and L_0 is the closed-form bin probability under N(x0, β̃_2): a
// deterministic check of both means and of the decoder.
func TestBoundPointOracle(t *testing.T) {
	const dim = 8
	xstar := []float32{float32(level(0)), float32(level(1)), float32(level(64)), float32(level(127)),
		float32(level(128)), float32(level(200)), float32(level(254)), float32(level(255))}
	x0 := append(append([]float32(nil), xstar...), xstar...)
	for _, schedule := range []string{"linear", "cosine"} {
		sched, _ := NewSchedule(schedule, 1000)
		b, err := sched.VariationalBound(context.Background(), pointOracle(sched, xstar), x0, 2, dim, rand.New(rand.NewPCG(1, 1)), 0, PosteriorVariance)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(b.Diffusion) > 1e-6 {
			t.Errorf("%s: KL terms sum to %g bits/dim, want 0", schedule, b.Diffusion)
		}
		sigma := math.Sqrt((1 - sched.AlphasCumprod[0]) / (1 - sched.AlphasCumprod[1]) * sched.Betas[1])
		var want float64
		for _, v := range xstar {
			x := float64(v)
			lo, hi := (x-1.0/255-x)/sigma, (x+1.0/255-x)/sigma
			if x == -1 {
				lo = math.Inf(-1)
			}
			if x == 1 {
				hi = math.Inf(1)
			}
			want -= math.Log2(0.5*math.Erfc(-hi/math.Sqrt2) - 0.5*math.Erfc(-lo/math.Sqrt2))
		}
		want /= dim
		if !near(b.Decoder, want, 1e-4) {
			t.Errorf("%s: L_0 = %.6f bits/dim, want %.6f", schedule, b.Decoder, want)
		}
		t.Logf("%s: %+v", schedule, b)
	}
}

// TestVariationalBoundTerms: the terms add up; L_T matches its closed form
// (no randomness); both variances give finite bounds.
func TestVariationalBoundTerms(t *testing.T) {
	const n, dim = 2, 64
	x0, _ := quantizedGauss(rand.New(rand.NewPCG(4, 4)), -0.2, 0.3, n*dim)
	sched := Linear(1000, 1e-4, 0.02)
	aT := sched.AlphasCumprod[999]
	var prior float64
	for _, v := range x0 {
		// ½(−log(1−ᾱ) + (1−ᾱ) + ᾱ x0² − 1) nats.
		prior += 0.5 * (-math.Log(1-aT) + (1 - aT) + aT*float64(v)*float64(v) - 1)
	}
	prior /= n * dim * math.Ln2
	for _, v := range []Variance{PosteriorVariance, BetaVariance} {
		b, err := sched.VariationalBound(context.Background(), gaussOracle(sched, -0.2, 0.3), x0, n, dim, rand.New(rand.NewPCG(5, 5)), 50, v)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: %+v", v, b)
		if !near(b.Total, b.Prior+b.Diffusion+b.Decoder, 1e-12) {
			t.Errorf("%v: total %g != sum of terms %+v", v, b.Total, b)
		}
		if !near(b.Prior, prior, 1e-9) {
			t.Errorf("%v: L_T = %g bits/dim, want %g", v, b.Prior, prior)
		}
		if !(b.Diffusion > 0 && b.Decoder > 0 && b.Total < 8) {
			t.Errorf("%v: terms %+v, want positive and a total below 8 bits", v, b)
		}
	}
}

// TestKLTerms: a K-term draw picks exactly K distinct, ascending terms in
// 1..T−1, term t with probability p_t (summing to K, at most 1) and weight
// 1/p_t. Over 20000 draws, every term's frequency is within 5 binomial
// standard errors (+5 draws) of p_t, so the weighted sum of a constant
// term is unbiased.
func TestKLTerms(t *testing.T) {
	const draws = 20000
	for _, c := range []struct {
		schedule string
		T, K     int
	}{{"linear", 100, 7}, {"cosine", 100, 20}, {"linear", 1000, 50}} {
		sched, _ := NewSchedule(c.schedule, c.T)
		p := sched.inclusion(c.K)
		var sum float64
		for _, pt := range p {
			if !(pt > 0 && pt <= 1) {
				t.Fatalf("%s T=%d K=%d: inclusion probability %g", c.schedule, c.T, c.K, pt)
			}
			sum += pt
		}
		if !near(sum, float64(c.K), 1e-9) {
			t.Errorf("%s T=%d K=%d: inclusion probabilities sum to %g", c.schedule, c.T, c.K, sum)
		}
		rng := rand.New(rand.NewPCG(6, 6))
		counts := make([]int, c.T)
		for range draws {
			ts, w := sched.klTerms(rng, c.K)
			if len(ts) != c.K || len(w) != c.K {
				t.Fatalf("%s T=%d K=%d: drew %d terms", c.schedule, c.T, c.K, len(ts))
			}
			for i, v := range ts {
				if v < 1 || v >= c.T || i > 0 && v <= ts[i-1] || w[i] != 1/p[v-1] {
					t.Fatalf("%s: terms %v weights %v: want ascending distinct terms in 1..%d weighted 1/p", c.schedule, ts, w, c.T-1)
				}
				counts[v]++
			}
		}
		for v := 1; v < c.T; v++ {
			want := draws * p[v-1]
			if tol := 5*math.Sqrt(want*(1-p[v-1])) + 5; math.Abs(float64(counts[v])-want) > tol {
				t.Errorf("%s T=%d K=%d: term %d drawn %d times, want %.0f ± %.0f", c.schedule, c.T, c.K, v, counts[v], want, tol)
			}
		}
		// The linear schedule puts far more probability on small t.
		t.Logf("%s T=%d K=%d: p_1 = %.3f, p_%d = %.4f", c.schedule, c.T, c.K, p[0], c.T-1, p[c.T-2])
	}
	sched := Linear(100, 1e-3, 0.1)
	if ts, w := sched.klTerms(rand.New(rand.NewPCG(0, 0)), 0); len(ts) != 99 || w[0] != 1 || w[98] != 1 {
		t.Errorf("K=0 gave %d terms, want all 99 of weight 1", len(ts))
	}
}

func TestBitsPerDimErrors(t *testing.T) {
	sched := Linear(100, 1e-3, 0.1)
	model := gaussOracle(sched, 0, 0.5)
	rng := rand.New(rand.NewPCG(0, 0))
	x := make([]float32, 8)
	bad := []float32{0, 0, 1.5, 0, 0, 0, 0, 0}
	boom := errors.New("boom")
	failing := func(context.Context, []float32, []int, []float32) error { return boom }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	cases := []struct {
		name    string
		f       func() error
		wantErr string
		is      error
	}{
		{"nil model", func() error { _, err := sched.BitsPerDim(bg, nil, x, 2, 4, rng, 0); return err }, "model is nil", nil},
		{"nil rng", func() error { _, err := sched.BitsPerDim(bg, model, x, 2, 4, nil, 0); return err }, "rng is nil", nil},
		{"len", func() error { _, err := sched.BitsPerDim(bg, model, x, 3, 4, rng, 0); return err }, "len(x0)=8 for 3 images of dim 4", nil},
		{"negative timesteps", func() error { _, err := sched.BitsPerDim(bg, model, x, 2, 4, rng, -1); return err }, "timesteps=-1", nil},
		{"range", func() error { _, err := sched.BitsPerDim(bg, model, bad, 2, 4, rng, 0); return err }, "x0[2]=1.5 outside [-1, 1]", nil},
		{"schedule", func() error { _, err := (Schedule{}).BitsPerDim(bg, model, x, 2, 4, rng, 0); return err }, "T=0", nil},
		{"variance", func() error {
			_, err := sched.VariationalBound(bg, model, x, 2, 4, rng, 0, Variance(3))
			return err
		}, "unknown variance", nil},
		{"model error", func() error { _, err := sched.BitsPerDim(bg, failing, x, 2, 4, rng, 0); return err }, "model at t=0: boom", boom},
		{"cancelled", func() error { _, err := sched.BitsPerDim(cancelled, model, x, 2, 4, rng, 0); return err }, "context canceled", context.Canceled},
	}
	for _, c := range cases {
		err := c.f()
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error = %v, want %q", c.name, err, c.wantErr)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %v does not wrap %v", c.name, err, c.is)
		}
	}
}
