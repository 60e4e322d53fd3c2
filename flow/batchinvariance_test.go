package flow

import (
	"context"
	"math/rand/v2"
	"testing"

	"genlab/internal/batchtest"
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
	batchtest.Check(t, len(seeds), net.Dim(), func(idx []int) []float32 {
		var s []uint64
		for _, i := range idx {
			s = append(s, seeds[i])
		}
		pix, err := net.SampleSeeds(context.Background(), net.Params, s, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		return pix
	})
}
