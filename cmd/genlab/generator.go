package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/images"
	"genlab/pipeline"

	"github.com/urfave/cli/v2"
)

// openPipeline opens the checkpoint a generating command (verb) draws
// from, refusing one that draws no images from noise.
func openPipeline(verb, ckpt string, opts ...pipeline.Option) (pipeline.Pipeline, error) {
	p, err := pipeline.Open(ckpt, opts...)
	var ng *pipeline.NotGeneratorError
	if errors.As(err, &ng) {
		return nil, userErrorf("%s: %v", verb, err)
	}
	if err != nil {
		return nil, err
	}
	if p.Knobs().LowRes {
		return nil, userErrorf("%s: %s is a super-resolution model: it draws from a low-resolution image, use 'genlab superres'", verb, ckpt)
	}
	if p.Knobs().Frames > 0 && verb != "sample" && verb != "batch" {
		return nil, userErrorf("%s: %s is a video model: %s works on still images (judge clips with 'genlab eval-video')", verb, ckpt, verb)
	}
	return p, nil
}

// requestFlag is a flag that sets a Request: has says whether a model has
// the control (whose it is, for the error when it does not).
type requestFlag struct {
	name  string
	has   func(pipeline.Knobs) bool
	whose string
	set   func(c *cli.Context, r *pipeline.Request)
}

var requestFlags = []requestFlag{
	{"sampler", sampling, "that flag is diffusion's", func(c *cli.Context, r *pipeline.Request) { r.Sampler = strings.ToLower(c.String("sampler")) }},
	{"steps", sampling, "that flag is diffusion's", func(c *cli.Context, r *pipeline.Request) { r.Steps = c.Int("steps") }},
	{"eta", sampling, "that flag is diffusion's", func(c *cli.Context, r *pipeline.Request) { r.Eta = c.Float64("eta") }},
	{"guidance", func(k pipeline.Knobs) bool { return k.Guidance }, "only class- and text-conditioned diffusion models take guidance",
		func(c *cli.Context, r *pipeline.Request) { r.Guidance = c.Float64("guidance") }},
	{"temperature", func(k pipeline.Knobs) bool { return k.Temperature }, "that flag is the flow's and the VAE's",
		func(c *cli.Context, r *pipeline.Request) { r.Temperature = c.Float64("temperature") }},
	{"prompt", func(k pipeline.Knobs) bool { return k.Prompt }, "prompts are for text-to-image models",
		func(c *cli.Context, r *pipeline.Request) {
			r.Prompt = strings.Join(strings.Fields(c.String("prompt")), " ")
		}},
	{"batch", func(pipeline.Knobs) bool { return true }, "", func(c *cli.Context, r *pipeline.Request) { r.Batch = c.Int("batch") }},
}

func sampling(k pipeline.Knobs) bool { return k.Sampling }

// request is what c's flags ask of p for images of these seeds: the model's
// defaults (Knobs.Request) with every flag the user set over them, each
// checked as it is set so that an error names its flag. class is the
// --class flag's value (classesFor). lenient (compare, which gives one set
// of flags to models of every family) skips a flag the model has no use
// for instead of refusing it.
func request(c *cli.Context, verb string, p pipeline.Pipeline, seeds []uint64, class string, lenient bool) (pipeline.Request, error) {
	n := len(seeds)
	r, err := flagRequest(c, verb, p, seeds, lenient)
	if err != nil {
		return r, err
	}
	classes, err := classesFor(verb, p, class, n)
	if err != nil {
		return r, err
	}
	r.Classes = classes
	if err := p.Check(r); err != nil {
		return r, userErrorf("%s: --class %s: %v", verb, class, err)
	}
	return r, nil
}

// flagRequest is request with the model's default classes.
func flagRequest(c *cli.Context, verb string, p pipeline.Pipeline, seeds []uint64, lenient bool) (pipeline.Request, error) {
	k, ckpt := p.Knobs(), p.Info().Path
	r := k.RequestSeeds(seeds)
	if err := p.Check(r); err != nil {
		return r, fmt.Errorf("%s: the defaults of %s: %w", verb, ckpt, err)
	}
	for _, f := range requestFlags {
		if !c.IsSet(f.name) {
			continue
		}
		if !f.has(k) {
			if lenient {
				continue
			}
			return r, userErrorf("%s: --%s: %s is a %s checkpoint; %s", verb, f.name, ckpt, k.Family, f.whose)
		}
		f.set(c, &r)
		if err := p.Check(r); err != nil {
			return r, userErrorf("%s: --%s: %v", verb, f.name, err)
		}
	}
	return r, variation(c, verb, p, &r)
}

// classesFor turns --class into per-image classes for p: "" gives every
// class in equal blocks (pipeline.GridClasses, so 100 images in a
// 10-column grid have one row per digit), "none" no class, a number that
// class for all. nil for an unconditional model.
func classesFor(verb string, p pipeline.Pipeline, s string, n int) ([]int, error) {
	k, ckpt := p.Knobs(), p.Info().Path
	if k.Classes == 0 {
		switch {
		case s != "" && s != "none" && k.Prompt:
			return nil, userErrorf("%s: --class %s: %s is a text-to-image model: ask with --prompt", verb, s, ckpt)
		case s != "" && s != "none":
			return nil, userErrorf("%s: --class %s: %s is unconditional", verb, s, ckpt)
		}
		return nil, nil
	}
	out := make([]int, n)
	switch {
	case s == "":
		return pipeline.GridClasses(n, k.Classes), nil
	case s == "none":
		if !k.AnyClass {
			return nil, userErrorf("%s: --class none: %s only draws classes 0 to %d", verb, ckpt, k.Classes-1)
		}
		for i := range out {
			out[i] = pipeline.NoClass
		}
	default:
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v >= k.Classes {
			or := ""
			if k.AnyClass {
				or = ", or none"
			}
			return nil, userErrorf("%s: --class %s: want a class from 0 to %d%s", verb, s, k.Classes-1, or)
		}
		for i := range out {
			out[i] = v
		}
	}
	return out, nil
}

// savePNG writes image i of out as dir/NNNNN-SEED[-cK].png, numbered
// index (saveImage: its parameters, --upscale); a clip as an animated PNG
// whose first frame every PNG reader shows.
func savePNG(c *cli.Context, dir string, index int, out *pipeline.Output, i int) error {
	q := out.Params[i]
	class := pipeline.NoClass
	if v, ok := q.Lookup("Class"); ok {
		class, _ = strconv.Atoi(v)
	}
	path := filepath.Join(dir, images.SampleName(index, q.Seed, class))
	if out.Frames > 0 {
		frames := out.Clip(i)
		for f := range frames {
			frames[f] = images.Upscale(frames[f], upscaleOf(c))
		}
		return images.SaveAnimation(path, frames, pipeline.FrameDelayMS, savedParameters(c, q))
	}
	return saveImage(c, path, out.Image(i), &q)
}

// gridParameters are what a grid of out's images records: the first
// image's parameters, without its class unless every image has it, and
// every tile's seed in order ("Seeds", e.g. 42-57 or 1,5,9).
func gridParameters(out *pipeline.Output) images.Parameters {
	q := out.Params[0]
	if len(out.Params) > 1 {
		seeds := make([]uint64, len(out.Params))
		for i, p := range out.Params {
			seeds[i] = uint64(p.Seed)
		}
		q.Extra = append(slices.Clone(q.Extra), images.Field{Key: "Seeds", Value: pipeline.SeedList(seeds).String()})
	}
	first, _ := q.Lookup("Class")
	for _, p := range out.Params[1:] {
		if c, _ := p.Lookup("Class"); c != first {
			q.Prompt = ""
			q.Extra = slices.DeleteFunc(slices.Clone(q.Extra), func(f images.Field) bool { return f.Key == "Class" })
			break
		}
	}
	return q
}

// samplerUsage is the --sampler flag's help.
var samplerUsage = fmt.Sprintf("%s (default: ddim, %s for a text model)", strings.Join(diffusion.Samplers, ", "), diffusion.TextSampler)
