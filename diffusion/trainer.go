package diffusion

import (
	"context"
	"fmt"
	"math/rand/v2"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/models"
	"genlab/train"
)

// Family is the checkpoint family of diffusion models.
const Family = "diffusion"

// Trainer trains a Network with the simple loss of Ho et al. (2020):
// ‖ε − ε̂(√ᾱ_t x₀ + √(1−ᾱ_t) ε, t)‖², t uniform, AdamW with warm-up,
// clipping and an EMA that sampling uses. It is the train.Trainee of the
// diffusion family.
type Trainer struct {
	Net   *Network
	opt   *train.Optimizer
	m     *models.Machine
	batch int
	x0    []float32
}

var _ train.Trainee = (*Trainer)(nil)

// NewTrainer compiles the training graph for the config's batch size.
func NewTrainer(net *Network, steps int) (*Trainer, error) {
	c := net.Config
	g, out := net.graph(net.Params, c.Batch)
	u := c.UNet
	loss := g.MSE(out, g.Input("eps", c.Batch, u.InChannels, u.Size, u.Size))
	m, err := g.Compile(loss)
	if err != nil {
		return nil, err
	}
	opt := &train.Optimizer{
		Adam: models.NewAdamW(c.LR, 0), BaseLR: c.LR, Warmup: c.Warmup, Cosine: c.Cosine, Clip: c.Clip, Total: steps,
		EMA: models.NewEMA(net.Params, c.EMA),
	}
	return &Trainer{Net: net, opt: opt, m: m, batch: c.Batch, x0: make([]float32, c.Batch*net.Dim())}, nil
}

func (t *Trainer) Family() string          { return Family }
func (t *Trainer) Config() any             { return t.Net.Config }
func (t *Trainer) Weights() *models.Params { return t.opt.EMA.Shadow }
func (t *Trainer) State() ([]checkpoint.Tensor, map[string]string) {
	return t.opt.State(t.Net.Params)
}
func (t *Trainer) Restore(w, s *checkpoint.File) error { return t.opt.Restore(t.Net.Params, w, s) }

// Step: x₀ from the batch, t and ε from rng, conditions dropped at the
// configured rate, one AdamW step.
func (t *Trainer) Step(ctx context.Context, step int, b datasets.Batch, rng *rand.Rand) (map[string]float64, error) {
	if len(b.X) != len(t.x0) {
		return nil, fmt.Errorf("diffusion: batch of %d values, the graph takes %d", len(b.X), len(t.x0))
	}
	ToModelRange(t.x0, b.X)
	xt, eps, ts := t.Net.Sched.NoisyBatch(rng, t.x0, t.batch, t.Net.Dim())
	var classes []int
	if t.Net.Classes() > 0 {
		classes = t.Net.dropConditions(b.Labels, t.Net.Config.CondDrop, rng)
	}
	if err := t.Net.setInputs(t.m, xt, ts, classes); err != nil {
		return nil, err
	}
	if err := t.m.Set("eps", eps); err != nil {
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
	if err := t.opt.Apply(step, t.Net.Params, grads); err != nil {
		return nil, err
	}
	t.m.ZeroGrads()
	return map[string]float64{"loss": loss, "grad_norm": t.opt.GradNorm, "lr": t.opt.Adam.LR}, nil
}

// Sample draws the progress grid from the EMA weights: DDIM, 50 steps,
// guidance 2 with classes in rows for a class-conditional network.
func (t *Trainer) Sample(ctx context.Context, n int, seed uint64) ([]float32, int, int, int, error) {
	o := GenerateOptions{N: n, Seed: seed, Steps: 50}
	if k := t.Net.Classes(); k > 0 {
		o.Classes, o.Guidance = GridClasses(n, k), 2
	}
	pix, err := t.Net.Generate(ctx, t.Weights(), o)
	u := t.Net.Config.UNet
	return pix, u.InChannels, u.Size, u.Size, err
}
