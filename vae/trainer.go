package vae

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/models"
	"genlab/train"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Family is the checkpoint family of VAEs.
const Family = "vae"

// Trainer trains a Network on the negative ELBO per image in nats,
// −log p(x|z) + β·KL(q(z|x) ‖ N(0,I)), one reparameterised sample per image,
// with β rising linearly from 0 to 1 over KLWarmup steps. AdamW with
// warm-up and clipping; sampling and checkpoints use the EMA of the weights.
// It is the train.Trainee of the VAE family.
type Trainer struct {
	Net   *Network
	opt   *train.Optimizer
	m     *models.Machine
	batch int

	beta, recon, kl *gorgonia.Node
	x, notTop       []float32
	notBottom       []float32
	inner, eps      []float32
}

var _ train.Trainee = (*Trainer)(nil)

// NewTrainer compiles the training graph for the config's batch size.
func NewTrainer(net *Network, steps int) (*Trainer, error) {
	c := net.Config
	B := c.Batch
	if B < 1 {
		return nil, fmt.Errorf("vae: batch %d must be positive", B)
	}
	if c.PriorComponents > 0 {
		// The fitted prior belongs to the encoder it was fitted to.
		return nil, fmt.Errorf("vae: this VAE has a fitted prior; train the checkpoint it was fitted from, then fit the prior again")
	}
	g := models.NewGraph(net.Params)
	img := []int{B, c.InChannels, c.Size, c.Size}
	x := g.Input("x", img...)
	notTop := g.Input("not_top", img...)
	notBottom := g.Input("not_bottom", img...)
	inner := g.Input("inner", img...)
	eps := g.Input("eps", net.latentShape(B)...)
	mu, logvar := net.encode(g, x)
	o := &ops{g: g}
	if g.Err() != nil {
		return nil, g.Err()
	}
	z := o.add(mu, o.mul(o.unary(gorgonia.Exp, o.scale(logvar, 0.5)), eps))
	var out *models.Node
	if o.err == nil {
		out = net.decode(g, z)
	}
	C := c.InChannels
	pm, raw := g.SliceChannels(out, 0, C), g.SliceChannels(out, C, 2*C)
	if g.Err() != nil {
		return nil, g.Err()
	}
	lp := o.discLogistic(x, pm, o.logScale(raw), notTop, notBottom, inner)
	// KL(N(μ,σ²) ‖ N(0,1)) = ½(μ² + σ² − 1 − log σ²), summed.
	klSum := o.scale(o.sum(o.sub(o.add(o.unary(gorgonia.Square, mu), o.unary(gorgonia.Exp, logvar)), o.shift(logvar, 1))), 0.5)
	recon := o.scale(lp, -1/float64(B))
	kl := o.scale(klSum, 1/float64(B))
	beta := gorgonia.NewScalar(g.G, tensor.Float32, gorgonia.WithName("beta"), gorgonia.WithValue(float32(0)))
	loss := o.add(recon, o.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(kl, beta) }))
	if o.err != nil {
		return nil, fmt.Errorf("vae: build loss: %w", o.err)
	}
	m, err := g.Compile(loss)
	if err != nil {
		return nil, err
	}
	opt := &train.Optimizer{
		Adam: models.NewAdamW(c.LR, 0), BaseLR: c.LR, Warmup: c.Warmup, Cosine: c.Cosine, Clip: c.Clip, Total: steps,
		EMA: models.NewEMA(net.Params, c.EMA),
	}
	d, l := B*net.Dim(), B*net.LatentDim()
	return &Trainer{Net: net, opt: opt, m: m, batch: B, beta: beta, recon: recon, kl: kl,
		x: make([]float32, d), notTop: make([]float32, d), notBottom: make([]float32, d),
		inner: make([]float32, d), eps: make([]float32, l)}, nil
}

func (t *Trainer) Family() string { return Family }
func (t *Trainer) Config() any    { return t.Net.Config }

// Weights are the EMA of the trained weights: what sampling and the
// checkpoint's weights file use.
func (t *Trainer) Weights() *models.Params { return t.opt.EMA.Shadow }
func (t *Trainer) State() ([]checkpoint.Tensor, map[string]string) {
	return t.opt.State(t.Net.Params)
}
func (t *Trainer) Restore(w, s *checkpoint.File) error { return t.opt.Restore(t.Net.Params, w, s) }

// Beta is the KL weight at a 1-based step.
func (t *Trainer) Beta(step int) float64 {
	if w := t.Net.Config.KLWarmup; w > 0 && step < w {
		return float64(step) / float64(w)
	}
	return 1
}

// Step: the batch's 8-bit pixels, ε ~ N(0,I) from rng, one AdamW step.
// Losses: loss (the β-weighted objective), recon and kl (nats per image),
// bpd (the unweighted negative ELBO in bits/dim), beta, grad_norm, lr.
func (t *Trainer) Step(ctx context.Context, step int, b datasets.Batch, rng *rand.Rand) (map[string]float64, error) {
	if len(b.X) != len(t.x) {
		return nil, fmt.Errorf("vae: batch of %d values, the graph takes %d", len(b.X), len(t.x))
	}
	likelihoodInputs(levels(b.X), t.x, t.notTop, t.notBottom, t.inner)
	for i := range t.eps {
		t.eps[i] = float32(rng.NormFloat64())
	}
	for name, v := range map[string][]float32{"x": t.x, "not_top": t.notTop, "not_bottom": t.notBottom, "inner": t.inner, "eps": t.eps} {
		if err := t.m.Set(name, v); err != nil {
			return nil, err
		}
	}
	beta := t.Beta(step)
	if err := gorgonia.Let(t.beta, float32(beta)); err != nil {
		return nil, err
	}
	if err := t.m.Run(); err != nil {
		return nil, err
	}
	grads, err := t.m.Grads()
	if err != nil {
		return nil, err
	}
	loss := t.m.Loss()
	recon, kl := scalarOf(t.recon), scalarOf(t.kl)
	if err := t.opt.Apply(step, t.Net.Params, grads); err != nil {
		return nil, err
	}
	t.m.ZeroGrads()
	return map[string]float64{"loss": loss, "recon": recon, "kl": kl, "bpd": (recon + kl) / (float64(t.Net.Dim()) * math.Ln2),
		"beta": beta, "grad_norm": t.opt.GradNorm, "lr": t.opt.Adam.LR}, nil
}

func scalarOf(n *gorgonia.Node) float64 {
	switch v := n.Value().Data().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case []float32:
		return float64(v[0])
	case []float64:
		return v[0]
	}
	return math.NaN()
}

// Sample draws the progress grid from the EMA weights: z ~ N(0,I) per image
// from seed+i, decoded to the likelihood's mean.
func (t *Trainer) Sample(ctx context.Context, n int, seed uint64) ([]float32, int, int, int, error) {
	pix, err := t.Net.Sample(t.Weights(), n, seed)
	c := t.Net.Config
	return pix, c.InChannels, c.Size, c.Size, err
}
