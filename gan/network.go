package gan

import (
	"encoding/json"
	"fmt"
	"math"

	"genlab/models"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Config is a GAN's architecture and training recipe, saved as JSON in
// every checkpoint; loading rebuilds the networks from it.
type Config struct {
	ZDim       int     `json:"z_dim"`       // latent size (64)
	GenCh      int     `json:"gen_ch"`      // generator channels at full resolution; 2× at a quarter
	DiscCh     int     `json:"disc_ch"`     // discriminator channels after its first conv; 2× after the second
	Groups     int     `json:"groups"`      // GroupNorm groups in the generator
	InChannels int     `json:"in_channels"` // image channels (1 for MNIST)
	Size       int     `json:"size"`        // image side, a multiple of 4 (28)
	Loss       string  `json:"loss"`        // "hinge"
	Slope      float64 `json:"leaky_slope"` // LeakyReLU slope in the discriminator (0.2)
	// SpectralNorm divides each discriminator weight by its largest singular
	// value (one power iteration per step, on the host).
	SpectralNorm bool    `json:"spectral_norm,omitempty"`
	LR           float64 `json:"lr"`   // generator Adam learning rate
	DLR          float64 `json:"d_lr"` // discriminator Adam learning rate
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	EMA          float64 `json:"ema"` // decay of the generator's EMA, which sampling uses
	Batch        int     `json:"batch"`
	Data         string  `json:"data"`
	// Classes > 0 makes both players class-conditional: the generator adds
	// a learned per-class vector to its first layer's output (a Dense over
	// [z, onehot(y)]), and the discriminator is a projection discriminator
	// (Miyato & Koyama 2018): D(x,y) = ψ(φ(x)) + ⟨embed(y), Σφ(x)⟩.
	Classes int `json:"classes,omitempty"`
}

// DefaultConfig is the recipe for images of c channels and side s: the
// hinge loss with Adam(β1 0.5, β2 0.999) and lr 2e-4 for both players, the
// DCGAN setting, with no spectral normalisation.
func DefaultConfig(c, s int) Config {
	return Config{ZDim: 64, GenCh: 32, DiscCh: 32, Groups: 8, InChannels: c, Size: s, Loss: "hinge",
		Slope: 0.2, LR: 2e-4, DLR: 2e-4, Beta1: 0.5, Beta2: 0.999, EMA: 0.999, Batch: 64}
}

// Validate reports a config that cannot be built.
func (c Config) Validate() error {
	b := models.Bounds{Prefix: "gan"}
	b.Int("z_dim", c.ZDim, 1, models.MaxChannels)
	b.Int("gen_ch", c.GenCh, 2, models.MaxChannels)
	b.Int("disc_ch", c.DiscCh, 1, models.MaxChannels)
	b.Int("groups", c.Groups, 1, models.MaxChannels)
	b.Int("in_channels", c.InChannels, 1, models.MaxInChannels)
	b.Int("size", c.Size, 4, models.MaxImageSide)
	b.Int("classes", c.Classes, 0, models.MaxClasses)
	b.Float("leaky_slope", c.Slope, 0, 1)
	b.Float("lr", c.LR, 0, 10)
	b.Float("d_lr", c.DLR, 0, 10)
	b.Float("beta1", c.Beta1, 0, 1)
	b.Float("beta2", c.Beta2, 0, 1)
	b.Float("ema", c.EMA, 0, 1)
	b.Int("batch", c.Batch, 1, models.MaxBatch)
	if err := b.Err(); err != nil {
		return err
	}
	switch {
	case c.ZDim < 1 || c.GenCh < 2 || c.DiscCh < 1 || c.InChannels < 1:
		return fmt.Errorf("gan: z_dim, gen_ch, disc_ch and in_channels must be positive (gen_ch ≥ 2)")
	case c.Size < 4 || c.Size%4 != 0:
		return fmt.Errorf("gan: size %d is not a positive multiple of 4", c.Size)
	case c.Groups < 1 || (c.GenCh/2)%c.Groups != 0 || c.GenCh%c.Groups != 0:
		return fmt.Errorf("gan: groups %d must divide gen_ch %d and gen_ch/2", c.Groups, c.GenCh)
	case c.Loss != "hinge":
		return fmt.Errorf("gan: loss %q: only hinge is implemented", c.Loss)
	case c.Batch < 1:
		return fmt.Errorf("gan: batch must be positive")
	case c.Classes < 0:
		return fmt.Errorf("gan: classes %d must not be negative", c.Classes)
	}
	return nil
}

// ParseConfig reads a checkpoint's genlab.config.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("gan: config: %w", err)
	}
	return c, c.Validate()
}

// Dim is the number of values in one image.
func (c Config) Dim() int { return c.InChannels * c.Size * c.Size }

// Generator maps z (N,ZDim) to images (N,C,S,S) in [-1,1]:
// Dense (+ the class's vector) → (2·GenCh, S/4, S/4) → GroupNormSiLU →
// [Upsample2x → 3×3 conv → GroupNormSiLU] ×2 → 3×3 conv → tanh. Its
// parameters are unprefixed.
type Generator struct {
	Config Config
	FC     models.Dense
	embed  string // class vectors (Classes, 2·GenCh·S/4·S/4); "" if unconditional
	N0     models.Norm
	C1, C2 models.Conv
	N1, N2 models.Norm
	Out    models.Conv
}

// NewGenerator adds the generator's parameters to p.
func NewGenerator(p *models.Params, c Config) Generator {
	s4 := c.Size / 4
	var embed string
	if c.Classes > 0 {
		// Of the scale of the Dense's output for z ~ N(0, I) under
		// PyTorch's init (std ≈ 1/√3), so neither term drowns the other.
		embed = "class_emb.weight"
		p.Add(embed, []int{c.Classes, 2 * c.GenCh * s4 * s4}, models.Normal(0.5))
	}
	return Generator{
		Config: c,
		embed:  embed,
		FC:     models.NewDense(p, "fc", c.ZDim, 2*c.GenCh*s4*s4),
		N0:     models.NewNorm(p, "n0", c.Groups, 2*c.GenCh),
		C1:     models.NewConv(p, "c1", 2*c.GenCh, c.GenCh, 3, 1, 1),
		N1:     models.NewNorm(p, "n1", c.Groups, c.GenCh),
		C2:     models.NewConv(p, "c2", c.GenCh, c.GenCh/2, 3, 1, 1),
		N2:     models.NewNorm(p, "n2", c.Groups, c.GenCh/2),
		Out:    models.NewConv(p, "out", c.GenCh/2, c.InChannels, 3, 1, 1),
	}
}

// Fwd adds the generator to g, whose Params must include the generator's.
// y holds the class indices (as float32) of a conditional generator, nil
// otherwise.
func (n Generator) Fwd(g *models.Graph, z, y *models.Node) (*models.Node, error) {
	c := n.Config
	s4 := c.Size / 4
	h := n.FC.Fwd(g, z)
	if n.embed != "" {
		if y == nil {
			return nil, fmt.Errorf("gan: a class-conditional generator needs classes")
		}
		h = g.Add(h, g.Embed(g.Param(n.embed), y))
	}
	if h == nil {
		return nil, g.Err()
	}
	h = g.Reshape(h, z.Shape()[0], 2*c.GenCh, s4, s4)
	h = n.N0.FwdSiLU(g, h)
	h = n.N1.FwdSiLU(g, n.C1.Fwd(g, g.Upsample2x(h)))
	h = n.N2.FwdSiLU(g, n.C2.Fwd(g, g.Upsample2x(h)))
	o := &ops{g: g}
	out := o.apply(gorgonia.Tanh, n.Out.Fwd(g, h))
	return out, o.Err()
}

// Discriminator maps images (N,C,S,S) in [-1,1] to scores (N,1): two 4×4
// stride-2 convs with LeakyReLU (S → S/2 → S/4), then a Dense to one
// score. Its parameters are prefixed "d.".
type Discriminator struct {
	Config Config
	C1, C2 models.Conv
	FC     models.Dense
	embed  string // projection vectors (Classes, 2·DiscCh); "" if unconditional
}

// NewDiscriminator adds the discriminator's parameters to p.
func NewDiscriminator(p *models.Params, c Config) Discriminator {
	s4 := c.Size / 4
	var embed string
	if c.Classes > 0 {
		embed = "d.embed.weight"
		p.Add(embed, []int{c.Classes, 2 * c.DiscCh}, models.Normal(1/math.Sqrt(float64(2*c.DiscCh))))
	}
	return Discriminator{
		Config: c,
		embed:  embed,
		C1:     models.NewConv(p, "d.c1", c.InChannels, c.DiscCh, 4, 2, 1),
		C2:     models.NewConv(p, "d.c2", c.DiscCh, 2*c.DiscCh, 4, 2, 1),
		FC:     models.NewDense(p, "d.fc", 2*c.DiscCh*s4*s4, 1),
	}
}

// Fwd adds the discriminator to g, whose Params must include the
// discriminator's. y holds the class indices (as float32) of a projection
// discriminator, nil otherwise.
func (d Discriminator) Fwd(g *models.Graph, x, y *models.Node) (*models.Node, error) {
	c := d.Config
	s4 := c.Size / 4
	o := &ops{g: g}
	leaky := func(x *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.LeakyRelu(x, c.Slope) }
	h := o.apply(leaky, d.C1.Fwd(g, x))
	h = o.apply(leaky, d.C2.Fwd(g, h))
	if h == nil {
		return nil, o.Err()
	}
	n := x.Shape()[0]
	out := d.FC.Fwd(g, g.Reshape(h, n, 2*c.DiscCh*s4*s4))
	if d.embed == "" {
		return out, g.Err()
	}
	if y == nil {
		return nil, fmt.Errorf("gan: a projection discriminator needs classes")
	}
	// ⟨embed(y), Σ_hw φ(x)⟩: the feature map summed over space, projected
	// on the class's vector.
	pooled := o.apply(func(h *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Sum(h, 2, 3) }, h)
	e := g.Embed(g.Param(d.embed), y)
	if e == nil {
		return nil, g.Err()
	}
	proj := o.apply2(gorgonia.HadamardProd, pooled, e)
	proj = o.apply(func(p *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Sum(p, 1) }, proj)
	if proj == nil {
		return nil, o.Err()
	}
	return g.Add(out, g.Reshape(proj, n, 1)), o.Err()
}

// ops applies gorgonia ops after a sticky-error Graph's own: the first
// failure sticks in err, later calls return nil.
type ops struct {
	g   *models.Graph
	err error
}

func (o *ops) Err() error {
	if o.err != nil {
		return o.err
	}
	return o.g.Err()
}

func (o *ops) apply(f func(*gorgonia.Node) (*gorgonia.Node, error), x *models.Node) *models.Node {
	if x == nil || o.Err() != nil {
		if o.err == nil && o.g.Err() == nil {
			o.err = fmt.Errorf("gan: nil node in graph")
		}
		return nil
	}
	y, err := f(x)
	if err != nil {
		o.err = err
		return nil
	}
	return y
}

func (o *ops) apply2(f func(a, b *gorgonia.Node) (*gorgonia.Node, error), a, b *models.Node) *models.Node {
	if b == nil {
		return o.apply(nil, nil)
	}
	return o.apply(func(a *gorgonia.Node) (*gorgonia.Node, error) { return f(a, b) }, a)
}

// Networks are the two players and their weights, in two stores so each
// optimizer sees only its own.
type Networks struct {
	Config Config
	G      Generator
	D      Discriminator
	GP, DP *models.Params
}

// NewNetworks builds freshly initialised networks.
func NewNetworks(c Config, seed uint64) (*Networks, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	gp := models.NewParams(tensor.Float32, seed)
	dp := models.NewParams(tensor.Float32, seed^0x5bd1e995)
	return &Networks{Config: c, G: NewGenerator(gp, c), D: NewDiscriminator(dp, c), GP: gp, DP: dp}, nil
}

// checkParams adds c's generator, all a checkpoint holds, to a shape-only
// store: the tensors c implies, to check a header against before loading.
func checkParams(c Config, p *models.Params) error {
	NewGenerator(p, c)
	return nil
}

// scalar is a float32 constant.
func scalar(v float64) *models.Node { return gorgonia.NewConstant(float32(v)) }

// hingeTerm is mean(relu(1 + sign·s)) for scores s: sign −1 for real
// images, +1 for fakes.
func (o *ops) hingeTerm(s *models.Node, sign float64) *models.Node {
	if sign < 0 {
		s = o.apply(gorgonia.Neg, s)
	}
	h := o.apply2(gorgonia.Add, s, scalar(1))
	return o.apply(meanAll, o.apply(gorgonia.Rectify, h))
}

func meanAll(x *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Mean(x) }

// OpenConfig reads the config of the checkpoint at path and checks it,
// its tensors and the memory to load them before anything the size of the
// model is allocated (models.OpenConfig): the first half of loading, and
// what a resumed training run builds its network from.
func OpenConfig(path string) (Config, error) {
	return models.OpenConfig(path, Family, ParseConfig, checkParams)
}

// LoadNetworks rebuilds the networks from a checkpoint's config and loads
// its weights (the generator's EMA, all a sampler needs) into GP; the
// discriminator stays freshly initialised.
func LoadNetworks(path string) (*Networks, error) {
	c, err := OpenConfig(path)
	if err != nil {
		return nil, err
	}
	n, err := NewNetworks(c, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := models.LoadWeights(path, Family, n.GP); err != nil {
		return nil, err
	}
	return n, nil
}
