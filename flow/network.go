package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"genlab/models"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Network is a multi-scale flow over images in logit space. Level l
// squeezes its input (C,H,W) → (4C,H/2,W/2), runs Depth steps of actnorm,
// invertible 1×1 convolution and affine coupling, then (but for the last
// level) factors out half of its channels as a latent whose Gaussian prior
// is conditioned on the half that goes on; the last level's output is a
// standard-normal latent.
type Network struct {
	Config Config
	Params *models.Params

	levels []level

	evals map[graphKey]*evalGraph
	hosts map[graphKey]*hostNets
}

type level struct {
	channels, side int // after the squeeze
	steps          []flowStep
	prior          *zeroConv // the factored-out half's (mean, log-scale) from the kept half
}

// flowStep is one actnorm → 1×1 conv → coupling, its parameters named
// levels.L.steps.K.{actnorm,invconv,coupling}.
type flowStep struct {
	name string
	net  couplingNet
}

// couplingNet maps the coupling's first half (C/2 channels) to the shift
// and raw log-scale of the second (C channels): conv 3×3 → [residual
// blocks | norm, SiLU, conv 1×1] → norm, SiLU → conv 3×3 started at zero,
// so every coupling starts as a fixed scaling.
type couplingNet struct {
	in, mid      models.Conv
	out          zeroConv
	blocks       []models.ResBlock
	norm1, norm2 models.Norm
	useMid       bool
}

func (c couplingNet) fwd(g *models.Graph, x *models.Node) *models.Node {
	h := c.in.Fwd(g, x)
	if c.useMid {
		h = c.mid.Fwd(g, c.norm1.FwdSiLU(g, h))
	}
	for _, b := range c.blocks {
		h = b.Fwd(g, h, nil)
	}
	return c.out.Fwd(g, c.norm2.FwdSiLU(g, h))
}

// NewNetwork builds a freshly initialised float32 network.
func NewNetwork(c Config, seed uint64) (*Network, error) {
	return newNetwork(c, seed, tensor.Float32)
}

func newNetwork(c Config, seed uint64, dt tensor.Dtype) (*Network, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return addLevels(c, models.NewParams(dt, seed), seed), nil
}

// checkParams adds c's parameters to a shape-only store: the tensors c
// implies, to check a checkpoint's header against before loading it.
func checkParams(c Config, p *models.Params) error {
	addLevels(c, p, 0)
	return nil
}

// addLevels builds a network of a valid c over p.
func addLevels(c Config, p *models.Params, seed uint64) *Network {
	n := &Network{Config: c, Params: p, evals: map[graphKey]*evalGraph{}, hosts: map[graphKey]*hostNets{}}
	rng := rand.New(rand.NewPCG(seed, 0x1d1d))
	ch, side := c.InChannels, c.Size
	for l := 0; l < c.Levels; l++ {
		ch, side = 4*ch, side/2
		lv := level{channels: ch, side: side}
		for k := 0; k < c.Depth; k++ {
			name := fmt.Sprintf("levels.%d.steps.%d", l, k)
			p.Add(name+".actnorm.logs", []int{ch}, models.Const(0))
			p.Add(name+".actnorm.bias", []int{ch}, models.Const(0))
			addInvConv(p, name+".invconv", ch, rng)
			lv.steps = append(lv.steps, flowStep{name: name, net: newCouplingNet(p, name+".coupling", ch, c)})
		}
		if l < c.Levels-1 {
			pr := newZeroConv(p, fmt.Sprintf("levels.%d.prior", l), ch/2, ch)
			lv.prior = &pr
			ch /= 2
		}
		n.levels = append(n.levels, lv)
	}
	return n
}

func newCouplingNet(p *models.Params, name string, ch int, c Config) couplingNet {
	h, g := c.Hidden, c.Groups
	net := couplingNet{in: models.NewConv(p, name+".in", ch/2, h, 3, 1, 1), useMid: c.Blocks == 0}
	if net.useMid {
		net.norm1 = models.NewNorm(p, name+".norm1", g, h)
		net.mid = models.NewConv(p, name+".mid", h, h, 1, 1, 0)
	}
	for b := 0; b < c.Blocks; b++ {
		net.blocks = append(net.blocks, models.NewResBlock(p, fmt.Sprintf("%s.res%d", name, b), h, h, 0, g))
	}
	net.norm2 = models.NewNorm(p, name+".norm2", g, h)
	net.out = newZeroConv(p, name+".out", h, ch)
	return net
}

// zeroConv is Glow's Conv2dZeros: a 3×3 conv whose weight and bias start
// at zero, its output scaled per channel by exp(logScaleFactor·logs) with
// logs (name.logs) starting at zero too. The factor lets the scales of the
// output (the log-scales of couplings and priors) move logScaleFactor
// times faster than Adam's steps of about lr would.
type zeroConv struct {
	conv models.Conv
	name string
	out  int
}

// logScaleFactor is Glow's logscale_factor.
const logScaleFactor = 3

func newZeroConv(p *models.Params, name string, in, out int) zeroConv {
	c := models.NewConv(p, name, in, out, 3, 1, 1)
	if !p.ShapesOnly() {
		p.Get(name + ".weight").Zero()
		p.Get(name + ".bias").Zero()
	}
	p.Add(name+".logs", []int{out}, models.Const(0))
	return zeroConv{conv: c, name: name, out: out}
}

func (z zeroConv) Fwd(g *models.Graph, x *models.Node) *models.Node {
	h := z.conv.Fwd(g, x)
	b := &builder{g: g}
	logs := g.Param(z.name + ".logs")
	s := b.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(logs, b.c(logScaleFactor)) })
	zb := b.zeros(z.out)
	return b.do(func() (*gorgonia.Node, error) { return ActNorm(h, s, zb) })
}

// addInvConv initialises a 1×1 convolution as a random rotation, LU
// decomposed (Glow): W = P·(I+L)·(U + diag(sign·e^logs)). perm and sign are
// fixed buffers kept in the checkpoint with the weights.
func addInvConv(p *models.Params, name string, c int, rng *rand.Rand) {
	if p.ShapesOnly() {
		for _, s := range []struct {
			suffix string
			shape  []int
		}{{"lower", []int{c, c}}, {"upper", []int{c, c}}, {"logs", []int{c}}, {"perm", []int{c}}, {"sign", []int{c}}} {
			p.Add(name+"."+s.suffix, s.shape, nil)
		}
		return
	}
	g := mat.NewDense(c, c, nil)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	var lu mat.LU
	lu.Factorize(&q)
	var L mat.TriDense
	var U mat.TriDense
	lu.LTo(&L)
	lu.UTo(&U)
	lower, upper, logs, perm, sign := make([]float64, c*c), make([]float64, c*c), make([]float64, c), make([]float64, c), make([]float64, c)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			switch {
			case j < i:
				lower[i*c+j] = L.At(i, j)
			case j > i:
				upper[i*c+j] = U.At(i, j)
			}
		}
		d := U.At(i, i)
		logs[i], sign[i] = math.Log(math.Abs(d)), math.Copysign(1, d)
	}
	// Q is L·U with its rows permuted: find each row of Q among those of
	// L·U, which does not depend on how gonum reports its pivots.
	lu0 := ComposeLU(lower, upper, logs, identity(c), sign)
	qv := make([]float64, c*c)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			qv[i*c+j] = q.At(i, j)
		}
	}
	for i, r := range matchRows(qv, lu0, c) {
		perm[i] = float64(r)
	}
	set := func(suffix string, v []float64, shape ...int) {
		p.Add(name+"."+suffix, shape, func(_ *rand.Rand, d []float64) { copy(d, v) })
	}
	set("lower", lower, c, c)
	set("upper", upper, c, c)
	set("logs", logs, c)
	set("perm", perm, c)
	set("sign", sign, c)
}

func identity(c int) []int {
	p := make([]int, c)
	for i := range p {
		p[i] = i
	}
	return p
}

// matchRows returns, for each row i of q (c×c), the row of a that equals it.
func matchRows(q, a []float64, c int) []int {
	out := make([]int, c)
	used := make([]bool, c)
	for i := 0; i < c; i++ {
		best, bestD := -1, math.Inf(1)
		for r := 0; r < c; r++ {
			if used[r] {
				continue
			}
			d := 0.0
			for j := 0; j < c; j++ {
				d += math.Abs(q[i*c+j] - a[r*c+j])
			}
			if d < bestD {
				best, bestD = r, d
			}
		}
		out[i], used[best] = best, true
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
	if err := n.checkBuffers(n.Params); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// checkBuffers refuses 1×1 convolutions whose permutation or signs were
// not written by a flow (a hand-edited or foreign file).
func (n *Network) checkBuffers(p *models.Params) error {
	for _, lv := range n.levels {
		for _, st := range lv.steps {
			perm := vals(p, st.name+".invconv.perm")
			seen := make([]bool, len(perm))
			for _, v := range perm {
				k := int(math.Round(v))
				if k < 0 || k >= len(perm) || seen[k] || math.Abs(v-float64(k)) > 1e-3 {
					return fmt.Errorf("flow: %s.invconv.perm %v is not a permutation", st.name, perm)
				}
				seen[k] = true
			}
			for _, s := range vals(p, st.name+".invconv.sign") {
				if math.Abs(math.Abs(s)-1) > 1e-3 {
					return fmt.Errorf("flow: %s.invconv.sign holds %v, want ±1", st.name, s)
				}
			}
		}
	}
	return nil
}

// Dim is the number of values in one image.
func (n *Network) Dim() int { return n.Config.InChannels * n.Config.Size * n.Config.Size }

// buffers are the parameters no optimizer touches.
func (n *Network) buffers() []string {
	var b []string
	for _, lv := range n.levels {
		for _, st := range lv.steps {
			b = append(b, st.name+".invconv.perm", st.name+".invconv.sign")
		}
	}
	return b
}

// vals reads a parameter as float64.
func vals(p *models.Params, name string) []float64 {
	switch d := p.Get(name).Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	}
	return nil
}

// setVals overwrites a parameter from float64 values.
func setVals(p *models.Params, name string, v []float64) {
	switch d := p.Get(name).Data().(type) {
	case []float32:
		for i, x := range v {
			d[i] = float32(x)
		}
	case []float64:
		copy(d, v)
	}
}

// builder adds raw gorgonia ops to a models.Graph with its sticky-error
// style: the first error sticks and later calls return nil.
type builder struct {
	g   *models.Graph
	err error
}

func (b *builder) do(f func() (*gorgonia.Node, error)) *gorgonia.Node {
	if b.err == nil {
		b.err = b.g.Err()
	}
	if b.err != nil {
		return nil
	}
	n, err := f()
	if err != nil {
		b.err = err
		return nil
	}
	return n
}

func (b *builder) Err() error {
	if b.err != nil {
		return b.err
	}
	return b.g.Err()
}

// c is a constant of the graph's element type.
func (b *builder) c(v float64) *gorgonia.Node {
	if b.g.P.Dtype() == tensor.Float64 {
		return gorgonia.NewConstant(v)
	}
	return gorgonia.NewConstant(float32(v))
}

// buffer is a parameter read as a fixed value, not learned: the node's
// value is the store's tensor itself, so a checkpoint loaded later is seen.
func (b *builder) buffer(name string) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) {
		t := b.g.P.Get(name)
		if t == nil {
			return nil, fmt.Errorf("flow: no parameter %s", name)
		}
		return gorgonia.NewTensor(b.g.G, t.Dtype(), t.Dims(), gorgonia.WithShape(t.Shape()...), gorgonia.WithValue(t), gorgonia.WithName(name)), nil
	})
}

// zeros is a constant zero vector of length c (the 1×1 conv's bias).
func (b *builder) zeros(c int) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) {
		t := tensor.New(tensor.Of(b.g.P.Dtype()), tensor.WithShape(c))
		return gorgonia.NewTensor(b.g.G, b.g.P.Dtype(), 1, gorgonia.WithShape(c), gorgonia.WithValue(t), gorgonia.WithName(fmt.Sprintf("zeros%d#%p", c, t))), nil
	})
}

// logDensity adds the flow to g: from x (N,C,S,S) in logit space to the
// per-sample log-density of x in nats, (N): the latents' Gaussian
// log-densities plus every layer's log-determinant.
func (n *Network) logDensity(g *models.Graph, x *models.Node) *models.Node {
	b := &builder{g: g}
	var perSample, shared *gorgonia.Node // (N) terms and the terms every sample shares
	addVec := func(v *gorgonia.Node) {
		if perSample == nil {
			perSample = v
			return
		}
		perSample = b.do(func() (*gorgonia.Node, error) { return models.Add(perSample, v) })
	}
	addShared := func(logs *gorgonia.Node, positions int) {
		s := b.do(func() (*gorgonia.Node, error) { return gorgonia.Sum(logs) })
		s = b.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(s, b.c(float64(positions))) })
		if shared == nil {
			shared = s
			return
		}
		shared = b.do(func() (*gorgonia.Node, error) { return gorgonia.Add(shared, s) })
	}
	h := x
	for l, lv := range n.levels {
		h = b.do(func() (*gorgonia.Node, error) { return Squeeze2x(h) })
		C, P := lv.channels, lv.side*lv.side
		for _, st := range lv.steps {
			logs := g.Param(st.name + ".actnorm.logs")
			bias := g.Param(st.name + ".actnorm.bias")
			h = b.do(func() (*gorgonia.Node, error) { return ActNorm(h, logs, bias) })
			addShared(logs, P)

			ic := st.name + ".invconv"
			wlogs := g.Param(ic + ".logs")
			lower, upper := g.Param(ic+".lower"), g.Param(ic+".upper")
			perm, sign := b.buffer(ic+".perm"), b.buffer(ic+".sign")
			w := b.do(func() (*gorgonia.Node, error) { return LUWeight(lower, upper, wlogs, perm, sign) })
			zb := b.zeros(C)
			h = b.do(func() (*gorgonia.Node, error) { return models.Conv2d(h, w, zb, 1, 0) })
			addShared(wlogs, P)

			xa, xb := g.SliceChannels(h, 0, C/2), g.SliceChannels(h, C/2, C)
			if b.Err() != nil {
				return nil
			}
			st := st.net.fwd(g, xa)
			yb := b.do(func() (*gorgonia.Node, error) { return AffineCoupling(xb, st) })
			addVec(b.do(func() (*gorgonia.Node, error) { return CouplingLogDet(st) }))
			h = g.Concat(xa, yb)
		}
		if l < len(n.levels)-1 {
			keep, z := g.SliceChannels(h, 0, C/2), g.SliceChannels(h, C/2, C)
			if b.Err() != nil {
				return nil
			}
			prior := lv.prior.Fwd(g, keep)
			addVec(b.do(func() (*gorgonia.Node, error) { return GaussianLogDensity(z, prior) }))
			h = keep
		} else {
			addVec(b.do(func() (*gorgonia.Node, error) { return GaussianLogDensity(h, nil) }))
		}
	}
	out := b.do(func() (*gorgonia.Node, error) { return gorgonia.Add(perSample, shared) })
	if b.Err() != nil {
		return nil
	}
	return out
}

type graphKey struct {
	p     *models.Params
	batch int
}

// evalGraph computes the per-sample log-density of a batch in logit space.
type evalGraph struct {
	m    *models.Machine
	logp *models.Node
}

func (n *Network) evalGraph(p *models.Params, batch int) (*evalGraph, error) {
	key := graphKey{p, batch}
	if e, ok := n.evals[key]; ok {
		return e, nil
	}
	c := n.Config
	g := models.NewGraph(p)
	x := g.Input("x", batch, c.InChannels, c.Size, c.Size)
	logp := n.logDensity(g, x)
	if logp == nil {
		return nil, fmt.Errorf("flow: build: %w", errOr(g.Err()))
	}
	m, err := g.Compile(nil)
	if err != nil {
		return nil, err
	}
	e := &evalGraph{m: m, logp: logp}
	n.evals[key] = e
	return e, nil
}

func errOr(err error) error {
	if err == nil {
		return fmt.Errorf("nil node")
	}
	return err
}
