package tasks

import (
	"context"
	"image"
	"slices"
	"testing"

	"genlab/diffusion"
	"genlab/images"
	"genlab/models"
)

func withWorkers(w int, f func()) {
	old := models.SetWorkers(w)
	defer models.SetWorkers(old)
	f()
}

// The tasks keep the promise of sampling: an image's result is the same
// whatever it shares a network pass with and however many workers run
// (make test runs this under every OpenBLAS kernel the CPU has).
func TestTasksBatchInvariant(t *testing.T) {
	ctx := context.Background()
	t.Run("inpaint", func(t *testing.T) {
		net := tinyNet(t, 1, 8)
		const n, dim = 3, 64
		known, mask := partlyKnown(n, dim, 24)
		o := RepaintOptions{Steps: 5, Jump: 2, Resample: 2}
		var all []float32
		var err error
		withWorkers(2, func() {
			all, err = Repaint(ctx, net, Class(2), 2, known, mask, n, diffusion.ImageRNGs(5, 0, n), o, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			var one []float32
			withWorkers(1, func() {
				one, err = Repaint(ctx, net, Class(2), 2, known[i*dim:(i+1)*dim], mask[i*dim:(i+1)*dim], 1, diffusion.ImageRNGs(5, i, 1), o, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(one, all[i*dim:(i+1)*dim]) {
				t.Errorf("image %d inpainted alone on one worker differs from the batch of %d on two", i, n)
			}
		}
	})
	t.Run("superres", func(t *testing.T) {
		net := tinyLowRes(t, 1, 28, 2, 4)
		rgb := image.NewNRGBA(image.Rect(0, 0, 17, 9))
		for i := range rgb.Pix {
			rgb.Pix[i] = uint8(i * 13)
		}
		run := func(workers, batch int) []float32 {
			var out image.Image
			var err error
			withWorkers(workers, func() {
				out, err = SuperRes(ctx, SuperResParams{Net: net, Image: rgb, Scale: 2, Steps: 3, Seed: 9, Batch: batch})
			})
			if err != nil {
				t.Fatal(err)
			}
			return images.ToFloats(out, 1)
		}
		want := run(2, 16)
		for _, c := range [][2]int{{1, 1}, {2, 3}, {1, 16}} {
			if !slices.Equal(run(c[0], c[1]), want) {
				t.Errorf("%d workers, %d tiles a pass: the image differs", c[0], c[1])
			}
		}
	})
}
