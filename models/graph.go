package models

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is one gorgonia expression graph over a Params. Model code calls its
// methods in a row without checking errors: the first error sticks, later
// calls return nil, and Err reports it (the bufio.Writer pattern), so a
// forward pass reads like the PyTorch it mirrors.
//
// A graph has fixed shapes; build one per batch size (the training graph,
// a sampling graph) over the same Params and they share the weights.
type Graph struct {
	G      *gorgonia.ExprGraph
	P      *Params
	more   []*Params // further stores a graph reads (a GAN's G and D)
	params map[string]*Node
	inputs map[string]*Node
	err    error
	// tuner, if set, adds a fine-tune to the forward pass (Tune);
	// trainable, if set, limits the learnables (TrainOnly).
	tuner     Tuner
	trainable func(name string) bool
	// infer: the graph is only run forward (ForInference).
	infer bool
}

// ForInference marks a graph, before its model is built, as one that is
// only run forward (sampling): blocks may then use fused ops that have no
// backward pass (NormSiLUConv). Compile refuses it a loss.
func (g *Graph) ForInference() { g.infer = true }

// NewGraph starts an empty graph over p and, if given, further stores of
// the same element type whose names do not collide with p's (a GAN's
// generator step reads both networks; each optimizer updates its own store).
func NewGraph(p *Params, more ...*Params) *Graph {
	return &Graph{G: gorgonia.NewGraph(), P: p, more: more, params: map[string]*Node{}, inputs: map[string]*Node{}}
}

// Err is the first error met while building, if any.
func (g *Graph) Err() error { return g.err }

func (g *Graph) fail(err error) *Node {
	if g.err == nil && err != nil {
		g.err = err
	}
	return nil
}

// ok reports whether building can go on with these nodes.
func (g *Graph) ok(ns ...*Node) bool {
	if g.err != nil {
		return false
	}
	for _, n := range ns {
		if n == nil {
			g.err = fmt.Errorf("models: nil node in graph")
			return false
		}
	}
	return true
}

func (g *Graph) wrap(n *Node, err error) *Node {
	if err != nil {
		return g.fail(err)
	}
	return n
}

// Input declares a value fed each run with Machine.Set (unique name).
func (g *Graph) Input(name string, shape ...int) *Node {
	if g.err != nil {
		return nil
	}
	if _, dup := g.inputs[name]; dup {
		return g.fail(fmt.Errorf("models: input %s declared twice", name))
	}
	t := tensor.New(tensor.Of(g.P.dtype), tensor.WithShape(shape...))
	n := gorgonia.NewTensor(g.G, g.P.dtype, len(shape), gorgonia.WithShape(shape...), gorgonia.WithValue(t), gorgonia.WithName("input:"+name))
	g.inputs[name] = n
	return n
}

// Param is the node of a parameter, bound to the store's tensor itself.
func (g *Graph) Param(name string) *Node {
	if g.err != nil {
		return nil
	}
	if n, ok := g.params[name]; ok {
		return n
	}
	t := g.P.Get(name)
	for _, q := range g.more {
		if t == nil {
			t = q.Get(name)
		}
	}
	if t == nil {
		return g.fail(fmt.Errorf("models: no parameter %s", name))
	}
	n := gorgonia.NewTensor(g.G, g.P.dtype, t.Dims(), gorgonia.WithShape(t.Shape()...), gorgonia.WithValue(t), gorgonia.WithName(name))
	g.params[name] = n
	return n
}

// Learnables are the parameters this graph uses, in name order.
func (g *Graph) Learnables() Nodes {
	names := make([]string, 0, len(g.params))
	for n := range g.params {
		if g.trainable == nil || g.trainable(n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	out := make(Nodes, len(names))
	for i, n := range names {
		out[i] = g.params[n]
	}
	return out
}

// The ops, as sticky-error methods.

func (g *Graph) Conv2d(x, w, b *Node, stride, pad int) *Node {
	if !g.ok(x, w, b) {
		return nil
	}
	return g.wrap(Conv2d(x, w, b, stride, pad))
}

// NormSiLUConv is NormSiLUConv's sticky-error form; e and r may be nil.
func (g *Graph) NormSiLUConv(x, gamma, beta *Node, groups int, eps float64, w, b, e, r *Node, stride, pad int) *Node {
	if !g.ok(x, gamma, beta, w, b) || (e != nil && !g.ok(e)) || (r != nil && !g.ok(r)) {
		return nil
	}
	return g.wrap(NormSiLUConv(x, gamma, beta, groups, eps, w, b, e, r, stride, pad))
}

// UpsampleConv is UpsampleConv's sticky-error form.
func (g *Graph) UpsampleConv(x, w, b *Node, stride, pad int) *Node {
	if !g.ok(x, w, b) {
		return nil
	}
	return g.wrap(UpsampleConv(x, w, b, stride, pad))
}

// Conv2dAdd is Conv2dAdd's sticky-error form; e and r may be nil.
func (g *Graph) Conv2dAdd(x, w, b, e, r *Node, stride, pad int) *Node {
	if !g.ok(x, w, b) || (e != nil && !g.ok(e)) || (r != nil && !g.ok(r)) {
		return nil
	}
	return g.wrap(Conv2dAdd(x, w, b, e, r, stride, pad))
}
func (g *Graph) Linear(x, w, b *Node) *Node {
	if !g.ok(x, w, b) {
		return nil
	}
	return g.wrap(Linear(x, w, b))
}
func (g *Graph) LinearOneSample(x, w, b *Node) *Node {
	if !g.ok(x, w, b) {
		return nil
	}
	return g.wrap(LinearOneSample(x, w, b))
}
func (g *Graph) GroupNorm(x, gamma, beta *Node, groups int, eps float64) *Node {
	if !g.ok(x, gamma, beta) {
		return nil
	}
	return g.wrap(GroupNorm(x, gamma, beta, groups, eps))
}
func (g *Graph) SiLU(x *Node) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(SiLU(x))
}
func (g *Graph) AddPerChannel(x, e *Node) *Node {
	if !g.ok(x, e) {
		return nil
	}
	return g.wrap(AddPerChannel(x, e))
}
func (g *Graph) Concat(a, b *Node) *Node {
	if !g.ok(a, b) {
		return nil
	}
	return g.wrap(ConcatChannels(a, b))
}
func (g *Graph) SliceChannels(x *Node, lo, hi int) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(SliceChannels(x, lo, hi))
}
func (g *Graph) Upsample2x(x *Node) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(Upsample2x(x))
}
func (g *Graph) SwapLastAxes(x *Node) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(SwapLastAxes(x))
}
func (g *Graph) Attention(q, k, v *Node, heads int) *Node {
	if !g.ok(q, k, v) {
		return nil
	}
	return g.wrap(Attention(q, k, v, heads))
}

// Add is the element-wise sum of two tensors of one shape (residuals).
func (g *Graph) Add(a, b *Node) *Node {
	if !g.ok(a, b) {
		return nil
	}
	return g.wrap(Add(a, b))
}

// Reshape views x with another shape of the same size.
func (g *Graph) Reshape(x *Node, shape ...int) *Node {
	if !g.ok(x) {
		return nil
	}
	return g.wrap(gorgonia.Reshape(x, tensor.Shape(shape)))
}

// MSE is the mean of (a-b)² over every element.
func (g *Graph) MSE(a, b *Node) *Node {
	if !g.ok(a, b) {
		return nil
	}
	d := g.wrap(gorgonia.Sub(a, b))
	if !g.ok(d) {
		return nil
	}
	return g.wrap(gorgonia.Mean(g.wrap(gorgonia.Square(d))))
}

// CrossEntropy is the mean over rows of −log softmax(logits)[label], with
// the labels given as a one-hot (N,K) input.
func (g *Graph) CrossEntropy(logits, onehot *Node) *Node {
	if !g.ok(logits, onehot) {
		return nil
	}
	ls := g.wrap(gorgonia.LogSoftMax(logits))
	if !g.ok(ls) {
		return nil
	}
	p := g.wrap(gorgonia.HadamardProd(ls, onehot))
	if !g.ok(p) {
		return nil
	}
	s := g.wrap(gorgonia.Sum(p))
	if !g.ok(s) {
		return nil
	}
	return g.wrap(gorgonia.Mul(s, g.scalar(-1/float64(logits.Shape()[0]))))
}

// scalar is a constant of the graph's element type.
func (g *Graph) scalar(v float64) *Node {
	if g.P.dtype == tensor.Float32 {
		return gorgonia.NewConstant(float32(v))
	}
	return gorgonia.NewConstant(v)
}

// Embed looks up the rows of table for the indices in ids.
func (g *Graph) Embed(table, ids *Node) *Node {
	if !g.ok(table, ids) {
		return nil
	}
	return g.wrap(Embed(table, ids))
}
