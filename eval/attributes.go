package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"genlab/datasets"
	"genlab/models"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AttributesFamily is the checkpoint family of the shapes attribute
// classifier.
const AttributesFamily = "attributes"

// Attribute names, in the order AttributeClassifier reports them.
var AttributeNames = []string{"colour", "shape", "size", "position"}

// AttributesConfig is the shapes attribute classifier's architecture and
// the values of each attribute, in class-index order (datasets'
// ShapesAttributes), saved with it so a checkpoint names its classes.
type AttributesConfig struct {
	Channels  int      `json:"channels"` // width of the first conv (32), doubled after the second downsampling
	Features  int      `json:"features"` // width of the shared penultimate layer (128)
	Colors    []string `json:"colors"`
	Shapes    []string `json:"shapes"`
	Sizes     []string `json:"sizes"`
	Positions []string `json:"positions"`
}

func (c AttributesConfig) withDefaults() AttributesConfig {
	if c.Channels == 0 {
		c.Channels = 32
	}
	if c.Features == 0 {
		c.Features = 128
	}
	if c.Colors == nil && c.Shapes == nil && c.Sizes == nil && c.Positions == nil {
		c.Colors, c.Shapes, c.Sizes, c.Positions = datasets.ShapesAttributes()
	}
	return c
}

// values lists each attribute's values in AttributeNames order.
func (c AttributesConfig) values() [][]string {
	return [][]string{c.Colors, c.Shapes, c.Sizes, c.Positions}
}

// AttributeClassifier tells the colour, shape, size and position of the
// shape in a 3×32×32 shapes image: the MNIST classifier's trunk
// (conv3×3 → conv3×3/2 → conv3×3/2 (2C) → conv3×3 (2C), SiLU after each,
// then linear (Features) → SiLU) with one linear head per attribute. It is
// the judge of text-to-image: how often a generated image shows what its
// prompt says.
type AttributeClassifier struct {
	Config         AttributesConfig
	Params         *models.Params
	c1, c2, c3, c4 models.Conv
	features       models.Dense
	heads          []models.Dense
	infer          map[int]*attrInference
}

// NewAttributeClassifier builds one with freshly initialised weights.
func NewAttributeClassifier(c AttributesConfig, seed uint64) (*AttributeClassifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return newAttributeClassifier(c.withDefaults(), models.NewParams(tensor.Float32, seed)), nil
}

// Validate says what is wrong with a configuration, if anything.
func (c AttributesConfig) Validate() error {
	b := models.Bounds{Prefix: "attributes"}
	b.Int("channels", c.Channels, 0, models.MaxChannels)
	b.Int("features", c.Features, 0, models.MaxChannels)
	if err := b.Err(); err != nil {
		return err
	}
	c = c.withDefaults()
	for i, v := range c.values() {
		b.Int(AttributeNames[i]+" values", len(v), 2, models.MaxClasses)
	}
	return b.Err()
}

// checkAttributes adds c's parameters to a shape-only store: the tensors c
// implies, to check a checkpoint's header against before loading it.
func checkAttributes(c AttributesConfig, p *models.Params) error {
	newAttributeClassifier(c.withDefaults(), p)
	return nil
}

// newAttributeClassifier builds a classifier of a valid c, defaults
// filled in, over p.
func newAttributeClassifier(c AttributesConfig, p *models.Params) *AttributeClassifier {
	ch, s := c.Channels, datasets.ShapesSize/4
	m := &AttributeClassifier{Config: c, Params: p, infer: map[int]*attrInference{}}
	m.c1 = models.NewConv(p, "conv1", 3, ch, 3, 1, 1)
	m.c2 = models.NewConv(p, "conv2", ch, ch, 3, 2, 1)
	m.c3 = models.NewConv(p, "conv3", ch, 2*ch, 3, 2, 1)
	m.c4 = models.NewConv(p, "conv4", 2*ch, 2*ch, 3, 1, 1)
	m.features = models.NewDense(p, "fc1", 2*ch*s*s, c.Features)
	for i, v := range c.values() {
		m.heads = append(m.heads, models.NewDense(p, "head."+AttributeNames[i], c.Features, len(v)))
	}
	return m
}

// Fwd returns the logits of each attribute, (N,values), for x (N,3,32,32)
// with pixels in [0,1].
func (m *AttributeClassifier) Fwd(g *models.Graph, x *models.Node) []*models.Node {
	n := x.Shape()[0]
	h := g.SiLU(m.c1.Fwd(g, x))
	h = g.SiLU(m.c2.Fwd(g, h))
	h = g.SiLU(m.c3.Fwd(g, h))
	h = g.SiLU(m.c4.Fwd(g, h))
	s := datasets.ShapesSize / 4
	f := g.SiLU(m.features.Fwd(g, g.Reshape(h, n, 2*m.Config.Channels*s*s)))
	out := make([]*models.Node, len(m.heads))
	for i, hd := range m.heads {
		out[i] = hd.Fwd(g, f)
	}
	return out
}

// index returns the class indices of a's four attributes.
func (m *AttributeClassifier) index(a datasets.ShapeAttrs) ([4]int, error) {
	var k [4]int
	for i, v := range [4]string{a.Color, a.Shape, a.Size, a.Position} {
		k[i] = slices.Index(m.Config.values()[i], v)
		if k[i] < 0 {
			return k, fmt.Errorf("attributes: %s %q is not one the classifier knows (%v)", AttributeNames[i], v, m.Config.values()[i])
		}
	}
	return k, nil
}

// AttributesTrainOptions configures Train; zero fields take the defaults.
type AttributesTrainOptions struct {
	Steps int     // 1500 (about 10 epochs of 20000 images at batch 128)
	Batch int     // 128
	LR    float64 // 1e-3, cosine-decayed to 0
	// Each training image gets Gaussian noise of a std drawn up to Noise
	// (0.2) and a tint, a constant added to each channel, drawn up to Tint
	// (0.1), both clamped to [0,1]: the grain and the grey or coloured
	// backgrounds of generated images, which otherwise read as "white".
	Noise, Tint float64
	Seed        uint64
	Progress    func(step, total int, loss float64) // after every step; may be nil
}

// Train fits the classifier to a captioned shapes set with AdamW on the
// sum of the four cross-entropies.
func (m *AttributeClassifier) Train(ctx context.Context, set *datasets.Set, o AttributesTrainOptions) error {
	if set.Captions == nil || set.C != 3 || set.H != datasets.ShapesSize || set.W != datasets.ShapesSize {
		return fmt.Errorf("attributes: %s is not a captioned set of 3x%dx%d shapes images", set.Name, datasets.ShapesSize, datasets.ShapesSize)
	}
	if o.Steps == 0 {
		o.Steps = 1500
	}
	if o.Batch == 0 {
		o.Batch = 128
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Noise == 0 {
		o.Noise = 0.2
	}
	if o.Tint == 0 {
		o.Tint = 0.1
	}
	if set.N < o.Batch {
		return fmt.Errorf("attributes: %s has %d images, fewer than a batch of %d", set.Name, set.N, o.Batch)
	}
	labels := make([][4]int, set.N)
	for i := range labels {
		a, err := datasets.ShapeAttrsOf(set, i)
		if err != nil {
			return err
		}
		if labels[i], err = m.index(a); err != nil {
			return err
		}
	}
	g := models.NewGraph(m.Params)
	x := g.Input("x", o.Batch, 3, datasets.ShapesSize, datasets.ShapesSize)
	logits := m.Fwd(g, x)
	pad := g.Input("pad", o.Batch, 1, 1)
	if g.Err() == nil {
		for i := range o.Batch {
			pad.Value().Data().([]float32)[i] = logitPad
		}
	}
	var loss *models.Node
	for i, l := range logits {
		ce := paddedCrossEntropy(g, l, g.Input(fmt.Sprintf("onehot%d", i), o.Batch, len(m.Config.values()[i])+1), pad)
		if g.Err() != nil {
			return g.Err()
		}
		if loss == nil {
			loss = ce
		} else if loss, _ = gorgonia.Add(loss, ce); loss == nil {
			return fmt.Errorf("attributes: cannot sum the losses")
		}
	}
	mach, err := g.Compile(loss)
	if err != nil {
		return err
	}
	defer mach.Close()
	opt := models.NewAdamW(o.LR, 1e-4)
	loader := datasets.NewLoader(set, o.Batch, o.Seed)
	rng := rand.New(rand.NewPCG(o.Seed, 0xa77))
	onehots := make([][]float32, len(logits))
	for i := range onehots {
		onehots[i] = make([]float32, o.Batch*(len(m.Config.values()[i])+1))
	}
	for step := 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := loader.Next()
		d := set.Dim()
		for j := range o.Batch {
			std := o.Noise * rng.Float64()
			plane := d / 3
			for ch := range 3 {
				tint := float32(o.Tint * rng.Float64())
				for k := j*d + ch*plane; k < j*d+(ch+1)*plane; k++ {
					b.X[k] = min(1, max(0, b.X[k]+tint+float32(std*rng.NormFloat64())))
				}
			}
		}
		for i, oh := range onehots {
			clear(oh)
			k := len(m.Config.values()[i]) + 1 // after the pad column
			for j, idx := range b.Index {
				oh[j*k+1+labels[idx][i]] = 1
			}
			if err := mach.Set(fmt.Sprintf("onehot%d", i), oh); err != nil {
				return err
			}
		}
		if err := mach.Set("x", b.X); err != nil {
			return err
		}
		if err := mach.Run(); err != nil {
			return err
		}
		l := mach.Loss()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return fmt.Errorf("attributes: loss is %v at step %d", l, step)
		}
		grads, err := mach.Grads()
		if err != nil {
			return err
		}
		models.ClipGradNorm(grads, 1)
		opt.LR = o.LR * 0.5 * (1 + math.Cos(math.Pi*float64(step-1)/float64(o.Steps)))
		if err := opt.Update(m.Params, grads); err != nil {
			return err
		}
		mach.ZeroGrads()
		if o.Progress != nil {
			o.Progress(step, o.Steps, l)
		}
	}
	return nil
}

// logitPad leads every row of logits in the training loss, as a class no
// image has: gorgonia's float32 LogSoftMax (tensor v0.9.24,
// softMaxLastDimF32) starts each row's maximum at the first row's first
// value instead of the row's own, and so overflows to NaN once a row's
// first logit is ~88 above it, which a confident two-way head reaches. With
// the same very negative first value in every row, the maximum is right and
// the pad adds exp(−10⁴) = 0 to each row's sum.
const logitPad = -1e4

// paddedCrossEntropy is g.CrossEntropy of logits (N,K) behind a pad
// column (pad is (N,1,1), every value logitPad); onehot is (N,K+1) with
// the pad's column 0.
func paddedCrossEntropy(g *models.Graph, logits, onehot, pad *models.Node) *models.Node {
	if g.Err() != nil {
		return nil
	}
	n, k := logits.Shape()[0], logits.Shape()[1]
	return g.CrossEntropy(g.Reshape(g.Concat(pad, g.Reshape(logits, n, k, 1)), n, k+1), onehot)
}

type attrInference struct {
	m      *models.Machine
	logits []*models.Node
}

// Predict returns the attributes of n images (pixels NCHW 3×32×32 in [0,1]).
func (m *AttributeClassifier) Predict(pixels []float32, n int) ([]datasets.ShapeAttrs, error) {
	const batch = 250
	dim := 3 * datasets.ShapesSize * datasets.ShapesSize
	if len(pixels) != n*dim {
		return nil, fmt.Errorf("attributes: %d values for %d images of 3x%dx%d", len(pixels), n, datasets.ShapesSize, datasets.ShapesSize)
	}
	inf, ok := m.infer[batch]
	if !ok {
		g := models.NewGraph(m.Params)
		l := m.Fwd(g, g.Input("x", batch, 3, datasets.ShapesSize, datasets.ShapesSize))
		mach, err := g.Compile(nil)
		if err != nil {
			return nil, err
		}
		inf = &attrInference{m: mach, logits: l}
		m.infer[batch] = inf
	}
	out := make([]datasets.ShapeAttrs, n)
	buf := make([]float32, batch*dim)
	vals := m.Config.values()
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		clear(buf)
		copy(buf, pixels[lo*dim:hi*dim])
		if err := inf.m.Set("x", buf); err != nil {
			return nil, err
		}
		if err := inf.m.Run(); err != nil {
			return nil, err
		}
		for a, node := range inf.logits {
			k := len(vals[a])
			lg := node.Value().Data().([]float32)
			for i := lo; i < hi; i++ {
				row := lg[(i-lo)*k : (i-lo+1)*k]
				best := 0
				for j, v := range row {
					if v > row[best] {
						best = j
					}
				}
				v := vals[a][best]
				switch a {
				case 0:
					out[i].Color = v
				case 1:
					out[i].Shape = v
				case 2:
					out[i].Size = v
				case 3:
					out[i].Position = v
				}
			}
		}
	}
	return out, nil
}

// AttributeScores are the shares of images whose attributes match what was
// asked: each attribute alone (AttributeNames order), their mean, and all
// four at once.
type AttributeScores struct {
	N       int        `json:"n"`
	Each    [4]float64 `json:"each"` // colour, shape, size, position
	Mean    float64    `json:"mean"`
	AllFour float64    `json:"all_four"`
}

// Score classifies n images and compares them with want (one per image).
func (m *AttributeClassifier) Score(pixels []float32, n int, want []datasets.ShapeAttrs) (AttributeScores, error) {
	if len(want) != n {
		return AttributeScores{}, fmt.Errorf("attributes: %d wanted attributes for %d images", len(want), n)
	}
	got, err := m.Predict(pixels, n)
	if err != nil {
		return AttributeScores{}, err
	}
	s := AttributeScores{N: n}
	for i, g := range got {
		w := want[i]
		ok := [4]bool{g.Color == w.Color, g.Shape == w.Shape, g.Size == w.Size, g.Position == w.Position}
		all := true
		for a, v := range ok {
			if v {
				s.Each[a]++
			}
			all = all && v
		}
		if all {
			s.AllFour++
		}
	}
	for a := range s.Each {
		s.Each[a] /= float64(n)
		s.Mean += s.Each[a] / 4
	}
	s.AllFour /= float64(n)
	return s, nil
}

// Save writes the classifier as a genlab checkpoint.
func (m *AttributeClassifier) Save(path string, step int, extra map[string]string) error {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return err
	}
	return models.SaveWeights(path, m.Params, models.Meta{Family: AttributesFamily, Config: cfg, Step: step, Extra: extra})
}

// parseAttributesConfig reads and validates a checkpoint's genlab.config.
func parseAttributesConfig(raw json.RawMessage) (AttributesConfig, error) {
	var c AttributesConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("attributes: config: %w", err)
	}
	return c, c.Validate()
}

// LoadAttributeClassifier reads a checkpoint written by Save.
func LoadAttributeClassifier(path string) (*AttributeClassifier, error) {
	c, err := models.OpenConfig(path, AttributesFamily, parseAttributesConfig, checkAttributes)
	if err != nil {
		return nil, err
	}
	m, err := NewAttributeClassifier(c, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := models.LoadWeights(path, AttributesFamily, m.Params); err != nil {
		return nil, err
	}
	return m, nil
}
