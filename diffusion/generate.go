package diffusion

import (
	"context"
	"fmt"

	"genlab/models"
)

// GenerateOptions says what to draw; zero fields take the defaults.
type GenerateOptions struct {
	N        int      // images
	Seed     uint64   // image i's noise comes from seed+i alone
	First    int      // index of the first image (for a batch split over processes)
	Seeds    []uint64 // each image's own seed; overrides Seed and First
	Sampler  string   // ddpm, ddim (default) or dpmpp2m
	Steps    int      // sampler steps (default 50)
	Eta      float64  // DDIM's η
	Guidance float64  // classifier-free guidance scale; ≤1 means none
	Classes  []int    // per image, for a class-conditional network (nil: unconditional)
	Batch    int      // images per forward pass (default 16); never changes the result
	// Progress is called after every sampler step of every batch with the
	// batch's current predicted clean images (pixels in [0,1]); returning
	// an error stops generation.
	Progress func(done, total int, preview []float32) error
}

// Generate draws o.N images from the network with weights p and returns
// their pixels (NCHW, [0,1]).
func (n *Network) Generate(ctx context.Context, p *models.Params, o GenerateOptions) ([]float32, error) {
	if o.Sampler == "" {
		o.Sampler = "ddim"
	}
	if o.Steps == 0 {
		o.Steps = 50
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.N < 1 {
		return nil, fmt.Errorf("diffusion: asked for %d images", o.N)
	}
	if n.Classes() > 0 && o.Classes == nil {
		o.Classes = make([]int, o.N)
		for i := range o.Classes {
			o.Classes[i] = n.NullClass()
		}
	}
	if (o.Seeds != nil && len(o.Seeds) != o.N) || (o.Classes != nil && len(o.Classes) != o.N) {
		return nil, fmt.Errorf("diffusion: %d images but %d seeds and %d classes", o.N, len(o.Seeds), len(o.Classes))
	}
	for _, k := range o.Classes {
		if k < 0 || k > n.NullClass() {
			return nil, fmt.Errorf("diffusion: class %d: this model knows classes 0 to %d", k, n.Classes()-1)
		}
	}
	dim := n.Dim()
	out := make([]float32, o.N*dim)
	total := ((o.N + o.Batch - 1) / o.Batch) * o.Steps
	done := 0
	for lo := 0; lo < o.N; lo += o.Batch {
		hi := min(o.N, lo+o.Batch)
		b := hi - lo
		s, err := NewSampler(o.Sampler, n.Sched, o.Steps, o.Eta)
		if err != nil {
			return nil, err
		}
		rngs := ImageRNGs(o.Seed, o.First+lo, b)
		if o.Seeds != nil {
			for i := range rngs {
				rngs[i] = ImageRNG(o.Seeds[lo+i])
			}
		}
		x := make([]float32, b*dim)
		InitialNoise(x, rngs, dim)
		var classes []int
		if o.Classes != nil {
			classes = o.Classes[lo:hi]
		}
		model := n.EpsModel(p, classes)
		var guide *Guidance
		if o.Guidance > 1 && n.Classes() > 0 {
			null := make([]int, b)
			for i := range null {
				null[i] = n.NullClass()
			}
			guide = &Guidance{Scale: o.Guidance, Uncond: n.EpsModel(p, null)}
		}
		cb := func(step, _ int, x0 []float32) error {
			done++
			if o.Progress == nil {
				return nil
			}
			prev := make([]float32, len(x0))
			ToPixels(prev, x0)
			return o.Progress(done, total, prev)
		}
		if err := Sample(ctx, model, s, x, b, dim, rngs, guide, cb); err != nil {
			return nil, err
		}
		ToPixels(out[lo*dim:hi*dim], x)
	}
	return out, nil
}

// GridClasses gives n images classes in rows: image i gets class ⌊i·k/n⌋,
// so a 100-image grid of 10 columns has one row per digit.
func GridClasses(n, k int) []int {
	c := make([]int, n)
	for i := range c {
		c[i] = i * k / n
	}
	return c
}
