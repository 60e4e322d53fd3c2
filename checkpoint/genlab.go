package checkpoint

import (
	"fmt"
	"slices"
	"strconv"
)

// FormatVersion is the version of genlab's checkpoint layout written in the
// genlab.format metadata key. Bump it when the meaning of the stored tensors
// or metadata changes incompatibly.
const FormatVersion = 1

// Metadata keys genlab writes in __metadata__. All values are strings, as
// safetensors requires.
const (
	KeyFamily = "genlab.family" // "diffusion", "vae", "flow", "gan" or "classifier"
	KeyConfig = "genlab.config" // JSON of the architecture and training config
	KeyStep   = "genlab.step"   // training step, decimal
	KeyFormat = "genlab.format" // FormatVersion, decimal
)

// CheckFormat checks that f is a genlab checkpoint this version can read: its
// genlab.format is an integer no newer than FormatVersion.
func (f *File) CheckFormat() error {
	v, ok := f.Metadata[KeyFormat]
	if !ok {
		return &FormatError{f.Path, fmt.Sprintf("not a genlab checkpoint: no %s in __metadata__", KeyFormat)}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return &FormatError{f.Path, fmt.Sprintf("%s is %q, want a positive integer", KeyFormat, v)}
	}
	if n > FormatVersion {
		return &FormatError{f.Path, fmt.Sprintf("checkpoint format %d is newer than this genlab reads (%d): upgrade genlab", n, FormatVersion)}
	}
	return nil
}

// CheckShapes checks that f holds exactly the tensors of want, each with the
// wanted shape. It returns nil or a *ShapeError listing every missing,
// unexpected and mis-shaped tensor, so that a checkpoint of another
// architecture is refused with a clear message rather than a panic deep in
// the model. A file that also holds other state (optimizer moments, EMA)
// should be checked on the tensors meant for the model only.
func (f *File) CheckShapes(want map[string][]int) error {
	have := make([]TensorInfo, len(f.Tensors))
	for i, t := range f.Tensors {
		have[i] = TensorInfo{Name: t.Name, Shape: t.Shape}
	}
	return checkShapes(f.Path, have, want)
}

// CheckShapes is File.CheckShapes on a header alone: it checks the tensors
// a model's config implies against the ones the file declares before any
// tensor data is read or any weight is allocated.
func (h *Header) CheckShapes(want map[string][]int) error {
	return checkShapes(h.Path, h.Tensors, want)
}

func checkShapes(path string, tensors []TensorInfo, want map[string][]int) error {
	e := &ShapeError{File: path}
	have := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		have[t.Name] = true
		w, ok := want[t.Name]
		switch {
		case !ok:
			e.Extra = append(e.Extra, t.Name)
		case !slices.Equal(w, t.Shape):
			e.Mismatch = append(e.Mismatch, ShapeMismatch{t.Name, cloneShape(w), cloneShape(t.Shape)})
		}
	}
	for name := range want {
		if !have[name] {
			e.Missing = append(e.Missing, name)
		}
	}
	if len(e.Missing)+len(e.Extra)+len(e.Mismatch) == 0 {
		return nil
	}
	slices.Sort(e.Missing)
	slices.Sort(e.Extra)
	slices.SortFunc(e.Mismatch, func(a, b ShapeMismatch) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return e
}
