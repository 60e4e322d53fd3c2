package flow

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"genlab/models"
)

// Image i is the same pixels drawn alone, in any batch and on any number of
// workers (make test runs this under every OpenBLAS kernel the CPU has).
func TestSampleBatchInvariant(t *testing.T) {
	net, err := NewNetwork(tinyConfig(8), 3)
	if err != nil {
		t.Fatal(err)
	}
	// Perturb the weights: the last conv of each coupling starts at zero,
	// which would make the couplings trivially the same in any batch.
	rng := rand.New(rand.NewPCG(7, 8))
	bufs := map[string]bool{}
	for _, b := range net.buffers() {
		bufs[b] = true
	}
	for _, name := range net.Params.Names() {
		if bufs[name] {
			continue
		}
		v := net.Params.Float32s(name)
		for i := range v {
			v[i] += float32(0.1 * rng.NormFloat64())
		}
		if err := net.Params.SetFloat32s(name, v); err != nil {
			t.Fatal(err)
		}
	}
	seeds := []uint64{40, 41, 42, 43, 44, 45, 46}
	gen := func(workers int, idx []int) []float32 {
		var s []uint64
		for _, i := range idx {
			s = append(s, seeds[i])
		}
		old := models.SetWorkers(workers)
		defer models.SetWorkers(old)
		pix, err := net.SampleSeeds(context.Background(), net.Params, s, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		return pix
	}
	dim := net.Dim()
	all := gen(2, []int{0, 1, 2, 3, 4, 5, 6})
	if slices.Equal(all[:dim], all[dim:2*dim]) {
		t.Fatal("two seeds gave one image")
	}
	for _, run := range []struct {
		workers int
		idx     []int
	}{{1, []int{0, 1, 2, 3, 4, 5, 6}}, {1, []int{6}}, {2, []int{5, 2, 0}}, {2, []int{3}}} {
		got := gen(run.workers, run.idx)
		for j, i := range run.idx {
			if !slices.Equal(got[j*dim:(j+1)*dim], all[i*dim:(i+1)*dim]) {
				t.Errorf("image of seed %d differs with %d workers at position %d of %v", seeds[i], run.workers, j, run.idx)
			}
		}
	}
}
