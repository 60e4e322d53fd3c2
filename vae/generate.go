package vae

import (
	"fmt"
	"math"
	"math/rand/v2"

	"genlab/internal/noise"
	"genlab/models"
)

// encoder is the encoder alone over weights p for a batch: input x (in
// [-1,1]); outputs the posterior's mean and log-variance. The latent is
// formed outside the graph: gorgonia may compute an op in place over an
// input it is the only reader of, so a graph's intermediate values are not
// safe to read back.
func (n *Network) encoder(p *models.Params, batch int) (*forward, error) {
	key := graphKey{p, batch, "enc"}
	if f, ok := n.graphs[key]; ok {
		return f, nil
	}
	c := n.Config
	g := models.NewGraph(p)
	x := g.Input("x", batch, c.InChannels, c.Size, c.Size)
	mu, logvar := n.encode(g, x)
	m, err := g.Compile(nil)
	if err != nil {
		return nil, err
	}
	f := &forward{m: m, mu: mu, logvar: logvar}
	n.graphs[key] = f
	return f, nil
}

// decoder is the decoder alone over weights p: input z.
func (n *Network) decoder(p *models.Params, batch int) (*forward, error) {
	key := graphKey{p, batch, "dec"}
	if f, ok := n.graphs[key]; ok {
		return f, nil
	}
	g := models.NewGraph(p)
	z := g.Input("z", n.latentShape(batch)...)
	px := n.decode(g, z)
	m, err := g.Compile(nil)
	if err != nil {
		return nil, err
	}
	f := &forward{m: m, z: z, px: px}
	n.graphs[key] = f
	return f, nil
}

func data(v *models.Node) []float32 { return v.Value().Data().([]float32) }

// meanPixels maps the decoder's output channels to the likelihood's mean
// in [0,1], clamped.
func (n *Network) meanPixels(px []float32, batch int) []float32 {
	C, hw := n.Config.InChannels, n.Config.Size*n.Config.Size
	out := make([]float32, batch*C*hw)
	for i := 0; i < batch; i++ {
		src := px[i*2*C*hw : i*2*C*hw+C*hw]
		for j, v := range src {
			out[i*C*hw+j] = min(1, max(0, (v+1)/2))
		}
	}
	return out
}

// Decode maps latents (batch × LatentDim) to mean images in [0,1].
func (n *Network) Decode(p *models.Params, z []float32) ([]float32, error) {
	batch := len(z) / n.LatentDim()
	if batch == 0 || batch*n.LatentDim() != len(z) {
		return nil, fmt.Errorf("vae: %d latent values is not a whole number of latents of %d", len(z), n.LatentDim())
	}
	f, err := n.decoder(p, batch)
	if err != nil {
		return nil, err
	}
	if err := f.m.Set("z", z); err != nil {
		return nil, err
	}
	if err := f.m.Run(); err != nil {
		return nil, err
	}
	return n.meanPixels(data(f.px), batch), nil
}

// Sample draws n images at the config's temperature: image i's latent from
// seed+i, decoded to the likelihood's mean, NCHW in [0,1].
func (n *Network) Sample(p *models.Params, count int, seed uint64) ([]float32, error) {
	return n.SampleSeeds(p, noise.Seeds(seed, count), n.Config.SampleTemperature())
}

// SampleSeeds is Sample for images with seeds of their own at temperature
// T: image i's latent comes from noise.RNG(seeds[i]) alone, so it is the
// image Sample makes at seed+i. Under N(0,I) the latent is T·ε; under a
// fitted prior a component is drawn first (Prior.Draw).
func (n *Network) SampleSeeds(p *models.Params, seeds []uint64, T float64) ([]float32, error) {
	count := len(seeds)
	if count < 1 {
		return nil, fmt.Errorf("vae: sample %d images: need at least one", count)
	}
	if !(T >= 0 && T <= 2) {
		return nil, fmt.Errorf("vae: temperature %g: want 0 to 2", T)
	}
	pr, err := n.Prior(p)
	if err != nil {
		return nil, err
	}
	L := n.LatentDim()
	z := make([]float32, count*L)
	eps := make([]float64, L)
	for i, s := range seeds {
		zi := z[i*L : (i+1)*L]
		if pr != nil {
			pr.Draw(zi, noise.RNG(s), T, eps)
			continue
		}
		noise.Normal(zi, noise.RNG(s))
		if T != 1 {
			for j := range zi {
				zi[j] = float32(T * float64(zi[j]))
			}
		}
	}
	return n.Decode(p, z)
}

// Encode returns the posterior means of images in [0,1] (batch × LatentDim).
func (n *Network) Encode(p *models.Params, pix []float32) ([]float32, error) {
	batch := len(pix) / n.Dim()
	if batch == 0 || batch*n.Dim() != len(pix) {
		return nil, fmt.Errorf("vae: %d pixel values is not a whole number of images of %d", len(pix), n.Dim())
	}
	r, err := n.run(p, pix, nil)
	return r.mu, err
}

// posterior is one run over images in [0,1] (taken as 8-bit) with noise
// eps: the posterior's mean and log-variance, z = μ + σ·ε, and the
// decoder's (mean, raw log-scale) channels, all copies.
type posterior struct{ mu, logvar, z, px []float32 }

func (n *Network) run(p *models.Params, pix, eps []float32) (posterior, error) {
	batch := len(pix) / n.Dim()
	f, err := n.encoder(p, batch)
	if err != nil {
		return posterior{}, err
	}
	x := make([]float32, len(pix))
	for i, k := range levels(pix) {
		x[i] = 2*float32(k)/255 - 1
	}
	if err := f.m.Set("x", x); err != nil {
		return posterior{}, err
	}
	if err := f.m.Run(); err != nil {
		return posterior{}, err
	}
	r := posterior{mu: append([]float32(nil), data(f.mu)...), logvar: append([]float32(nil), data(f.logvar)...)}
	if eps == nil {
		return r, nil
	}
	r.z = make([]float32, len(r.mu))
	for i := range r.z {
		r.z[i] = r.mu[i] + float32(math.Exp(0.5*float64(r.logvar[i])))*eps[i]
	}
	d, err := n.decoder(p, batch)
	if err != nil {
		return posterior{}, err
	}
	if err := d.m.Set("z", r.z); err != nil {
		return posterior{}, err
	}
	if err := d.m.Run(); err != nil {
		return posterior{}, err
	}
	r.px = append([]float32(nil), data(d.px)...)
	return r, nil
}

// Reconstruct decodes the posterior means of images in [0,1].
func (n *Network) Reconstruct(p *models.Params, pix []float32) ([]float32, error) {
	z, err := n.Encode(p, pix)
	if err != nil {
		return nil, err
	}
	return n.Decode(p, z)
}

// Interpolate encodes two images (in [0,1]) to their posterior means and
// decodes steps points on the straight line between them, ends included.
func (n *Network) Interpolate(p *models.Params, a, b []float32, steps int) ([]float32, error) {
	if len(a) != n.Dim() || len(b) != n.Dim() {
		return nil, fmt.Errorf("vae: interpolate: images of %d values, want %d", len(a), n.Dim())
	}
	if steps < 2 {
		return nil, fmt.Errorf("vae: interpolate: steps %d, need at least 2", steps)
	}
	z, err := n.Encode(p, append(append([]float32(nil), a...), b...))
	if err != nil {
		return nil, err
	}
	L := n.LatentDim()
	path := make([]float32, steps*L)
	for s := 0; s < steps; s++ {
		t := float32(s) / float32(steps-1)
		for j := 0; j < L; j++ {
			path[s*L+j] = (1-t)*z[j] + t*z[L+j]
		}
	}
	return n.Decode(p, path)
}

// LogLikelihoodBound returns, per image in [0,1] (taken as 8-bit), the
// importance-weighted bound of Burda et al. (2016) in nats,
//
//	log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x),
//
// which is the ELBO at K = 1 and tightens towards log p(x) as K grows.
// The noise comes from seed.
func (n *Network) LogLikelihoodBound(p *models.Params, pix []float32, K int, seed uint64) ([]float64, error) {
	D, L := n.Dim(), n.LatentDim()
	batch := len(pix) / D
	if batch == 0 || batch*D != len(pix) {
		return nil, fmt.Errorf("vae: %d pixel values is not a whole number of images of %d", len(pix), D)
	}
	if K < 1 {
		return nil, fmt.Errorf("vae: K = %d importance samples, need at least 1", K)
	}
	pr, err := n.Prior(p)
	if err != nil {
		return nil, err
	}
	k8 := levels(pix)
	rng := rand.New(rand.NewPCG(seed, 0x1aa))
	eps := make([]float32, batch*L)
	logw := make([][]float64, batch)
	C, hw := n.Config.InChannels, n.Config.Size*n.Config.Size
	for k := 0; k < K; k++ {
		for i := range eps {
			eps[i] = float32(rng.NormFloat64())
		}
		f, err := n.run(p, pix, eps)
		if err != nil {
			return nil, err
		}
		lv, z, px := f.logvar, f.z, f.px
		logPrior := n.logPrior(pr, z)
		for i := 0; i < batch; i++ {
			w := logPrior[i]
			for j := i * L; j < (i+1)*L; j++ {
				// − log N(z;μ,σ²) with (z−μ)/σ = ε, without its −½·log 2π.
				e := float64(eps[j])
				w += 0.5*e*e + 0.5*float64(lv[j])
			}
			out := px[i*2*C*hw : (i+1)*2*C*hw]
			for j := 0; j < C*hw; j++ {
				w += LogProb(k8[i*D+j], float64(out[j]), boundedLogScale(float64(out[C*hw+j])))
			}
			logw[i] = append(logw[i], w)
		}
	}
	res := make([]float64, batch)
	for i, ws := range logw {
		res[i] = logSumExp(ws) - math.Log(float64(K))
	}
	return res, nil
}

// BitsPerDim is the mean over images of −LogLikelihoodBound/(D·ln 2): an
// upper bound on the model's bits per dimension on the 8-bit data (equal
// to the bound on uniformly dequantised data in [0,256)^D).
func (n *Network) BitsPerDim(p *models.Params, pix []float32, K int, seed uint64) (float64, error) {
	lb, err := n.LogLikelihoodBound(p, pix, K, seed)
	if err != nil {
		return 0, err
	}
	s := 0.0
	for _, v := range lb {
		s += v
	}
	return -s / float64(len(lb)) / (float64(n.Dim()) * math.Ln2), nil
}

// logPrior is log p(z) for each latent of z under the prior, plus ½·log 2π
// per value (the constant the callers leave out of log q(z|x) too): under
// N(0,I) that is −½|z|².
func (n *Network) logPrior(pr *Prior, z []float32) []float64 {
	L := n.LatentDim()
	out := make([]float64, len(z)/L)
	if pr == nil {
		for i := range out {
			for _, v := range z[i*L : (i+1)*L] {
				out[i] -= 0.5 * float64(v) * float64(v)
			}
		}
		return out
	}
	z64 := make([]float64, len(z))
	for i, v := range z {
		z64[i] = float64(v)
	}
	c := 0.5 * float64(L) * math.Log(2*math.Pi)
	for i, lp := range pr.LogProb(z64) {
		out[i] = lp + c
	}
	return out
}

func logSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	if math.IsInf(m, 0) {
		return m
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// ELBO returns, per image in [0,1] (taken as 8-bit), the evidence lower
// bound in nats, log p(x|z) − KL(q(z|x) ‖ p(z)), with one z ~ q(z|x)
// drawn from seed exactly as LogLikelihoodBound's first sample; the KL is
// in closed form under N(0,I) and the one-sample estimate under a fitted
// prior.
func (n *Network) ELBO(p *models.Params, pix []float32, seed uint64) ([]float64, error) {
	D, L := n.Dim(), n.LatentDim()
	batch := len(pix) / D
	if batch == 0 || batch*D != len(pix) {
		return nil, fmt.Errorf("vae: %d pixel values is not a whole number of images of %d", len(pix), D)
	}
	rng := rand.New(rand.NewPCG(seed, 0x1aa))
	eps := make([]float32, batch*L)
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
	}
	f, err := n.run(p, pix, eps)
	if err != nil {
		return nil, err
	}
	pr, err := n.Prior(p)
	if err != nil {
		return nil, err
	}
	k8 := levels(pix)
	mu, lv, px := f.mu, f.logvar, f.px
	C, hw := n.Config.InChannels, n.Config.Size*n.Config.Size
	res := make([]float64, batch)
	var logPrior []float64
	if pr != nil {
		logPrior = n.logPrior(pr, f.z)
	}
	for i := range res {
		e := 0.0
		for j := i * L; j < (i+1)*L; j++ {
			m, v := float64(mu[j]), float64(lv[j])
			if pr != nil {
				// No closed form under a mixture: −log q(z|x) at the sample,
				// beside log p(z) below, without the −½·log 2π of each.
				ee := float64(eps[j])
				e += 0.5*ee*ee + 0.5*v
			} else {
				e -= 0.5 * (m*m + math.Exp(v) - 1 - v)
			}
		}
		if pr != nil {
			e += logPrior[i]
		}
		out := px[i*2*C*hw : (i+1)*2*C*hw]
		for j := 0; j < C*hw; j++ {
			e += LogProb(k8[i*D+j], float64(out[j]), boundedLogScale(float64(out[C*hw+j])))
		}
		res[i] = e
	}
	return res, nil
}
