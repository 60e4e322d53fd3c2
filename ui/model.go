package ui

import (
	"context"
	"fmt"
	"image"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/finetune"
	"genlab/images"
	"genlab/pipeline"
)

// Settings are the knobs of one generation, as the sampling panel shows
// them. Knobs the model's family has no use for are ignored.
type Settings struct {
	Seed        uint64  // image i's noise comes from Seed+i
	Count       int     // images
	Steps       int     // sampler steps (diffusion)
	Sampler     string  // one of Samplers (diffusion)
	Eta         float64 // DDIM's η (diffusion)
	Guidance    float64 // classifier-free guidance scale (conditional diffusion)
	Class       int     // the class to draw; NoClass for none in particular
	Prompt      string  // the text to draw (text-conditioned diffusion)
	Temperature float64 // the latent noise's temperature (flow, VAE)
	// Seeds, when set, are one seed per image (the seed field's list, as
	// `genlab sample --seed 1,5,9` takes): Count is their number and Seed
	// the first.
	Seeds []uint64
	// Subseed and SubseedStrength are AUTOMATIC1111's variation seed
	// (diffusion): image i's noise moves towards Subseed+i's by the
	// strength, 0 (none) to 1.
	Subseed         uint64
	SubseedStrength float64
	// First is the frame an image-to-video model's clips start from, of
	// its frame size; nil draws it too.
	First image.Image
}

// NoClass asks a class-conditional model for an image of no class in
// particular; every unconditional model takes only it.
const NoClass = -1

// DefaultSettings are what the panel starts with.
func DefaultSettings() Settings {
	return Settings{Count: 4, Steps: 50, Sampler: "ddim", Guidance: 2, Class: NoClass, Temperature: 0.7}
}

// Samplers are the diffusion samplers, by their CLI names
// (diffusion.Samplers, the one list).
var Samplers = diffusion.Samplers

// SamplerLabel is a sampler's name as AUTOMATIC1111 writes it
// (diffusion.SamplerLabel).
func SamplerLabel(s string) string { return diffusion.SamplerLabel(s) }

// Controls say which knobs fit a model: the app's view of its
// pipeline.Knobs.
type Controls struct {
	Steps       bool // steps and sampler
	Guidance    bool
	Classes     int  // > 0: class-conditional with classes 0..Classes-1
	AnyClass    bool // it also draws images of no class in particular
	Prompt      bool
	Vocabulary  []string
	Temperature bool
	LowRes      bool // a super-resolution model: it only upscales
	Variation   bool // it takes variation seeds
	// Axes are the knobs an X/Y plot's axis may vary (pipeline.XYKnobsOf).
	Axes       []string
	Frames     int  // > 0: a video model, drawing clips of this many frames
	FirstFrame bool // a video model that can start its clips from a given frame
}

func controlsOf(k pipeline.Knobs) Controls {
	return Controls{Steps: k.Sampling, Guidance: k.Guidance, Classes: k.Classes, AnyClass: k.AnyClass,
		Prompt: k.Prompt, Vocabulary: k.Vocabulary, Temperature: k.Temperature, LowRes: k.LowRes,
		Variation: k.Variation, Axes: pipeline.XYKnobsOf(k),
		Frames: k.Frames, FirstFrame: k.FirstFrame}
}

// Result is one generated image and the settings that made it.
type Result struct {
	Image  image.Image
	Params images.Parameters
	Seed   uint64
	Class  int
	Source string // where it came from: a model's name, a task or a file
	// Task is what made it: txt2img, inpaint, super-resolution, style,
	// edit, or file for a PNG without settings.
	Task string
	// Path is the file it is kept in ("" until saved).
	Path string
	// saved are the copies Save wrote, by folder and factor.
	saved map[string]string
	// Frames are a clip's frames (nil for a still image, whose one frame
	// is Image); Image is then frame 1. Each is shown DelayMS.
	Frames  []image.Image
	DelayMS int
}

// IsClip reports whether the result is a clip of more than one frame.
func (r Result) IsClip() bool { return len(r.Frames) > 1 }

// HasParams reports whether the result records the settings that made
// it.
func (r Result) HasParams() bool {
	return r.Params.Family != "" || r.Params.Model != "" || r.Params.Prompt != "" || len(r.Params.Extra) > 0 || r.Params.Steps > 0
}

// taskTabs are the tabs of the tasks' names.
var taskTabs = map[string]Tab{"txt2img": TabGenerate, "xy": TabXY, "txt2vid": TabGenerate, "img2vid": TabGenerate, "inpaint": TabInpaint, "super-resolution": TabSuperRes, "style": TabStyle, "edit": TabEdit}

// tab is the tab that made the result (Generate for a file).
func (r Result) tab() Tab { return taskTabs[r.Task] }

// Label is the first line under a result in the gallery: what made it
// and how.
func (r Result) Label() string {
	if !r.HasParams() {
		return "file · no parameters"
	}
	parts := []string{r.Task}
	if r.IsClip() {
		parts = append(parts, fmt.Sprintf("%d frames", len(r.Frames)))
	}
	switch r.Task {
	case "super-resolution":
		parts[0] = "super-res"
		if v, ok := r.Params.Lookup("Scale"); ok {
			parts[0] += " ×" + v
		}
	case "edit":
		if v, ok := r.Params.Lookup("Denoising strength"); ok {
			parts = append(parts, "strength "+v)
		}
	case "xy":
		parts[0] = "X/Y plot"
		if x, y, ok := pipeline.XYAxes(r.Params); ok {
			parts = append(parts, x.Knob+" × "+y.Knob)
		}
	case "style":
		if r.Params.Steps > 0 {
			parts = append(parts, fmt.Sprintf("%d steps", r.Params.Steps))
		}
	}
	if r.Class != NoClass {
		parts = append(parts, fmt.Sprintf("class %d", r.Class))
	} else if r.Params.Prompt != "" && r.Task != "style" {
		parts = append(parts, r.Params.Prompt)
	}
	return strings.Join(parts, " · ")
}

// Caption is what tells a result apart in the gallery: its label, its
// seed and its sampler.
func (r Result) Caption() string {
	if !r.HasParams() {
		return r.Label()
	}
	s := r.Label() + fmt.Sprintf(" · seed %d", r.Seed)
	if r.Params.Sampler != "" && r.Params.Steps > 0 {
		s += fmt.Sprintf(" · %s %d", r.Params.Sampler, r.Params.Steps)
	}
	return s
}

// Progress is what a running generation reports: steps done and due, and
// the predicted images so far when the family has them.
type Progress struct {
	Done, Total int
	Preview     image.Image // nil when there is none this time
}

// Model is a loaded checkpoint as the app drives it: its pipeline.
type Model struct {
	Entry
	Controls
	Channels, Size int
	p              pipeline.Pipeline
	// generate is p.Generate (a test may wrap it).
	generate func(ctx context.Context, r pipeline.Request) (*pipeline.Output, error)
	// Diffusion is the network of a diffusion model, for the tasks.
	Diffusion *diffusion.Network
	// Sampler is the sampler the panel switches to when the model is
	// selected, unless the user picked one ("" keeps the panel's).
	Sampler string
	// Defaults are the model's default settings (pipeline.Knobs).
	Defaults pipeline.Defaults
}

// Load opens a checkpoint of any family that draws images.
func Load(path string) (*Model, error) { return LoadWithFineTunes(path, nil) }

// LoadWithFineTunes opens a checkpoint with fine-tune files applied at
// their scales, in order, as the CLI's --lora FILE:SCALE does
// (pipeline.WithFineTunes): their new words join the vocabulary and the
// images' parameters record each with its hash.
func LoadWithFineTunes(path string, uses []finetune.Use) (*Model, error) {
	e, err := ReadEntry(path)
	if err != nil {
		return nil, err
	}
	var opts []pipeline.Option
	if len(uses) > 0 {
		opts = append(opts, pipeline.WithFineTunes(uses...))
	}
	p, err := pipeline.Open(path, opts...)
	if err != nil {
		return nil, err
	}
	k := p.Knobs()
	m := &Model{Entry: e, Controls: controlsOf(k), Channels: k.Channels, Size: k.Size, p: p, generate: p.Generate, Sampler: k.Defaults.Sampler, Defaults: k.Defaults}
	m.Diffusion, _ = pipeline.DiffusionNetwork(p)
	return m, nil
}

// Request is what s asks of the model: the settings of the controls it
// has (pipeline.Knobs), the others left at zero, as the CLI's flags are
// read.
func (m *Model) Request(s Settings) pipeline.Request {
	k := m.p.Knobs()
	r := k.Request(s.Seed, s.Count)
	if s.Seeds != nil {
		r = k.RequestSeeds(s.Seeds)
	}
	n := len(r.Seeds)
	if k.Sampling {
		r.Sampler, r.Steps, r.Eta = diffusion.SamplerName(s.Sampler), s.Steps, s.Eta
		if r.Sampler == "" {
			r.Sampler = s.Sampler // refused by Check, by its name
		}
	}
	if k.Guidance {
		r.Guidance = s.Guidance
	}
	if k.Temperature {
		r.Temperature = s.Temperature
	}
	if k.Prompt {
		r.Prompt = s.Prompt
	}
	if k.FirstFrame && s.First != nil {
		r.First = images.ToFloats(s.First, k.Channels)
	}
	if k.Classes > 0 || s.Class != NoClass {
		r.Classes = make([]int, n)
		for i := range r.Classes {
			r.Classes[i] = s.Class
		}
	}
	if k.Variation && s.SubseedStrength != 0 {
		r.Subseeds = make([]uint64, n)
		for i := range r.Subseeds {
			r.Subseeds[i] = s.Subseed + uint64(i)
		}
		r.SubseedStrength = s.SubseedStrength
	}
	return r
}

// Check says what is wrong with s for this model's controls (the tasks
// check their settings so too).
func (m *Model) Check(s Settings) error {
	if s.Count < 1 || s.Count > 256 {
		return fmt.Errorf("count %d: want 1 to 256", s.Count)
	}
	if k := m.p.Knobs(); k.LowRes {
		return k.Check(m.Request(s)) // its one task, super-resolution, takes no prompt
	}
	return m.p.Check(m.Request(s))
}

// Generate draws s.Count images, image i from seed s.Seed+i, calling
// progress as steps get done (from this goroutine). It stops with ctx's
// error when ctx is cancelled.
func (m *Model) Generate(ctx context.Context, s Settings, progress func(Progress)) ([]Result, error) {
	if err := m.Check(s); err != nil {
		return nil, err
	}
	if m.p.Knobs().LowRes {
		return nil, fmt.Errorf("%s is a super-resolution model: use the Super-res tab", m.Name())
	}
	r := m.Request(s)
	r.Progress = m.reporter(ctx, progress)
	out, err := m.generate(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make([]Result, out.Len())
	for i := range res {
		res[i] = Result{Image: out.Image(i), Params: out.Params[i], Seed: r.Seeds[i], Class: s.Class, Source: m.Name(), Task: "txt2img"}
		if out.Frames > 0 {
			res[i].Frames, res[i].DelayMS, res[i].Task = out.Clip(i), pipeline.FrameDelayMS, "txt2vid"
			res[i].Image = res[i].Frames[0]
			if r.First != nil {
				res[i].Task = "img2vid"
			}
		}
	}
	return res, nil
}

// reporter is a request's Progress that passes the sampler's steps and
// previews on to progress (nil: none) and stops the work once ctx is
// cancelled.
func (m *Model) reporter(ctx context.Context, progress func(Progress)) func(pipeline.Progress) error {
	return func(pr pipeline.Progress) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if progress == nil {
			return nil
		}
		p := Progress{Done: pr.Done, Total: pr.Total}
		if pr.PreviewImages > 0 {
			p.Preview = m.grid(pr.Preview, pr.PreviewImages)
		}
		progress(p)
		return nil
	}
}

// grid lays n images' pixels out as one picture, as the CLI's grids are.
func (m *Model) grid(pix []float32, n int) image.Image {
	dim := m.Channels * m.Size * m.Size
	tiles := make([]image.Image, n)
	for i := range tiles {
		tiles[i] = images.FromFloats(pix[i*dim:(i+1)*dim], m.Channels, m.Size, m.Size)
	}
	if n == 1 {
		return tiles[0]
	}
	return images.Grid(tiles, 0, 2, nil)
}

// Parameters are what a PNG's parameters chunk records of the image of
// seed drawn with s, in the same form as `genlab sample` writes.
func (m *Model) Parameters(s Settings, seed uint64) images.Parameters {
	s.Seed, s.Count, s.Seeds = seed, 1, nil
	return m.p.Parameters(m.Request(s), 0)
}

// SettingsFrom reads the settings a PNG's parameters record, over base
// (what the panel has now) for what they leave out. The model they name,
// if any, is p.Model.
func SettingsFrom(p images.Parameters, base Settings) Settings {
	s := base
	s.Seed = uint64(p.Seed)
	s.Count, s.Seeds = 1, nil
	s.Subseed, s.SubseedStrength = 0, 0
	if p.VariationStrength > 0 {
		s.Subseed, s.SubseedStrength = uint64(p.VariationSeed), p.VariationStrength
	}
	if p.Steps > 0 {
		s.Steps = p.Steps
	}
	if n := diffusion.SamplerName(p.Sampler); n != "" {
		s.Sampler = n
	}
	if p.CFGScale > 0 || p.ZeroCFG {
		s.Guidance = p.CFGScale
	}
	s.Class = NoClass
	if v, ok := p.Lookup("Class"); ok {
		if k, err := strconv.Atoi(v); err == nil && k >= 0 {
			s.Class = k
		}
	} else if p.Prompt != "" {
		s.Prompt = p.Prompt
	}
	if v, ok := p.Lookup("Eta"); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			s.Eta = f
		}
	} else {
		s.Eta = 0
	}
	if v, ok := p.Lookup("Temperature"); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			s.Temperature = f
		}
	}
	return s
}
