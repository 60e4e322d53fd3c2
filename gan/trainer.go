package gan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/models"
	"genlab/train"

	"gorgonia.org/gorgonia"
)

// Family is the checkpoint family of GANs.
const Family = "gan"

// Trainer trains Networks with the hinge loss (Lim & Ye 2017; Miyato et al.
// 2018): the discriminator minimises mean(relu(1−D(x))) + mean(relu(1+D(G(z)))),
// the generator −mean(D(G(z))), one update of each per step, each with its
// own Adam over its own Params. Sampling uses an EMA of the generator's
// weights. With Config.SpectralNorm the discriminator's weights are
// spectrally normalised (see spectral). It is the train.Trainee of the gan
// family.
//
// Gorgonia graphs are static, so there are three machines: the generator's
// forward pass (fakes for the discriminator step), the discriminator step
// (real and fake images are both inputs, so its gradients are the
// discriminator's only), and the generator step (G then D; only the
// generator's gradients are applied).
type Trainer struct {
	Net        *Networks
	GOpt, DOpt *models.AdamW
	EMA        *models.EMA
	sn         *spectral // nil without spectral normalisation

	gen                *models.Machine // z → fakes
	fakeOut            *models.Node
	dStep              *models.Machine // real, fake → hinge loss
	dReal, dFake       *models.Node
	gStep              *models.Machine // z → −mean D(G(z))
	gScores            *models.Node
	samplers           map[samplerKey]*sampler
	real, fake, zBatch []float32
	realY, fakeY       []float32 // class indices of a conditional GAN's batch
}

type samplerKey struct {
	p     *models.Params
	batch int
}

type sampler struct {
	m   *models.Machine
	out *models.Node
}

var _ train.Trainee = (*Trainer)(nil)

// NewTrainer compiles the three graphs for the config's batch size.
func NewTrainer(net *Networks) (*Trainer, error) {
	c := net.Config
	n := c.Batch
	t := &Trainer{Net: net, samplers: map[samplerKey]*sampler{},
		real: make([]float32, n*c.Dim()), fake: make([]float32, n*c.Dim()), zBatch: make([]float32, n*c.ZDim),
		realY: make([]float32, n), fakeY: make([]float32, n)}
	dp := net.DP // the discriminator weights the graphs read
	if c.SpectralNorm {
		t.sn = newSpectral(net.DP, 0)
		dp = t.sn.norm
	}
	var err error
	if t.gen, t.fakeOut, err = net.genGraph(net.GP, n); err != nil {
		return nil, err
	}

	// Discriminator step.
	g := models.NewGraph(dp)
	real := g.Input("real", n, c.InChannels, c.Size, c.Size)
	fake := g.Input("fake", n, c.InChannels, c.Size, c.Size)
	realY, fakeY := classInput(g, "real_class", n, c), classInput(g, "fake_class", n, c)
	if t.dReal, err = net.D.Fwd(g, real, realY); err != nil {
		return nil, err
	}
	if t.dFake, err = net.D.Fwd(g, fake, fakeY); err != nil {
		return nil, err
	}
	o := &ops{g: g}
	dLoss := o.apply2(gorgonia.Add, o.hingeTerm(t.dReal, -1), o.hingeTerm(t.dFake, +1))
	if err := o.Err(); err != nil {
		return nil, err
	}
	if t.dStep, err = g.Compile(dLoss); err != nil {
		return nil, err
	}

	// Generator step: G over GP, then D over DP, in one graph.
	g = models.NewGraph(net.GP, dp)
	z := g.Input("z", n, c.ZDim)
	y := classInput(g, "class", n, c)
	x, err := net.G.Fwd(g, z, y)
	if err != nil {
		return nil, err
	}
	t.gScores, err = net.D.Fwd(g, x, y)
	if err != nil {
		return nil, err
	}
	o = &ops{g: g}
	gLoss := o.apply(gorgonia.Neg, o.apply(meanAll, t.gScores))
	if err := o.Err(); err != nil {
		return nil, err
	}
	if t.gStep, err = g.Compile(gLoss); err != nil {
		return nil, err
	}

	t.GOpt = newAdam(c.LR, c)
	t.DOpt = newAdam(c.DLR, c)
	t.EMA = models.NewEMA(net.GP, c.EMA)
	return t, nil
}

func newAdam(lr float64, c Config) *models.AdamW {
	a := models.NewAdamW(lr, 0)
	a.Beta1, a.Beta2 = c.Beta1, c.Beta2
	return a
}

// classInput is the class-index input of a conditional GAN's graph, nil
// for an unconditional one.
func classInput(g *models.Graph, name string, batch int, c Config) *models.Node {
	if c.Classes == 0 {
		return nil
	}
	return g.Input(name, batch)
}

// setClasses feeds class indices to a conditional GAN's input.
func setClasses(m *models.Machine, name string, dst []float32, classes []int, c Config) error {
	if c.Classes == 0 {
		return nil
	}
	for i, k := range classes {
		dst[i] = float32(k)
	}
	return m.Set(name, dst)
}

// genGraph is the generator's forward pass over weights p for a batch.
func (n *Networks) genGraph(p *models.Params, batch int) (*models.Machine, *models.Node, error) {
	g := models.NewGraph(p)
	z := g.Input("z", batch, n.Config.ZDim)
	out, err := n.G.Fwd(g, z, classInput(g, "class", batch, n.Config))
	if err != nil {
		return nil, nil, err
	}
	m, err := g.Compile(nil)
	return m, out, err
}

func (t *Trainer) Family() string          { return Family }
func (t *Trainer) Config() any             { return t.Net.Config }
func (t *Trainer) Weights() *models.Params { return t.EMA.Shadow }

// Step does one discriminator update on the batch against fakes from
// fresh z, then one generator update on another fresh z (both from rng).
// "loss" is the generator's loss; "d_loss" the discriminator's hinge loss
// and "d_acc" the share of real scores > 0 and fake scores < 0, both
// measured before its update.
func (t *Trainer) Step(ctx context.Context, step int, b datasets.Batch, rng *rand.Rand) (map[string]float64, error) {
	if len(b.X) != len(t.real) {
		return nil, fmt.Errorf("gan: batch of %d values, the graph takes %d", len(b.X), len(t.real))
	}
	for i, v := range b.X {
		t.real[i] = 2*v - 1
	}
	c := t.Net.Config
	if c.Classes > 0 && len(b.Labels) != c.Batch {
		return nil, fmt.Errorf("gan: a class-conditional GAN needs labelled data")
	}
	// Discriminator: fakes of uniformly drawn classes.
	if t.sn != nil {
		t.sn.refresh(true)
	}
	normals(rng, t.zBatch)
	fakeClasses := t.drawClasses(rng)
	if err := t.gen.Set("z", t.zBatch); err != nil {
		return nil, err
	}
	if err := setClasses(t.gen, "class", t.fakeY, fakeClasses, c); err != nil {
		return nil, err
	}
	if err := t.gen.Run(); err != nil {
		return nil, err
	}
	copy(t.fake, t.fakeOut.Value().Data().([]float32))
	if err := t.dStep.Set("real", t.real); err != nil {
		return nil, err
	}
	if err := t.dStep.Set("fake", t.fake); err != nil {
		return nil, err
	}
	if err := setClasses(t.dStep, "real_class", t.realY, b.Labels, c); err != nil {
		return nil, err
	}
	if err := setClasses(t.dStep, "fake_class", t.fakeY, fakeClasses, c); err != nil {
		return nil, err
	}
	if err := t.dStep.Run(); err != nil {
		return nil, err
	}
	dLoss := t.dStep.Loss()
	acc := accuracy(t.dReal.Value().Data().([]float32), t.dFake.Value().Data().([]float32))
	grads, err := t.dStep.Grads()
	if err != nil {
		return nil, err
	}
	if t.sn != nil {
		t.sn.rawGrads(grads)
	}
	if err := t.DOpt.Update(t.Net.DP, grads); err != nil {
		return nil, err
	}
	t.dStep.ZeroGrads()
	if t.sn != nil {
		t.sn.refresh(false) // the generator step sees the updated D
	}

	// Generator.
	normals(rng, t.zBatch)
	if err := t.gStep.Set("z", t.zBatch); err != nil {
		return nil, err
	}
	if err := setClasses(t.gStep, "class", t.fakeY, t.drawClasses(rng), c); err != nil {
		return nil, err
	}
	if err := t.gStep.Run(); err != nil {
		return nil, err
	}
	gLoss := t.gStep.Loss()
	grads, err = t.gStep.Grads()
	if err != nil {
		return nil, err
	}
	// grads holds the discriminator's too; Update reads only GP's names.
	if err := t.GOpt.Update(t.Net.GP, grads); err != nil {
		return nil, err
	}
	t.gStep.ZeroGrads()
	t.EMA.Update(t.Net.GP)
	return map[string]float64{"loss": gLoss, "d_loss": dLoss, "d_acc": acc}, nil
}

// drawClasses draws a batch of uniform classes for a conditional GAN's
// fakes (nil, drawing nothing, for an unconditional one).
func (t *Trainer) drawClasses(rng *rand.Rand) []int {
	c := t.Net.Config
	if c.Classes == 0 {
		return nil
	}
	y := make([]int, c.Batch)
	for i := range y {
		y[i] = rng.IntN(c.Classes)
	}
	return y
}

func normals(rng *rand.Rand, z []float32) {
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
}

func accuracy(real, fake []float32) float64 {
	right := 0
	for _, s := range real {
		if s > 0 {
			right++
		}
	}
	for _, s := range fake {
		if s < 0 {
			right++
		}
	}
	return float64(right) / float64(len(real)+len(fake))
}

// Checkpoint state names: the raw weights and Adam moments of each player
// under "gen." and "disc.", and each Adam's step count in the metadata.
const (
	genPrefix     = "gen."
	discPrefix    = "disc."
	keyGenAdam    = "genlab.gan.g_adam_step"
	keyDiscAdam   = "genlab.gan.d_adam_step"
	adamMomentsM  = "adam.m."
	adamMomentsV  = "adam.v."
	rawWeightsKey = "model."
	snPrefix      = "disc.sn."
)

// State is both players' raw weights and both optimizers' moments; the
// generator's EMA is the weights file itself.
func (t *Trainer) State() ([]checkpoint.Tensor, map[string]string) {
	ts := optState(nil, genPrefix, t.Net.GP, t.GOpt)
	ts = optState(ts, discPrefix, t.Net.DP, t.DOpt)
	if t.sn != nil {
		for _, n := range t.sn.names {
			ts = append(ts, checkpoint.F64(snPrefix+"u."+n, []int{len(t.sn.u[n])}, t.sn.u[n]),
				checkpoint.F64(snPrefix+"v."+n, []int{len(t.sn.v[n])}, t.sn.v[n]))
		}
	}
	return ts, map[string]string{keyGenAdam: strconv.Itoa(t.GOpt.Step), keyDiscAdam: strconv.Itoa(t.DOpt.Step)}
}

func optState(ts []checkpoint.Tensor, prefix string, p *models.Params, o *models.AdamW) []checkpoint.Tensor {
	ts = append(ts, p.Tensors(prefix+rawWeightsKey)...)
	for _, n := range p.Names() {
		if m, ok := o.M[n]; ok {
			shape := []int(p.Get(n).Shape())
			ts = append(ts, checkpoint.F32(prefix+adamMomentsM+n, shape, m), checkpoint.F32(prefix+adamMomentsV+n, shape, o.V[n]))
		}
	}
	return ts
}

// Restore loads what State and Weights wrote.
func (t *Trainer) Restore(weights, state *checkpoint.File) error {
	if err := optRestore(state, genPrefix, keyGenAdam, t.Net.GP, t.GOpt); err != nil {
		return err
	}
	if err := optRestore(state, discPrefix, keyDiscAdam, t.Net.DP, t.DOpt); err != nil {
		return err
	}
	if t.sn != nil {
		for _, n := range t.sn.names {
			for _, x := range []struct {
				key string
				dst []float64
			}{{snPrefix + "u." + n, t.sn.u[n]}, {snPrefix + "v." + n, t.sn.v[n]}} {
				tv, ok := state.Get(x.key)
				if !ok {
					return &checkpoint.FormatError{File: state.Path, Reason: "no spectral-norm vector " + x.key}
				}
				vals, err := tv.Float64s()
				if err != nil || len(vals) != len(x.dst) {
					return &checkpoint.FormatError{File: state.Path, Reason: "spectral-norm vector " + x.key + " does not fit the model"}
				}
				copy(x.dst, vals)
			}
		}
		t.sn.refresh(false)
	}
	return t.EMA.Shadow.Load(weights, "")
}

func optRestore(f *checkpoint.File, prefix, key string, p *models.Params, o *models.AdamW) error {
	if err := p.Load(f, prefix+rawWeightsKey); err != nil {
		return err
	}
	step, err := strconv.Atoi(f.Metadata[key])
	if err != nil {
		return &checkpoint.FormatError{File: f.Path, Reason: "no " + key}
	}
	o.Step = step
	o.M, o.V = map[string][]float32{}, map[string][]float32{}
	for _, n := range p.Names() {
		m, okM := f.Get(prefix + adamMomentsM + n)
		v, okV := f.Get(prefix + adamMomentsV + n)
		if !okM || !okV {
			if step > 0 {
				return &checkpoint.FormatError{File: f.Path, Reason: "no Adam moments for " + prefix + n}
			}
			continue
		}
		mv, err1 := m.Float32s()
		vv, err2 := v.Float32s()
		if err1 != nil || err2 != nil || len(mv) != p.Get(n).Shape().TotalSize() || len(vv) != len(mv) {
			return &checkpoint.FormatError{File: f.Path, Reason: fmt.Sprintf("Adam moments of %s%s do not fit the model", prefix, n)}
		}
		o.M[n], o.V[n] = mv, vv
	}
	return nil
}

// Sample draws n images from the EMA generator; image i's z comes from
// noise.RNG(seed+i), so an image depends only on its own seed. Pixels
// are NCHW in [0,1].
func (t *Trainer) Sample(ctx context.Context, n int, seed uint64) ([]float32, int, int, int, error) {
	c := t.Net.Config
	pix, err := t.Net.generate(ctx, t.Weights(), Seeds(seed, n), t.Net.GridClasses(n), t.samplers)
	return pix, c.InChannels, c.Size, c.Size, err
}
