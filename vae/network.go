package vae

import (
	"encoding/json"
	"fmt"
	"math"

	"genlab/models"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Config is a VAE's architecture and training recipe, saved as JSON in every
// checkpoint; loading rebuilds the network from it.
type Config struct {
	InChannels int     `json:"in_channels"` // 1 for MNIST
	Size       int     `json:"size"`        // image side, divisible by 4 (28)
	Channels   int     `json:"channels"`    // base width; the 7×7 stage has twice it
	Latent     int     `json:"latent"`      // latent channels at size/4 × size/4
	Groups     int     `json:"groups"`      // GroupNorm groups
	LR         float64 `json:"lr"`
	Warmup     int     `json:"warmup"`              // learning-rate warm-up steps
	Cosine     bool    `json:"cosine_lr,omitempty"` // decay the learning rate to 0 after warm-up
	Clip       float64 `json:"clip"`
	EMA        float64 `json:"ema"`
	Batch      int     `json:"batch"`
	KLWarmup   int     `json:"kl_warmup"` // steps over which β rises linearly from 0 to 1
	Data       string  `json:"data"`

	// PriorComponents > 0: the latent prior is a mixture of that many
	// full-covariance Gaussians fitted after training (FitPrior), not
	// N(0,I). Temperature is the default sampling temperature (0: 1).
	PriorComponents int     `json:"prior_components,omitempty"`
	Temperature     float64 `json:"temperature,omitempty"`
}

// DefaultConfig is the recipe for images of c channels and side s.
func DefaultConfig(c, s int) Config {
	return Config{InChannels: c, Size: s, Channels: 32, Latent: 8, Groups: 8, LR: 1e-3, Warmup: 100,
		Clip: 1, EMA: 0.999, Batch: 64, KLWarmup: 2000}
}

// Validate reports a config that cannot build a network.
func (c Config) Validate() error {
	b := models.Bounds{Prefix: "vae"}
	b.Int("in_channels", c.InChannels, 1, models.MaxInChannels)
	b.Int("size", c.Size, 4, models.MaxImageSide)
	b.Int("channels", c.Channels, 1, models.MaxChannels)
	b.Int("latent", c.Latent, 1, models.MaxChannels)
	b.Int("groups", c.Groups, 1, models.MaxChannels)
	b.Float("lr", c.LR, 0, 10)
	b.Int("warmup", c.Warmup, 0, 1<<40)
	b.Float("clip", c.Clip, 0, 1e9)
	b.Float("ema", c.EMA, 0, 1)
	b.Int("batch", c.Batch, 0, models.MaxBatch)
	b.Int("kl_warmup", c.KLWarmup, 0, 1<<40)
	b.Int("prior_components", c.PriorComponents, 0, MaxPriorComponents)
	b.Float("temperature", c.Temperature, 0, 2)
	if err := b.Err(); err != nil {
		return err
	}
	switch {
	case c.InChannels < 1:
		return fmt.Errorf("vae: in_channels %d must be positive", c.InChannels)
	case c.Size < 4 || c.Size%4 != 0:
		return fmt.Errorf("vae: size %d must be a positive multiple of 4", c.Size)
	case c.Channels < 1 || c.Groups < 1 || c.Channels%c.Groups != 0:
		return fmt.Errorf("vae: channels %d must be a positive multiple of groups %d", c.Channels, c.Groups)
	case c.Latent < 1:
		return fmt.Errorf("vae: latent %d must be positive", c.Latent)
	}
	if d := int64(c.Latent) * int64(c.Size/4) * int64(c.Size/4); int64(c.PriorComponents)*d*d > maxPriorValues {
		return fmt.Errorf("vae: a prior of %d components over %d latent values has more than %d covariance values",
			c.PriorComponents, d, maxPriorValues)
	}
	return nil
}

// MaxPriorComponents bounds a fitted prior's mixture; maxPriorValues its
// covariance factors (K·D², 1 GiB of float32).
const (
	MaxPriorComponents = 64
	maxPriorValues     = 1 << 28
)

// SampleTemperature is the temperature samples are drawn at by default.
func (c Config) SampleTemperature() float64 {
	if c.Temperature == 0 {
		return 1
	}
	return c.Temperature
}

// ParseConfig reads a checkpoint's genlab.config.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("vae: config: %w", err)
	}
	return c, c.Validate()
}

// minLogScale bounds the logistic's log-scale from below (PixelCNN++ uses −7).
const minLogScale = -7

// Network is the encoder q(z|x) = N(μ(x), diag σ²(x)) and the decoder
// p(x|z), a per-pixel discretised logistic on 8-bit values, over a spatial
// latent of Latent × Size/4 × Size/4.
//
// Encoder: conv 3×3 → res → stride-2 conv → res (2·ch) → stride-2 conv →
// res → norm, SiLU, conv to 2·latent (mean, log-variance).
// Decoder: conv 3×3 → res → upsample, conv → res (ch) → upsample, conv →
// res → norm, SiLU, conv to 2·in_channels (mean, raw log-scale).
type Network struct {
	Config Config
	Params *models.Params

	encIn, encDown1, encDown2, encOut models.Conv
	encRes                            [3]models.ResBlock
	encNorm                           models.Norm
	decIn, decUp1, decUp2, decOut     models.Conv
	decRes                            [3]models.ResBlock
	decNorm                           models.Norm

	graphs map[graphKey]*forward
}

type graphKey struct {
	p     *models.Params
	batch int
	kind  string
}

// forward is a compiled graph and the nodes read after a run.
type forward struct {
	m                 *models.Machine
	mu, logvar, z, px *models.Node
}

// NewNetwork builds a freshly initialised network.
func NewNetwork(c Config, seed uint64) (*Network, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return newNetwork(c, models.NewParams(tensor.Float32, seed)), nil
}

// checkParams adds c's parameters to a shape-only store: the tensors c
// implies, to check a checkpoint's header against before loading it.
func checkParams(c Config, p *models.Params) error {
	newNetwork(c, p)
	return nil
}

// newNetwork builds a network of a valid c over p.
func newNetwork(c Config, p *models.Params) *Network {
	ch, g := c.Channels, c.Groups
	n := &Network{Config: c, Params: p, graphs: map[graphKey]*forward{}}
	n.encIn = models.NewConv(p, "enc.in", c.InChannels, ch, 3, 1, 1)
	n.encRes[0] = models.NewResBlock(p, "enc.res0", ch, ch, 0, g)
	n.encDown1 = models.NewConv(p, "enc.down1", ch, ch, 3, 2, 1)
	n.encRes[1] = models.NewResBlock(p, "enc.res1", ch, 2*ch, 0, g)
	n.encDown2 = models.NewConv(p, "enc.down2", 2*ch, 2*ch, 3, 2, 1)
	n.encRes[2] = models.NewResBlock(p, "enc.res2", 2*ch, 2*ch, 0, g)
	n.encNorm = models.NewNorm(p, "enc.norm", g, 2*ch)
	n.encOut = models.NewConv(p, "enc.out", 2*ch, 2*c.Latent, 3, 1, 1)

	n.decIn = models.NewConv(p, "dec.in", c.Latent, 2*ch, 3, 1, 1)
	n.decRes[0] = models.NewResBlock(p, "dec.res0", 2*ch, 2*ch, 0, g)
	n.decUp1 = models.NewConv(p, "dec.up1", 2*ch, 2*ch, 3, 1, 1)
	n.decRes[1] = models.NewResBlock(p, "dec.res1", 2*ch, ch, 0, g)
	n.decUp2 = models.NewConv(p, "dec.up2", ch, ch, 3, 1, 1)
	n.decRes[2] = models.NewResBlock(p, "dec.res2", ch, ch, 0, g)
	n.decNorm = models.NewNorm(p, "dec.norm", g, ch)
	n.decOut = models.NewConv(p, "dec.out", ch, 2*c.InChannels, 3, 1, 1)
	if c.PriorComponents > 0 {
		addPriorParams(p, c.PriorComponents, n.LatentDim())
	}
	return n
}

// OpenConfig reads the config of the checkpoint at path and checks it,
// its tensors and the memory to load them before anything the size of the
// model is allocated (models.OpenConfig): the first half of loading, and
// what a resumed training run builds its network from.
func OpenConfig(path string) (Config, error) {
	return models.OpenConfig(path, Family, ParseConfig, checkParams)
}

// LoadNetwork rebuilds a network from a checkpoint and loads its weights.
func LoadNetwork(path string) (*Network, error) {
	c, err := OpenConfig(path)
	if err != nil {
		return nil, err
	}
	n, err := NewNetwork(c, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := models.LoadWeights(path, Family, n.Params); err != nil {
		return nil, err
	}
	return n, nil
}

// Dim is the number of values in one image.
func (n *Network) Dim() int { return n.Config.InChannels * n.Config.Size * n.Config.Size }

// LatentDim is the number of latent values of one image.
func (n *Network) LatentDim() int {
	s := n.Config.Size / 4
	return n.Config.Latent * s * s
}

func (n *Network) latentShape(batch int) []int {
	s := n.Config.Size / 4
	return []int{batch, n.Config.Latent, s, s}
}

// encode maps x (B,C,H,W) in [-1,1] to the posterior's mean and log-variance.
func (n *Network) encode(g *models.Graph, x *models.Node) (mu, logvar *models.Node) {
	h := n.encIn.Fwd(g, x)
	h = n.encRes[0].Fwd(g, h, nil)
	h = n.encDown1.Fwd(g, h)
	h = n.encRes[1].Fwd(g, h, nil)
	h = n.encDown2.Fwd(g, h)
	h = n.encRes[2].Fwd(g, h, nil)
	h = n.encOut.Fwd(g, n.encNorm.FwdSiLU(g, h))
	L := n.Config.Latent
	return g.SliceChannels(h, 0, L), g.SliceChannels(h, L, 2*L)
}

// decode maps z to the likelihood's per-pixel mean and raw log-scale,
// stacked as 2·C channels.
func (n *Network) decode(g *models.Graph, z *models.Node) *models.Node {
	h := n.decIn.Fwd(g, z)
	h = n.decRes[0].Fwd(g, h, nil)
	h = n.decUp1.Fwd(g, g.Upsample2x(h))
	h = n.decRes[1].Fwd(g, h, nil)
	h = n.decUp2.Fwd(g, g.Upsample2x(h))
	h = n.decRes[2].Fwd(g, h, nil)
	return n.decOut.Fwd(g, n.decNorm.FwdSiLU(g, h))
}

// ops wraps the raw gorgonia ops used here with the graph's sticky error.
type ops struct {
	g   *models.Graph
	err error
}

func (o *ops) do(f func() (*gorgonia.Node, error)) *gorgonia.Node {
	if o.err != nil {
		return nil
	}
	n, err := f()
	if err != nil {
		o.err = err
		return nil
	}
	return n
}

// c is a constant of the graph's element type.
func (o *ops) c(v float64) *gorgonia.Node {
	if o.g.P.Dtype() == tensor.Float64 {
		return gorgonia.NewConstant(v)
	}
	return gorgonia.NewConstant(float32(v))
}

func (o *ops) add(a, b *gorgonia.Node) *gorgonia.Node {
	return o.do(func() (*gorgonia.Node, error) { return gorgonia.Add(a, b) })
}
func (o *ops) sub(a, b *gorgonia.Node) *gorgonia.Node {
	return o.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(a, b) })
}
func (o *ops) mul(a, b *gorgonia.Node) *gorgonia.Node {
	return o.do(func() (*gorgonia.Node, error) { return gorgonia.HadamardProd(a, b) })
}
func (o *ops) scale(a *gorgonia.Node, c float64) *gorgonia.Node {
	return o.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(a, o.c(c)) })
}
func (o *ops) shift(a *gorgonia.Node, c float64) *gorgonia.Node {
	return o.do(func() (*gorgonia.Node, error) { return gorgonia.Add(a, o.c(c)) })
}
func (o *ops) unary(f func(*gorgonia.Node) (*gorgonia.Node, error), a *gorgonia.Node) *gorgonia.Node {
	return o.do(func() (*gorgonia.Node, error) { return f(a) })
}
func (o *ops) sum(a *gorgonia.Node) *gorgonia.Node {
	return o.do(func() (*gorgonia.Node, error) { return gorgonia.Sum(a) })
}

// logScale bounds the decoder's raw log-scale below: −7 + softplus(raw + 7).
func (o *ops) logScale(raw *gorgonia.Node) *gorgonia.Node {
	return o.shift(o.unary(gorgonia.Softplus, o.shift(raw, -minLogScale)), minLogScale)
}

// discLogistic is Σ log P(x) of a discretised logistic with means mu and
// log-scales logs, on 8-bit x scaled to [-1,1]. The masks say, per pixel,
// notTop (x < 1), notBottom (x > -1) and inner (both). With a = (x+1/255−μ)/s
// and b = (x−1/255−μ)/s,
//
//	σ(a) − σ(b) = σ(a)·(1−σ(b))·(1−e^{b−a}),
//
// so log P = −softplus(−a)·[x<1] − softplus(b)·[x>−1] + log(−expm1(−2/(255s)))·[inner],
// which gives log σ(a) at x = −1 and log(1−σ(b)) at x = 1, all without
// cancellation.
func (o *ops) discLogistic(x, mu, logs, notTop, notBottom, inner *gorgonia.Node) *gorgonia.Node {
	invS := o.unary(gorgonia.Exp, o.unary(gorgonia.Neg, logs))
	c := o.sub(x, mu)
	a := o.mul(o.shift(c, 1.0/255), invS)
	b := o.mul(o.shift(c, -1.0/255), invS)
	d := o.scale(invS, 2.0/255)
	ta := o.mul(o.unary(gorgonia.Softplus, o.unary(gorgonia.Neg, a)), notTop)
	tb := o.mul(o.unary(gorgonia.Softplus, b), notBottom)
	tc := o.mul(o.unary(gorgonia.Log, o.unary(gorgonia.Neg, o.unary(gorgonia.Expm1, o.unary(gorgonia.Neg, d)))), inner)
	return o.sum(o.sub(tc, o.add(ta, tb)))
}

// LogProb is log P(x) of one 8-bit level k (0..255) under the discretised
// logistic with mean mu and log-scale logs on [-1,1], in float64: the
// reference the graph is tested against and the evaluator's likelihood.
func LogProb(k int, mu, logs float64) float64 {
	x := 2*float64(k)/255 - 1
	inv := math.Exp(-logs)
	a := (x + 1.0/255 - mu) * inv
	b := (x - 1.0/255 - mu) * inv
	lp := 0.0
	if k < 255 {
		lp -= softplus(-a)
	}
	if k > 0 {
		lp -= softplus(b)
	}
	if k > 0 && k < 255 {
		lp += math.Log(-math.Expm1(-2.0 / 255 * inv))
	}
	return lp
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// boundedLogScale is the float64 twin of ops.logScale.
func boundedLogScale(raw float64) float64 { return minLogScale + softplus(raw-minLogScale) }

// levels maps pixels in [0,1] to 8-bit levels.
func levels(pix []float32) []int {
	k := make([]int, len(pix))
	for i, v := range pix {
		k[i] = int(math.Round(math.Min(math.Max(float64(v), 0), 1) * 255))
	}
	return k
}

// likelihoodInputs fills x in [-1,1] and the three masks from levels.
func likelihoodInputs(k []int, x, notTop, notBottom, inner []float32) {
	for i, v := range k {
		x[i] = 2*float32(v)/255 - 1
		notTop[i], notBottom[i], inner[i] = 0, 0, 0
		if v < 255 {
			notTop[i] = 1
		}
		if v > 0 {
			notBottom[i] = 1
		}
		if v > 0 && v < 255 {
			inner[i] = 1
		}
	}
}
