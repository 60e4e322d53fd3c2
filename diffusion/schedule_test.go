package diffusion

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestLinear(t *testing.T) {
	s := Linear(1000, 1e-4, 0.02)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	// Hand-computed: β_t = 1e-4 + t·(0.02 − 1e-4)/999; ln ᾱ_T = Σ ln(1−β)
	// ≈ −Σβ − Σβ²/2 − Σβ³/3 = −10.05 − 0.0670 − 0.0007 → ᾱ_T ≈ 4.035e-5
	// (diffusers' DDPMScheduler prints 4.0358e-05).
	cases := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"beta[0]", s.Betas[0], 1e-4, 1e-15},
		{"beta[1]", s.Betas[1], 1e-4 + 0.0199/999, 1e-15},
		{"beta[999]", s.Betas[999], 0.02, 1e-15},
		{"alpha[500]", s.Alphas[500], 1 - (1e-4 + 500*0.0199/999), 1e-15},
		{"alphabar[0]", s.AlphasCumprod[0], 0.9999, 1e-15},
		{"alphabar[1]", s.AlphasCumprod[1], 0.9999 * (1 - 1e-4 - 0.0199/999), 1e-15},
		{"alphabar[999]", s.AlphasCumprod[999], 4.0358e-5, 0.0005e-5},
		{"sqrt alphabar[0]", s.SqrtAlphaBar(0), math.Sqrt(0.9999), 1e-15},
		{"sqrt 1-alphabar[0]", s.SqrtOneMinusAlphaBar(0), 0.01, 1e-12},
	}
	for _, c := range cases {
		if !near(c.got, c.want, c.tol) {
			t.Errorf("%s = %.10g, want %.10g ± %g", c.name, c.got, c.want, c.tol)
		}
	}
	if one := Linear(1, 0.3, 0.5); one.T != 1 || one.Betas[0] != 0.3 {
		t.Errorf("Linear(1, 0.3, 0.5) = %+v, want one beta of 0.3", one)
	}
}

func TestCosine(t *testing.T) {
	const T, off = 1000, 0.008
	s := Cosine(T, off)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	f := func(u float64) float64 { c := math.Cos((u + off) / (1 + off) * math.Pi / 2); return c * c }
	// Away from the clipped last step, ᾱ_t = f(t/T)/f(0) (index t−1).
	for _, i := range []int{0, 1, 10, 250, 500, 900, 990, T - 2} {
		if want := f(float64(i+1)/T) / f(0); !near(s.AlphasCumprod[i], want, 1e-12) {
			t.Errorf("alphabar[%d] = %.12g, want f(%d/T)/f(0) = %.12g", i, s.AlphasCumprod[i], i+1, want)
		}
	}
	// Hand-computed: 1 − cos²(0.009/1.008·π/2)/cos²(0.008/1.008·π/2) ≈ θ1² − θ0²
	// = 0.014025² − 0.012467² ≈ 4.13e-5, so ᾱ_0 ≈ 1 − 4.13e-5.
	if b := 1 - s.AlphasCumprod[0]; !near(b, 4.13e-5, 0.02e-5) {
		t.Errorf("1 − alphabar[0] = %.4g, want ≈ 4.13e-5", b)
	}
	// β_T = 1 − f(1)/f((T−1)/T) = 1 is clipped to 0.999; β_{T−1} ≈ 1 − (1/2)² stays.
	if s.Betas[T-1] != 0.999 {
		t.Errorf("beta[T-1] = %g, want 0.999 (clipped)", s.Betas[T-1])
	}
	if !near(s.Betas[T-2], 0.75, 1e-3) {
		t.Errorf("beta[T-2] = %g, want ≈ 0.75", s.Betas[T-2])
	}
	if s.AlphasCumprod[T-1] <= 0 || s.AlphasCumprod[T-1] > 1e-7 {
		t.Errorf("alphabar[T-1] = %g, want in (0, 1e-7]", s.AlphasCumprod[T-1])
	}
}

func TestSchedulesMonotone(t *testing.T) {
	for _, s := range []struct {
		name string
		s    Schedule
	}{
		{"linear 1000", Linear(1000, 1e-4, 0.02)},
		{"linear 50", Linear(50, 1e-3, 0.2)},
		{"cosine 1000", Cosine(1000, 0.008)},
		{"cosine 20", Cosine(20, 0.008)},
	} {
		ab := s.s.AlphasCumprod
		for i := 1; i < len(ab); i++ {
			if !(ab[i] < ab[i-1]) {
				t.Errorf("%s: alphabar[%d] = %g >= alphabar[%d] = %g", s.name, i, ab[i], i-1, ab[i-1])
				break
			}
		}
		if ab[0] >= 1 || ab[len(ab)-1] <= 0 {
			t.Errorf("%s: alphabar from %g to %g, want inside (0, 1)", s.name, ab[0], ab[len(ab)-1])
		}
	}
}

func TestNewSchedule(t *testing.T) {
	cases := []struct {
		name    string
		T       int
		want    Schedule
		wantErr string
	}{
		{"linear", 1000, Linear(1000, 1e-4, 0.02), ""},
		{"Linear", 250, Linear(250, 4e-4, 0.08), ""},
		{"cosine", 1000, Cosine(1000, 0.008), ""},
		{"cosine", 4, Cosine(4, 0.008), ""},
		{"quadratic", 1000, Schedule{}, `unknown schedule "quadratic" (valid: linear, cosine)`},
		{"linear", 0, Schedule{}, "T must be at least 1"},
		{"linear", 10, Schedule{}, "use T >= 21"},
	}
	for _, c := range cases {
		got, err := NewSchedule(c.name, c.T)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("NewSchedule(%q, %d) error = %v, want one containing %q", c.name, c.T, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewSchedule(%q, %d): %v", c.name, c.T, err)
			continue
		}
		if got.T != c.want.T {
			t.Errorf("NewSchedule(%q, %d).T = %d", c.name, c.T, got.T)
			continue
		}
		for i := range got.Betas {
			if !near(got.Betas[i], c.want.Betas[i], 1e-15) {
				t.Errorf("NewSchedule(%q, %d).Betas[%d] = %g, want %g", c.name, c.T, i, got.Betas[i], c.want.Betas[i])
				break
			}
		}
	}
}

func TestValidate(t *testing.T) {
	good := Linear(10, 0.01, 0.1)
	bad := Linear(10, 0.01, 0.1)
	bad.AlphasCumprod = slices.Clone(bad.AlphasCumprod)
	bad.AlphasCumprod[3] *= 1.01
	cases := []struct {
		name    string
		s       Schedule
		wantErr string
	}{
		{"good", good, ""},
		{"zero", Schedule{}, "T=0"},
		{"short", Schedule{T: 10, Betas: good.Betas}, "0 alphas"},
		{"inconsistent", bad, "t=3 do not match"},
		{"beta 1", fromBetas([]float64{0.5, 1}), "beta[1]=1"},
	}
	for _, c := range cases {
		err := c.s.Validate()
		if (err == nil) != (c.wantErr == "") || err != nil && !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: Validate() = %v, want error containing %q", c.name, err, c.wantErr)
		}
	}
}

func TestEvenTimesteps(t *testing.T) {
	cases := []struct {
		T, steps int
		want     []int
		wantErr  string
	}{
		{1000, 1, []int{999}, ""},
		{1000, 2, []int{999, 0}, ""},
		{1000, 5, []int{999, 749, 500, 250, 0}, ""},
		{10, 10, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, ""},
		{10, 4, []int{9, 6, 3, 0}, ""},
		{1, 1, []int{0}, ""},
		{1000, 0, nil, "want 1..1000"},
		{1000, 1001, nil, "want 1..1000"},
		{1000, -3, nil, "want 1..1000"},
	}
	for _, c := range cases {
		got, err := EvenTimesteps(c.T, c.steps)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("EvenTimesteps(%d, %d) error = %v, want %q", c.T, c.steps, err, c.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("EvenTimesteps(%d, %d) = %v, %v, want %v", c.T, c.steps, got, err, c.want)
		}
	}
	// Every count from 1 to T gives distinct, descending timesteps from T−1 to 0.
	for steps := 1; steps <= 1000; steps++ {
		ts, err := EvenTimesteps(1000, steps)
		if err != nil || len(ts) != steps || ts[0] != 999 || (steps > 1 && ts[steps-1] != 0) {
			t.Fatalf("EvenTimesteps(1000, %d) = %v, %v", steps, ts, err)
		}
		for i := 1; i < len(ts); i++ {
			if ts[i] >= ts[i-1] {
				t.Fatalf("EvenTimesteps(1000, %d) not strictly descending at %d: %v", steps, i, ts)
			}
		}
	}
}
