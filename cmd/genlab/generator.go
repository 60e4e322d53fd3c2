package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/flow"
	"genlab/gan"
	"genlab/images"
	"genlab/models"
	"genlab/vae"

	"github.com/urfave/cli/v2"
)

// noClass asks a class-conditional model for an image of no class in
// particular (diffusion's null class); unconditional models take only it.
const noClass = -1

// generator is a trained model of any family as sample, eval, batch and
// compare drive it: its images, their PNG settings and its likelihood.
type generator struct {
	family, ckpt   string
	step           int
	channels, size int
	classes        int  // > 0: class-conditional with classes 0..classes-1
	anyClass       bool // the model also draws images of no class (noClass)
	// draw makes one image per seed, image i from its own noise seeded
	// seeds[i] (so it is the same image at any batch size) and of class
	// classes[i] (noClass for none; classes is nil for an unconditional
	// model). progress, if not nil, is called as work gets done.
	draw func(ctx context.Context, seeds []uint64, classes []int, progress func(done, total int)) ([]float32, error)
	// settings are what a PNG's parameters chunk records of one image.
	settings func(seed uint64, class int) images.Parameters
	// bpd is the model's bits/dim on images (pixels in [0,1], taken as
	// 8-bit), with a line saying which bound or estimate it is; nil for a
	// family without a likelihood.
	bpd func(ctx context.Context, pix []float32, n int, seed uint64) (float64, string, error)
}

// samplerFlags are the sampling flags only diffusion has.
var samplerFlags = []string{"steps", "sampler", "eta", "guidance"}

// loadGenerator opens a checkpoint of any family that draws images. c's
// sampling flags (--steps, --sampler, --eta, --guidance, --bpd-k) set how.
func loadGenerator(c *cli.Context, verb, ckpt string) (*generator, error) {
	meta, err := models.ReadMeta(ckpt, "")
	if err != nil {
		return nil, err
	}
	fam, step := meta.Family, meta.Step
	// compare gives its sampler flags to the diffusion models among its
	// checkpoints; elsewhere a flag the family has no use for is an error.
	if fam != diffusion.Family && verb != "compare" {
		for _, f := range samplerFlags {
			if c.IsSet(f) {
				return nil, userErrorf("%s: --%s: %s is a %s checkpoint; that flag is diffusion's", verb, f, ckpt, fam)
			}
		}
	}
	if fam != flow.Family && c.IsSet("temperature") {
		return nil, userErrorf("%s: --temperature: %s is a %s checkpoint; that flag is the flow's", verb, ckpt, fam)
	}
	hash, err := images.ModelHash(ckpt)
	if err != nil {
		return nil, err
	}
	base := images.Parameters{Model: strings.TrimSuffix(filepath.Base(ckpt), ".safetensors"), ModelHash: hash, Family: fam}
	g := &generator{family: fam, ckpt: ckpt, step: step}
	switch fam {
	case diffusion.Family:
		return diffusionGenerator(c, g, base)
	case flow.Family:
		return flowGenerator(c, verb, g, base)
	case gan.Family:
		net, err := gan.LoadNetworks(ckpt)
		if err != nil {
			return nil, err
		}
		cfg := net.Config
		g.channels, g.size, g.classes = cfg.InChannels, cfg.Size, cfg.Classes
		g.draw = func(ctx context.Context, seeds []uint64, classes []int, progress func(int, int)) ([]float32, error) {
			if classes != nil && cfg.Classes > 0 {
				for _, k := range classes {
					if k == noClass {
						return nil, userErrorf("%s: %s is class-conditional: ask for a class from 0 to %d", verb, ckpt, cfg.Classes-1)
					}
				}
			}
			pix, err := net.GenerateSeeds(ctx, net.GP, seeds, classes)
			if err == nil && progress != nil {
				progress(len(seeds), len(seeds))
			}
			return pix, err
		}
	case vae.Family:
		net, err := vae.LoadNetwork(ckpt)
		if err != nil {
			return nil, err
		}
		cfg := net.Config
		g.channels, g.size = cfg.InChannels, cfg.Size
		g.draw = func(ctx context.Context, seeds []uint64, _ []int, progress func(int, int)) ([]float32, error) {
			out := make([]float32, 0, len(seeds)*net.Dim())
			for lo := 0; lo < len(seeds); lo += 64 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				pix, err := net.SampleSeeds(net.Params, seeds[lo:min(len(seeds), lo+64)])
				if err != nil {
					return nil, err
				}
				out = append(out, pix...)
				if progress != nil {
					progress(min(len(seeds), lo+64), len(seeds))
				}
			}
			return out, nil
		}
		k := c.Int("bpd-k")
		g.bpd = func(ctx context.Context, pix []float32, n int, seed uint64) (float64, string, error) {
			// In chunks, each with its own noise, so memory stays small.
			const chunk = 100
			sum := 0.0
			for lo := 0; lo < n; lo += chunk {
				if err := ctx.Err(); err != nil {
					return 0, "", err
				}
				hi := min(n, lo+chunk)
				b, err := net.BitsPerDim(net.Params, pix[lo*net.Dim():hi*net.Dim()], k, seed+uint64(lo))
				if err != nil {
					return 0, "", err
				}
				sum += b * float64(hi-lo)
			}
			return sum / float64(n), fmt.Sprintf("importance-weighted bound, K=%d", k), nil
		}
	default:
		return nil, userErrorf("%s: %s is a %q checkpoint, not a generator (diffusion, vae, flow or gan)", verb, ckpt, fam)
	}
	g.settings = func(seed uint64, class int) images.Parameters {
		p := base
		p.Seed, p.Width, p.Height = int64(seed), g.size, g.size
		if class >= 0 {
			p.Prompt = fmt.Sprintf("class %d", class)
			p.Extra = append(p.Extra, images.Field{Key: "Class", Value: strconv.Itoa(class)})
		}
		return p
	}
	return g, nil
}

// diffusionGenerator drives a diffusion checkpoint with c's sampler flags.
func diffusionGenerator(c *cli.Context, g *generator, base images.Parameters) (*generator, error) {
	net, err := diffusion.LoadNetwork(g.ckpt)
	if err != nil {
		return nil, err
	}
	u := net.Config.UNet
	g.channels, g.size, g.classes, g.anyClass = u.InChannels, u.Size, net.Classes(), true
	if net.Config.Cond == "lowres" {
		return nil, userErrorf("%s is a super-resolution model: it draws from a low-resolution image, use 'genlab superres'", g.ckpt)
	}
	prompt, prompts, err := promptFlag(c, net)
	if err != nil {
		return nil, err
	}
	batch := c.Int("batch")
	if batch < 1 {
		batch = 16
	}
	g.draw = func(ctx context.Context, seeds []uint64, classes []int, progress func(int, int)) ([]float32, error) {
		var cs []int
		if net.Classes() > 0 {
			cs = make([]int, len(seeds))
			for i := range cs {
				cs[i] = net.NullClass()
				if classes != nil && classes[i] != noClass {
					cs[i] = classes[i]
				}
			}
		}
		return net.Generate(ctx, net.Params, diffusion.GenerateOptions{
			Seeds: seeds, Classes: cs, Prompts: prompts(len(seeds)), Sampler: c.String("sampler"), Steps: c.Int("steps"),
			Eta: c.Float64("eta"), Guidance: c.Float64("guidance"), Batch: batch,
			Progress: func(done, total int, _ []float32) error {
				if progress != nil {
					progress(done, total)
				}
				return nil
			},
		})
	}
	g.settings = func(seed uint64, class int) images.Parameters {
		p := sampleParameters(c, g.ckpt, base.ModelHash, seed, class, u.Size)
		if prompt != "" {
			p.Prompt = prompt
		}
		return p
	}
	terms := c.Int("bpd-terms")
	g.bpd = func(ctx context.Context, pix []float32, n int, seed uint64) (float64, string, error) {
		x := make([]float32, len(pix))
		diffusion.ToModelRange(x, pix)
		var classes []int
		if net.Classes() > 0 {
			// The bound of the unconditional model the network also is.
			classes = make([]int, n)
			for i := range classes {
				classes[i] = net.NullClass()
			}
		}
		b, err := net.Sched.BitsPerDim(ctx, net.EpsModel(net.Params, classes), x, n, net.Dim(), rand.New(rand.NewPCG(seed, 99)), terms)
		return b, fmt.Sprintf("variational bound, %d-term unbiased estimate", terms), err
	}
	return g, nil
}

// classesFor turns --class into per-image classes for g: "" gives every
// class in equal blocks (image i gets ⌊i·K/n⌋, so 100 images in a
// 10-column grid have one row per digit), "none" no class, a number that
// class for all. nil for an unconditional model.
func (g *generator) classesFor(verb, s string, n int) ([]int, error) {
	k := g.classes
	if k == 0 {
		if s != "" && s != "none" {
			return nil, userErrorf("%s: --class %s: %s is unconditional", verb, s, g.ckpt)
		}
		return nil, nil
	}
	out := make([]int, n)
	switch {
	case s == "":
		for i := range out {
			out[i] = i * k / n
		}
	case s == "none":
		if !g.anyClass {
			return nil, userErrorf("%s: --class none: %s only draws classes 0 to %d", verb, g.ckpt, k-1)
		}
		for i := range out {
			out[i] = noClass
		}
	default:
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v >= k {
			or := ""
			if g.anyClass {
				or = ", or none"
			}
			return nil, userErrorf("%s: --class %s: want a class from 0 to %d%s", verb, s, k-1, or)
		}
		for i := range out {
			out[i] = v
		}
	}
	return out, nil
}

// seedsFrom are n consecutive seeds from seed: image i's is seed+i.
func seedsFrom(seed uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = seed + uint64(i)
	}
	return s
}
