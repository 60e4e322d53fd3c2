package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Gaussian is the mean and covariance of a set of feature vectors: what the
// Fréchet distance compares.
type Gaussian struct {
	Mean []float64
	Cov  *mat.SymDense
	N    int
}

// FitGaussian fits n feature vectors of dimension d (row-major) with the
// sample mean and the unbiased sample covariance.
func FitGaussian(features []float32, n, d int) (Gaussian, error) {
	if n < 2 || len(features) != n*d {
		return Gaussian{}, fmt.Errorf("eval: need at least 2 feature vectors of %d values, got %d values for %d", d, len(features), n)
	}
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range features[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	centred := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for j, v := range features[i*d : (i+1)*d] {
			centred.Set(i, j, float64(v)-mean[j])
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(n-1), centred.T())
	return Gaussian{Mean: mean, Cov: cov, N: n}, nil
}

// FrechetDistance is the squared Wasserstein-2 distance between two
// Gaussians (Dowson & Landau 1982), the quantity FID reports:
//
//	|μ₁−μ₂|² + tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½)
//
// The matrix square roots come from symmetric eigendecompositions, with
// eigenvalues that rounding pushed below zero taken as zero.
func FrechetDistance(a, b Gaussian) (float64, error) {
	d := len(a.Mean)
	if len(b.Mean) != d {
		return 0, fmt.Errorf("eval: Fréchet distance of %d- and %d-dimensional features", d, len(b.Mean))
	}
	var dm float64
	for i := range a.Mean {
		x := a.Mean[i] - b.Mean[i]
		dm += x * x
	}
	s1, err := symSqrt(a.Cov)
	if err != nil {
		return 0, err
	}
	var m, tmp mat.Dense
	tmp.Mul(s1, b.Cov)
	m.Mul(&tmp, s1)
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, false) {
		return 0, fmt.Errorf("eval: eigendecomposition did not converge")
	}
	var trSqrt float64
	for _, l := range eig.Values(nil) {
		trSqrt += math.Sqrt(math.Max(l, 0))
	}
	return dm + mat.Trace(a.Cov) + mat.Trace(b.Cov) - 2*trSqrt, nil
}

func symSqrt(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("eval: eigendecomposition did not converge")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	d := len(vals)
	scaled := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			scaled.Set(i, j, vecs.At(i, j)*math.Sqrt(math.Max(vals[j], 0)))
		}
	}
	var out mat.Dense
	out.Mul(scaled, vecs.T())
	return &out, nil
}

// ClassHistogram is the share of predictions in each of k classes:
// class_coverage for unconditional samples.
func ClassHistogram(pred []int, k int) []float64 {
	h := make([]float64, k)
	for _, p := range pred {
		if p >= 0 && p < k {
			h[p]++
		}
	}
	for i := range h {
		h[i] /= float64(max(1, len(pred)))
	}
	return h
}

// ClassAccuracy is the share of predictions equal to the asked classes.
func ClassAccuracy(pred, want []int) float64 {
	if len(pred) == 0 {
		return 0
	}
	right := 0
	for i := range pred {
		if pred[i] == want[i] {
			right++
		}
	}
	return float64(right) / float64(len(pred))
}
