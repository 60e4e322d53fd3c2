package tasks

import (
	"context"
	"fmt"
	"image"
	"slices"

	"genlab/diffusion"
	"genlab/images"

	"github.com/disintegration/imaging"
)

// Super-resolution with a diffusion model conditioned on the bicubic
// upsampling of the low-resolution image (SR3, Saharia et al. 2021,
// "Image Super-Resolution via Iterative Refinement"): genlab train
// diffusion --cond lowres trains it, and the result is a sample of
// p(x | bicubic(low)), drawn here with DDPM by default (see
// DefaultSuperResSampler).
//
// The model sees Size×Size tiles. An image whose upscaled size is not
// exactly that is handled as one canvas of its own size (scale times the
// input's), padded to at least a tile with the colour of its border, and
// covered by tiles that overlap by half: at every step each tile's ε̂ is
// predicted and overlapping predictions are averaged (MultiDiffusion, Bar-Tal
// et al. 2023), so the tiles agree and no seam shows.

// MaxSuperResSide is the largest output side SuperRes makes: the work
// grows with the number of tiles, (side/(Size/2))² of them.
const MaxSuperResSide = 1024

// DefaultSuperResSampler draws super-resolved images
// (diffusion.SuperResSampler, where the measurements are).
const DefaultSuperResSampler = diffusion.SuperResSampler

// SuperResParams is one super-resolution job on a user's image.
type SuperResParams struct {
	Net      *diffusion.Network // a lowres model (genlab train diffusion --cond lowres)
	Image    image.Image        // the low-resolution image, any size, grey or colour
	Scale    int                // the factor, one of the model's (Config.Scales); 0: the model's largest
	Steps    int                // sampler steps (50)
	Sampler  string             // ddpm (DefaultSuperResSampler), ddim or dpmpp2m
	Seed     uint64             // the noise's seed
	Batch    int                // tiles per network pass (16)
	Progress func(done, total int)
}

// SuperRes upscales p.Image by p.Scale and returns the result, of scale
// times the input's width and height, in the model's channels (grey for an
// MNIST model, RGB for shapes).
func SuperRes(ctx context.Context, p SuperResParams) (image.Image, error) {
	net := p.Net
	if net == nil || net.Config.Cond != "lowres" {
		return nil, fmt.Errorf("tasks: super-resolution needs a super-resolution model (conditioned on low-resolution images)")
	}
	scales := net.Config.Scales
	if p.Scale == 0 {
		p.Scale = slices.Max(scales)
	}
	if !slices.Contains(scales, p.Scale) {
		return nil, fmt.Errorf("tasks: scale %d: this model was trained to upscale by %s; train one at scale %d", p.Scale, joinInts(scales), p.Scale)
	}
	if p.Steps == 0 {
		p.Steps = 50
	}
	if p.Sampler == "" {
		p.Sampler = DefaultSuperResSampler
	}
	if p.Batch <= 0 {
		p.Batch = 16
	}
	b := p.Image.Bounds()
	w, h := b.Dx()*p.Scale, b.Dy()*p.Scale
	if b.Dx() < 1 || b.Dy() < 1 {
		return nil, fmt.Errorf("tasks: the image is empty (%dx%d)", b.Dx(), b.Dy())
	}
	if w > MaxSuperResSide || h > MaxSuperResSide {
		return nil, fmt.Errorf("tasks: the image is %dx%d, and %dx larger would be %dx%d; the largest output is %dx%d, crop or shrink the input first",
			b.Dx(), b.Dy(), p.Scale, w, h, MaxSuperResSide, MaxSuperResSide)
	}
	u := net.Config.UNet
	src := imaging.Clone(p.Image)
	up := diffusion.Upscale(src, w, h)
	cv := newCanvas(w, h, u.Size)
	pad := borderColor(src)
	full := imaging.New(cv.w, cv.h, pad)
	full = imaging.Paste(full, up, image.Pt(0, 0))
	cond := images.ToFloats(full, u.InChannels)
	diffusion.ToModelRange(cond, cond)
	x, err := cv.sample(ctx, net, cond, u.InChannels, p)
	if err != nil {
		return nil, err
	}
	if cv.w == w && cv.h == h {
		return images.FromFloats(x, u.InChannels, h, w), nil
	}
	out := make([]float32, 0, u.InChannels*h*w)
	for ch := range u.InChannels {
		for y := range h {
			out = append(out, x[ch*cv.h*cv.w+y*cv.w:][:w]...)
		}
	}
	return images.FromFloats(out, u.InChannels, h, w), nil
}

// canvas is the tiling of a w×h image (padded to at least a tile) by
// tiles of side s that overlap by half.
type canvas struct {
	w, h, s int
	tiles   []image.Point // top-left corners
}

func newCanvas(w, h, s int) canvas {
	c := canvas{w: max(w, s), h: max(h, s), s: s}
	for _, y := range tileStarts(c.h, s) {
		for _, x := range tileStarts(c.w, s) {
			c.tiles = append(c.tiles, image.Pt(x, y))
		}
	}
	return c
}

// tileStarts are the offsets of tiles of side s covering n ≥ s pixels,
// s/2 apart, the last one flush with the end.
func tileStarts(n, s int) []int {
	var out []int
	for o := 0; ; o += s / 2 {
		if o+s >= n {
			return append(out, n-s)
		}
		out = append(out, o)
	}
}

// crop copies the c×s×s tile at p of the c×h×w canvas x into dst.
func (cv canvas) crop(dst, x []float32, c int, p image.Point) {
	s := cv.s
	for ch := range c {
		for y := range s {
			copy(dst[ch*s*s+y*s:][:s], x[ch*cv.h*cv.w+(p.Y+y)*cv.w+p.X:][:s])
		}
	}
}

// sample runs p.Sampler over the whole canvas: its ε̂ is the average of
// the tiles' predictions where they overlap.
func (cv canvas) sample(ctx context.Context, net *diffusion.Network, cond []float32, c int, p SuperResParams) ([]float32, error) {
	s, n := cv.s, len(cv.tiles)
	dim := c * s * s
	// One model per batch of tiles, each with its tiles' conditions.
	var models []diffusion.Model
	for lo := 0; lo < n; lo += p.Batch {
		hi := min(n, lo+p.Batch)
		lc := make([]float32, (hi-lo)*dim)
		for i := lo; i < hi; i++ {
			cv.crop(lc[(i-lo)*dim:], cond, c, cv.tiles[i])
		}
		models = append(models, net.CondModel(net.Params, diffusion.Condition{LowRes: lc}))
	}
	count := make([]float32, cv.h*cv.w)
	for _, t := range cv.tiles {
		for y := range s {
			for x := range s {
				count[(t.Y+y)*cv.w+t.X+x]++
			}
		}
	}
	model := func(ctx context.Context, x []float32, ts []int, eps []float32) error {
		clear(eps)
		for k, m := range models {
			lo := k * p.Batch
			hi := min(n, lo+p.Batch)
			xt := make([]float32, (hi-lo)*dim)
			for i := lo; i < hi; i++ {
				cv.crop(xt[(i-lo)*dim:], x, c, cv.tiles[i])
			}
			tt := make([]int, hi-lo)
			for i := range tt {
				tt[i] = ts[0]
			}
			e := make([]float32, len(xt))
			if err := m(ctx, xt, tt, e); err != nil {
				return err
			}
			for i := lo; i < hi; i++ {
				t := cv.tiles[i]
				for ch := range c {
					for y := range s {
						row := eps[ch*cv.h*cv.w+(t.Y+y)*cv.w+t.X:][:s]
						for x, v := range e[(i-lo)*dim+ch*s*s+y*s:][:s] {
							row[x] += v
						}
					}
				}
			}
		}
		plane := cv.h * cv.w
		for i := range eps {
			eps[i] /= count[i%plane]
		}
		return nil
	}
	sampler, err := diffusion.NewSampler(p.Sampler, net.Sched, p.Steps, 0)
	if err != nil {
		return nil, err
	}
	rngs := diffusion.ImageRNGs(p.Seed, 0, 1)
	x := make([]float32, c*cv.h*cv.w)
	diffusion.InitialNoise(x, rngs, len(x))
	err = diffusion.Sample(ctx, model, sampler, x, 1, len(x), rngs, nil, func(step, total int, _ []float32) error {
		if p.Progress != nil {
			p.Progress(step, total)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	diffusion.ToPixels(x, x)
	return x, nil
}

func joinInts(v []int) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " or "
		}
		s += fmt.Sprint(x)
	}
	return s
}
