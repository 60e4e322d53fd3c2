package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Model predicts the noise ε for a batch x_t at integer timesteps t
// (0..T-1, one per image): x holds len(t) images of len(x)/len(t) values,
// and the model fills eps (same length as x). It must not modify x or t.
// The network, its conditioning and its batching live behind this
// function; samplers only see ε̂.
type Model func(ctx context.Context, x []float32, t []int, eps []float32) error

// Sampler turns noise into data one step at a time. It never calls a
// network: the caller (Sample, or its own loop) evaluates the model at
// x_t and hands ε̂ to Step.
//
// A Sampler is per-run state (DPMSolver remembers the previous step's x̂0),
// so make a new one for each run, and do not share one between goroutines.
type Sampler interface {
	// Timesteps returns (a copy of) the descending timesteps, indices
	// into the schedule, that this run visits; Step i takes x from Timesteps()[i] to
	// Timesteps()[i+1], and the last step to the clean data.
	Timesteps() []int

	// Step takes ε̂ (the model's prediction at x and timestep
	// Timesteps()[i]) and x = x_t, and returns x at the next timestep
	// (the final sample after the last step) and the predicted clean
	// data x̂0. Both are freshly allocated; eps and x are not modified.
	//
	// rngs holds one generator per image: x is len(rngs) images of equal
	// size, and the noise a stochastic step adds to image j comes from
	// rngs[j] alone, so an image does not depend on the batch it is in.
	// Deterministic steps ignore rngs (it may be nil).
	Step(i int, eps, x []float32, rngs []*rand.Rand) (prev, x0 []float32, err error)
}

var (
	_ Sampler = (*DDPM)(nil)
	_ Sampler = (*DDIM)(nil)
	_ Sampler = (*DPMSolver)(nil)
)

// Samplers are the names NewSampler accepts, the one list every front end
// offers and checks.
var Samplers = []string{"ddpm", "ddim", "dpmpp2m"}

// SamplerLabel is a sampler's name as AUTOMATIC1111 writes it in a PNG's
// parameters ("DDIM", "DDPM", "DPM++ 2M"); "" for a name NewSampler does
// not know.
func SamplerLabel(name string) string {
	switch strings.ToLower(name) {
	case "ddim":
		return "DDIM"
	case "ddpm":
		return "DDPM"
	case "dpmpp2m":
		return "DPM++ 2M"
	}
	return ""
}

// SamplerName is SamplerLabel's inverse: the sampler a label or a name
// stands for, "" if none.
func SamplerName(label string) string {
	for _, s := range Samplers {
		if strings.EqualFold(label, SamplerLabel(s)) || strings.EqualFold(label, s) {
			return s
		}
	}
	return ""
}

// NewSampler returns a fresh sampler for one run of steps steps over
// sched, by the name the CLI's --sampler flag takes:
//
//   - "ddpm": ancestral sampling with the posterior variance β̃_t
//     (NewDDPM); eta is ignored.
//   - "ddim": DDIM with noise level eta, 0 for the deterministic sampler
//     and 1 for DDPM-like noise (NewDDIM).
//   - "dpmpp2m": DPM-Solver++(2M), deterministic (NewDPMSolver); eta is
//     ignored.
//
// steps must be in 1..sched.T; every sampler visits the same evenly spaced
// timesteps (EvenTimesteps), and all clip x̂0 to [−1, 1].
func NewSampler(name string, sched Schedule, steps int, eta float64) (Sampler, error) {
	// Each case checks err itself so that a failure returns a nil
	// interface, not one holding a nil pointer.
	switch strings.ToLower(name) {
	case "ddpm":
		s, err := NewDDPM(sched, steps)
		if err != nil {
			return nil, err
		}
		return s, nil
	case "ddim":
		s, err := NewDDIM(sched, steps, eta)
		if err != nil {
			return nil, err
		}
		return s, nil
	case "dpmpp2m":
		s, err := NewDPMSolver(sched, steps)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("diffusion: unknown sampler %q (valid: %s)", name, strings.Join(Samplers, ", "))
}

// EvenTimesteps returns the steps timesteps a sampler visits on a schedule of
// T steps: evenly spaced from T−1 down to 0, both included, rounded to the
// nearest integer (diffusers' "linspace" spacing):
//
//	EvenTimesteps(1000, 5) = [999 749 500 250 0]
//	EvenTimesteps(1000, 1) = [999]
//	EvenTimesteps(T, T)    = [T−1 … 1 0]
//
// Starting at T−1 matches the pure noise a run starts from (the "leading"
// spacing of the DDIM code starts at T−T/steps instead), and ending at 0
// means the last network call sees nearly clean data, so the final x̂0 is
// sharp (the "trailing" spacing ends at T/steps−1 and leaves its last jump
// to the model's blurrier posterior mean there). It returns an error
// unless 1 <= steps <= T.
func EvenTimesteps(T, steps int) ([]int, error) {
	ts, err := evenTimesteps(T, steps)
	if err != nil {
		return nil, fmt.Errorf("diffusion: %w", err)
	}
	return ts, nil
}

// evenTimesteps is EvenTimesteps with errors lacking the package prefix.
func evenTimesteps(T, steps int) ([]int, error) {
	if T < 1 {
		return nil, fmt.Errorf("schedule has T=%d steps, want >= 1", T)
	}
	if steps < 1 || steps > T {
		return nil, fmt.Errorf("%d sampling steps on a schedule of T=%d: want 1..%d", steps, T, T)
	}
	ts := make([]int, steps)
	if steps == 1 {
		ts[0] = T - 1
		return ts, nil
	}
	// numpy.linspace(0, T−1, steps).round()[::-1], rounding half to even.
	stride := float64(T-1) / float64(steps-1)
	for k := range ts {
		j := steps - 1 - k
		ts[k] = int(math.RoundToEven(float64(j) * stride))
	}
	return ts, nil
}

// newRun checks the schedule and computes the timesteps of a sampler.
func newRun(name string, sched Schedule, steps int) ([]int, error) {
	if err := sched.check(); err != nil {
		return nil, fmt.Errorf("diffusion: %s sampler: %w", name, err)
	}
	ts, err := evenTimesteps(sched.T, steps)
	if err != nil {
		return nil, fmt.Errorf("diffusion: %s sampler: %w", name, err)
	}
	return ts, nil
}

// checkStep checks the arguments every Step receives.
func checkStep(name string, i int, ts []int, eps, x []float32) error {
	if len(ts) == 0 {
		return fmt.Errorf("diffusion: %s: sampler has no timesteps; build it with NewSampler or its constructor", name)
	}
	if i < 0 || i >= len(ts) {
		return fmt.Errorf("diffusion: %s: step %d outside 0..%d", name, i, len(ts)-1)
	}
	if len(x) == 0 || len(eps) != len(x) {
		return fmt.Errorf("diffusion: %s: step %d: len(eps)=%d, len(x)=%d, want equal and > 0", name, i, len(eps), len(x))
	}
	return nil
}

// imageDim returns the size of one image of x split between len(rngs)
// images, for the steps that draw noise.
func imageDim(name string, x []float32, rngs []*rand.Rand) (int, error) {
	if len(rngs) == 0 || len(x)%len(rngs) != 0 {
		return 0, fmt.Errorf("diffusion: %s: a stochastic step needs one *rand.Rand per image, got %d for %d values", name, len(rngs), len(x))
	}
	for j, r := range rngs {
		if r == nil {
			return 0, fmt.Errorf("diffusion: %s: rngs[%d] is nil", name, j)
		}
	}
	return len(x) / len(rngs), nil
}

// nextTimestep is the timestep step i leads to: -1 (clean data, ᾱ = 1)
// after the last one.
func nextTimestep(ts []int, i int) int {
	if i+1 < len(ts) {
		return ts[i+1]
	}
	return -1
}

// predictX0 returns x̂0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t (Ho et al. 2020, eq. 15),
// clipped to [−1, 1] if clip.
func predictX0(x, eps []float32, alphaBar float64, clip bool) []float32 {
	a, b := math.Sqrt(alphaBar), math.Sqrt(1-alphaBar)
	x0 := make([]float32, len(x))
	for k := range x {
		v := (float64(x[k]) - b*float64(eps[k])) / a
		if clip {
			v = max(-1, min(1, v))
		}
		x0[k] = float32(v)
	}
	return x0
}
