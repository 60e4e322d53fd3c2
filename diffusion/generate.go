package diffusion

import (
	"context"
	"fmt"

	"genlab/models"
)

// GenerateOptions says what to draw; zero fields take the defaults.
type GenerateOptions struct {
	N        int       // images
	Seed     uint64    // image i's noise comes from seed+i alone
	First    int       // index of the first image (for a batch split over processes)
	Seeds    []uint64  // each image's own seed; overrides Seed and First
	Sampler  string    // ddpm, ddim (default) or dpmpp2m
	Steps    int       // sampler steps (default 50)
	Eta      float64   // DDIM's η
	Guidance float64   // classifier-free guidance scale; ≤1 means none
	Classes  []int     // per image, for a class-conditional network (nil: unconditional)
	Prompts  []string  // per image, for a text network ("" or nil: the null prompt)
	LowRes   []float32 // for a lowres network: per image its LowResCondition (Dim values in [-1,1])
	Batch    int       // images per forward pass (default 16); never changes the result
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
	if (o.Seeds != nil && len(o.Seeds) != o.N) || (o.Classes != nil && len(o.Classes) != o.N) || (o.Prompts != nil && len(o.Prompts) != o.N) {
		return nil, fmt.Errorf("diffusion: %d images but %d seeds, %d classes and %d prompts", o.N, len(o.Seeds), len(o.Classes), len(o.Prompts))
	}
	cond, err := n.generateCondition(o)
	if err != nil {
		return nil, err
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
		model := n.CondModel(p, cond.slice(lo, hi, dim))
		var guide *Guidance
		if null, ok := n.NullCondition(b); ok && o.Guidance > 1 && (n.Classes() > 0 || n.text != nil) {
			guide = &Guidance{Scale: o.Guidance, Uncond: n.CondModel(p, null)}
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

// generateCondition is the condition of all o.N images: classes (the null
// class by default), tokenized prompts (the null prompt by default) or the
// low-resolution images, which a lowres model cannot do without.
func (n *Network) generateCondition(o GenerateOptions) (Condition, error) {
	c, _ := n.NullCondition(o.N)
	switch {
	case n.Classes() > 0:
		if o.Classes != nil {
			c.Classes = o.Classes
		}
		for _, k := range c.Classes {
			if k < 0 || k > n.NullClass() {
				return c, fmt.Errorf("diffusion: class %d: this model knows classes 0 to %d", k, n.Classes()-1)
			}
		}
	case n.text != nil:
		for i, s := range o.Prompts {
			ids, err := n.Tokenize(s)
			if err != nil {
				return c, err
			}
			c.Tokens[i] = ids
		}
	case n.Config.Cond == "lowres":
		if len(o.LowRes) != o.N*n.Dim() {
			return c, fmt.Errorf("diffusion: a super-resolution model needs a low-resolution image per image: %d values for %d images of %d", len(o.LowRes), o.N, n.Dim())
		}
		c.LowRes = o.LowRes
	}
	if n.Classes() == 0 {
		for _, k := range o.Classes {
			if k != n.NullClass() {
				return c, fmt.Errorf("diffusion: class %d: this %s model has no classes", k, condName(n.Config.Cond))
			}
		}
	}
	if n.text == nil && o.Prompts != nil {
		for _, s := range o.Prompts {
			if s != "" {
				return c, fmt.Errorf("diffusion: this %s model takes no prompt", condName(n.Config.Cond))
			}
		}
	}
	return c, nil
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
