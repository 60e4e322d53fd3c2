package train

import (
	"fmt"
	"math"
	"strconv"

	"genlab/checkpoint"
	"genlab/models"

	"gorgonia.org/tensor"
)

// Optimizer is the update most families use: AdamW with linear warm-up
// then a constant or cosine learning rate, global gradient-norm clipping,
// and an EMA of the weights.
type Optimizer struct {
	Adam     *models.AdamW
	BaseLR   float64
	Warmup   int     // steps of linear warm-up from 0
	Cosine   bool    // decay to 0 over Total steps after warm-up
	Total    int     // the run's length, for the cosine decay
	Clip     float64 // max global gradient norm; 0: none
	EMA      *models.EMA
	GradNorm float64 // of the last step, before clipping
}

// LR is the learning rate at a 1-based step.
func (o *Optimizer) LR(step int) float64 {
	if o.Warmup > 0 && step <= o.Warmup {
		return o.BaseLR * float64(step) / float64(o.Warmup)
	}
	if o.Cosine && o.Total > o.Warmup {
		f := float64(step-o.Warmup) / float64(o.Total-o.Warmup)
		return o.BaseLR * 0.5 * (1 + math.Cos(math.Pi*min(f, 1)))
	}
	return o.BaseLR
}

// Apply clips grads, updates p at the step's learning rate and moves the EMA.
func (o *Optimizer) Apply(step int, p *models.Params, grads map[string]*tensor.Dense) error {
	o.GradNorm = models.ClipGradNorm(grads, o.Clip)
	o.Adam.LR = o.LR(step)
	if err := o.Adam.Update(p, grads); err != nil {
		return err
	}
	if o.EMA != nil {
		o.EMA.Update(p)
	}
	return nil
}

// State returns the raw weights ("model.NAME"), Adam's moments
// ("adam.m.NAME", "adam.v.NAME") and its step count: what resuming needs
// beyond the weights file.
func (o *Optimizer) State(p *models.Params) ([]checkpoint.Tensor, map[string]string) {
	ts := p.Tensors("model.")
	for _, n := range p.Names() {
		if m, ok := o.Adam.M[n]; ok {
			shape := []int(p.Get(n).Shape())
			ts = append(ts, checkpoint.F32("adam.m."+n, shape, m), checkpoint.F32("adam.v."+n, shape, o.Adam.V[n]))
		}
	}
	return ts, map[string]string{"genlab.adam_step": strconv.Itoa(o.Adam.Step)}
}

// Restore reads back what State wrote; weights is the inference weights
// file (the EMA when there is one).
func (o *Optimizer) Restore(p *models.Params, weights, state *checkpoint.File) error {
	if err := p.Load(state, "model."); err != nil {
		return err
	}
	step, err := strconv.Atoi(state.Metadata["genlab.adam_step"])
	if err != nil {
		return &checkpoint.FormatError{File: state.Path, Reason: "no genlab.adam_step"}
	}
	o.Adam.Step = step
	for _, n := range p.Names() {
		m, okM := state.Get("adam.m." + n)
		v, okV := state.Get("adam.v." + n)
		if !okM || !okV {
			if step > 0 {
				return &checkpoint.FormatError{File: state.Path, Reason: "no Adam moments for " + n}
			}
			continue
		}
		mv, err1 := m.Float32s()
		vv, err2 := v.Float32s()
		if err1 != nil || err2 != nil || len(mv) != p.Get(n).Shape().TotalSize() || len(vv) != len(mv) {
			return &checkpoint.FormatError{File: state.Path, Reason: fmt.Sprintf("Adam moments of %s do not fit the model", n)}
		}
		o.Adam.M[n], o.Adam.V[n] = mv, vv
	}
	if o.EMA != nil {
		return o.EMA.Shadow.Load(weights, "")
	}
	return nil
}
