package gan

import (
	"context"
	"testing"

	"genlab/internal/batchtest"
)

// Image i is the same pixels drawn alone, in any batch and on any number of
// workers (make test runs this under every OpenBLAS kernel the CPU has).
func TestGenerateBatchInvariant(t *testing.T) {
	for _, classes := range []int{0, 10} {
		c := smallConfig()
		c.Classes = classes
		net, err := NewNetworks(c, 3)
		if err != nil {
			t.Fatal(err)
		}
		seeds := []uint64{40, 41, 42, 43, 44, 45, 46}
		labels := []int{3, 1, 4, 1, 5, 9, 2}
		batchtest.Check(t, len(seeds), c.Dim(), func(idx []int) []float32 {
			var s []uint64
			var k []int
			for _, i := range idx {
				s = append(s, seeds[i])
				if classes > 0 {
					k = append(k, labels[i])
				}
			}
			pix, err := net.generate(context.Background(), net.GP, s, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			return pix
		})
	}
}
