// Package batchtest checks genlab's promise that an image is the same
// values whatever it is drawn with: alone or in a batch of any size, at
// any position, on one worker or two.
package batchtest

import (
	"slices"
	"testing"

	"genlab/models"
)

// Gen draws the images at idx of a test's fixed list (seeds, classes) in
// one call and returns their values, dim per image, in idx's order.
type Gen func(idx []int) []float32

// Check draws all n images on two workers, then subsets in other orders
// and sizes on one worker and two, and fails t for every image whose values
// differ from the first draw, or if two images are the same (a test that
// could not fail).
func Check(t testing.TB, n, dim int, gen Gen) {
	t.Helper()
	draw := func(workers int, idx []int) []float32 {
		old := models.SetWorkers(workers)
		defer models.SetWorkers(old)
		return gen(idx)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	want := draw(2, all)
	if n > 1 && slices.Equal(want[:dim], want[dim:2*dim]) {
		t.Fatal("two images are the same: the check could not fail")
	}
	for _, run := range []struct {
		workers int
		idx     []int
	}{{1, all}, {1, []int{n - 1}}, {2, []int{n - 2, n / 2, 0}}, {2, []int{n / 3}}, {1, []int{1, 0}}} {
		got := draw(run.workers, run.idx)
		for j, i := range run.idx {
			if !slices.Equal(got[j*dim:(j+1)*dim], want[i*dim:(i+1)*dim]) {
				t.Errorf("image %d differs drawn on %d workers at position %d of %v", i, run.workers, j, run.idx)
			}
		}
	}
}
