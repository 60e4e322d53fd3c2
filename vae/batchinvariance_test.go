package vae

import (
	"slices"
	"testing"

	"genlab/models"
)

// Image i is the same pixels drawn alone, in any batch and on any number of
// workers (make test runs this under every OpenBLAS kernel the CPU has).
func TestSampleBatchInvariant(t *testing.T) {
	net, err := NewNetwork(testConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{40, 41, 42, 43, 44, 45, 46}
	gen := func(workers int, idx []int) []float32 {
		var s []uint64
		for _, i := range idx {
			s = append(s, seeds[i])
		}
		old := models.SetWorkers(workers)
		defer models.SetWorkers(old)
		pix, err := net.SampleSeeds(net.Params, s)
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
