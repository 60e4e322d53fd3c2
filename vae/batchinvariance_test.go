package vae

import (
	"testing"

	"genlab/internal/batchtest"
)

// Image i is the same pixels drawn alone, in any batch and on any number of
// workers (make test runs this under every OpenBLAS kernel the CPU has).
func TestSampleBatchInvariant(t *testing.T) {
	net, err := NewNetwork(testConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{40, 41, 42, 43, 44, 45, 46}
	batchtest.Check(t, len(seeds), net.Dim(), func(idx []int) []float32 {
		var s []uint64
		for _, i := range idx {
			s = append(s, seeds[i])
		}
		pix, err := net.SampleSeeds(net.Params, s, 1)
		if err != nil {
			t.Fatal(err)
		}
		return pix
	})
}
