package tasks

import (
	"context"
	"errors"
	"testing"
)

// Both optimisers of style transfer minimise a badly scaled quadratic
// f(x) = Σ aᵢ (xᵢ − cᵢ)² within their budget of steps, stay inside the
// budget, report every step, and stop when the context is cancelled.
func TestStyleOptimisersOnAQuadratic(t *testing.T) {
	a := []float64{1, 4, 0.5, 2, 8}
	c := []float64{0.2, 0.7, 0.4, 0.9, 0.1}
	type optimiser func(ctx context.Context, x, grad []float64, eval func([]float64) (float64, error), o StyleOptions, progress func(step, total int, loss float64)) error
	for _, tc := range []struct {
		name  string
		run   optimiser
		steps int
		tol   float64 // on the final loss
	}{
		{"adam", adam, 300, 1e-3},
		{"lbfgs", lbfgs, 60, 1e-8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grad := make([]float64, len(a))
			evals := 0
			eval := func(x []float64) (float64, error) {
				evals++
				f := 0.0
				for i, v := range x {
					d := v - c[i]
					f += a[i] * d * d
					grad[i] = 2 * a[i] * d
				}
				return f, nil
			}
			x := make([]float64, len(a))
			last, calls := 0.0, 0
			err := tc.run(context.Background(), x, grad, eval, StyleOptions{Steps: tc.steps, LR: 0.02},
				func(step, total int, loss float64) {
					calls++
					if total != tc.steps || step < 1 || step > total {
						t.Errorf("progress(%d, %d): want a step in 1..%d of %d", step, total, tc.steps, tc.steps)
					}
					last = loss
				})
			if err != nil {
				t.Fatal(err)
			}
			if evals > tc.steps {
				t.Errorf("%d evaluations, budget %d", evals, tc.steps)
			}
			if calls == 0 {
				t.Fatal("progress never called")
			}
			if f, _ := eval(x); f > tc.tol || last > 10*tc.tol+f {
				t.Errorf("final loss %g (last reported %g), want at most %g", f, last, tc.tol)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := tc.run(ctx, make([]float64, len(a)), grad, eval, StyleOptions{Steps: tc.steps, LR: 0.02}, nil); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled: got %v, want context.Canceled", err)
			}
		})
	}
}
