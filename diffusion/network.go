package diffusion

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"genlab/models"

	"gorgonia.org/tensor"
)

// Config is a diffusion model's architecture and training recipe, saved as
// JSON in every checkpoint; loading rebuilds the network from it.
type Config struct {
	UNet     models.UNetConfig `json:"unet"`
	Size     string            `json:"size"`      // tiny, small or base
	Schedule string            `json:"schedule"`  // linear or cosine
	T        int               `json:"timesteps"` // 1000
	Cond     string            `json:"cond"`      // none or class
	CondDrop float64           `json:"cond_drop"` // share of training examples shown without their condition (for guidance)
	LR       float64           `json:"lr"`
	Warmup   int               `json:"warmup"`
	Cosine   bool              `json:"cosine_lr,omitempty"` // decay the learning rate to 0 after warm-up
	Clip     float64           `json:"clip"`
	EMA      float64           `json:"ema"`
	Batch    int               `json:"batch"`
	Data     string            `json:"data"`
}

// NewConfig is the recipe for a size on images of c channels and side s,
// conditioned as cond says ("none" or "class" with k classes).
func NewConfig(size string, c, s int, cond string, k int) (Config, error) {
	u, err := models.UNetSize(size, c, s)
	if err != nil {
		return Config{}, fmt.Errorf("diffusion: %w", err)
	}
	cfg := Config{UNet: u, Size: size, Schedule: "linear", T: 1000, Cond: cond, LR: 2e-4, Warmup: 200, Clip: 1, EMA: 0.999, Batch: 64}
	switch cond {
	case "none":
	case "class":
		if k < 2 {
			return Config{}, fmt.Errorf("diffusion: --cond class needs a labelled dataset (mnist)")
		}
		cfg.UNet.Classes = k
		cfg.CondDrop = 0.1
	default:
		return Config{}, fmt.Errorf("diffusion: --cond %s: use none or class (text arrives with text-to-image)", cond)
	}
	if size == "tiny" {
		cfg.LR, cfg.EMA = 1e-3, 0.995
	}
	return cfg, nil
}

// Network is the noise-predicting UNet with its schedule, and forward
// graphs of any batch size over any set of its weights (the raw weights
// train; their EMA samples).
type Network struct {
	Config   Config
	Sched    Schedule
	Params   *models.Params
	unet     *models.UNet
	samplers map[samplerKey]*forward
}

// forward is a compiled forward graph and its output node.
type forward struct {
	m   *models.Machine
	out *models.Node
}

type samplerKey struct {
	p     *models.Params
	batch int
}

// NewNetwork builds a freshly initialised network.
func NewNetwork(c Config, seed uint64) (*Network, error) {
	sched, err := NewSchedule(c.Schedule, c.T)
	if err != nil {
		return nil, err
	}
	p := models.NewParams(tensor.Float32, seed)
	u, err := models.NewUNet(p, c.UNet)
	if err != nil {
		return nil, err
	}
	return &Network{Config: c, Sched: sched, Params: p, unet: u, samplers: map[samplerKey]*forward{}}, nil
}

// ParseConfig reads a checkpoint's genlab.config.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("diffusion: config: %w", err)
	}
	if err := c.UNet.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Classes is the number of classes of a class-conditional network, else 0.
func (n *Network) Classes() int { return n.Config.UNet.Classes }

// NullClass is the class index meaning "no class" (guidance's
// unconditional half).
func (n *Network) NullClass() int { return n.Config.UNet.Classes }

// Dim is the number of values in one image.
func (n *Network) Dim() int {
	return n.Config.UNet.InChannels * n.Config.UNet.Size * n.Config.UNet.Size
}

// graph builds the forward pass for a batch: inputs x, temb, class.
func (n *Network) graph(p *models.Params, batch int) (*models.Graph, *models.Node) {
	c := n.Config.UNet
	g := models.NewGraph(p)
	x := g.Input("x", batch, c.InChannels, c.Size, c.Size)
	temb := g.Input("temb", batch, c.TimeDim)
	var cond models.Cond
	if c.Classes > 0 {
		cond.Class = g.Input("class", batch)
	}
	return g, n.unet.Predict(g, x, temb, cond)
}

// setInputs feeds x, the timesteps' embedding and the classes.
func (n *Network) setInputs(m *models.Machine, x []float32, t []int, classes []int) error {
	ts := make([]float64, len(t))
	for i, v := range t {
		ts[i] = float64(v)
	}
	if err := m.Set("x", x); err != nil {
		return err
	}
	if err := m.Set("temb", models.SinusoidalEmbedding(ts, n.Config.UNet.TimeDim)); err != nil {
		return err
	}
	if n.Classes() > 0 {
		cs := make([]float32, len(t))
		for i, k := range classes {
			cs[i] = float32(k)
		}
		return m.Set("class", cs)
	}
	return nil
}

// EpsModel is the network over weights p as a sampler's Model, for images
// of the given classes (NullClass for unconditional; ignored by an
// unconditional network). Graphs are built once per batch size and kept.
func (n *Network) EpsModel(p *models.Params, classes []int) Model {
	return func(ctx context.Context, x []float32, t []int, eps []float32) error {
		b := len(t)
		key := samplerKey{p, b}
		f, ok := n.samplers[key]
		if !ok {
			g, out := n.graph(p, b)
			m, err := g.Compile(nil)
			if err != nil {
				return err
			}
			f = &forward{m, out}
			n.samplers[key] = f
		}
		if err := n.setInputs(f.m, x, t, classes); err != nil {
			return err
		}
		if err := f.m.Run(); err != nil {
			return err
		}
		copy(eps, f.out.Value().Data().([]float32))
		return nil
	}
}

// ToModelRange maps pixels in [0,1] to the network's [-1,1].
func ToModelRange(dst, pix []float32) {
	for i, v := range pix {
		dst[i] = 2*v - 1
	}
}

// ToPixels maps the network's [-1,1] back to [0,1], clamped.
func ToPixels(dst, x []float32) {
	for i, v := range x {
		dst[i] = min(1, max(0, (v+1)/2))
	}
}

// dropConditions replaces each class by NullClass with probability p:
// classifier-free guidance's joint training of both models in one network.
func (n *Network) dropConditions(classes []int, p float64, rng *rand.Rand) []int {
	out := make([]int, len(classes))
	for i, k := range classes {
		if n.Classes() == 0 || rng.Float64() < p {
			out[i] = n.NullClass()
		} else {
			out[i] = k
		}
	}
	return out
}

// LoadNetwork rebuilds a network from a checkpoint's config and loads its
// weights (the EMA weights, for a checkpoint written by training).
func LoadNetwork(path string) (*Network, error) {
	c, err := models.ReadConfig(path, Family, ParseConfig)
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
