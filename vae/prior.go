package vae

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"genlab/internal/noise"
	"genlab/models"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// The VAE is trained against N(0,I), but its encoder does not fill that
// prior: on MNIST the 392-value spatial posterior uses a thin, correlated
// part of the space, so z ~ N(0,I) decodes to stroke fragments. A prior
// fitted after training to the aggregate posterior (ex-post density
// estimation, Ghosh et al. 2020: a Gaussian mixture over the codes) draws
// latents where the decoder has learned to draw digits, and since the
// best prior for a fixed encoder and decoder is the aggregate posterior,
// the likelihood bound does not get worse for it.

// Names of the fitted prior's tensors in a checkpoint (PyTorch's
// MixtureSameFamily/MultivariateNormal vocabulary).
const (
	priorLogWeights = "prior.log_weights" // [K]
	priorMeans      = "prior.means"       // [K, D]
	priorScaleTril  = "prior.scale_tril"  // [K, D, D], lower Cholesky factors
)

// Prior is a mixture of K full-covariance Gaussians over the flattened
// latent (D = LatentDim values).
type Prior struct {
	K, D   int
	LogW   []float64 // mixture log-weights, K
	Mean   []float64 // K × D
	Tril   []float64 // K × D × D, row-major lower Cholesky factors L_k (Σ_k = L_k L_kᵀ)
	logDet []float64 // Σ_j log L_k[j,j]: half the log-determinant of Σ_k
}

// addPriorParams registers the prior's tensors of a config with one: K
// copies of N(0,I) until fitted, so an unfitted prior is the standard one.
func addPriorParams(p *models.Params, K, D int) {
	p.Add(priorLogWeights, []int{K}, models.Const(-math.Log(float64(K))))
	p.Add(priorMeans, []int{K, D}, models.Const(0))
	p.Add(priorScaleTril, []int{K, D, D}, func(_ *rand.Rand, v []float64) {
		for i := range v {
			if i%(D*D)%(D+1) == 0 {
				v[i] = 1
			}
		}
	})
}

// newPrior checks a mixture's values and caches its log-determinants.
func newPrior(K, D int, logW, mean, tril []float64) (*Prior, error) {
	if len(logW) != K || len(mean) != K*D || len(tril) != K*D*D {
		return nil, fmt.Errorf("vae: prior of %d components over %d values: wrong tensor sizes", K, D)
	}
	pr := &Prior{K: K, D: D, LogW: logW, Mean: mean, Tril: tril, logDet: make([]float64, K)}
	for k := 0; k < K; k++ {
		for j := 0; j < D; j++ {
			d := tril[k*D*D+j*D+j]
			if !(d > 0) {
				return nil, fmt.Errorf("vae: prior component %d: scale_tril diagonal %d is %g, want > 0", k, j, d)
			}
			pr.logDet[k] += math.Log(d)
		}
	}
	return pr, nil
}

// Prior returns the network's latent prior in weights p: the fitted
// mixture, or nil for N(0,I).
func (n *Network) Prior(p *models.Params) (*Prior, error) {
	K := n.Config.PriorComponents
	if K == 0 {
		return nil, nil
	}
	f64 := func(name string) []float64 {
		v := p.Float32s(name)
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	return newPrior(K, n.LatentDim(), f64(priorLogWeights), f64(priorMeans), f64(priorScaleTril))
}

// SetPrior stores a fitted prior in weights p of a network whose config
// has pr.K components.
func (n *Network) SetPrior(p *models.Params, pr *Prior) error {
	if pr.K != n.Config.PriorComponents || pr.D != n.LatentDim() {
		return fmt.Errorf("vae: a prior of %d components over %d values does not fit a config of %d over %d",
			pr.K, pr.D, n.Config.PriorComponents, n.LatentDim())
	}
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	for name, v := range map[string][]float64{priorLogWeights: pr.LogW, priorMeans: pr.Mean, priorScaleTril: pr.Tril} {
		if err := p.SetFloat32s(name, f32(v)); err != nil {
			return err
		}
	}
	return nil
}

// Draw fills z (one latent of D values) from the prior at a temperature
// (the covariance scaled by T²): the component from rng's first uniform,
// then D normals, then z = μ_k + T·L_k·ε summed in a fixed order, so a
// latent depends on its RNG alone.
func (pr *Prior) Draw(z []float32, rng *rand.Rand, T float64, eps []float64) {
	u, k, acc := rng.Float64(), pr.K-1, 0.0
	for i, lw := range pr.LogW {
		if acc += math.Exp(lw); u < acc {
			k = i
			break
		}
	}
	for j := range eps[:pr.D] {
		eps[j] = rng.NormFloat64()
	}
	L, m := pr.Tril[k*pr.D*pr.D:], pr.Mean[k*pr.D:]
	for j := 0; j < pr.D; j++ {
		s, row := 0.0, L[j*pr.D:j*pr.D+j+1]
		for i, l := range row {
			s += l * eps[i]
		}
		z[j] = float32(m[j] + T*s)
	}
}

// LogProb returns log p(z) in nats for each of the rows of z (n × D).
func (pr *Prior) LogProb(z []float64) []float64 {
	n := len(z) / pr.D
	lp := pr.componentLogProbs(z, n)
	out := make([]float64, n)
	for i := range out {
		out[i] = logSumExp(lp[i*pr.K : (i+1)*pr.K])
	}
	return out
}

// componentLogProbs is log w_k + log N(z_i; μ_k, Σ_k) for every row i and
// component k (n × K): one triangular solve per component over all rows,
// y = (z − μ_k)·L_k⁻ᵀ, so that the Mahalanobis distance is |y|².
func (pr *Prior) componentLogProbs(z []float64, n int) []float64 {
	D, K := pr.D, pr.K
	out := make([]float64, n*K)
	y := make([]float64, n*D)
	c := -0.5 * float64(D) * math.Log(2*math.Pi)
	for k := 0; k < K; k++ {
		m := pr.Mean[k*D : (k+1)*D]
		for i := 0; i < n; i++ {
			for j := 0; j < D; j++ {
				y[i*D+j] = z[i*D+j] - m[j]
			}
		}
		blas64.Trsm(blas.Right, blas.Trans, 1,
			blas64.Triangular{Uplo: blas.Lower, Diag: blas.NonUnit, N: D, Stride: D, Data: pr.Tril[k*D*D : (k+1)*D*D]},
			blas64.General{Rows: n, Cols: D, Stride: D, Data: y})
		for i := 0; i < n; i++ {
			s := 0.0
			for _, v := range y[i*D : (i+1)*D] {
				s += v * v
			}
			out[i*K+k] = pr.LogW[k] + c - pr.logDet[k] - 0.5*s
		}
	}
	return out
}

// FitOptions control FitPrior.
type FitOptions struct {
	Components int
	Iterations int     // EM iterations at most
	Tolerance  float64 // stop when the mean log-likelihood per value gains less
	Seed       uint64  // picks the initial means
	// Progress, if set, hears the mean log-likelihood per latent value
	// after each iteration.
	Progress func(iter int, logLik float64)
}

// FitPrior fits a mixture of full-covariance Gaussians to latents z (n ×
// D) by expectation-maximisation: initial means at distinct random
// latents, hard assignment to the nearest, then soft EM. Each covariance
// gets a small ridge (1e-4 of the mean variance) so that no component
// collapses onto a few points; a component left with fewer than D latents
// restarts at a random latent with the data's covariance.
func FitPrior(z []float32, D int, o FitOptions) (*Prior, error) {
	n, K := len(z)/D, o.Components
	if D < 1 || n*D != len(z) {
		return nil, fmt.Errorf("vae: fit prior: %d values is not a whole number of latents of %d", len(z), D)
	}
	if K < 1 || n < K || n <= D {
		return nil, fmt.Errorf("vae: fit prior: %d latents of %d values is too few for %d components", n, D, K)
	}
	x := make([]float64, len(z))
	for i, v := range z {
		x[i] = float64(v)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9a1))
	global, err := covariance(x, nil, n, D)
	if err != nil {
		return nil, err
	}
	// Hard start: responsibilities 1 for the nearest of K random latents.
	resp := make([]float64, n*K)
	centres := rng.Perm(n)[:K]
	for i := 0; i < n; i++ {
		best, bestD := 0, math.Inf(1)
		for k, c := range centres {
			d := 0.0
			for j := 0; j < D; j++ {
				t := x[i*D+j] - x[c*D+j]
				d += t * t
			}
			if d < bestD {
				best, bestD = k, d
			}
		}
		resp[i*K+best] = 1
	}
	var pr *Prior
	prev := math.Inf(-1)
	for it := 1; it <= max(1, o.Iterations); it++ {
		if pr, err = mStep(x, resp, n, D, K, global, rng); err != nil {
			return nil, err
		}
		ll := eStep(pr, x, n, resp) / float64(D)
		if o.Progress != nil {
			o.Progress(it, ll)
		}
		if math.IsNaN(ll) {
			return nil, errors.New("vae: fit prior: the log-likelihood became NaN")
		}
		if ll-prev < o.Tolerance {
			break
		}
		prev = ll
	}
	return pr, nil
}

// eStep sets resp to the components' posterior probabilities and
// returns the mean log-likelihood per latent.
func eStep(pr *Prior, x []float64, n int, resp []float64) float64 {
	K := pr.K
	lp := pr.componentLogProbs(x, n)
	total := 0.0
	for i := 0; i < n; i++ {
		row := lp[i*K : (i+1)*K]
		l := logSumExp(row)
		total += l
		for k, v := range row {
			resp[i*K+k] = math.Exp(v - l)
		}
	}
	return total / float64(n)
}

// mStep is the mixture that maximises the expected log-likelihood under
// responsibilities resp.
func mStep(x, resp []float64, n, D, K int, global *mat.SymDense, rng *rand.Rand) (*Prior, error) {
	logW := make([]float64, K)
	mean := make([]float64, K*D)
	tril := make([]float64, K*D*D)
	w := make([]float64, n)
	for k := 0; k < K; k++ {
		nk := 0.0
		for i := 0; i < n; i++ {
			w[i] = resp[i*K+k]
			nk += w[i]
		}
		var cov *mat.SymDense
		m := mean[k*D : (k+1)*D]
		if nk < float64(D) {
			// Too few latents to estimate a covariance: restart here.
			c := rng.IntN(n)
			copy(m, x[c*D:(c+1)*D])
			cov, nk = global, float64(D)
		} else {
			for i := 0; i < n; i++ {
				for j := 0; j < D; j++ {
					m[j] += w[i] * x[i*D+j]
				}
			}
			for j := range m {
				m[j] /= nk
			}
			var err error
			if cov, err = covariance(x, &weighted{w: w, mean: m, sum: nk}, n, D); err != nil {
				return nil, err
			}
		}
		logW[k] = math.Log(nk)
		var ch mat.Cholesky
		if !ch.Factorize(cov) {
			return nil, fmt.Errorf("vae: fit prior: component %d's covariance is not positive definite", k)
		}
		var L mat.TriDense
		ch.LTo(&L)
		for r := 0; r < D; r++ {
			for c := 0; c <= r; c++ {
				tril[k*D*D+r*D+c] = L.At(r, c)
			}
		}
	}
	l := logSumExp(logW)
	for k := range logW {
		logW[k] -= l
	}
	return newPrior(K, D, logW, mean, tril)
}

// weighted says how to centre and weight rows for covariance.
type weighted struct {
	w    []float64
	mean []float64
	sum  float64
}

// covariance is the (weighted) covariance of the rows of x plus a ridge of
// 1e-4 of its mean variance (and 1e-6 absolute): Yᵀ·Y/Σw with rows
// y_i = √w_i·(x_i − μ), one symmetric rank-k update.
func covariance(x []float64, wt *weighted, n, D int) (*mat.SymDense, error) {
	y := make([]float64, n*D)
	mean, sum := make([]float64, D), float64(n)
	if wt != nil {
		mean, sum = wt.mean, wt.sum
	} else {
		for i := 0; i < n; i++ {
			for j := 0; j < D; j++ {
				mean[j] += x[i*D+j]
			}
		}
		for j := range mean {
			mean[j] /= float64(n)
		}
	}
	for i := 0; i < n; i++ {
		s := 1.0
		if wt != nil {
			s = math.Sqrt(wt.w[i])
		}
		for j := 0; j < D; j++ {
			y[i*D+j] = s * (x[i*D+j] - mean[j])
		}
	}
	c := blas64.Symmetric{Uplo: blas.Upper, N: D, Stride: D, Data: make([]float64, D*D)}
	blas64.Syrk(blas.Trans, 1/sum, blas64.General{Rows: n, Cols: D, Stride: D, Data: y}, 0, c)
	tr := 0.0
	for j := 0; j < D; j++ {
		tr += c.Data[j*D+j]
	}
	ridge := 1e-4*tr/float64(D) + 1e-6
	for j := 0; j < D; j++ {
		c.Data[j*D+j] += ridge
		if !(c.Data[j*D+j] > 0) || math.IsInf(c.Data[j*D+j], 0) {
			return nil, fmt.Errorf("vae: fit prior: variance %d is %g", j, c.Data[j*D+j])
		}
	}
	return mat.NewSymDense(D, c.Data), nil
}

// PosteriorSamples returns one z ~ q(z|x) for each image of pix (in [0,1],
// taken as 8-bit), encoded in chunks of 256: what FitPrior fits. Image
// i's noise comes from its own RNG (seed+i), so the samples do not depend
// on the chunking.
func (n *Network) PosteriorSamples(p *models.Params, pix []float32, seed uint64) ([]float32, error) {
	D, L := n.Dim(), n.LatentDim()
	count := len(pix) / D
	if count == 0 || count*D != len(pix) {
		return nil, fmt.Errorf("vae: %d pixel values is not a whole number of images of %d", len(pix), D)
	}
	const chunk = 256
	z := make([]float32, 0, count*L)
	for lo := 0; lo < count; lo += chunk {
		hi := min(count, lo+chunk)
		r, err := n.run(p, pix[lo*D:hi*D], nil)
		if err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			rng := noise.RNG(seed + uint64(i))
			mu, lv := r.mu[(i-lo)*L:(i-lo+1)*L], r.logvar[(i-lo)*L:(i-lo+1)*L]
			for j := range mu {
				z = append(z, mu[j]+float32(math.Exp(0.5*float64(lv[j]))*rng.NormFloat64()))
			}
		}
	}
	return z, nil
}

// WithPrior returns a network with n's weights and pr as its prior,
// sampled at temperature T by default: what a checkpoint with a fitted
// prior holds.
func (n *Network) WithPrior(pr *Prior, T float64) (*Network, error) {
	c := n.Config
	c.PriorComponents, c.Temperature = pr.K, T
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out, err := NewNetwork(c, 0)
	if err != nil {
		return nil, err
	}
	for _, name := range n.Params.Names() {
		if strings.HasPrefix(name, "prior.") {
			continue // a prior fitted before is replaced
		}
		if err := out.Params.SetFloat32s(name, n.Params.Float32s(name)); err != nil {
			return nil, err
		}
	}
	return out, out.SetPrior(out.Params, pr)
}
