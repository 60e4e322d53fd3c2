package diffusion

import (
	"context"
	"fmt"
	"math/rand/v2"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/images"
	"genlab/internal/noise"
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
	Net *Network
	// GridSource holds what the progress grids of a conditional model are
	// drawn for: a text model's grid takes its first captions (a row
	// each), a lowres model's its first images (bicubic, sample, truth).
	GridSource *datasets.Set
	opt        *train.Optimizer
	m          *models.Machine
	batch      int
	x0         []float32
	tokens     map[string][]int // captions tokenized so far
	// learn is the store the optimizer updates: the network's weights, or
	// a fine-tune's own parameters (NewTunedTrainer).
	learn *models.Params
}

var _ train.Trainee = (*Trainer)(nil)

// NewTrainer compiles the training graph for the config's batch size.
func NewTrainer(net *Network, steps int) (*Trainer, error) {
	c := net.Config
	g, out := net.graph(net.Params, c.Batch, false)
	u := c.UNet
	loss := g.MSE(out, g.Input("eps", c.Batch*net.frames(), u.InChannels, u.Size, u.Size))
	m, err := g.Compile(loss)
	if err != nil {
		return nil, err
	}
	opt := &train.Optimizer{
		Adam: models.NewAdamW(c.LR, 0), BaseLR: c.LR, Warmup: c.Warmup, Cosine: c.Cosine, Clip: c.Clip, Total: steps,
		EMA: models.NewEMA(net.Params, c.EMA),
	}
	return &Trainer{Net: net, opt: opt, m: m, batch: c.Batch, x0: make([]float32, c.Batch*net.Dim()), tokens: map[string][]int{}, learn: net.Params}, nil
}

// NewTunedTrainer compiles a training graph for a fine-tune (SetTuning
// done) in which only the parameters of learn get gradients: the rest of
// the network is frozen, and the optimizer (AdamW with the recipe's clip,
// this lr and warm-up, no EMA) holds state for learn's parameters only.
// Its Weights are learn.
func NewTunedTrainer(net *Network, learn *models.Params, batch, steps int, lr float64, warmup int) (*Trainer, error) {
	u := net.Config.UNet
	g, out := net.graph(net.Params, batch, false)
	g.TrainOnly(func(name string) bool { return learn.Get(name) != nil })
	loss := g.MSE(out, g.Input("eps", batch, u.InChannels, u.Size, u.Size))
	m, err := g.Compile(loss)
	if err != nil {
		return nil, err
	}
	opt := &train.Optimizer{Adam: models.NewAdamW(lr, 0), BaseLR: lr, Warmup: warmup, Clip: net.Config.Clip, Total: steps}
	return &Trainer{Net: net, opt: opt, m: m, batch: batch, x0: make([]float32, batch*net.Dim()), tokens: map[string][]int{}, learn: learn}, nil
}

func (t *Trainer) Family() string { return Family }
func (t *Trainer) Config() any    { return t.Net.Config }
func (t *Trainer) Weights() *models.Params {
	if t.opt.EMA == nil {
		return t.learn
	}
	return t.opt.EMA.Shadow
}
func (t *Trainer) State() ([]checkpoint.Tensor, map[string]string) {
	return t.opt.State(t.learn)
}
func (t *Trainer) Restore(w, s *checkpoint.File) error { return t.opt.Restore(t.learn, w, s) }

// sampleWeights are the weights the grids are drawn from: the EMA, or the
// network's own weights under a fine-tune.
func (t *Trainer) sampleWeights() *models.Params {
	if t.opt.EMA == nil {
		return t.Net.Params
	}
	return t.opt.EMA.Shadow
}

// Step: x₀ from the batch, t and ε from rng, conditions dropped at the
// configured rate, one AdamW step.
func (t *Trainer) Step(ctx context.Context, step int, b datasets.Batch, rng *rand.Rand) (map[string]float64, error) {
	if len(b.X) != len(t.x0) {
		return nil, fmt.Errorf("diffusion: batch of %d values, the graph takes %d", len(b.X), len(t.x0))
	}
	ToModelRange(t.x0, b.X)
	xt, eps, ts := t.Net.Sched.NoisyBatch(rng, t.x0, t.batch, t.Net.Dim())
	cond, err := t.condition(b, rng)
	if err != nil {
		return nil, err
	}
	cond = t.Net.dropConditions(cond, t.Net.Config.CondDrop, rng)
	if t.Net.Config.FirstFrame {
		cond.First = t.firstFrames(rng)
	}
	return t.update(step, xt, eps, ts, cond)
}

// StepOn is one training step on a given batch instead of drawn ones:
// pixels in [0,1] (Batch images), the noise ε and timesteps t that Step
// would draw, and the condition as the network takes it (after any
// dropout). Another implementation fed the same values must end at the
// same weights, which is how the PyTorch package is checked against this
// trainer.
func (t *Trainer) StepOn(step int, pixels, eps []float32, ts []int, cond Condition) (map[string]float64, error) {
	if len(pixels) != len(t.x0) || len(eps) != len(t.x0) || len(ts) != t.batch {
		return nil, fmt.Errorf("diffusion: StepOn: %d values, %d noise values and %d timesteps; the graph takes %d images of %d", len(pixels), len(eps), len(ts), t.batch, t.Net.Dim())
	}
	for _, v := range ts {
		if v < 0 || v >= t.Net.Sched.T {
			return nil, fmt.Errorf("diffusion: StepOn: timestep %d outside 0..%d", v, t.Net.Sched.T-1)
		}
	}
	ToModelRange(t.x0, pixels)
	xt := make([]float32, len(t.x0))
	t.Net.Sched.AddNoise(xt, t.x0, eps, ts, t.Net.Dim())
	return t.update(step, xt, eps, ts, cond)
}

// update runs the graph on x_t and takes one optimizer step toward ε.
func (t *Trainer) update(step int, xt, eps []float32, ts []int, cond Condition) (map[string]float64, error) {
	if err := t.Net.setInputs(t.m, xt, ts, cond); err != nil {
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
	if t.Net.Config.EMAWarmup && t.opt.EMA != nil {
		t.opt.EMA.Decay = min(t.Net.Config.EMA, float64(1+step)/float64(10+step))
	}
	if err := t.opt.Apply(step, t.learn, grads); err != nil {
		return nil, err
	}
	t.m.ZeroGrads()
	return map[string]float64{"loss": loss, "grad_norm": t.opt.GradNorm, "lr": t.opt.Adam.LR}, nil
}

// firstFrames is the first-frame condition of a video batch (t.x0, in
// the model's range): each clip's frame 0, or none with probability
// FirstDrop.
func (t *Trainer) firstFrames(rng *rand.Rand) [][]float32 {
	u, dim := t.Net.Config.UNet, t.Net.Dim()
	d := u.InChannels * u.Size * u.Size
	first := make([][]float32, t.batch)
	for i := range first {
		if rng.Float64() >= t.Net.Config.FirstDrop {
			first[i] = t.x0[i*dim:][:d]
		}
	}
	return first
}

// condition is a batch's condition as the network takes it: its labels,
// its captions' tokens, or its images degraded at one of the configured
// scales (drawn from rng per image when there are several).
func (t *Trainer) condition(b datasets.Batch, rng *rand.Rand) (Condition, error) {
	var c Condition
	switch t.Net.Config.Cond {
	case "class":
		c.Classes = b.Labels
	case "text":
		if b.Captions == nil {
			return c, fmt.Errorf("diffusion: a text model trains on captioned images")
		}
		c.Tokens = make([][]int, len(b.Captions))
		for i, s := range b.Captions {
			ids, ok := t.tokens[s]
			if !ok {
				var err error
				if ids, err = t.Net.Tokenize(s); err != nil {
					return c, fmt.Errorf("diffusion: caption %q: %w", s, err)
				}
				t.tokens[s] = ids
			}
			c.Tokens[i] = ids
		}
	case "lowres":
		u, dim := t.Net.Config.UNet, t.Net.Dim()
		c.LowRes = make([]float32, len(b.X))
		scales := t.Net.Config.Scales
		for i := range len(b.X) / dim {
			f := scales[0]
			if len(scales) > 1 {
				f = scales[rng.IntN(len(scales))]
			}
			low := Shrink(b.X[i*dim:(i+1)*dim], u.InChannels, u.Size, f)
			copy(c.LowRes[i*dim:], LowResCondition(low, u.InChannels, u.Size/f, u.Size))
		}
	}
	return c, nil
}

// Sample draws the progress grid from the EMA weights: DDIM, 50 steps;
// guidance 2 with classes in rows for a class-conditional network, or the
// first captions of GridSource in rows for a text one (with DDPM); for a
// lowres one,
// each tile is GridSource's image i upscaled by bicubic interpolation, by
// the model, and as it is.
func (t *Trainer) Sample(ctx context.Context, n int, seed uint64) ([]float32, int, int, int, error) {
	o := GenerateOptions{Seeds: noise.Seeds(seed, n), Sampler: "ddim", Steps: 50, Guidance: 1}
	u := t.Net.Config.UNet
	src := t.GridSource
	switch t.Net.Config.Cond {
	case "class":
		o.Classes, o.Guidance = GridClasses(n, t.Net.Classes()), 2
	case "text":
		if src == nil || src.Captions == nil {
			return nil, 0, 0, 0, fmt.Errorf("diffusion: a text model's grid needs captions (Trainer.GridSource)")
		}
		// DDPM: DDIM leaves grainy, tinted backgrounds on shapes images.
		cols := images.GridColumns(n)
		o.Prompts, o.Guidance, o.Sampler = make([]string, n), 2, "ddpm"
		for i := range o.Prompts {
			o.Prompts[i] = src.Captions[(i/cols)%src.N]
		}
	case "lowres":
		return t.sampleLowRes(ctx, n, seed)
	}
	if f := t.Net.Frames(); f > 0 {
		return t.sampleClips(ctx, o)
	}
	pix, err := t.Net.Generate(ctx, t.sampleWeights(), o)
	return pix, u.InChannels, u.Size, u.Size, err
}

// sampleClips draws a video model's grid as frame strips, a clip per
// caption of GridSource; with FirstFrame, the second half draws the first
// half's captions again from their real clips' first frames
// (image-to-video).
func (t *Trainer) sampleClips(ctx context.Context, o GenerateOptions) ([]float32, int, int, int, error) {
	u, f, n := t.Net.Config.UNet, t.Net.Frames(), len(o.Seeds)
	src := t.GridSource
	if t.Net.text != nil && (src == nil || src.Captions == nil) {
		return nil, 0, 0, 0, fmt.Errorf("diffusion: a text video model's grid needs captions (Trainer.GridSource)")
	}
	if t.Net.text != nil { // one clip per caption, not a row
		for i := range o.Prompts {
			o.Prompts[i] = src.Captions[i%src.N]
		}
	}
	if t.Net.Config.FirstFrame && src != nil && src.Dim() == t.Net.Dim() {
		o.First = make([][]float32, n)
		d := u.InChannels * u.Size * u.Size
		for i := n / 2; i < n; i++ { // the first half's clips again, from their real first frames
			o.First[i] = src.Image((i - n/2) % src.N)[:d]
			if o.Prompts != nil {
				o.Prompts[i] = o.Prompts[i-n/2]
			}
		}
	}
	pix, err := t.Net.Generate(ctx, t.Weights(), o)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return ClipStrips(pix, n, f, u.InChannels, u.Size), u.InChannels, u.Size, f * u.Size, nil
}

func (t *Trainer) sampleLowRes(ctx context.Context, n int, seed uint64) ([]float32, int, int, int, error) {
	src, u, dim := t.GridSource, t.Net.Config.UNet, t.Net.Dim()
	if src == nil || src.Dim() != dim || src.N < 1 {
		return nil, 0, 0, 0, fmt.Errorf("diffusion: a lowres model's grid needs images of its size (Trainer.GridSource)")
	}
	f := t.Net.Config.Scales[len(t.Net.Config.Scales)-1]
	up := make([]float32, n*dim)
	for i := range n {
		low := Shrink(src.Image(i%src.N), u.InChannels, u.Size, f)
		copy(up[i*dim:], LowResCondition(low, u.InChannels, u.Size/f, u.Size))
	}
	sr, err := t.Net.Generate(ctx, t.sampleWeights(), GenerateOptions{Seeds: noise.Seeds(seed, n), Sampler: "ddim", Steps: 50, Guidance: 1, LowRes: up})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	// Three images side by side: rows of 3s values per channel row.
	s, c := u.Size, u.InChannels
	out := make([]float32, 3*n*dim)
	for i := range n {
		parts := [3][]float32{up[i*dim : (i+1)*dim], sr[i*dim : (i+1)*dim], src.Image(i % src.N)}
		ToPixels(parts[0], parts[0])
		for ch := range c {
			for y := range s {
				for k, p := range parts {
					copy(out[i*3*dim+ch*3*s*s+y*3*s+k*s:][:s], p[ch*s*s+y*s:][:s])
				}
			}
		}
	}
	return out, c, s, 3 * s, nil
}
