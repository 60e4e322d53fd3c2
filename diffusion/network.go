package diffusion

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

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
	Cond     string            `json:"cond"`      // none, class, text or lowres
	CondDrop float64           `json:"cond_drop"` // share of training examples shown without their condition (for guidance)
	// Text is the text encoder of a "text" model (captions enter the UNet
	// through cross-attention), trained jointly with it.
	Text *models.TextEncoderConfig `json:"text,omitempty"`
	// Coords adds two constant channels, each pixel's x and y in [-1,1],
	// to the UNet's input (CoordConv, Liu et al. 2018), so that a text
	// model need not infer from the padding where "top left" is.
	Coords bool `json:"coords,omitempty"`
	// Scales are the factors a "lowres" model (SR3: the upsampled
	// low-resolution image concatenated to the UNet's input) was trained to
	// undo, one drawn per training example.
	Scales []int   `json:"scales,omitempty"`
	LR     float64 `json:"lr"`
	Warmup int     `json:"warmup"`
	Cosine bool    `json:"cosine_lr,omitempty"` // decay the learning rate to 0 after warm-up
	Clip   float64 `json:"clip"`
	EMA    float64 `json:"ema"`
	// EMAWarmup caps the EMA's decay at (1+step)/(10+step), so that the
	// average forgets the random initialisation within the first hundred
	// steps rather than the first few thousand: a short run's samples
	// come from its trained weights.
	EMAWarmup bool   `json:"ema_warmup,omitempty"`
	Batch     int    `json:"batch"`
	Data      string `json:"data"`

	// Frames > 0 makes a video model: each sample is a clip of Frames
	// UNet-sized frames, denoised together by a models.VideoUNet (the
	// image UNet per frame plus temporal attention across frames).
	Frames int `json:"frames,omitempty"`
	// FirstFrame gives a video model each clip's first frame, and a
	// channel saying whether it is given, concatenated to every frame's
	// input (image-to-video, like lowres's image); FirstDrop is the share
	// of training clips shown without it, so that one model also draws
	// clips from text alone.
	FirstFrame bool    `json:"first_frame,omitempty"`
	FirstDrop  float64 `json:"first_drop,omitempty"`

	// Init names the checkpoint (file name and model hash) whose weights
	// this model started from (InitFrom), "" for a random start.
	Init string `json:"init,omitempty"`

	// Guidance is this model's own default guidance scale, where its
	// recipe measured a better one than DefaultsFor's (the app's quick
	// model: a few minutes of training want guidance 4); 0 means
	// DefaultsFor's. A user's --guidance or field overrides it.
	Guidance float64 `json:"guidance,omitempty"`
}

// Defaults are the sampler settings this model is drawn with unless a
// user says otherwise: DefaultsFor its conditioning, with its own
// guidance where its recipe chose one.
func (c Config) Defaults() Defaults {
	d := DefaultsFor(c.Cond)
	if c.Guidance > 0 && (c.Cond == "class" || c.Cond == "text") { // the conditionings guidance applies to
		d.Guidance = c.Guidance
	}
	return d
}

// Conds are the conditionings a Config may have.
var Conds = []string{"none", "class", "text", "lowres"}

// NewConfig is the recipe for a size on images of c channels and side s,
// conditioned as cond says: "none", "class" with k classes, "text" (then
// SetCaptions gives the vocabulary) or "lowres" (super-resolution, 4x
// unless Scales is changed).
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
	case "text":
		dim, heads := 64, 4
		if size == "tiny" {
			dim, heads = 32, 2
		}
		cfg.Text = &models.TextEncoderConfig{Dim: dim, Layers: 2, Heads: heads}
		cfg.UNet.ContextDim = dim
		cfg.Coords, cfg.UNet.CondChannels = true, 2
		cfg.CondDrop, cfg.EMAWarmup = 0.1, true
	case "lowres":
		cfg.Scales = []int{4}
		cfg.UNet.CondChannels = c
	default:
		return Config{}, fmt.Errorf("diffusion: --cond %s: use none, class, text or lowres", cond)
	}
	if size == "tiny" {
		cfg.LR, cfg.EMA = 1e-3, 0.995
	}
	return cfg, nil
}

// SetCaptions gives a "text" config its vocabulary, every word of the
// captions (sorted), and its prompt length, the longest caption's.
func (c *Config) SetCaptions(captions []string) error {
	if c.Text == nil {
		return fmt.Errorf("diffusion: a %q model takes no captions", c.Cond)
	}
	seen := map[string]bool{}
	var vocab []string
	longest := 0
	for _, s := range captions {
		words := models.Words(s)
		longest = max(longest, len(words))
		for _, w := range words {
			if !seen[w] {
				seen[w] = true
				vocab = append(vocab, w)
			}
		}
	}
	if len(vocab) == 0 {
		return fmt.Errorf("diffusion: --cond text needs a captioned dataset (shapes)")
	}
	slices.Sort(vocab)
	c.Text.Vocab, c.Text.Length = vocab, longest
	return nil
}

// Validate says what is wrong with a configuration, if anything.
func (c Config) Validate() error {
	if err := c.UNet.Validate(); err != nil {
		return err
	}
	b := models.Bounds{Prefix: "diffusion"}
	b.Int("timesteps", c.T, 1, models.MaxTimesteps)
	b.Int("scales", len(c.Scales), 0, 16)
	b.Float("cond_drop", c.CondDrop, 0, 1)
	b.Float("lr", c.LR, 0, 10)
	b.Int("warmup", c.Warmup, 0, 1<<40)
	b.Float("clip", c.Clip, 0, 1e9)
	b.Float("ema", c.EMA, 0, 1)
	b.Int("batch", c.Batch, 0, models.MaxBatch)
	b.Int("frames", c.Frames, 0, models.MaxFrames)
	b.Float("first_drop", c.FirstDrop, 0, 1)
	b.Float("guidance", c.Guidance, 0, 100)
	if err := b.Err(); err != nil {
		return err
	}
	if err := c.validateVideo(); err != nil {
		return err
	}
	u := c.UNet
	u.CondChannels -= c.firstChannels()
	if c.Coords && (c.Cond == "lowres" || u.CondChannels != 2) {
		return fmt.Errorf("diffusion: coordinate channels need cond_channels 2 and no low-resolution image")
	}
	if !c.Coords && c.Cond != "lowres" && u.CondChannels != 0 {
		return fmt.Errorf("diffusion: a %s model with %d conditioning channels", condName(c.Cond), u.CondChannels)
	}
	switch c.Cond {
	case "", "none":
	case "class":
		if u.Classes < 2 {
			return fmt.Errorf("diffusion: a class model with %d classes", u.Classes)
		}
	case "text":
		if c.Text == nil {
			return fmt.Errorf("diffusion: a text model without a text encoder")
		}
		if err := c.Text.Validate(); err != nil {
			return fmt.Errorf("diffusion: %w", err)
		}
		if u.ContextDim != c.Text.Dim {
			return fmt.Errorf("diffusion: the UNet reads %d-dim context, the text encoder writes %d", u.ContextDim, c.Text.Dim)
		}
	case "lowres":
		if u.CondChannels != u.InChannels {
			return fmt.Errorf("diffusion: a lowres model with %d conditioning channels for %d image channels", u.CondChannels, u.InChannels)
		}
		if len(c.Scales) == 0 {
			return fmt.Errorf("diffusion: a lowres model without scales")
		}
		for _, f := range c.Scales {
			if f < 2 || u.Size%f != 0 {
				return fmt.Errorf("diffusion: scale %d: want a factor of at least 2 that divides the image side %d", f, u.Size)
			}
		}
	default:
		return fmt.Errorf("diffusion: cond %q: want one of %v", c.Cond, Conds)
	}
	if c.Cond != "text" && (c.Text != nil || u.ContextDim != 0) {
		// NewNetwork would build an encoder with no vocabulary, or
		// cross-attention that nothing feeds.
		return fmt.Errorf("diffusion: a %s model with a text encoder or %d-dim context", condName(c.Cond), u.ContextDim)
	}
	return nil
}

// Network is the noise-predicting UNet with its schedule, and forward
// graphs of any batch size over any set of its weights (the raw weights
// train; their EMA samples).
type Network struct {
	Config   Config
	Sched    Schedule
	Params   *models.Params
	unet     *models.UNet
	video    *models.VideoUNet   // nil unless Config.Frames > 0; then unet is its image UNet
	text     *models.TextEncoder // nil unless Config.Cond is "text"
	samplers map[samplerKey]*forward
	// tuner and tuned are a fine-tune's hooks and its parameter stores
	// (SetTuning); nil for the base model.
	tuner models.Tuner
	tuned []*models.Params
}

// SetTuning adds a fine-tune to every graph built from now on: its hooks,
// the stores its parameters live in (read beside the weights a graph is
// built over) and the words it adds to a text model's vocabulary, which
// take the token ids after the base vocabulary's in order. A nil tuner
// removes it again (and the words).
func (n *Network) SetTuning(t models.Tuner, stores []*models.Params, words []string) error {
	if len(words) > 0 && n.text == nil {
		return fmt.Errorf("diffusion: a %s model has no vocabulary to add words to", condName(n.Config.Cond))
	}
	if n.text != nil {
		vocab := slices.Clone(n.Config.Text.Vocab)
		if t != nil {
			vocab = append(vocab, words...)
		}
		c := n.text.Config
		c.Vocab = vocab
		if err := c.Validate(); err != nil {
			return fmt.Errorf("diffusion: new words %v: %w", words, err)
		}
		n.text.Config = c
	}
	n.tuner, n.tuned = t, nil
	if t != nil {
		n.tuned = stores
	}
	clear(n.samplers)
	return nil
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
	if err := c.Validate(); err != nil {
		return nil, err
	}
	sched, err := NewSchedule(c.Schedule, c.T)
	if err != nil {
		return nil, err
	}
	p := models.NewParams(tensor.Float32, seed)
	n := &Network{Config: c, Sched: sched, Params: p, samplers: map[samplerKey]*forward{}}
	if err = addParams(p, c, n); err != nil {
		return nil, err
	}
	return n, nil
}

// addParams adds the parameters of c's UNet (a video UNet for clips) and
// text encoder (nil unless a text model) to p, and sets them in n.
func addParams(p *models.Params, c Config, n *Network) error {
	var err error
	if c.Frames > 0 {
		if n.video, err = models.NewVideoUNet(p, c.UNet, c.Frames); err != nil {
			return err
		}
		n.unet = n.video.UNet
	} else if n.unet, err = models.NewUNet(p, c.UNet); err != nil {
		return err
	}
	if c.Text != nil {
		if n.text, err = models.NewTextEncoder(p, "text", *c.Text); err != nil {
			return err
		}
	}
	return nil
}

// checkParams is addParams in a shape-only store: the tensors c implies,
// to check a checkpoint's header against before loading it.
func checkParams(c Config, p *models.Params) error {
	return addParams(p, c, &Network{})
}

// ParseConfig reads a checkpoint's genlab.config.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("diffusion: config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Classes is the number of classes of a class-conditional network, else 0.
func (n *Network) Classes() int { return n.Config.UNet.Classes }

// NullClass is the class index meaning "no class" (guidance's
// unconditional half).
func (n *Network) NullClass() int { return n.Config.UNet.Classes }

// Dim is the number of values in one sample: an image, or a clip of
// Frames images for a video model.
func (n *Network) Dim() int {
	return n.frames() * n.Config.UNet.InChannels * n.Config.UNet.Size * n.Config.UNet.Size
}

// Condition is what the images of a batch are conditioned on, one entry
// per image in the field of the network's Config.Cond; the others stay nil.
type Condition struct {
	Classes []int     // "class": a class per image, NullClass() for none
	Tokens  [][]int   // "text": each prompt's token ids (Tokenize); all PadToken is the null prompt
	LowRes  []float32 // "lowres": each image's upsampled low-resolution version, Dim() values in [-1,1]
	// First is, for a video model with FirstFrame, each clip's first frame
	// (C·S·S values in [-1,1]) or nil where none is given.
	First [][]float32
}

// slice is the condition of images [lo,hi).
func (c Condition) slice(lo, hi, dim int) Condition {
	var s Condition
	if c.Classes != nil {
		s.Classes = c.Classes[lo:hi]
	}
	if c.Tokens != nil {
		s.Tokens = c.Tokens[lo:hi]
	}
	if c.LowRes != nil {
		s.LowRes = c.LowRes[lo*dim : hi*dim]
	}
	if c.First != nil {
		s.First = c.First[lo:hi]
	}
	return s
}

// NullCondition is the condition of b images conditioned on nothing: the
// null class or the null prompt (the unconditional half of guidance). A
// lowres model has none (ok is false).
func (n *Network) NullCondition(b int) (c Condition, ok bool) {
	switch {
	case n.Classes() > 0:
		c.Classes = make([]int, b)
		for i := range c.Classes {
			c.Classes[i] = n.NullClass()
		}
	case n.text != nil:
		c.Tokens = make([][]int, b)
		for i := range c.Tokens {
			c.Tokens[i] = make([]int, n.text.Config.Length)
		}
	case n.Config.Cond == "lowres":
		return c, false
	}
	return c, true
}

// Tokenize turns a prompt into the token ids of a text model; a word the
// model does not know is a *models.UnknownWordError that lists the
// vocabulary. "" is the null prompt.
func (n *Network) Tokenize(prompt string) ([]int, error) {
	if n.text == nil {
		return nil, fmt.Errorf("diffusion: this %s model takes no prompt", condName(n.Config.Cond))
	}
	return n.text.Config.Tokenize(prompt)
}

// Vocabulary is the words a text model knows (nil for other models).
func (n *Network) Vocabulary() []string {
	if n.text == nil {
		return nil
	}
	return slices.Clone(n.text.Config.Vocab)
}

func condName(cond string) string {
	switch cond {
	case "", "none":
		return "unconditional"
	case "class":
		return "class-conditional"
	case "text":
		return "text-conditioned"
	case "lowres":
		return "super-resolution"
	}
	return cond
}

// graph builds the forward pass for a batch: inputs x, temb and the
// condition's (class, tokens or lowres); infer: for sampling only, without
// gradients (models.Graph.ForInference).
func (n *Network) graph(p *models.Params, batch int, infer bool) (*models.Graph, *models.Node) {
	c := n.Config.UNet
	var more []*models.Params
	for _, q := range n.tuned {
		if q != p {
			more = append(more, q)
		}
	}
	g := models.NewGraph(p, more...)
	if infer {
		g.ForInference()
	}
	if n.tuner != nil {
		g.Tune(n.tuner)
	}
	batch *= n.frames() // the UNet sees every frame of every clip as an image
	x := g.Input("x", batch, c.InChannels, c.Size, c.Size)
	temb := g.Input("temb", batch, c.TimeDim)
	var cond models.Cond
	if c.Classes > 0 {
		cond.Class = g.Input("class", batch)
	}
	if n.text != nil {
		cond.Context = n.text.Fwd(g, g.Input("tokens", batch*n.text.Config.Length))
	}
	if n.Config.Cond == "lowres" {
		cond.Image = g.Input("lowres", batch, c.CondChannels, c.Size, c.Size)
	}
	if n.Config.Coords {
		cond.Image = g.Input("coords", batch, 2, c.Size, c.Size)
		if g.Err() == nil {
			coordinates(cond.Image.Value().Data().([]float32), batch, c.Size)
		}
	}
	if n.video == nil {
		return g, n.unet.Predict(g, x, temb, cond)
	}
	if n.Config.FirstFrame {
		first := g.Input("first", batch, c.InChannels+1, c.Size, c.Size)
		if cond.Image == nil {
			cond.Image = first
		} else {
			cond.Image = g.Concat(cond.Image, first)
		}
	}
	return g, n.video.Predict(g, x, temb, g.Input("frame", batch), cond)
}

// setInputs feeds x, the timesteps' embedding and the condition.
func (n *Network) setInputs(m *models.Machine, x []float32, t []int, cond Condition) error {
	f := n.frames()
	ts := make([]float64, len(t)*f)
	for i := range ts {
		ts[i] = float64(t[i/f]) // one time for all the frames of a clip
	}
	if err := m.Set("x", x); err != nil {
		return err
	}
	if err := m.Set("temb", models.SinusoidalEmbedding(ts, n.Config.UNet.TimeDim)); err != nil {
		return err
	}
	b := len(t)
	if err := n.setVideoInputs(m, b, cond); err != nil {
		return err
	}
	switch {
	case n.Classes() > 0:
		if len(cond.Classes) != b {
			return fmt.Errorf("diffusion: %d classes for %d images", len(cond.Classes), b)
		}
		cs := make([]float32, b)
		for i, k := range cond.Classes {
			cs[i] = float32(k)
		}
		return m.Set("class", cs)
	case n.text != nil:
		if len(cond.Tokens) != b {
			return fmt.Errorf("diffusion: %d prompts for %d images", len(cond.Tokens), b)
		}
		for _, row := range cond.Tokens {
			if len(row) != n.text.Config.Length {
				return fmt.Errorf("diffusion: a prompt of %d tokens, the model reads %d", len(row), n.text.Config.Length)
			}
		}
		return m.Set("tokens", models.TokenFloats(perFrame(cond.Tokens, f)))
	case n.Config.Cond == "lowres":
		if len(cond.LowRes) != len(x) {
			return fmt.Errorf("diffusion: %d low-resolution values for %d images of %d", len(cond.LowRes), b, n.Dim())
		}
		return m.Set("lowres", cond.LowRes)
	}
	return nil
}

// coordinates fills b images of 2×s×s with each pixel's x (channel 0) and
// y (channel 1), from -1 at the left and top edges' pixels to 1 at the
// right and bottom ones.
func coordinates(dst []float32, b, s int) {
	for i := range b {
		img := dst[i*2*s*s:]
		for y := range s {
			for x := range s {
				img[y*s+x] = float32(2*x-(s-1)) / float32(s-1)
				img[s*s+y*s+x] = float32(2*y-(s-1)) / float32(s-1)
			}
		}
	}
}

// EpsModel is the network over weights p as a sampler's Model, for images
// of the given classes (NullClass for unconditional). Any other network
// ignores classes and runs with its null condition (a text model with the
// null prompt); a super-resolution model has none and needs CondModel.
// Graphs are built once per batch size and kept.
func (n *Network) EpsModel(p *models.Params, classes []int) Model {
	if n.Classes() > 0 {
		return n.CondModel(p, Condition{Classes: classes})
	}
	return func(ctx context.Context, x []float32, t []int, eps []float32) error {
		c, ok := n.NullCondition(len(t))
		if !ok {
			return fmt.Errorf("diffusion: a %s model needs its low-resolution images", condName(n.Config.Cond))
		}
		return n.CondModel(p, c)(ctx, x, t, eps)
	}
}

// CondModel is the network over weights p as a sampler's Model for images
// conditioned by c (one entry per image of every batch the sampler passes).
func (n *Network) CondModel(p *models.Params, c Condition) Model {
	return func(ctx context.Context, x []float32, t []int, eps []float32) error {
		b := len(t)
		key := samplerKey{p, b}
		f, ok := n.samplers[key]
		if !ok {
			g, out := n.graph(p, b, true)
			m, err := g.Compile(nil)
			if err != nil {
				return err
			}
			f = &forward{m, out}
			n.samplers[key] = f
		}
		if err := n.setInputs(f.m, x, t, c); err != nil {
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

// dropConditions replaces each image's condition by the null one with
// probability p: classifier-free guidance's joint training of both models
// in one network.
func (n *Network) dropConditions(c Condition, p float64, rng *rand.Rand) Condition {
	null, ok := n.NullCondition(max(len(c.Classes), len(c.Tokens)))
	if !ok || p <= 0 {
		return c
	}
	out := c
	if c.Classes != nil {
		out.Classes = slices.Clone(c.Classes)
		for i := range out.Classes {
			if rng.Float64() < p {
				out.Classes[i] = null.Classes[i]
			}
		}
	}
	if c.Tokens != nil {
		out.Tokens = slices.Clone(c.Tokens)
		for i := range out.Tokens {
			if rng.Float64() < p {
				out.Tokens[i] = null.Tokens[i]
			}
		}
	}
	return out
}

// OpenConfig reads the config of the checkpoint at path and checks it,
// its tensors and the memory to load them before anything the size of the
// model is allocated (models.OpenConfig): the first half of loading, and
// what a resumed training run builds its network from.
func OpenConfig(path string) (Config, error) {
	return models.OpenConfig(path, Family, ParseConfig, checkParams)
}

// LoadNetwork rebuilds a network from a checkpoint's config and loads its
// weights (the EMA weights, for a checkpoint written by training).
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
