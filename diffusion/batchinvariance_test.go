package diffusion

import (
	"context"
	"slices"
	"testing"

	"genlab/models"
)

// Image i of a run is the same pixels whether it is drawn alone, in a
// batch of any size or at any position, and on any number of workers: the
// README's promise, which make test checks under every OpenBLAS kernel the
// CPU can run (tests named BatchInvariant).
func TestGenerateBatchInvariant(t *testing.T) {
	t.Logf("BLAS: %s; kernels: %s", models.BLASName, models.KernelISA)
	classes, err := NewConfig("tiny", 1, 16, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	text, err := NewConfig("tiny", 3, 16, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := text.SetCaptions([]string{"a small red circle", "a large blue square at the top"}); err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{40, 41, 42, 43, 44}
	for _, c := range []struct {
		name string
		cfg  Config
		o    GenerateOptions
	}{
		{"class, DDPM, guidance 2", classes, GenerateOptions{Classes: []int{3, 1, 4, 1, 5}, Sampler: "ddpm", Guidance: 2}},
		{"class, DDIM, guidance 1", classes, GenerateOptions{Classes: []int{0, 9, 2, 6, 5}, Sampler: "ddim", Guidance: 1}},
		{"text, DPM-Solver++, guidance 3", text, GenerateOptions{Prompts: []string{"a small red circle", "", "a large blue square",
			"a red square at the top", "a small red circle"}, Sampler: "dpmpp2m", Guidance: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.T = 100
			net, err := NewNetwork(c.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			dim := net.Dim()
			gen := func(workers, batch int, idx []int) []float32 {
				o := c.o
				o.Steps, o.Batch, o.Seeds = 4, batch, nil
				o.Classes, o.Prompts = nil, nil
				for _, i := range idx {
					o.Seeds = append(o.Seeds, seeds[i])
					if c.o.Classes != nil {
						o.Classes = append(o.Classes, c.o.Classes[i])
					}
					if c.o.Prompts != nil {
						o.Prompts = append(o.Prompts, c.o.Prompts[i])
					}
				}
				var out []float32
				withWorkers(workers, func() {
					out, err = net.Generate(context.Background(), net.Params, o)
				})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			all := gen(2, 5, []int{0, 1, 2, 3, 4})
			if slices.Equal(all[:dim], all[dim:2*dim]) {
				t.Fatal("two seeds gave one image")
			}
			for _, run := range []struct {
				workers, batch int
				idx            []int
			}{
				{1, 5, []int{0, 1, 2, 3, 4}},
				{2, 2, []int{0, 1, 2, 3, 4}},
				{1, 1, []int{4, 3}},
				{2, 3, []int{2, 0, 3}},
			} {
				got := gen(run.workers, run.batch, run.idx)
				for j, i := range run.idx {
					if !slices.Equal(got[j*dim:(j+1)*dim], all[i*dim:(i+1)*dim]) {
						t.Errorf("image of seed %d differs with %d workers, batch %d, at position %d of %v",
							seeds[i], run.workers, run.batch, j, run.idx)
					}
				}
			}
		})
	}
}

func withWorkers(w int, f func()) {
	old := models.SetWorkers(w)
	defer models.SetWorkers(old)
	f()
}
