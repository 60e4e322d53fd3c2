package gan

import (
	"context"
	"slices"
	"testing"

	"genlab/models"
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
		var labels []int
		if classes > 0 {
			labels = []int{3, 1, 4, 1, 5, 9, 2}
		}
		gen := func(workers int, idx []int) []float32 {
			var s []uint64
			var k []int
			for _, i := range idx {
				s = append(s, seeds[i])
				if labels != nil {
					k = append(k, labels[i])
				}
			}
			old := models.SetWorkers(workers)
			defer models.SetWorkers(old)
			pix, err := net.generate(context.Background(), net.GP, s, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			return pix
		}
		dim := c.Dim()
		all := gen(2, []int{0, 1, 2, 3, 4, 5, 6})
		for _, run := range []struct {
			workers int
			idx     []int
		}{{1, []int{0, 1, 2, 3, 4, 5, 6}}, {1, []int{6}}, {2, []int{5, 2, 0}}, {2, []int{3}}} {
			got := gen(run.workers, run.idx)
			for j, i := range run.idx {
				if !slices.Equal(got[j*dim:(j+1)*dim], all[i*dim:(i+1)*dim]) {
					t.Errorf("classes %d: image of seed %d differs with %d workers at position %d of %v",
						classes, seeds[i], run.workers, j, run.idx)
				}
			}
		}
	}
}
