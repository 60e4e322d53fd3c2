package checkpoint

import (
	"fmt"
	"strings"
)

// FormatError reports a file that is not a valid safetensors checkpoint:
// truncated, corrupt, or otherwise not what its header claims.
type FormatError struct {
	File   string // the path as given to Load or ReadHeader; "" for Read and ReadBytes
	Reason string // what is wrong, with the numbers that disagree
}

func (e *FormatError) Error() string {
	if e.File == "" {
		return "checkpoint: " + e.Reason
	}
	return "checkpoint: " + e.File + ": " + e.Reason
}

// ShapeError reports a checkpoint whose tensors do not fit a model: it was
// saved by a different architecture or configuration. See File.CheckShapes.
type ShapeError struct {
	File     string          // File.Path of the checked file, "" if unknown
	Missing  []string        // wanted tensors absent from the file, sorted
	Extra    []string        // tensors in the file that were not wanted, sorted
	Mismatch []ShapeMismatch // tensors present in both with different shapes, sorted by name
}

// ShapeMismatch is one tensor whose shape differs from the one wanted.
type ShapeMismatch struct {
	Name      string
	Want, Got []int
}

// maxListed is how many problems a ShapeError spells out before summarising.
const maxListed = 5

func (e *ShapeError) Error() string {
	var probs []string
	for _, m := range e.Mismatch {
		probs = append(probs, fmt.Sprintf("tensor %q: want shape %v, got %v", m.Name, m.Want, m.Got))
	}
	for _, name := range e.Missing {
		probs = append(probs, fmt.Sprintf("missing tensor %q", name))
	}
	for _, name := range e.Extra {
		probs = append(probs, fmt.Sprintf("unexpected tensor %q", name))
	}
	n := len(probs)
	if n > maxListed {
		probs = append(probs[:maxListed], fmt.Sprintf("and %d more", n-maxListed))
	}
	where := "checkpoint: "
	if e.File != "" {
		where += e.File + ": "
	}
	noun := "problems"
	if n == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("%sweights do not fit the model (was it saved by another architecture or config?): %d %s: %s",
		where, n, noun, strings.Join(probs, "; "))
}
