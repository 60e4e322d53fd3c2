package gan

import (
	"context"
	"fmt"

	"genlab/internal/noise"
	"genlab/models"
)

// Sampling: the generator alone, over any weights, image i's z from
// noise.RNG of its own seed. The trainer's grids and pipeline use it.

// GridClasses are the classes of an n-image grid of a conditional GAN,
// in equal runs (one row per class for n = 10·Classes); nil if
// unconditional.
func (n *Networks) GridClasses(count int) []int {
	k := n.Config.Classes
	if k == 0 {
		return nil
	}
	y := make([]int, count)
	for i := range y {
		y[i] = i * k / count
	}
	return y
}

// Generate runs the generator over weights p (its own Params or an EMA of
// them) for count images, z of image i from noise.RNG(seed+i), in batches of
// at most 64, and returns NCHW pixels in [0,1]. A conditional generator
// makes the classes asked (one per image); nil gives every class in turn,
// GridClasses(count).
func (n *Networks) Generate(ctx context.Context, p *models.Params, count int, seed uint64, classes []int) ([]float32, error) {
	return n.generate(ctx, p, Seeds(seed, count), classes, nil)
}

// GenerateSeeds is Generate for images with seeds of their own: image i's z
// comes from noise.RNG(seeds[i]) alone, so it is the image Generate makes at seed+i.
func (n *Networks) GenerateSeeds(ctx context.Context, p *models.Params, seeds []uint64, classes []int) ([]float32, error) {
	return n.generate(ctx, p, seeds, classes, nil)
}

// Seeds are the seeds of count images from seed: seed, seed+1, ...
func Seeds(seed uint64, count int) []uint64 { return noise.Seeds(seed, count) }

// generate is GenerateSeeds keeping compiled graphs in cache (nil: none kept).
func (n *Networks) generate(ctx context.Context, p *models.Params, seeds []uint64, classes []int, cache map[samplerKey]*sampler) ([]float32, error) {
	c := n.Config
	count := len(seeds)
	if count < 1 {
		return nil, fmt.Errorf("gan: generate %d images: need at least one", count)
	}
	if c.Classes > 0 {
		if classes == nil {
			classes = n.GridClasses(count)
		}
		if len(classes) != count {
			return nil, fmt.Errorf("gan: %d classes for %d images", len(classes), count)
		}
		for _, k := range classes {
			if k < 0 || k >= c.Classes {
				return nil, fmt.Errorf("gan: class %d: the model has classes 0 to %d", k, c.Classes-1)
			}
		}
	}
	pix := make([]float32, count*c.Dim())
	const maxBatch = 64
	for lo := 0; lo < count; lo += maxBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := min(maxBatch, count-lo)
		key := samplerKey{p, b}
		s := cache[key]
		if s == nil {
			m, out, err := n.genGraph(p, b)
			if err != nil {
				return nil, err
			}
			s = &sampler{m, out}
			if cache != nil {
				cache[key] = s
			}
		}
		z := make([]float32, b*c.ZDim)
		for i := 0; i < b; i++ {
			noise.Normal(z[i*c.ZDim:(i+1)*c.ZDim], noise.RNG(seeds[lo+i]))
		}
		if err := s.m.Set("z", z); err != nil {
			return nil, err
		}
		if c.Classes > 0 {
			if err := setClasses(s.m, "class", make([]float32, b), classes[lo:lo+b], c); err != nil {
				return nil, err
			}
		}
		if err := s.m.Run(); err != nil {
			return nil, err
		}
		for i, v := range s.out.Value().Data().([]float32) {
			pix[lo*c.Dim()+i] = min(1, max(0, (v+1)/2))
		}
	}
	return pix, nil
}
