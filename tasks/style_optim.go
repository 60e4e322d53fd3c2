package tasks

import (
	"context"
	"math"
	"slices"
)

// The optimisers of style transfer over the pixels: Adam and L-BFGS.

// adam minimises eval from x (updated in place) with Adam (Kingma & Ba
// 2015) for o.Steps steps of size o.LR.
func adam(ctx context.Context, x, grad []float64, eval func([]float64) (float64, error), o StyleOptions, progress func(step, total int, loss float64)) error {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	mo, v := make([]float64, len(x)), make([]float64, len(x))
	for step := 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := eval(x)
		if err != nil {
			return err
		}
		c1, c2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
		for i, g := range grad {
			mo[i] = b1*mo[i] + (1-b1)*g
			v[i] = b2*v[i] + (1-b2)*g*g
			x[i] -= o.LR * (mo[i] / c1) / (math.Sqrt(v[i]/c2) + eps)
			x[i] = min(1.5, max(-0.5, x[i]))
		}
		if progress != nil {
			progress(step, o.Steps, l)
		}
	}
	return nil
}

// lbfgs minimises eval from x (updated in place) with L-BFGS (Nocedal
// 1980; the two-loop recursion of Nocedal & Wright, Algorithm 7.4), the
// optimiser of Gatys et al., with a backtracking line search on the
// Armijo condition, within o.Steps evaluations of the loss.
func lbfgs(ctx context.Context, x, grad []float64, eval func([]float64) (float64, error), o StyleOptions, progress func(step, total int, loss float64)) error {
	const memory, c1 = 10, 1e-4
	n := len(x)
	var ss, ys [][]float64
	var rhos []float64
	evals := 0
	f, err := eval(x)
	if err != nil {
		return err
	}
	evals++
	if progress != nil {
		progress(evals, o.Steps, f)
	}
	g := slices.Clone(grad)
	d := make([]float64, n)
	alpha := make([]float64, memory)
	xNew := make([]float64, n)
	for evals < o.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		// d = −H g by the two-loop recursion.
		copy(d, g)
		for i := len(ss) - 1; i >= 0; i-- {
			alpha[i] = rhos[i] * dot(ss[i], d)
			axpy(-alpha[i], ys[i], d)
		}
		gamma := 1.0
		if k := len(ss) - 1; k >= 0 {
			gamma = dot(ss[k], ys[k]) / dot(ys[k], ys[k])
		} else {
			// First step: a step of o.LR in pixel units along −g.
			gamma = o.LR / max(math.Sqrt(dot(g, g)/float64(n)), 1e-12)
		}
		for i := range d {
			d[i] *= gamma
		}
		for i := range ss {
			b := rhos[i] * dot(ys[i], d)
			axpy(alpha[i]-b, ss[i], d)
		}
		for i := range d {
			d[i] = -d[i]
		}
		slope := dot(g, d)
		if slope >= 0 { // not a descent direction: restart from −g
			if len(ss) == 0 {
				// −g itself is no descent: the gradient vanished (a
				// minimum), and a restart would compute the same step.
				return nil
			}
			ss, ys, rhos = nil, nil, nil
			continue
		}
		step := 1.0
		var fNew float64
		for {
			for i := range x {
				xNew[i] = x[i] + step*d[i]
			}
			if fNew, err = eval(xNew); err != nil {
				return err
			}
			evals++
			if progress != nil {
				progress(min(evals, o.Steps), o.Steps, min(f, fNew))
			}
			if fNew <= f+c1*step*slope || evals >= o.Steps {
				break
			}
			step /= 2
		}
		if !(fNew <= f) { // ran out of evaluations without progress
			return nil
		}
		sv, yv := make([]float64, n), make([]float64, n)
		for i := range x {
			sv[i] = xNew[i] - x[i]
			yv[i] = grad[i] - g[i]
		}
		copy(x, xNew)
		copy(g, grad)
		f = fNew
		if sy := dot(sv, yv); sy > 1e-12 {
			if len(ss) == memory {
				ss, ys, rhos = ss[1:], ys[1:], rhos[1:]
			}
			ss, ys, rhos = append(ss, sv), append(ys, yv), append(rhos, 1/sy)
		}
	}
	return nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// axpy adds a·x to y.
func axpy(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}
