package tasks

import (
	"fmt"

	"genlab/models"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The loss of style transfer over the feature banks: feature statistics,
// the targets from the style and content images, and the compiled loss
// with its gradient over the pixels (the equations are in style.go).

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
	gm := lb.scale(g.LinearOneSample(flat, flat, zero), 1/float64(m))
	mu = lb.mean(f)
	mm := g.LinearOneSample(mu, mu, zero)
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
	return lb.scale(lb.g.LinearOneSample(flat, lb.constant(1, 1, m), lb.constant(0, 1)), 1/float64(m))
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

// outOfRangeWeight weighs the penalty on pixels outside [0, 1].
const outOfRangeWeight = 10

func meanSquare(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return max(s/float64(len(v)), 1e-12)
}
