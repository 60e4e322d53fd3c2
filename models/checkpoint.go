package models

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strconv"

	"genlab/checkpoint"
	"genlab/internal/memory"

	"gorgonia.org/tensor"
)

// Tensors returns every parameter as a float32 checkpoint tensor, its name
// prefixed (prefix "" for the weights a model loads, "ema." and the like
// for training state).
func (p *Params) Tensors(prefix string) []checkpoint.Tensor {
	out := make([]checkpoint.Tensor, 0, len(p.names))
	for _, n := range p.Names() {
		out = append(out, checkpoint.F32(prefix+n, []int(p.Get(n).Shape()), p.Float32s(n)))
	}
	return out
}

// Load overwrites every parameter from f's tensors named prefix+name. The
// shapes must match exactly; a missing tensor is an error naming it.
func (p *Params) Load(f *checkpoint.File, prefix string) error {
	for _, n := range p.Names() {
		t, ok := f.Get(prefix + n)
		if !ok {
			return &checkpoint.FormatError{File: f.Path, Reason: "no tensor " + prefix + n + " (a checkpoint of another model?)"}
		}
		want := []int(p.Get(n).Shape())
		if !equalInts(t.Shape, want) {
			return &checkpoint.FormatError{File: f.Path, Reason: fmt.Sprintf("tensor %s%s has shape %v, the model wants %v", prefix, n, t.Shape, want)}
		}
		v, err := t.Float32s()
		if err != nil {
			return &checkpoint.FormatError{File: f.Path, Reason: fmt.Sprintf("tensor %s%s: %v", prefix, n, err)}
		}
		if i, x, ok := firstNonFinite(v); ok {
			return &checkpoint.FormatError{File: f.Path, Reason: fmt.Sprintf("tensor %q holds a non-finite value (element %d is %v): the weights are corrupt or training diverged", prefix+n, i, x)}
		}
		if err := p.SetFloat32s(n, v); err != nil {
			return err
		}
	}
	return nil
}

// firstNonFinite finds the first NaN or ±Inf of v.
func firstNonFinite(v []float32) (int, float32, bool) {
	for i, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return i, x, true
		}
	}
	return 0, 0, false
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Meta is what a genlab checkpoint says about itself.
type Meta struct {
	Family string
	Config json.RawMessage // the model's and the run's configuration
	Step   int
	Extra  map[string]string // further metadata, e.g. "genlab.data"
}

// SaveWeights writes a model's weights atomically as a genlab checkpoint:
// safetensors, tensors under their PyTorch names, Meta in __metadata__.
func SaveWeights(path string, p *Params, m Meta) error {
	md := map[string]string{}
	maps.Copy(md, m.Extra)
	md[checkpoint.KeyFamily] = m.Family
	md[checkpoint.KeyConfig] = string(m.Config)
	md[checkpoint.KeyStep] = strconv.Itoa(m.Step)
	md[checkpoint.KeyFormat] = strconv.Itoa(checkpoint.FormatVersion)
	return checkpoint.Save(path, &checkpoint.File{Metadata: md, Tensors: p.Tensors("")})
}

// ReadMeta reads a checkpoint's metadata (without its tensors) and checks
// that it is a genlab checkpoint of the wanted family ("" for any).
func ReadMeta(path, family string) (Meta, error) {
	h, err := checkpoint.ReadHeader(path)
	if err != nil {
		return Meta{}, err
	}
	return metaOf(path, h.Metadata, family)
}

func metaOf(path string, md map[string]string, family string) (Meta, error) {
	f := &checkpoint.File{Path: path, Metadata: md}
	if err := f.CheckFormat(); err != nil {
		return Meta{}, err
	}
	m := Meta{Family: md[checkpoint.KeyFamily], Config: json.RawMessage(md[checkpoint.KeyConfig]), Extra: map[string]string{}}
	if family != "" && m.Family != family {
		return Meta{}, &checkpoint.FormatError{File: path, Reason: fmt.Sprintf("a %q checkpoint, not %q", m.Family, family)}
	}
	if !json.Valid(m.Config) {
		return Meta{}, &checkpoint.FormatError{File: path, Reason: checkpoint.KeyConfig + " is not valid JSON"}
	}
	step, err := strconv.Atoi(md[checkpoint.KeyStep])
	if err != nil || step < 0 {
		return Meta{}, &checkpoint.FormatError{File: path, Reason: fmt.Sprintf("%s is %q, want a step number", checkpoint.KeyStep, md[checkpoint.KeyStep])}
	}
	m.Step = step
	for k, v := range md {
		switch k {
		case checkpoint.KeyFamily, checkpoint.KeyConfig, checkpoint.KeyStep, checkpoint.KeyFormat:
		default:
			m.Extra[k] = v
		}
	}
	return m, nil
}

// LoadWeights reads a checkpoint of the given family into p, which the
// caller built from the checkpoint's config (ReadMeta): the tensors must be
// exactly p's names and shapes.
func LoadWeights(path, family string, p *Params) (Meta, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return Meta{}, err
	}
	m, err := metaOf(path, f.Metadata, family)
	if err != nil {
		return Meta{}, err
	}
	if err := f.CheckShapes(p.Shapes()); err != nil {
		return Meta{}, err
	}
	return m, p.Load(f, "")
}

// OpenConfig is the checked first half of loading a model from a
// checkpoint, done before anything the size of the model is allocated: it
// reads the header (never the data), checks the family and format, parses
// the config (parse validates it: every field within bounds), builds the
// model into a shape-only store (NewShapeParams) with build, checks the
// tensors the config implies against those the header declares, and
// checks that loading the weights fits in memory. A config of 1e9 channels,
// an image size that does not match the weights or a checkpoint of another
// architecture is refused here with one line, in milliseconds.
func OpenConfig[C any](path, family string, parse func(json.RawMessage) (C, error), build func(C, *Params) error) (C, error) {
	var zero C
	h, err := checkpoint.ReadHeader(path)
	if err != nil {
		return zero, err
	}
	meta, err := metaOf(path, h.Metadata, family)
	if err != nil {
		return zero, err
	}
	c, err := parse(meta.Config)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	p := NewShapeParams(tensor.Float32)
	if err := build(c, p); err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	if err := h.CheckShapes(p.Shapes()); err != nil {
		return zero, err
	}
	for _, t := range h.Tensors {
		switch t.DType {
		case "F32", "F64", "F16", "BF16":
		default:
			return zero, &checkpoint.FormatError{File: path, Reason: fmt.Sprintf("tensor %q is %s, want a float tensor (F32, F64, F16 or BF16)", t.Name, t.DType)}
		}
	}
	if err := memory.Check("loading "+path, LoadBytes(h)); err != nil {
		return zero, err
	}
	return c, nil
}

// LoadBytes estimates the peak memory of loading the weights h declares
// (LoadWeights): the file read whole, the float32 parameters and the
// float64 and float32 copies of the largest tensor while it is converted.
func LoadBytes(h *checkpoint.Header) int64 {
	var largest int64
	for _, t := range h.Tensors {
		largest = max(largest, t.NumElements())
	}
	return memory.Add(h.HeaderSize, h.DataSize, memory.Mul(4, h.NumElements()), memory.Mul(12, largest))
}

// ReadConfig reads a checkpoint's genlab.config as a family's config type:
// the first half of rebuilding a model from a checkpoint (build it from the
// config, then LoadWeights). Errors name the file.
func ReadConfig[C any](path, family string, parse func(json.RawMessage) (C, error)) (C, error) {
	var zero C
	meta, err := ReadMeta(path, family)
	if err != nil {
		return zero, err
	}
	c, err := parse(meta.Config)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
