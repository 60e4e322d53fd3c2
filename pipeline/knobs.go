package pipeline

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"genlab/diffusion"
	"genlab/flow"
	"genlab/internal/noise"
)

// NoClass asks a class-conditional model for an image of no class in
// particular; it is the only class an unconditional model takes.
const NoClass = -1

// MaxSteps is the most sampler steps a request may ask for (every
// schedule genlab trains has T = 1000).
const MaxSteps = 1000

// DefaultBatch is how many images go through the network at once unless a
// front end says otherwise.
const DefaultBatch = 16

// Knobs are the controls a model has and their defaults: the one table the
// app draws its controls from and the CLI checks its flags against.
type Knobs struct {
	Family         string
	Channels, Size int // of each image

	// Sampling: the model is sampled by a diffusion sampler with steps
	// and η (Request.Sampler, Steps, Eta), one of Samplers.
	Sampling bool
	Samplers []string
	// Guidance: the model takes classifier-free guidance
	// (Request.Guidance).
	Guidance bool
	// Classes > 0: the model is class-conditional with classes
	// 0..Classes-1; AnyClass: it also draws images of no class in
	// particular (NoClass).
	Classes  int
	AnyClass bool
	// Prompt: a text model, whose prompts are made of Vocabulary.
	Prompt     bool
	Vocabulary []string
	// Variation: the model takes variation seeds (Request.Subseeds).
	Variation bool
	// Temperature: the latents are drawn at Request.Temperature (flow, VAE).
	Temperature bool
	// LowRes: a super-resolution model, which draws only from a
	// low-resolution image (tasks.SuperRes): Generate refuses it.
	LowRes bool
	// Frames > 0: a video model, whose items are clips of Frames frames
	// of Channels×Size×Size (Output.Clip); FirstFrame: it also draws
	// clips that start from a given frame (Request.First).
	Frames     int
	FirstFrame bool

	// Defaults: what Request fills in for the controls above.
	Defaults Defaults
}

// Defaults are a model's default settings; a field of a control the
// model lacks is zero.
type Defaults struct {
	Sampler     string
	Steps       int
	Eta         float64
	Guidance    float64
	Temperature float64
}

// DefaultTemperature is a flow's default until a sweep stored its own
// (flow.DefaultTemperature); a VAE's default is its checkpoint's, 1
// unless a sweep chose another.
const DefaultTemperature = flow.DefaultTemperature

// Request returns the request for n images from seeds seed, seed+1, …
// with the model's defaults filled in: no class in particular (a
// class-conditional model that must draw a class gets classes in equal
// blocks, GridClasses), the null prompt, batches of DefaultBatch.
func (k Knobs) Request(seed uint64, n int) Request {
	d := k.Defaults
	r := Request{
		Seeds:   noise.Seeds(seed, n),
		Sampler: d.Sampler, Steps: d.Steps, Eta: d.Eta, Guidance: d.Guidance,
		Temperature: d.Temperature,
		Batch:       DefaultBatch,
	}
	if k.Classes > 0 && !k.AnyClass {
		r.Classes = GridClasses(n, k.Classes)
	}
	return r
}

// GridClasses gives n images classes in equal blocks: image i gets
// ⌊i·k/n⌋, so 100 images in a 10-column grid have one row per class.
func GridClasses(n, k int) []int {
	c := make([]int, n)
	for i := range c {
		c[i] = i * k / n
	}
	return c
}

// Check says what is wrong with r for a model with these knobs, if
// anything. A setting of a control the model lacks must be zero: a
// request records only what made its images.
func (k Knobs) Check(r Request) error {
	n := len(r.Seeds)
	switch {
	case n < 1:
		return fmt.Errorf("no images asked for: give one seed per image")
	case r.Batch < 1:
		return fmt.Errorf("batch %d: want at least 1", r.Batch)
	case r.Classes != nil && len(r.Classes) != n:
		return fmt.Errorf("%d classes for %d images: want one per image", len(r.Classes), n)
	}
	if k.Sampling {
		switch {
		case !slices.Contains(k.Samplers, r.Sampler):
			return fmt.Errorf("sampler %q: use %s", r.Sampler, strings.Join(k.Samplers, ", "))
		case r.Steps < 1 || r.Steps > MaxSteps:
			return fmt.Errorf("steps %d: want 1 to %d", r.Steps, MaxSteps)
		case !(r.Eta >= 0 && r.Eta <= 1):
			return fmt.Errorf("eta %g: want 0 to 1", r.Eta)
		}
	} else if r.Sampler != "" || r.Steps != 0 || r.Eta != 0 {
		return fmt.Errorf("sampler, steps and eta: a %s model has no sampler", k.Family)
	}
	if k.Guidance {
		if !(r.Guidance >= 0) || math.IsInf(r.Guidance, 1) {
			return fmt.Errorf("guidance %g: want 0 or more (1: the conditional model alone, 0: the unconditional one)", r.Guidance)
		}
	} else if r.Guidance != 0 {
		return fmt.Errorf("guidance %g: this %s model takes no guidance", r.Guidance, k.Family)
	}
	if k.Temperature {
		if !(r.Temperature >= 0 && r.Temperature <= 2) {
			return fmt.Errorf("temperature %g: want 0 to 2 (1 samples the model)", r.Temperature)
		}
	} else if r.Temperature != 0 {
		return fmt.Errorf("temperature %g: this %s model has no temperature", r.Temperature, k.Family)
	}
	if r.First != nil {
		switch d := k.Channels * k.Size * k.Size; {
		case !k.FirstFrame:
			return fmt.Errorf("a first frame: only an image-to-video model starts from one")
		case len(r.First) != d:
			return fmt.Errorf("a first frame of %d values: the model's frames are %dx%dx%d", len(r.First), k.Channels, k.Size, k.Size)
		}
	}
	switch {
	case r.Subseeds != nil && !k.Variation:
		return fmt.Errorf("variation seeds: only a diffusion model takes them, not a %s model", k.Family)
	case r.Subseeds != nil && len(r.Subseeds) != n:
		return fmt.Errorf("%d variation seeds for %d images: want one per image", len(r.Subseeds), n)
	case !(r.SubseedStrength >= 0 && r.SubseedStrength <= 1):
		return fmt.Errorf("variation seed strength %g: want 0 to 1", r.SubseedStrength)
	case r.SubseedStrength != 0 && r.Subseeds == nil:
		return fmt.Errorf("variation seed strength %g: name the variation seeds", r.SubseedStrength)
	}
	if r.Prompt != "" && !k.Prompt {
		return fmt.Errorf("prompt %q: this model takes no prompt (only a text-to-image model does)", r.Prompt)
	}
	for i, c := range r.Classes {
		if err := k.checkClass(c); err != nil {
			if n > 1 {
				return fmt.Errorf("image %d: %w", i, err)
			}
			return err
		}
	}
	if r.Classes == nil && k.Classes > 0 && !k.AnyClass {
		return fmt.Errorf("this model draws classes 0 to %d: ask for one per image", k.Classes-1)
	}
	return nil
}

func (k Knobs) checkClass(c int) error {
	switch {
	case c == NoClass && k.Classes > 0 && !k.AnyClass:
		return fmt.Errorf("this model draws only classes 0 to %d: pick one", k.Classes-1)
	case c == NoClass:
		return nil
	case k.Classes == 0 && k.Prompt:
		return fmt.Errorf("class %d: this text-to-image model has no classes: ask with a prompt", c)
	case k.Classes == 0:
		return fmt.Errorf("class %d: this model is unconditional", c)
	case c < 0 || c >= k.Classes:
		or := ""
		if k.AnyClass {
			or = ", or none"
		}
		return fmt.Errorf("class %d: want a class from 0 to %d%s", c, k.Classes-1, or)
	}
	return nil
}

// diffusionKnobs are a diffusion network's knobs: its config's Defaults
// (diffusion.DefaultsFor its conditioning, or its own guidance).
func diffusionKnobs(net *diffusion.Network) Knobs {
	u := net.Config.UNet
	d := net.Config.Defaults()
	k := Knobs{
		Family: diffusion.Family, Channels: u.InChannels, Size: u.Size,
		Sampling: true, Samplers: slices.Clone(diffusion.Samplers), Variation: true,
		Classes: net.Classes(), AnyClass: true,
		LowRes:   net.Config.Cond == "lowres",
		Defaults: Defaults{Sampler: d.Sampler, Steps: d.Steps, Eta: d.Eta},
	}
	k.Frames, k.FirstFrame = net.Frames(), net.Config.FirstFrame
	switch net.Config.Cond {
	case "class":
		k.Guidance, k.Defaults.Guidance = true, d.Guidance
	case "text":
		k.Guidance, k.Defaults.Guidance = true, d.Guidance
		k.Prompt, k.Vocabulary = true, net.Vocabulary()
	}
	return k
}
