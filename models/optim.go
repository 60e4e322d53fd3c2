package models

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter, 2019);
// WeightDecay 0 makes it PyTorch's Adam. Its moments are kept per parameter
// name so they can be saved beside the weights and restored exactly.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Step                               int // updates done
	M, V                               map[string][]float32
}

// NewAdamW has PyTorch's defaults (betas 0.9, 0.999; eps 1e-8).
func NewAdamW(lr, weightDecay float64) *AdamW {
	return &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay,
		M: map[string][]float32{}, V: map[string][]float32{}}
}

// Update applies one step to every parameter that has a gradient.
func (o *AdamW) Update(p *Params, grads map[string]*tensor.Dense) error {
	o.Step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Step))
	for _, name := range p.Names() {
		gt, ok := grads[name]
		if !ok {
			continue
		}
		w := p.Get(name)
		n := w.Shape().TotalSize()
		if gt.Shape().TotalSize() != n {
			return fmt.Errorf("models: gradient of %s has %d values, want %d", name, gt.Shape().TotalSize(), n)
		}
		m, v := o.M[name], o.V[name]
		if m == nil {
			m, v = make([]float32, n), make([]float32, n)
			o.M[name], o.V[name] = m, v
		}
		var err error
		switch wd := w.Data().(type) {
		case []float32:
			adamw(o, wd, gt.Data().([]float32), m, v, bc1, bc2)
		case []float64:
			adamw(o, wd, gt.Data().([]float64), m, v, bc1, bc2)
		default:
			err = fmt.Errorf("models: parameter %s of dtype %v", name, w.Dtype())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func adamw[T Float](o *AdamW, w, g []T, m, v []float32, bc1, bc2 float64) {
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	lr, eps := o.LR, o.Eps
	decay := T(1 - o.LR*o.WeightDecay)
	step := T(lr / bc1)
	sq := 1 / math.Sqrt(bc2)
	for i := range w {
		gi := float32(g[i])
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		w[i] = w[i]*decay - step*T(float64(m[i])/(math.Sqrt(float64(v[i]))*sq+eps))
	}
}

// ClipGradNorm scales all gradients down so their global L2 norm is at most
// maxNorm (PyTorch's clip_grad_norm_), and returns the norm before clipping.
func ClipGradNorm(grads map[string]*tensor.Dense, maxNorm float64) float64 {
	var ss float64
	for _, g := range grads {
		switch d := g.Data().(type) {
		case []float32:
			for _, x := range d {
				ss += float64(x) * float64(x)
			}
		case []float64:
			for _, x := range d {
				ss += x * x
			}
		}
	}
	norm := math.Sqrt(ss)
	if maxNorm > 0 && norm > maxNorm {
		s := maxNorm / (norm + 1e-6)
		for _, g := range grads {
			switch d := g.Data().(type) {
			case []float32:
				for i := range d {
					d[i] *= float32(s)
				}
			case []float64:
				for i := range d {
					d[i] *= s
				}
			}
		}
	}
	return norm
}

// EMA is an exponential moving average of a model's weights; samples are
// drawn from it because it is smoother than the last step's weights.
type EMA struct {
	Decay  float64
	Shadow *Params
}

// NewEMA starts the average at the current weights.
func NewEMA(p *Params, decay float64) *EMA { return &EMA{Decay: decay, Shadow: p.Clone()} }

// Update moves the shadow toward p: s = d·s + (1−d)·p.
func (e *EMA) Update(p *Params) {
	for _, name := range p.Names() {
		switch w := p.Get(name).Data().(type) {
		case []float32:
			s := e.Shadow.Get(name).Data().([]float32)
			d := float32(e.Decay)
			for i := range s {
				s[i] = d*s[i] + (1-d)*w[i]
			}
		case []float64:
			s := e.Shadow.Get(name).Data().([]float64)
			for i := range s {
				s[i] = e.Decay*s[i] + (1-e.Decay)*w[i]
			}
		}
	}
}
