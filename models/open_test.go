package models

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"genlab/checkpoint"
	"genlab/internal/memory"

	"gorgonia.org/tensor"
)

// A shape-only store records what a constructor adds, allocating nothing.
func TestShapeParams(t *testing.T) {
	real, shapes := NewParams(tensor.Float32, 1), NewShapeParams(tensor.Float32)
	for _, p := range []*Params{real, shapes} {
		if _, err := NewUNet(p, ReferenceUNet()); err != nil {
			t.Fatal(err)
		}
	}
	if real.Count() != 612_737 || shapes.Count() != real.Count() {
		t.Errorf("Count: real %d, shape-only %d; want 612737", real.Count(), shapes.Count())
	}
	if !slices.Equal(real.Names(), shapes.Names()) || fmt.Sprint(real.Shapes()) != fmt.Sprint(shapes.Shapes()) {
		t.Error("shape-only store differs from the real one")
	}
	if shapes.Get("inc.weight") != nil || !shapes.ShapesOnly() || real.ShapesOnly() {
		t.Error("shape-only store allocated a tensor")
	}
}

// OpenConfig refuses a checkpoint whose weights would not fit in memory,
// with the estimate and the limit in one line.
func TestOpenConfigMemory(t *testing.T) {
	p := NewParams(tensor.Float32, 1)
	NewDense(p, "fc", 64, 64)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := SaveWeights(path, p, Meta{Family: "test", Config: json.RawMessage(`{"dim":64}`), Step: 1}); err != nil {
		t.Fatal(err)
	}
	parse := func(raw json.RawMessage) (int, error) {
		var c struct{ Dim int }
		err := json.Unmarshal(raw, &c)
		return c.Dim, err
	}
	build := func(d int, p *Params) error { NewDense(p, "fc", d, d); return nil }
	if d, err := OpenConfig(path, "test", parse, build); err != nil || d != 64 {
		t.Fatalf("OpenConfig = %d, %v", d, err)
	}
	defer memory.SetLimit(0)
	memory.SetLimit(1000)
	_, err := OpenConfig(path, "test", parse, build)
	if err == nil || !strings.Contains(err.Error(), "loading "+path+" needs about") || !strings.Contains(err.Error(), "--max-memory") {
		t.Errorf("over the limit: %v", err)
	}
}

// OpenConfig refuses integer tensors where weights belong before reading
// any data.
func TestOpenConfigDType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	f := &checkpoint.File{
		Metadata: map[string]string{checkpoint.KeyFamily: "test", checkpoint.KeyConfig: `{"dim":2}`, checkpoint.KeyStep: "1", checkpoint.KeyFormat: "1"},
		Tensors:  []checkpoint.Tensor{checkpoint.I64("fc.weight", []int{2, 2}, make([]int64, 4)), checkpoint.F32("fc.bias", []int{2}, make([]float32, 2))},
	}
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
	parse := func(raw json.RawMessage) (int, error) {
		var c struct{ Dim int }
		err := json.Unmarshal(raw, &c)
		return c.Dim, err
	}
	build := func(d int, p *Params) error { NewDense(p, "fc", d, d); return nil }
	if _, err := OpenConfig(path, "test", parse, build); err == nil || !strings.Contains(err.Error(), `"fc.weight" is I64`) {
		t.Errorf("err = %v", err)
	}
}
