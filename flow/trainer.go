package flow

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/models"
	"genlab/train"

	"gorgonia.org/gorgonia"
)

// Trainer fits a Network by maximum likelihood: each step dequantises the
// batch with fresh noise, and minimises its exact bits/dim with AdamW
// (warm-up, clipping, optionally a cosine decay); sampling and checkpoints
// use the EMA of the weights. Before the first step every actnorm is set
// from the first batch (data-dependent initialisation); a resumed run keeps
// the checkpoint's. It is the train.Trainee of the flow family.
type Trainer struct {
	Net *Network
	// Temperature of the progress grids (default: the config's).
	Temperature float64

	opt    *train.Optimizer
	m      *models.Machine
	loss   *models.Node
	inited bool
	y      []float32
}

var _ train.Trainee = (*Trainer)(nil)

// keyInit records in the training state that actnorm has been initialised.
const keyInit = "genlab.flow_actnorm_init"

// NewTrainer compiles the training graph for the config's batch size;
// steps is the run's length (for a cosine schedule).
func NewTrainer(net *Network, steps int) (*Trainer, error) {
	c := net.Config
	B := c.Batch
	g := models.NewGraph(net.Params)
	x := g.Input("x", B, c.InChannels, c.Size, c.Size)
	logp := net.logDensity(g, x)
	if logp == nil {
		return nil, fmt.Errorf("flow: build: %w", errOr(g.Err()))
	}
	// loss = −Σ log p(x) / (B·D·ln 2): the batch's bits/dim but for the
	// constants (logit Jacobian and the 256 levels) no weight changes.
	b := &builder{g: g}
	loss := b.do(func() (*models.Node, error) { return gorgonia.Sum(logp) })
	loss = b.do(func() (*models.Node, error) { return gorgonia.Mul(loss, b.c(-1/(float64(B*net.Dim())*math.Ln2))) })
	if b.Err() != nil {
		return nil, fmt.Errorf("flow: build loss: %w", b.Err())
	}
	m, err := g.Compile(loss)
	if err != nil {
		return nil, err
	}
	opt := &train.Optimizer{
		Adam: models.NewAdamW(c.LR, 0), BaseLR: c.LR, Warmup: c.Warmup, Cosine: c.Cosine, Total: steps, Clip: c.Clip,
		EMA: models.NewEMA(net.Params, c.EMA),
	}
	// The fixed buffers get no gradient, so Adam never makes their moments;
	// zero ones keep the optimizer state complete for a resume.
	for _, name := range net.buffers() {
		k := net.Params.Get(name).Shape().TotalSize()
		opt.Adam.M[name], opt.Adam.V[name] = make([]float32, k), make([]float32, k)
	}
	return &Trainer{Net: net, Temperature: c.SampleTemperature(), opt: opt, m: m, loss: loss, y: make([]float32, B*net.Dim())}, nil
}

func (t *Trainer) Family() string { return Family }
func (t *Trainer) Config() any    { return t.Net.Config }

// Weights are the EMA of the trained weights: what sampling and the
// checkpoint's weights file use.
func (t *Trainer) Weights() *models.Params { return t.opt.EMA.Shadow }

func (t *Trainer) State() ([]checkpoint.Tensor, map[string]string) {
	ts, md := t.opt.State(t.Net.Params)
	md[keyInit] = strconv.FormatBool(t.inited)
	return ts, md
}

// Restore loads the raw weights, Adam's moments and the EMA. Every
// checkpoint is written after at least one step, so its actnorms were
// initialised from data and must not be again.
func (t *Trainer) Restore(w, s *checkpoint.File) error {
	if err := t.opt.Restore(t.Net.Params, w, s); err != nil {
		return err
	}
	if err := t.Net.checkBuffers(t.Net.Params); err != nil {
		return &checkpoint.FormatError{File: s.Path, Reason: err.Error()}
	}
	if v, ok := s.Metadata[keyInit]; ok && v != "true" {
		return &checkpoint.FormatError{File: s.Path, Reason: keyInit + " is " + v + ": a flow checkpoint is always written after actnorm's initialisation"}
	}
	t.inited = true
	return nil
}

// Initialised reports whether actnorm has been set from data.
func (t *Trainer) Initialised() bool { return t.inited }

// Step trains on one batch: dequantisation noise from rng, one AdamW step.
// Losses: loss (the batch's exact bits/dim, before the update), grad_norm, lr.
func (t *Trainer) Step(ctx context.Context, step int, b datasets.Batch, rng *rand.Rand) (map[string]float64, error) {
	if len(b.X) != len(t.y) {
		return nil, fmt.Errorf("flow: batch of %d values, the graph takes %d", len(b.X), len(t.y))
	}
	datasets.Dequantize(t.y, b.X, rng)
	x, ld := t.Net.toLogit(t.y)
	B := len(ld)
	if !t.inited {
		if _, _, err := t.Net.encode(t.Net.Params, x, B, true); err != nil {
			return nil, fmt.Errorf("flow: actnorm initialisation: %w", err)
		}
		// The average starts from the initialised weights, not from before.
		if err := t.opt.EMA.Shadow.CopyFrom(t.Net.Params); err != nil {
			return nil, err
		}
		t.inited = true
	}
	setInput(t.m, "x", x)
	if err := t.m.Run(); err != nil {
		return nil, err
	}
	grads, err := t.m.Grads()
	if err != nil {
		return nil, err
	}
	meanLD := 0.0
	for _, v := range ld {
		meanLD += v
	}
	meanLD /= float64(B)
	D := float64(t.Net.Dim())
	bpd := t.m.Loss() + (-meanLD+D*math.Log(256))/(D*math.Ln2)
	if err := t.opt.Apply(step, t.Net.Params, grads); err != nil {
		return nil, err
	}
	t.m.ZeroGrads()
	// The EMA of a fixed buffer drifts by rounding; keep it exact.
	for _, name := range t.Net.buffers() {
		setVals(t.opt.EMA.Shadow, name, vals(t.Net.Params, name))
	}
	return map[string]float64{"loss": bpd, "grad_norm": t.opt.GradNorm, "lr": t.opt.Adam.LR}, nil
}

// Sample draws the progress grid from the EMA weights at t.Temperature.
func (t *Trainer) Sample(ctx context.Context, n int, seed uint64) ([]float32, int, int, int, error) {
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = seed + uint64(i)
	}
	pix, err := t.Net.SampleSeeds(ctx, t.Weights(), seeds, t.Temperature)
	c := t.Net.Config
	return pix, c.InChannels, c.Size, c.Size, err
}
