package tasks

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"genlab/eval"
	"genlab/images"
	"genlab/models"

	"github.com/disintegration/imaging"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Neural style transfer (Gatys, Ecker and Bethge 2016, "Image Style
// Transfer Using Convolutional Neural Networks"): the output image x is
// optimised so that the statistics of its conv features match the style
// image's and its deeper features match the content image's. Gatys et al.
// match Gram matrices G = F Fᵀ/M; here G is split into the mean of the
// features and their covariance, matched as two terms (random features
// have large mean activations that would otherwise drown the
// correlations that carry the texture), each relative to its target's
// size so that the default weights suit any image and either bank:
//
//	F_l            C_l×M_l features of layer l (M_l positions)
//	μ_l, Σ_l       F_l 1/M_l and F_l F_lᵀ/M_l − μ_l μ_lᵀ
//	L_style        mean_l ( ‖Σ_l(x) − Σ_l(s)‖²/‖Σ_l(s)‖² + ‖μ_l(x) − μ_l(s)‖²/‖μ_l(s)‖² ) / 2
//	L_content      mean_l ‖F_l(x) − F_l(c)‖² / ‖F_l(c)‖²
//	L              w_style L_style + w_content L_content + w_tv L_tv
//
// with L_tv a total-variation smoothness term against high-frequency
// artefacts. No pretrained VGG is to be had here; the features come from
// one of two banks, both applied to an image pyramid (the image and its
// halvings by a 4×4 binomial blur at stride 2, down to about 8 px), so
// that a small receptive field sees structure at every scale:
//
//   - "random": at each level, two 3×3 conv layers of random Gaussian
//     weights (3→32→64) with a SiLU after each; the content is the second
//     layer at level 1. Ustyuzhaninov, Brendel, Gatys and Bethge (2017,
//     "What does it take to generate natural textures?") showed that one
//     layer of random multi-scale filters with a non-linearity already
//     synthesises good textures; the pyramid stands in for their large
//     kernels.
//   - "classifier": the four conv layers of genlab's own MNIST classifier,
//     trained on grey digits, applied to each colour channel alone (so
//     the statistics still see colour correlations across channels); the
//     content is its last conv at level 0.
//
// The loss is minimised over the pixels, starting from the content image,
// by L-BFGS (Gatys et al.'s choice; the default) or Adam, the pixels kept
// in [0, 1]. Random features keep the content's layout and take the
// style's colours and strokes; the classifier's digit-stroke filters reach
// lower style losses but wash the content out into a grid of strokes (see
// the eval-tasks table).

// Feature banks.
const (
	FeaturesRandom     = "random"
	FeaturesClassifier = "classifier"
)

// StyleOptions are a style transfer's settings; zero fields take the
// defaults.
type StyleOptions struct {
	Steps         int              // optimisation steps (200)
	StyleWeight   float64          // w_style (1)
	ContentWeight float64          // w_content (0.2); negative means 0, pure texture synthesis from the content image
	LR            float64          // Adam's step on pixels in [0, 1], and L-BFGS's first (0.02)
	Features      string           // FeaturesRandom (default) or FeaturesClassifier
	Classifier    *eval.Classifier // the network of FeaturesClassifier
	Seed          uint64           // the random bank's weights
	Optimizer     string           // "lbfgs" (default) or "adam"
	TVWeight      float64          // weight of the total-variation smoothness term (0.1); negative means 0
}

func (o StyleOptions) withDefaults() StyleOptions {
	if o.Steps == 0 {
		o.Steps = 200
	}
	if o.StyleWeight == 0 {
		o.StyleWeight = 1
	}
	if o.ContentWeight == 0 {
		o.ContentWeight = 0.2
	}
	if o.ContentWeight < 0 {
		o.ContentWeight = 0
	}
	if o.LR == 0 {
		o.LR = 0.02
	}
	if o.Features == "" {
		o.Features = FeaturesRandom
	}
	if o.TVWeight == 0 {
		o.TVWeight = 0.1
	}
	if o.TVWeight < 0 {
		o.TVWeight = 0
	}
	return o
}

// Validate says what is wrong with the options, if anything.
func (o StyleOptions) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Steps < 1 || o.Steps > 100000:
		return fmt.Errorf("tasks: %d style steps: want 1 to 100000", o.Steps)
	case !(o.StyleWeight > 0) || math.IsInf(o.StyleWeight, 0):
		return fmt.Errorf("tasks: style weight %g: want more than 0", o.StyleWeight)
	case math.IsNaN(o.ContentWeight) || math.IsInf(o.ContentWeight, 0):
		return fmt.Errorf("tasks: content weight %g: want 0 or more", o.ContentWeight)
	case !(o.LR > 0 && o.LR <= 1):
		return fmt.Errorf("tasks: style learning rate %g: want more than 0, at most 1", o.LR)
	case o.Optimizer != "" && o.Optimizer != "lbfgs" && o.Optimizer != "adam":
		return fmt.Errorf("tasks: optimizer %q: use lbfgs or adam", o.Optimizer)
	case !(o.TVWeight >= 0 || o.TVWeight < 0) || math.IsInf(o.TVWeight, 0):
		return fmt.Errorf("tasks: total-variation weight %g: want 0 or more", o.TVWeight)
	case o.Features != FeaturesRandom && o.Features != FeaturesClassifier:
		return fmt.Errorf("tasks: features %q: use %s or %s", o.Features, FeaturesRandom, FeaturesClassifier)
	case o.Features == FeaturesClassifier && o.Classifier == nil:
		return fmt.Errorf("tasks: features %s need the classifier (genlab train classifier)", FeaturesClassifier)
	case o.Features == FeaturesClassifier && o.Classifier.Config.InChannels != 1:
		return fmt.Errorf("tasks: features %s need a 1-channel classifier, this one takes %d", FeaturesClassifier, o.Classifier.Config.InChannels)
	}
	return nil
}

// minLevelSide is the smallest side of the pyramid's coarsest level.
const minLevelSide = 8

// pyramidLevels is how many levels an h×w image gets (1 to 6).
func pyramidLevels(h, w int) int {
	l := 1
	for s := min(h, w); s/2 >= minLevelSide && l < 6; s /= 2 {
		l++
	}
	return l
}

// bank is a feature extractor: fixed weights fed to a graph as inputs (so
// that only the image is differentiated) and the layers built on them.
type bank struct {
	kind    string
	weights map[string][]float32
	shapes  map[string][]int
	levels  int
}

// convSpec is a conv layer of a bank: in→out channels, stride, kernel
// size (0 channels: the classifier's own).
type convSpec struct {
	name            string
	in, out, str, k int
}

// The random bank's layers at each level and the classifier's.
var (
	randomLayers     = []convSpec{{"a", 3, 32, 1, 3}, {"b", 32, 64, 1, 3}}
	classifierLayers = []convSpec{{"conv1", 1, 0, 1, 3}, {"conv2", 0, 0, 2, 3}, {"conv3", 0, 0, 2, 3}, {"conv4", 0, 0, 1, 3}}
)

// newBank makes the bank of o for images with levels pyramid levels.
func newBank(o StyleOptions, levels int) (*bank, error) {
	b := &bank{kind: o.Features, weights: map[string][]float32{}, shapes: map[string][]int{}, levels: levels}
	// The pyramid's downsampling: a 4×4 binomial blur ([1 3 3 1]/8 in each
	// direction) at stride 2, per channel, which (unlike 2×2 averaging)
	// leaves no block pattern in the gradients.
	binom := [4]float32{1, 3, 3, 1}
	pool := make([]float32, 3*3*4*4)
	for ch := range 3 {
		for i := range 4 {
			for j := range 4 {
				pool[((ch*3+ch)*4+i)*4+j] = binom[i] * binom[j] / 64
			}
		}
	}
	b.add("pool.weight", []int{3, 3, 4, 4}, pool)
	b.add("pool.bias", []int{3}, make([]float32, 3))
	switch o.Features {
	case FeaturesRandom:
		rng := rand.New(rand.NewPCG(o.Seed, 0x7374796c65))
		for l := range levels {
			for _, c := range randomLayers {
				fan := c.in * c.k * c.k
				w := make([]float32, c.out*fan)
				std := math.Sqrt(2 / float64(fan)) // He et al. 2015
				for i := range w {
					w[i] = float32(std * rng.NormFloat64())
				}
				bias := make([]float32, c.out)
				for i := range bias {
					bias[i] = float32(0.1 * rng.NormFloat64())
					if c.in == 3 {
						// Centre the pixels: w·(x − ½) + b.
						for _, v := range w[i*fan : (i+1)*fan] {
							bias[i] -= 0.5 * v
						}
					}
				}
				name := fmt.Sprintf("l%d.%s", l, c.name)
				b.add(name+".weight", []int{c.out, c.in, c.k, c.k}, w)
				b.add(name+".bias", []int{c.out}, bias)
			}
		}
	case FeaturesClassifier:
		p := o.Classifier.Params
		for _, c := range classifierLayers {
			for _, s := range []string{".weight", ".bias"} {
				t := p.Get(c.name + s)
				if t == nil {
					return nil, fmt.Errorf("tasks: the classifier has no %s%s", c.name, s)
				}
				b.add(c.name+s, t.Shape().Clone(), p.Float32s(c.name+s))
			}
		}
	}
	return b, nil
}

func (b *bank) add(name string, shape []int, v []float32) {
	b.weights[name], b.shapes[name] = v, shape
}

// features are a bank's layers over one image: those whose Gram matrices
// carry the style, and those that carry the content.
type features struct {
	style, content []*models.Node
}

// build adds the bank's layers over x (1,3,h,w) to g. Weights become
// inputs named "w:NAME", filled by feed.
func (b *bank) build(g *models.Graph, x *models.Node) features {
	in := map[string]*models.Node{}
	w := func(name string) *models.Node {
		if n, ok := in[name]; ok {
			return n
		}
		n := g.Input("w:"+name, b.shapes[name]...)
		in[name] = n
		return n
	}
	var f features
	lvl := x
	for l := range b.levels {
		if l > 0 {
			lvl = g.Conv2d(lvl, w("pool.weight"), w("pool.bias"), 2, 1)
		}
		if g.Err() != nil {
			return f
		}
		switch b.kind {
		case FeaturesRandom:
			h := lvl
			for i, c := range randomLayers {
				name := fmt.Sprintf("l%d.%s", l, c.name)
				h = g.SiLU(g.Conv2d(h, w(name+".weight"), w(name+".bias"), 1, c.k/2))
				f.style = append(f.style, h)
				if i == len(randomLayers)-1 && l == min(contentLevel, b.levels-1) {
					f.content = append(f.content, h)
				}
			}
		case FeaturesClassifier:
			s := lvl.Shape()
			h := g.Reshape(lvl, 3, 1, s[2], s[3]) // each channel a grey image
			for i, c := range classifierLayers {
				if g.Err() != nil || min(h.Shape()[2], h.Shape()[3]) < 2*c.str {
					break
				}
				h = g.SiLU(g.Conv2d(h, w(c.name+".weight"), w(c.name+".bias"), c.str, 1))
				f.style = append(f.style, h)
				if i == len(classifierLayers)-1 && l == 0 {
					f.content = append(f.content, h)
				}
			}
		}
	}
	return f
}

// feed fills the weight inputs of a machine built over build's graph.
func (b *bank) feed(m *models.Machine) error {
	for name, v := range b.weights {
		if m.Input("w:"+name) == nil {
			continue // a layer this image is too small for
		}
		if err := m.Set("w:"+name, v); err != nil {
			return err
		}
	}
	return nil
}

// stats adds the second- and first-order statistics of features f
// (N,C,h,w), taken as one (N·C)×M matrix F with M = h·w (with N = 3 channel
// images of the classifier bank they also correlate features across
// colour channels): the covariance and the mean of its columns,
//
//	μ = F 1 / M,    Σ = F Fᵀ / M − μ μᵀ.
//
// The Gram matrix of Gatys et al. is Σ + μ μᵀ; matching Σ and μ as two
// terms, each relative to its target's size, keeps the large mean
// activations of random features from drowning the correlations that
// carry the texture.
func (lb *lossBuilder) stats(f *models.Node) (cov, mu *models.Node) {
	g := lb.g
	flat := lb.flat(f)
	if lb.failed() {
		return nil, nil
	}
	rows, m := flat.Shape()[0], flat.Shape()[1]
	zero := lb.constant(0, rows)
	gm := lb.scale(g.Linear(flat, flat, zero), 1/float64(m))
	mu = lb.mean(f)
	mm := g.Linear(mu, mu, zero)
	if lb.failed() {
		return nil, nil
	}
	cov, err := gorgonia.Sub(gm, mm)
	if err != nil {
		lb.err = err
		return nil, nil
	}
	return cov, mu
}

// flat views features (N,C,h,w) as the (N·C)×(h·w) matrix F.
func (lb *lossBuilder) flat(f *models.Node) *models.Node {
	if lb.failed() || f == nil {
		return nil
	}
	s := f.Shape()
	return lb.g.Reshape(f, s[0]*s[1], s[2]*s[3])
}

// mean adds μ = F 1 / M, (N·C)×1.
func (lb *lossBuilder) mean(f *models.Node) *models.Node {
	flat := lb.flat(f)
	if lb.failed() {
		return nil
	}
	m := flat.Shape()[1]
	return lb.scale(lb.g.Linear(flat, lb.constant(1, 1, m), lb.constant(0, 1)), 1/float64(m))
}

// constant adds an input of the given shape filled with v by fill.
func (lb *lossBuilder) constant(v float32, shape ...int) *models.Node {
	if lb.failed() {
		return nil
	}
	name := fmt.Sprintf("const%d", len(lb.consts))
	lb.consts = append(lb.consts, constInput{name, v})
	return lb.g.Input(name, shape...)
}

type constInput struct {
	name string
	v    float32
}

// lossBuilder adds the few gorgonia ops the loss needs beyond the models
// layer API, with the same sticky error as models.Graph.
type lossBuilder struct {
	g      *models.Graph
	err    error
	consts []constInput // inputs that fill sets
}

// fill sets the builder's constant inputs in a machine of its graph.
func (lb *lossBuilder) fill(m *models.Machine) {
	for _, c := range lb.consts {
		switch d := m.Input(c.name).Data().(type) {
		case []float32:
			for i := range d {
				d[i] = c.v
			}
		case []float64:
			for i := range d {
				d[i] = float64(c.v)
			}
		}
	}
}

func (lb *lossBuilder) failed() bool {
	if lb.err == nil && lb.g.Err() != nil {
		lb.err = lb.g.Err()
	}
	return lb.err != nil
}

// scale multiplies a node by a constant.
func (lb *lossBuilder) scale(x *models.Node, c float64) *models.Node {
	if lb.failed() || x == nil {
		return nil
	}
	k := gorgonia.NewConstant(float32(c))
	if lb.g.P.Dtype() == tensor.Float64 {
		k = gorgonia.NewConstant(c)
	}
	n, err := gorgonia.Mul(x, k)
	if err != nil {
		lb.err = err
		return nil
	}
	return n
}

// add sums two scalars; a nil sum is the other term.
func (lb *lossBuilder) add(sum, t *models.Node) *models.Node {
	if lb.failed() || t == nil {
		return nil
	}
	if sum == nil {
		return t
	}
	n, err := gorgonia.Add(sum, t)
	if err != nil {
		lb.err = err
		return nil
	}
	return n
}

// runOnce evaluates a forward graph once and copies out the nodes' values.
// The nodes must have no readers in the graph (gorgonia may compute an op
// in place over an input it is the only reader of).
func runOnce(g *models.Graph, b *bank, lb *lossBuilder, set map[string][]float32, outs []*models.Node) ([][]float32, error) {
	m, err := g.Compile(nil)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	lb.fill(m)
	if err := b.feed(m); err != nil {
		return nil, err
	}
	for name, v := range set {
		if err := m.Set(name, v); err != nil {
			return nil, err
		}
	}
	if err := m.Run(); err != nil {
		return nil, err
	}
	vals := make([][]float32, len(outs))
	for i, n := range outs {
		vals[i] = append([]float32(nil), n.Value().Data().([]float32)...)
	}
	return vals, nil
}

// styleTargets computes the covariances and means of the style image's
// features (3×h×w), in that order for each style layer.
func styleTargets(b *bank, style []float32, h, w int) ([][]float32, error) {
	g := models.NewGraph(models.NewParams(tensor.Float32, 0))
	x := g.Input("x", 1, 3, h, w)
	f := b.build(g, x)
	lb := &lossBuilder{g: g}
	var outs []*models.Node
	for _, n := range f.style {
		cov, _ := lb.stats(n)
		// A second μ that nothing reads: values read back must come from
		// nodes without readers.
		outs = append(outs, cov, lb.mean(n))
	}
	if lb.failed() {
		return nil, lb.err
	}
	return runOnce(g, b, lb, map[string][]float32{"x": style}, outs)
}

// contentTargets computes the content features of the content image.
func contentTargets(b *bank, content []float32, h, w int) ([][]float32, error) {
	g := models.NewGraph(models.NewParams(tensor.Float32, 0))
	x := g.Input("x", 1, 3, h, w)
	f := b.build(g, x)
	if err := g.Err(); err != nil {
		return nil, err
	}
	// The content layers are the last of their level, so nothing else
	// reads them in a graph without Gram matrices.
	return runOnce(g, b, &lossBuilder{g: g}, map[string][]float32{"x": content}, f.content)
}

// styleLoss is the compiled loss over one content size: Eval sets the
// image and returns the loss and its gradient.
type styleLoss struct {
	tv   float64 // total-variation weight
	h, w int
	m    *models.Machine
	img  *tensor.Dense // the image parameter
	grad []float64     // the last Eval's gradient
}

// newStyleLoss builds the loss of o for a content image (3×h×w) and a
// style image (3×hs×ws).
func newStyleLoss(content []float32, h, w int, style []float32, hs, ws int, o StyleOptions) (*styleLoss, error) {
	return newStyleLossOf(tensor.Float32, content, h, w, style, hs, ws, o)
}

// newStyleLossOf is newStyleLoss computing in dt (the gradient check uses
// float64).
func newStyleLossOf(dt tensor.Dtype, content []float32, h, w int, style []float32, hs, ws int, o StyleOptions) (*styleLoss, error) {
	levels := min(pyramidLevels(h, w), pyramidLevels(hs, ws))
	b, err := newBank(o, levels)
	if err != nil {
		return nil, err
	}
	sg, err := styleTargets(b, style, hs, ws)
	if err != nil {
		return nil, fmt.Errorf("tasks: style image features: %w", err)
	}
	cf, err := contentTargets(b, content, h, w)
	if err != nil {
		return nil, fmt.Errorf("tasks: content image features: %w", err)
	}

	// The image is the one parameter of the loss graph.
	p := models.NewParams(dt, 0)
	p.Add("image", []int{1, 3, h, w}, models.Const(0))
	g := models.NewGraph(p)
	f := b.build(g, g.Param("image"))
	lb := &lossBuilder{g: g}
	var loss *models.Node
	setTargets := map[string][]float32{}
	// Each term's features go through a copy first (fresh's models.Add
	// of zeros): gorgonia's MSE may compute its difference in place over
	// its first input, and a reshape or a layer's output shares its memory
	// with nodes the backward pass still reads.
	term := func(name string, v *models.Node, target []float32, weight float64) {
		if lb.failed() {
			return
		}
		t := g.Input(name, len(target))
		setTargets[name] = target
		flat := g.Reshape(v, len(target))
		fresh := g.Add(flat, lb.constant(0, len(target)))
		loss = lb.add(loss, lb.scale(g.MSE(fresh, t), weight/meanSquare(target)))
	}
	layers := len(sg) / 2
	for i, n := range f.style {
		if i >= layers {
			break
		}
		// The covariance, and a μ of its own (values read back must come
		// from nodes nothing else reads).
		cov, _ := lb.stats(n)
		term(fmt.Sprintf("style%d.cov", i), cov, sg[2*i], o.StyleWeight/float64(2*layers))
		term(fmt.Sprintf("style%d.mean", i), lb.mean(n), sg[2*i+1], o.StyleWeight/float64(2*layers))
	}
	if o.ContentWeight > 0 {
		for i, n := range f.content {
			term(fmt.Sprintf("content%d", i), n, cf[i], o.ContentWeight/float64(len(cf)))
		}
	}
	if lb.failed() {
		return nil, fmt.Errorf("tasks: style loss: %w", lb.err)
	}
	if loss == nil {
		return nil, fmt.Errorf("tasks: style loss: no layers")
	}
	m, err := g.Compile(loss)
	if err != nil {
		return nil, fmt.Errorf("tasks: style loss: %w", err)
	}
	if err := b.feed(m); err != nil {
		return nil, err
	}
	lb.fill(m)
	for name, v := range setTargets {
		if err := m.Set(name, v); err != nil {
			return nil, err
		}
	}
	return &styleLoss{tv: o.TVWeight, h: h, w: w, m: m, img: p.Get("image"), grad: make([]float64, 3*h*w)}, nil
}

// Eval sets the image to x clamped to [0, 1] and returns the loss there
// with, for the unclamped x, a quadratic penalty on the pixels outside the
// range; the gradient (in l.grad) passes straight through the clamp.
func (l *styleLoss) Eval(x []float64) (float64, error) {
	clamped := func(v float64) float64 { return min(1, max(0, v)) }
	switch d := l.img.Data().(type) {
	case []float32:
		for i, v := range x {
			d[i] = float32(clamped(v))
		}
	case []float64:
		for i, v := range x {
			d[i] = clamped(v)
		}
	}
	if err := l.m.Run(); err != nil {
		return 0, err
	}
	grads, err := l.m.Grads()
	if err != nil {
		return 0, err
	}
	switch gi := grads["image"].Data().(type) {
	case []float32:
		for i, v := range gi {
			l.grad[i] = float64(v)
		}
	case []float64:
		copy(l.grad, gi)
	}
	pen := 0.0
	for i, v := range x {
		if e := v - clamped(v); e != 0 {
			pen += e * e
			l.grad[i] += 2 * outOfRangeWeight * e / float64(len(x))
		}
	}
	l.m.ZeroGrads()
	return l.m.Loss() + outOfRangeWeight*pen/float64(len(x)) + l.totalVariation(x), nil
}

// totalVariation adds to l.grad the gradient of, and returns, the
// smoothness term of Mahendran & Vedaldi (2015) that style transfer
// commonly carries against high-frequency artefacts:
//
//	L_tv = w_tv · Σ (x[y][x+1] − x[y][x])² + (x[y+1][x] − x[y][x])²  /  (3·h·w)
func (l *styleLoss) totalVariation(x []float64) float64 {
	if l.tv == 0 {
		return 0
	}
	h, w := l.h, l.w
	c := l.tv / float64(len(x))
	sum := 0.0
	for ch := range 3 {
		o := ch * h * w
		for y := range h {
			for xx := range w {
				i := o + y*w + xx
				if xx+1 < w {
					d := x[i+1] - x[i]
					sum += d * d
					l.grad[i+1] += 2 * c * d
					l.grad[i] -= 2 * c * d
				}
				if y+1 < h {
					d := x[i+w] - x[i]
					sum += d * d
					l.grad[i+w] += 2 * c * d
					l.grad[i] -= 2 * c * d
				}
			}
		}
	}
	return c * sum
}

func (l *styleLoss) Close() error { return l.m.Close() }

// StyleTransfer renders content (3×h×w, values in [0, 1]) in the style of
// style (3×hs×ws) and returns the 3×h×w result. progress, if not nil, is
// told the loss after each evaluation.
func StyleTransfer(ctx context.Context, content []float32, h, w int, style []float32, hs, ws int, o StyleOptions, progress func(step, total int, loss float64)) ([]float32, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if h < 3 || w < 3 || len(content) != 3*h*w || hs < 3 || ws < 3 || len(style) != 3*hs*ws {
		return nil, fmt.Errorf("tasks: style transfer of %d values as 3x%dx%d with a style of %d as 3x%dx%d", len(content), h, w, len(style), hs, ws)
	}
	l, err := newStyleLoss(content, h, w, style, hs, ws, o)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	x := make([]float64, len(content))
	for i, v := range content {
		x[i] = float64(v)
	}
	switch o.Optimizer {
	case "adam":
		err = adam(ctx, x, l.grad, l.Eval, o, progress)
	default:
		err = lbfgs(ctx, x, l.grad, l.Eval, o, progress)
	}
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(min(1, max(0, v)))
	}
	return out, nil
}

// outOfRangeWeight weighs the penalty on pixels outside [0, 1].
const outOfRangeWeight = 10

// adam minimises eval from x (updated in place) with Adam (Kingma & Ba
// 2015) for o.Steps steps of size o.LR.
func adam(ctx context.Context, x, grad []float64, eval func([]float64) (float64, error), o StyleOptions, progress func(step, total int, loss float64)) error {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	mo, v := make([]float64, len(x)), make([]float64, len(x))
	for step := 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := eval(x)
		if err != nil {
			return err
		}
		c1, c2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
		for i, g := range grad {
			mo[i] = b1*mo[i] + (1-b1)*g
			v[i] = b2*v[i] + (1-b2)*g*g
			x[i] -= o.LR * (mo[i] / c1) / (math.Sqrt(v[i]/c2) + eps)
			x[i] = min(1.5, max(-0.5, x[i]))
		}
		if progress != nil {
			progress(step, o.Steps, l)
		}
	}
	return nil
}

// lbfgs minimises eval from x (updated in place) with L-BFGS (Nocedal
// 1980; the two-loop recursion of Nocedal & Wright, Algorithm 7.4), the
// optimiser of Gatys et al., with a backtracking line search on the
// Armijo condition, within o.Steps evaluations of the loss.
func lbfgs(ctx context.Context, x, grad []float64, eval func([]float64) (float64, error), o StyleOptions, progress func(step, total int, loss float64)) error {
	const memory, c1 = 10, 1e-4
	n := len(x)
	var ss, ys [][]float64
	var rhos []float64
	evals := 0
	f, err := eval(x)
	if err != nil {
		return err
	}
	evals++
	if progress != nil {
		progress(evals, o.Steps, f)
	}
	g := slices.Clone(grad)
	d := make([]float64, n)
	alpha := make([]float64, memory)
	xNew := make([]float64, n)
	for evals < o.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		// d = −H g by the two-loop recursion.
		copy(d, g)
		for i := len(ss) - 1; i >= 0; i-- {
			alpha[i] = rhos[i] * dot(ss[i], d)
			axpy(-alpha[i], ys[i], d)
		}
		gamma := 1.0
		if k := len(ss) - 1; k >= 0 {
			gamma = dot(ss[k], ys[k]) / dot(ys[k], ys[k])
		} else {
			// First step: a step of o.LR in pixel units along −g.
			gamma = o.LR / max(math.Sqrt(dot(g, g)/float64(n)), 1e-12)
		}
		for i := range d {
			d[i] *= gamma
		}
		for i := range ss {
			b := rhos[i] * dot(ys[i], d)
			axpy(alpha[i]-b, ss[i], d)
		}
		for i := range d {
			d[i] = -d[i]
		}
		slope := dot(g, d)
		if slope >= 0 { // not a descent direction: restart from −g
			if len(ss) == 0 {
				// −g itself is no descent: the gradient vanished (a
				// minimum), and a restart would compute the same step.
				return nil
			}
			ss, ys, rhos = nil, nil, nil
			continue
		}
		step := 1.0
		var fNew float64
		for {
			for i := range x {
				xNew[i] = x[i] + step*d[i]
			}
			if fNew, err = eval(xNew); err != nil {
				return err
			}
			evals++
			if progress != nil {
				progress(min(evals, o.Steps), o.Steps, min(f, fNew))
			}
			if fNew <= f+c1*step*slope || evals >= o.Steps {
				break
			}
			step /= 2
		}
		if !(fNew <= f) { // ran out of evaluations without progress
			return nil
		}
		sv, yv := make([]float64, n), make([]float64, n)
		for i := range x {
			sv[i] = xNew[i] - x[i]
			yv[i] = grad[i] - g[i]
		}
		copy(x, xNew)
		copy(g, grad)
		f = fNew
		if sy := dot(sv, yv); sy > 1e-12 {
			if len(ss) == memory {
				ss, ys, rhos = ss[1:], ys[1:], rhos[1:]
			}
			ss, ys, rhos = append(ss, sv), append(ys, yv), append(rhos, 1/sy)
		}
	}
	return nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// axpy adds a·x to y.
func axpy(a float64, x, y []float64) {
	for i, v := range x {
		y[i] += a * v
	}
}

func meanSquare(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return max(s/float64(len(v)), 1e-12)
}

// StyleParams is one style transfer of a user's images.
type StyleParams struct {
	Content, Style image.Image
	MaxSide        int // the result's longest side (256); a larger content image is shrunk to it
	StyleOptions
	Progress func(step, total int, loss float64) // may be nil
}

// DefaultStyleSide is the longest side of a style transfer's result unless
// asked otherwise.
const DefaultStyleSide = 256

// Style renders p.Content in the style of p.Style, in RGB. The content is
// shrunk so its longest side is at most p.MaxSide (kept if smaller); the
// style image is resized so its longest side matches the result's, so the
// texture keeps its scale relative to the picture.
func Style(ctx context.Context, p StyleParams) (image.Image, error) {
	if p.Content == nil || p.Style == nil {
		return nil, fmt.Errorf("tasks: style transfer needs a content and a style image")
	}
	side := p.MaxSide
	if side == 0 {
		side = DefaultStyleSide
	}
	if side < 8 || side > 1024 {
		return nil, fmt.Errorf("tasks: result size %d: want 8 to 1024 pixels", side)
	}
	c := imaging.Clone(p.Content)
	s := imaging.Clone(p.Style)
	for _, im := range []struct {
		what string
		m    image.Image
	}{{"content", c}, {"style", s}} {
		if b := im.m.Bounds(); b.Dx() < 8 || b.Dy() < 8 || b.Dx() > MaxSide || b.Dy() > MaxSide {
			return nil, fmt.Errorf("tasks: the %s image is %dx%d: want 8 to %d pixels a side", im.what, b.Dx(), b.Dy(), MaxSide)
		}
	}
	cw, ch := fitSide(c.Bounds().Dx(), c.Bounds().Dy(), side)
	if cw != c.Bounds().Dx() || ch != c.Bounds().Dy() {
		c = imaging.Resize(c, cw, ch, imaging.Lanczos)
	}
	sw, sh := fitSide(s.Bounds().Dx(), s.Bounds().Dy(), max(cw, ch))
	s = imaging.Resize(s, max(sw, 8), max(sh, 8), imaging.Lanczos)
	out, err := StyleTransfer(ctx, images.ToFloats(c, 3), ch, cw, images.ToFloats(s, 3), s.Bounds().Dy(), s.Bounds().Dx(), p.StyleOptions, p.Progress)
	if err != nil {
		return nil, err
	}
	return images.FromFloats(out, 3, ch, cw), nil
}

// fitSide scales w×h so that its longest side is at most side.
func fitSide(w, h, side int) (int, int) {
	if max(w, h) <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, int(math.Round(float64(h)*float64(side)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(side)/float64(h)))), side
}

// FeatureNames lists the feature banks for messages.
func FeatureNames() string { return strings.Join([]string{FeaturesRandom, FeaturesClassifier}, ", ") }

// contentLevel is the pyramid level whose last random layer carries the
// content: level 0 holds the fine detail too and leaves little room for
// the style, level 1 (half resolution) keeps the layout and lets the
// texture redraw the detail.
const contentLevel = 1
