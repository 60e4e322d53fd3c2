package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"

	"genlab/diffusion"
	"genlab/flow"
	"genlab/gan"
	"genlab/vae"
)

// Each family's side of the pipeline: its knobs and how it draws one
// batch. The batch loop, the seeds and the parameters are the pipeline's.

type diffusionFamily struct{ net *diffusion.Network }

func (f *diffusionFamily) knobs() Knobs { return diffusionKnobs(f.net) }

// check refuses a super-resolution model and tries the prompt's words on
// the tokenizer.
func (f *diffusionFamily) check(r Request) error {
	if f.net.Config.Cond == "lowres" {
		return fmt.Errorf("a super-resolution model draws from a low-resolution image (tasks.SuperRes), not from noise alone")
	}
	if r.Prompt == "" {
		return nil
	}
	if _, err := f.net.Tokenize(r.Prompt); err != nil {
		return fmt.Errorf("prompt: %w", err)
	}
	return nil
}

func (f *diffusionFamily) work(r Request, _ int) int { return r.Steps }

func (f *diffusionFamily) draw(ctx context.Context, r Request, seeds []uint64, classes []int, step func(int, []float32) error) ([]float32, error) {
	net := f.net
	o := diffusion.GenerateOptions{Seeds: seeds, Sampler: r.Sampler, Steps: r.Steps, Eta: r.Eta, Guidance: r.Guidance, Batch: len(seeds),
		Subseeds: r.Subseeds, SubseedStrength: r.SubseedStrength,
		Progress: func(done, _ int, preview []float32) error { return step(done, preview) }}
	if net.Classes() > 0 {
		o.Classes = make([]int, len(seeds))
		for i := range o.Classes {
			o.Classes[i] = net.NullClass()
			if classes != nil && classes[i] != NoClass {
				o.Classes[i] = classes[i]
			}
		}
	}
	if r.Prompt != "" {
		o.Prompts = make([]string, len(seeds))
		for i := range o.Prompts {
			o.Prompts[i] = r.Prompt
		}
	}
	if r.First != nil {
		o.First = make([][]float32, len(seeds))
		for i := range o.First {
			o.First[i] = r.First
		}
	}
	return net.Generate(ctx, net.Params, o)
}

// bitsPerDim is the variational bound of the unconditional model the
// network also is, estimated with o.Terms terms per image.
func (f *diffusionFamily) bitsPerDim(ctx context.Context, pix []float32, n int, o BitsPerDimOptions) (float64, string, error) {
	net := f.net
	if o.Terms < 1 {
		return 0, "", fmt.Errorf("pipeline: %d terms of the variational bound: want at least 1", o.Terms)
	}
	x := make([]float32, len(pix))
	diffusion.ToModelRange(x, pix)
	var classes []int
	if net.Classes() > 0 {
		classes = make([]int, n)
		for i := range classes {
			classes[i] = net.NullClass()
		}
	}
	b, err := net.Sched.BitsPerDim(ctx, net.EpsModel(net.Params, classes), x, n, net.Dim(), rand.New(rand.NewPCG(o.Seed, 99)), o.Terms)
	return b, fmt.Sprintf("variational bound, %d-term unbiased estimate", o.Terms), err
}

type ganFamily struct{ net *gan.Networks }

func (f *ganFamily) knobs() Knobs {
	c := f.net.Config
	return Knobs{Family: gan.Family, Channels: c.InChannels, Size: c.Size, Classes: c.Classes}
}

func (f *ganFamily) work(_ Request, b int) int { return b }

func (f *ganFamily) draw(ctx context.Context, _ Request, seeds []uint64, classes []int, step func(int, []float32) error) ([]float32, error) {
	pix, err := f.net.GenerateSeeds(ctx, f.net.GP, seeds, classes)
	if err != nil {
		return nil, err
	}
	return pix, step(len(seeds), pix)
}

type vaeFamily struct{ net *vae.Network }

func (f *vaeFamily) knobs() Knobs {
	c := f.net.Config
	return Knobs{Family: vae.Family, Channels: c.InChannels, Size: c.Size, Temperature: true,
		Defaults: Defaults{Temperature: c.SampleTemperature()}}
}

func (f *vaeFamily) work(_ Request, b int) int { return b }

func (f *vaeFamily) draw(ctx context.Context, r Request, seeds []uint64, _ []int, step func(int, []float32) error) ([]float32, error) {
	pix, err := f.net.SampleSeeds(f.net.Params, seeds, r.Temperature)
	if err != nil {
		return nil, err
	}
	return pix, step(len(seeds), pix)
}

// bitsPerDim is the importance-weighted bound with o.K samples, in
// chunks of 100 images, each with its own noise, so memory stays small.
func (f *vaeFamily) bitsPerDim(ctx context.Context, pix []float32, n int, o BitsPerDimOptions) (float64, string, error) {
	net := f.net
	if o.K < 1 {
		return 0, "", fmt.Errorf("pipeline: %d importance samples: want at least 1", o.K)
	}
	const chunk = 100
	sum := 0.0
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return 0, "", err
		}
		hi := min(n, lo+chunk)
		b, err := net.BitsPerDim(net.Params, pix[lo*net.Dim():hi*net.Dim()], o.K, o.Seed+uint64(lo))
		if err != nil {
			return 0, "", err
		}
		sum += b * float64(hi-lo)
	}
	return sum / float64(n), fmt.Sprintf("importance-weighted bound, K=%d", o.K), nil
}

// flowFamily draws at the request's temperature. The flow's graph cache
// wants one Generate at a time.
type flowFamily struct{ net *flow.Network }

func (f *flowFamily) knobs() Knobs {
	c := f.net.Config
	return Knobs{Family: flow.Family, Channels: c.InChannels, Size: c.Size, Temperature: true,
		Defaults: Defaults{Temperature: c.SampleTemperature()}}
}

func (f *flowFamily) work(_ Request, b int) int { return b }

func (f *flowFamily) draw(ctx context.Context, r Request, seeds []uint64, _ []int, step func(int, []float32) error) ([]float32, error) {
	pix, err := f.net.SampleSeeds(ctx, f.net.Params, seeds, r.Temperature)
	if err != nil {
		return nil, err
	}
	return pix, step(len(seeds), pix)
}

// bitsPerDim is the flow's exact bits/dim, in chunks of 200 images with
// their own dequantisation noise so that it can stop between them.
func (f *flowFamily) bitsPerDim(ctx context.Context, pix []float32, n int, o BitsPerDimOptions) (float64, string, error) {
	net := f.net
	const chunk = 200
	sum := 0.0
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return 0, "", err
		}
		hi := min(n, lo+chunk)
		b, err := net.BitsPerDim(net.Params, pix[lo*net.Dim():hi*net.Dim()], o.Seed+uint64(lo))
		if err != nil {
			return 0, "", fmt.Errorf("flow bits/dim: %w", err)
		}
		sum += b * float64(hi-lo)
	}
	return sum / float64(n), "exact, one dequantisation per image", nil
}
