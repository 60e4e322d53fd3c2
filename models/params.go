package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gorgonia.org/tensor"
)

// Params is a model's weights by PyTorch-style dotted name
// ("down.0.res.conv1.weight"). Graphs built over one Params share its
// tensors: the optimizer updates them in place and every graph sees it.
type Params struct {
	dtype  tensor.Dtype
	names  []string // in creation order
	byName map[string]*tensor.Dense
	rng    *rand.Rand // for initialisation only
	// shapes is set only in a store made by NewShapeParams: the shape of
	// every parameter added, none of them allocated.
	shapes map[string][]int
}

// NewShapeParams makes a store that records the names and shapes of the
// parameters a model's constructor adds without allocating or initialising
// any of them (Get returns nil): the tensors a config implies, to check a
// checkpoint's header against before anything the size of the model is
// allocated.
func NewShapeParams(dt tensor.Dtype) *Params {
	return &Params{dtype: dt, byName: map[string]*tensor.Dense{}, shapes: map[string][]int{}}
}

// ShapesOnly reports whether p records shapes only (NewShapeParams).
func (p *Params) ShapesOnly() bool { return p.shapes != nil }

// NewParams makes an empty store whose initialisation draws from seed.
func NewParams(dt tensor.Dtype, seed uint64) *Params {
	return &Params{dtype: dt, byName: map[string]*tensor.Dense{}, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// Init says how a new parameter is filled.
type Init func(rng *rand.Rand, data []float64)

// Uniform draws from U(-bound, bound): PyTorch's default for conv and linear
// weights and biases is bound = 1/√fan_in (kaiming_uniform with a=√5).
func Uniform(bound float64) Init {
	return func(rng *rand.Rand, d []float64) {
		for i := range d {
			d[i] = (2*rng.Float64() - 1) * bound
		}
	}
}

// Normal draws from N(0, std²) (nn.Embedding's default with std 1).
func Normal(std float64) Init {
	return func(rng *rand.Rand, d []float64) {
		for i := range d {
			d[i] = std * rng.NormFloat64()
		}
	}
}

// Const fills with one value (GroupNorm's scale 1 and shift 0).
func Const(c float64) Init {
	return func(_ *rand.Rand, d []float64) {
		for i := range d {
			d[i] = c
		}
	}
}

// Add creates a parameter. Names are unique; adding one twice is a bug in
// the model's constructor and panics.
func (p *Params) Add(name string, shape []int, init Init) *tensor.Dense {
	if _, dup := p.byName[name]; dup {
		panic("models: parameter " + name + " added twice")
	}
	if p.shapes != nil {
		if _, dup := p.shapes[name]; dup {
			panic("models: parameter " + name + " added twice")
		}
		p.names = append(p.names, name)
		p.shapes[name] = slices.Clone(shape)
		return nil
	}
	n := tensor.Shape(shape).TotalSize()
	vals := make([]float64, n)
	init(p.rng, vals)
	t := tensor.New(tensor.Of(p.dtype), tensor.WithShape(shape...))
	switch d := t.Data().(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	}
	p.names = append(p.names, name)
	p.byName[name] = t
	return t
}

// Dtype is the element type of every parameter.
func (p *Params) Dtype() tensor.Dtype { return p.dtype }

// Names lists the parameters in sorted order (the order of a checkpoint).
func (p *Params) Names() []string {
	s := slices.Clone(p.names)
	slices.Sort(s)
	return s
}

// Get returns a parameter's tensor, or nil (always nil in a store made by
// NewShapeParams).
func (p *Params) Get(name string) *tensor.Dense { return p.byName[name] }

// Count is the number of scalar weights.
func (p *Params) Count() int {
	n := 0
	for _, s := range p.shapes {
		n += tensor.Shape(s).TotalSize()
	}
	for _, t := range p.byName {
		n += t.Shape().TotalSize()
	}
	return n
}

// Shapes maps each name to its shape, for checking a checkpoint against a model.
func (p *Params) Shapes() map[string][]int {
	m := make(map[string][]int, len(p.byName)+len(p.shapes))
	for n, s := range p.shapes {
		m[n] = slices.Clone(s)
	}
	for n, t := range p.byName {
		m[n] = slices.Clone([]int(t.Shape()))
	}
	return m
}

// Clone copies every tensor (an EMA shadow, a snapshot).
func (p *Params) Clone() *Params {
	q := &Params{dtype: p.dtype, names: slices.Clone(p.names), byName: make(map[string]*tensor.Dense, len(p.byName)), rng: p.rng}
	for n, t := range p.byName {
		q.byName[n] = t.Clone().(*tensor.Dense)
	}
	return q
}

// CopyFrom overwrites every tensor with q's, which must have the same names and shapes.
func (p *Params) CopyFrom(q *Params) error {
	for n, t := range p.byName {
		s, ok := q.byName[n]
		if !ok || !s.Shape().Eq(t.Shape()) {
			return fmt.Errorf("models: parameter %s missing or of another shape", n)
		}
		if err := tensor.Copy(t, s); err != nil {
			return err
		}
	}
	return nil
}

// Float32s returns a parameter's values as float32 (copied if stored as float64).
func (p *Params) Float32s(name string) []float32 {
	switch d := p.byName[name].Data().(type) {
	case []float32:
		return d
	case []float64:
		out := make([]float32, len(d))
		for i, v := range d {
			out[i] = float32(v)
		}
		return out
	}
	return nil
}

// SetFloat32s overwrites a parameter from float32 values of the right count.
func (p *Params) SetFloat32s(name string, v []float32) error {
	t, ok := p.byName[name]
	if !ok {
		return fmt.Errorf("models: no parameter %s", name)
	}
	if t.Shape().TotalSize() != len(v) {
		return fmt.Errorf("models: parameter %s has %d values, got %d", name, t.Shape().TotalSize(), len(v))
	}
	switch d := t.Data().(type) {
	case []float32:
		copy(d, v)
	case []float64:
		for i, x := range v {
			d[i] = float64(x)
		}
	}
	return nil
}

func fanInBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
