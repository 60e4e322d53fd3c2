package models

import (
	"fmt"
	"math"
	"testing"
)

// A training step gives bit-identical gradients every run on one machine,
// on any number of cores: the kernels sum a batch's parts in a fixed order
// whichever worker made them. Checked twice on one machine (so kept buffers do
// not leak between runs) and on a second machine built from scratch.
func TestTrainStepIsDeterministic(t *testing.T) {
	grads := func(s *refStep) map[string][]float32 {
		if err := s.m.Run(); err != nil {
			t.Fatal(err)
		}
		gs, err := s.m.Grads()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{}
		for n, g := range gs {
			out[n] = append([]float32(nil), g.Data().([]float32)...)
		}
		s.m.ZeroGrads()
		return out
	}
	same := func(what string, a, b map[string][]float32) {
		t.Helper()
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("%s: %d and %d gradients", what, len(a), len(b))
		}
		for n, ga := range a {
			gb := b[n]
			for i := range ga {
				if math.Float32bits(ga[i]) != math.Float32bits(gb[i]) {
					t.Fatalf("%s: gradient of %s differs at %d: %g and %g", what, n, i, ga[i], gb[i])
				}
			}
		}
	}
	s1 := newRefStep(t, 6, true)
	first := grads(s1)
	same("second run", first, grads(s1))
	same("second machine", first, grads(newRefStep(t, 6, true)))
	// And on any number of cores: the weight gradients are summed in a
	// fixed number of chunks, not one per worker.
	for _, w := range []int{1, 3} {
		old := SetWorkers(w)
		g := grads(newRefStep(t, 6, true))
		SetWorkers(old)
		same(fmt.Sprintf("%d workers", w), first, g)
	}
}
