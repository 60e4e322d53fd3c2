package tasks

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"genlab/diffusion"
)

// Image editing by SDEdit (Meng et al. 2022, "SDEdit: Guided Image
// Synthesis and Editing with Stochastic Differential Equations"): the
// input x0 is diffused to the level t0 = strength·T,
//
//	x_{t0} = √ᾱ_{t0} x0 + √(1−ᾱ_{t0}) ε,
//
// which keeps its coarse layout and drowns its details, and the reverse
// process is run from there to 0 under the new condition (a class, with
// classifier-free guidance). Strength 0 returns the input; strength 1
// starts from (almost) pure noise and ignores it. With a sampler of Steps
// steps, a strength s runs the last round(s·Steps) of them, as diffusers'
// img2img pipeline does.

// EditOptions are the sampler settings of an edit; zero fields take the
// network's defaults (diffusion.DefaultsFor its conditioning, the table
// pipeline.Knobs read).
type EditOptions struct {
	Steps   int     // sampler steps for strength 1 (50)
	Sampler string  // one of diffusion.Samplers (DDIM for classes, DDPM for text)
	Eta     float64 // DDIM's η
}

func (o EditOptions) withDefaults(cond string) EditOptions {
	d := diffusion.DefaultsFor(cond)
	if o.Steps == 0 {
		o.Steps = d.Steps
	}
	if o.Sampler == "" {
		o.Sampler = d.Sampler
	}
	return o
}

// editStart is the first of steps steps that an edit of strength s runs.
func editStart(steps int, s float64) int {
	k := max(1, int(math.Round(s*float64(steps))))
	return steps - min(k, steps)
}

// SDEdit re-draws x0, n images of dim values in the model's range [−1, 1],
// at strength s in (0, 1] under cond (guided at scale guidance). Image j's
// noise comes from rngs[j] alone. progress, if not nil, is told the
// sampler steps done and due.
func SDEdit(ctx context.Context, net *diffusion.Network, cond Condition, guidance float64, x0 []float32, n int, strength float64, rngs []*rand.Rand, o EditOptions, progress func(done, total int)) ([]float32, error) {
	if net == nil {
		return nil, fmt.Errorf("tasks: edit: no network")
	}
	if !(strength > 0 && strength <= 1) {
		return nil, fmt.Errorf("tasks: strength %g: want more than 0 and at most 1 (0 keeps the input, 1 ignores it)", strength)
	}
	o = o.withDefaults(net.Config.Cond)
	if o.Steps < 1 || o.Steps > net.Sched.T {
		return nil, fmt.Errorf("tasks: %d edit steps: want 1 to %d", o.Steps, net.Sched.T)
	}
	dim := net.Dim()
	if n < 1 || len(x0) != n*dim || len(rngs) != n {
		return nil, fmt.Errorf("tasks: edit: %d values and %d rngs for %d images of %d", len(x0), len(rngs), n, dim)
	}
	den, err := newDenoiser(net, cond, n, guidance)
	if err != nil {
		return nil, err
	}
	s, err := diffusion.NewSampler(o.Sampler, net.Sched, o.Steps, o.Eta)
	if err != nil {
		return nil, err
	}
	start := editStart(o.Steps, strength)
	t0 := s.Timesteps()[start]
	eps := make([]float32, len(x0))
	gaussian(eps, rngs)
	x := make([]float32, len(x0))
	ts := make([]int, n)
	for j := range ts {
		ts[j] = t0
	}
	net.Sched.AddNoise(x, x0, eps, ts, dim)
	var cb func(step, total int, _ []float32) error
	if progress != nil {
		cb = func(step, total int, _ []float32) error {
			progress(step, total)
			return nil
		}
	}
	if err := diffusion.SampleFrom(ctx, den.eps, s, start, x, n, dim, rngs, nil, cb); err != nil {
		return nil, err
	}
	return x, nil
}

// EditParams is one edit of a user's image.
type EditParams struct {
	Net      *diffusion.Network
	Image    image.Image // any size; fitted into the model's frame
	Strength float64     // in (0, 1]: how much of the image is redrawn
	Cond     Condition   // what to turn it into: a class (or, for a text model, a prompt)
	// Guidance is the classifier-free guidance scale: 1 is the conditional
	// model alone, 0 the unconditional one (diffusion.Guidance). Its zero
	// value is 0.
	Guidance float64
	EditOptions
	Seed     uint64
	Progress func(done, total int) // sampler steps done and due; may be nil
}

// Edit redraws p.Image under p.Cond at p.Strength and returns the result
// at the image's own size (the model's output resized back).
func Edit(ctx context.Context, p EditParams) (image.Image, error) {
	if p.Net == nil {
		return nil, fmt.Errorf("tasks: edit: no network")
	}
	if p.Image == nil {
		return nil, fmt.Errorf("tasks: edit needs an image")
	}
	u := p.Net.Config.UNet
	pix, fr, err := FitImage(p.Image, u.Size, u.InChannels)
	if err != nil {
		return nil, err
	}
	x0 := make([]float32, len(pix))
	diffusion.ToModelRange(x0, pix)
	x, err := SDEdit(ctx, p.Net, p.Cond, p.Guidance, x0, 1, p.Strength, diffusion.ImageRNGs(p.Seed, 0, 1), p.EditOptions, p.Progress)
	if err != nil {
		return nil, err
	}
	diffusion.ToPixels(pix, x)
	return fr.Image(fr.Restore(pix)), nil
}
