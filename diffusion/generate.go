package diffusion

import (
	"context"
	"fmt"
	"strings"

	"genlab/internal/noise"
	"genlab/models"
)

// Denoiser is the network's ε-model with weights p for the images of
// condition c, guided at scale guidance against the null condition when
// the network is class- or text-conditioned (Guidance.Guided: 1 is the
// conditional model alone, 0 the unconditional one). A network with no
// such condition (unconditional or lowres) ignores guidance. evals is the
// network evaluations each call costs.
func (n *Network) Denoiser(p *models.Params, c Condition, guidance float64) (m Model, evals int) {
	m = n.CondModel(p, c)
	if n.Classes() == 0 && n.text == nil {
		return m, 1
	}
	b := len(c.Classes) + len(c.Tokens)
	null, _ := n.NullCondition(b)
	null.First = c.First // guidance drops the prompt, never the given frame
	g := Guidance{Scale: guidance, Uncond: n.CondModel(p, null)}
	return g.Guided(m), g.Evals()
}

// GenerateOptions says what to draw. No zero value stands for a default:
// Sampler and Steps must be given, and Guidance 0 is the unconditional
// model (pipeline.Knobs holds the defaults every front end uses).
type GenerateOptions struct {
	Seeds   []uint64 // one per image: image i's noise comes from noise.RNG(Seeds[i]) alone
	Sampler string   // ddpm, ddim or dpmpp2m (Samplers)
	Steps   int      // sampler steps, 1 to the schedule's T
	Eta     float64  // DDIM's η
	// Guidance is the classifier-free guidance scale of a class or text
	// network, in diffusers' convention (see Guidance): 1 is the
	// conditional model alone, 0 the unconditional one alone, more
	// extrapolates. A network with no such condition ignores it.
	Guidance float64
	Classes  []int     // per image, for a class-conditional network (nil: unconditional)
	Prompts  []string  // per image, for a text network ("" or nil: the null prompt)
	LowRes   []float32 // for a lowres network: per image its LowResCondition (Dim values in [-1,1])
	Batch    int       // images per forward pass (default 16); never changes the result
	// Subseeds and SubseedStrength are AUTOMATIC1111's variation seeds:
	// image i's x_T is noise.Vary'd towards the noise of Subseeds[i] by
	// SubseedStrength (0 to 1; nil Subseeds: none). The samplers' later
	// noise still comes from Seeds[i].
	Subseeds        []uint64
	SubseedStrength float64
	// Progress is called after every sampler step of every batch with the
	// batch's current predicted clean images (pixels in [0,1]); returning
	// an error stops generation.
	Progress func(done, total int, preview []float32) error

	// First is, for a video network with a first-frame condition, each
	// clip's first frame (C·S·S pixels in [0,1]) or nil to draw it too.
	First [][]float32
}

// Generate draws len(o.Seeds) images from the network with weights p and returns
// their pixels (NCHW, [0,1]).
func (n *Network) Generate(ctx context.Context, p *models.Params, o GenerateOptions) ([]float32, error) {
	if o.Batch <= 0 {
		o.Batch = 16
	}
	N := len(o.Seeds)
	switch {
	case N < 1:
		return nil, fmt.Errorf("diffusion: asked for %d images (one seed each)", N)
	case (o.Classes != nil && len(o.Classes) != N) || (o.Prompts != nil && len(o.Prompts) != N) || (o.First != nil && len(o.First) != N):
		return nil, fmt.Errorf("diffusion: %d seeds but %d classes, %d prompts and %d first frames", N, len(o.Classes), len(o.Prompts), len(o.First))
	case o.Sampler == "" || o.Steps == 0:
		return nil, fmt.Errorf("diffusion: sampler %q with %d steps: name a sampler (%s) and its steps", o.Sampler, o.Steps, strings.Join(Samplers, ", "))
	case !(o.Guidance >= 0):
		return nil, fmt.Errorf("diffusion: guidance scale %g: want 0 or more", o.Guidance)
	case o.Subseeds != nil && len(o.Subseeds) != N || !(o.SubseedStrength >= 0 && o.SubseedStrength <= 1):
		return nil, fmt.Errorf("diffusion: %d variation seeds at strength %g for %d images: want one per image, strength 0 to 1", len(o.Subseeds), o.SubseedStrength, N)
	}
	cond, err := n.generateCondition(N, o)
	if err != nil {
		return nil, err
	}
	dim := n.Dim()
	out := make([]float32, N*dim)
	total := ((N + o.Batch - 1) / o.Batch) * o.Steps
	done := 0
	for lo := 0; lo < N; lo += o.Batch {
		hi := min(N, lo+o.Batch)
		b := hi - lo
		s, err := NewSampler(o.Sampler, n.Sched, o.Steps, o.Eta)
		if err != nil {
			return nil, err
		}
		rngs := noise.RNGs(o.Seeds[lo:hi])
		x := make([]float32, b*dim)
		InitialNoise(x, rngs, dim)
		if o.Subseeds != nil {
			for j := range b {
				noise.Vary(x[j*dim:(j+1)*dim], o.Subseeds[lo+j], o.SubseedStrength)
			}
		}
		model, _ := n.Denoiser(p, cond.slice(lo, hi, dim), o.Guidance)
		cb := func(step, _ int, x0 []float32) error {
			done++
			if o.Progress == nil {
				return nil
			}
			prev := make([]float32, len(x0))
			ToPixels(prev, x0)
			return o.Progress(done, total, prev)
		}
		if err := Sample(ctx, model, s, x, b, dim, rngs, nil, cb); err != nil {
			return nil, err
		}
		ToPixels(out[lo*dim:hi*dim], x)
	}
	return out, nil
}

// generateCondition is the condition of all N images: classes (the null
// class by default), tokenized prompts (the null prompt by default) or the
// low-resolution images, which a lowres model cannot do without.
func (n *Network) generateCondition(N int, o GenerateOptions) (Condition, error) {
	c, _ := n.NullCondition(N)
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
		if len(o.LowRes) != N*n.Dim() {
			return c, fmt.Errorf("diffusion: a super-resolution model needs a low-resolution image per image: %d values for %d images of %d", len(o.LowRes), N, n.Dim())
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
	first, err := n.firstFrames(o.First)
	if err != nil {
		return c, err
	}
	c.First = first
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
