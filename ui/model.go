package ui

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/flow"
	"genlab/gan"
	"genlab/images"
	"genlab/tasks"
	"genlab/vae"
)

// Settings are the knobs of one generation, as the sampling panel shows
// them. Knobs the model's family has no use for are ignored.
type Settings struct {
	Seed        uint64  // image i's noise comes from Seed+i
	Count       int     // images
	Steps       int     // sampler steps (diffusion)
	Sampler     string  // ddim, ddpm or dpmpp2m (diffusion)
	Eta         float64 // DDIM's η (diffusion)
	Guidance    float64 // classifier-free guidance scale (conditional diffusion)
	Class       int     // the class to draw; NoClass for none in particular
	Prompt      string  // the text to draw (text-conditioned diffusion)
	Temperature float64 // the prior's temperature (flow)
}

// NoClass asks a class-conditional model for an image of no class in
// particular; every unconditional model takes only it.
const NoClass = -1

// DefaultSettings are what the panel starts with.
func DefaultSettings() Settings {
	return Settings{Count: 4, Steps: 50, Sampler: "ddim", Guidance: 2, Class: NoClass, Temperature: 0.7}
}

// Samplers are the diffusion samplers, by their CLI names.
var Samplers = []string{"ddim", "ddpm", "dpmpp2m"}

// SamplerLabel is a sampler's name as AUTOMATIC1111 writes it.
func SamplerLabel(s string) string {
	switch s {
	case "ddpm":
		return "DDPM"
	case "dpmpp2m":
		return "DPM++ 2M"
	}
	return "DDIM"
}

// samplerName is SamplerLabel's inverse ("" for a label it does not know).
func samplerName(label string) string {
	for _, s := range Samplers {
		if strings.EqualFold(label, SamplerLabel(s)) || strings.EqualFold(label, s) {
			return s
		}
	}
	return ""
}

// Controls say which knobs fit a model.
type Controls struct {
	Steps       bool // steps and sampler
	Guidance    bool
	Classes     int  // > 0: class-conditional with classes 0..Classes-1
	AnyClass    bool // it also draws images of no class in particular
	Prompt      bool
	Vocabulary  []string
	Temperature bool
}

// Check says what is wrong with s for a model with these controls.
func (c Controls) Check(s Settings) error {
	switch {
	case s.Count < 1 || s.Count > 256:
		return fmt.Errorf("count %d: want 1 to 256", s.Count)
	case c.Steps && (s.Steps < 1 || s.Steps > 1000):
		return fmt.Errorf("steps %d: want 1 to 1000", s.Steps)
	case c.Steps && samplerName(s.Sampler) == "":
		return fmt.Errorf("sampler %q: use ddim, ddpm or dpmpp2m", s.Sampler)
	case c.Guidance && s.Guidance < 0:
		return fmt.Errorf("guidance %g: want 0 or more", s.Guidance)
	case c.Temperature && !(s.Temperature > 0 && s.Temperature <= 2):
		return fmt.Errorf("temperature %g: want more than 0, at most 2", s.Temperature)
	}
	if c.Classes > 0 {
		if s.Class == NoClass && !c.AnyClass {
			return fmt.Errorf("this model draws classes 0 to %d: pick one", c.Classes-1)
		}
		if s.Class != NoClass && (s.Class < 0 || s.Class >= c.Classes) {
			return fmt.Errorf("class %d: want 0 to %d", s.Class, c.Classes-1)
		}
	} else if s.Class != NoClass {
		return fmt.Errorf("class %d: this model has no classes", s.Class)
	}
	return nil
}

// Result is one generated image and the settings that made it.
type Result struct {
	Image  image.Image
	Params images.Parameters
	Seed   uint64
	Class  int
	Source string // where it came from: a model's name, a task or a file
}

// Caption is the short line under a result in the gallery.
func (r Result) Caption() string {
	s := fmt.Sprintf("seed %d", r.Seed)
	if r.Class != NoClass {
		s += fmt.Sprintf(" · class %d", r.Class)
	}
	if r.Params.Prompt != "" && r.Class == NoClass {
		s += " · " + r.Params.Prompt
	}
	return s
}

// Progress is what a running generation reports: steps done and due, and
// the predicted images so far when the family has them.
type Progress struct {
	Done, Total int
	Preview     image.Image // nil when there is none this time
}

// Model is a loaded checkpoint as the app drives it.
type Model struct {
	Entry
	Controls
	Channels, Size int
	hash           string
	// draw makes one image per seed, image i from its own noise seeded
	// seeds[i]; it reports progress with the preview images' pixels
	// (nil when none).
	draw func(ctx context.Context, s Settings, seeds []uint64, progress func(done, total int, preview []float32)) ([]float32, error)
	// Diffusion is the network of a diffusion model, for the tasks.
	Diffusion *diffusion.Network
	// Sampler is the sampler the panel switches to when the model is
	// selected, unless the user picked one ("" keeps the panel's).
	Sampler string
}

// Load opens a checkpoint of any family that draws images.
func Load(path string) (*Model, error) {
	e, err := ReadEntry(path)
	if err != nil {
		return nil, err
	}
	hash, err := images.ModelHash(path)
	if err != nil {
		return nil, err
	}
	m := &Model{Entry: e, hash: hash}
	load, ok := loaders[e.Family]
	if !ok {
		return nil, fmt.Errorf("%s: genlab ui cannot draw with %s models in this build yet", path, e.Family)
	}
	if err := load(m); err != nil {
		return nil, err
	}
	return m, nil
}

// loaders fill in a Model of each family from its checkpoint.
var loaders = map[string]func(m *Model) error{
	diffusion.Family: loadDiffusion,
	flow.Family:      loadFlow,
	gan.Family:       loadGAN,
	vae.Family:       loadVAE,
}

func loadDiffusion(m *Model) error {
	net, err := diffusion.LoadNetwork(m.Path)
	if err != nil {
		return err
	}
	u := net.Config.UNet
	m.Diffusion = net
	m.Channels, m.Size = u.InChannels, u.Size
	m.Controls = Controls{Steps: true, Classes: net.Classes(), AnyClass: true}
	m.Guidance = net.Config.Cond == "class" || net.Config.Cond == "text"
	m.Sampler = DefaultSettings().Sampler
	if net.Config.Cond == "text" {
		m.Prompt, m.Vocabulary = true, net.Vocabulary()
		// DDIM leaves the flat backgrounds of shapes grainy and tinted.
		m.Sampler = tasks.DefaultTextSampler
	}
	m.draw = func(ctx context.Context, s Settings, seeds []uint64, progress func(int, int, []float32)) ([]float32, error) {
		if net.Config.Cond == "lowres" {
			return nil, fmt.Errorf("%s is a super-resolution model: use the Super-res tab", m.Name())
		}
		o := diffusion.GenerateOptions{
			Seeds: seeds, Sampler: s.Sampler, Steps: s.Steps, Eta: s.Eta, Guidance: s.Guidance, Batch: 16,
			Progress: func(done, total int, preview []float32) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				progress(done, total, preview)
				return nil
			},
		}
		if net.Classes() > 0 {
			o.Classes = make([]int, len(seeds))
			for i := range o.Classes {
				o.Classes[i] = net.NullClass()
				if s.Class != NoClass {
					o.Classes[i] = s.Class
				}
			}
		}
		if net.Config.Cond == "text" {
			o.Prompts = make([]string, len(seeds))
			for i := range o.Prompts {
				o.Prompts[i] = s.Prompt
			}
		}
		return net.Generate(ctx, net.Params, o)
	}
	return nil
}

func loadGAN(m *Model) error {
	net, err := gan.LoadNetworks(m.Path)
	if err != nil {
		return err
	}
	cfg := net.Config
	m.Channels, m.Size = cfg.InChannels, cfg.Size
	m.Controls = Controls{Classes: cfg.Classes}
	m.draw = func(ctx context.Context, s Settings, seeds []uint64, progress func(int, int, []float32)) ([]float32, error) {
		var classes []int
		if cfg.Classes > 0 {
			classes = make([]int, len(seeds))
			for i := range classes {
				classes[i] = s.Class
			}
		}
		// A generator is one pass: report in chunks so the bar moves.
		out := make([]float32, 0, len(seeds)*cfg.Dim())
		for lo := 0; lo < len(seeds); lo += 16 {
			hi := min(len(seeds), lo+16)
			var cs []int
			if classes != nil {
				cs = classes[lo:hi]
			}
			pix, err := net.GenerateSeeds(ctx, net.GP, seeds[lo:hi], cs)
			if err != nil {
				return nil, err
			}
			out = append(out, pix...)
			progress(hi, len(seeds), pix)
		}
		return out, nil
	}
	return nil
}

// loadFlow draws from a flow at the settings' temperature. The app runs
// one job at a time, which the flow's graph cache needs.
func loadFlow(m *Model) error {
	net, err := flow.LoadNetwork(m.Path)
	if err != nil {
		return err
	}
	cfg := net.Config
	m.Channels, m.Size = cfg.InChannels, cfg.Size
	m.Controls = Controls{Temperature: true}
	m.draw = func(ctx context.Context, s Settings, seeds []uint64, progress func(int, int, []float32)) ([]float32, error) {
		out := make([]float32, 0, len(seeds)*net.Dim())
		for lo := 0; lo < len(seeds); lo += 16 {
			hi := min(len(seeds), lo+16)
			pix, err := net.SampleSeeds(ctx, net.Params, seeds[lo:hi], s.Temperature)
			if err != nil {
				return nil, err
			}
			out = append(out, pix...)
			progress(hi, len(seeds), pix)
		}
		return out, nil
	}
	return nil
}

func loadVAE(m *Model) error {
	net, err := vae.LoadNetwork(m.Path)
	if err != nil {
		return err
	}
	cfg := net.Config
	m.Channels, m.Size = cfg.InChannels, cfg.Size
	m.draw = func(ctx context.Context, s Settings, seeds []uint64, progress func(int, int, []float32)) ([]float32, error) {
		out := make([]float32, 0, len(seeds)*net.Dim())
		for lo := 0; lo < len(seeds); lo += 16 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			hi := min(len(seeds), lo+16)
			pix, err := net.SampleSeeds(net.Params, seeds[lo:hi])
			if err != nil {
				return nil, err
			}
			out = append(out, pix...)
			progress(hi, len(seeds), pix)
		}
		return out, nil
	}
	return nil
}

// Generate draws s.Count images, image i from seed s.Seed+i, calling
// progress as steps get done (from this goroutine). It stops with ctx's
// error when ctx is cancelled.
func (m *Model) Generate(ctx context.Context, s Settings, progress func(Progress)) ([]Result, error) {
	if err := m.Check(s); err != nil {
		return nil, err
	}
	seeds := make([]uint64, s.Count)
	for i := range seeds {
		seeds[i] = s.Seed + uint64(i)
	}
	dim := m.Channels * m.Size * m.Size
	pix, err := m.draw(ctx, s, seeds, func(done, total int, preview []float32) {
		if progress == nil {
			return
		}
		p := Progress{Done: done, Total: total}
		if n := len(preview) / dim; n > 0 {
			p.Preview = m.grid(preview, n)
		}
		progress(p)
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Result, s.Count)
	for i := range out {
		img := images.FromFloats(pix[i*dim:(i+1)*dim], m.Channels, m.Size, m.Size)
		out[i] = Result{Image: img, Params: m.Parameters(s, seeds[i]), Seed: seeds[i], Class: s.Class, Source: m.Name()}
	}
	return out, nil
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
	p := images.Parameters{
		Seed: int64(seed), Width: m.Size, Height: m.Size,
		Model: strings.TrimSuffix(filepath.Base(m.Path), ".safetensors"), ModelHash: m.hash, Family: m.Family,
	}
	if m.Controls.Steps {
		p.Steps, p.Sampler = s.Steps, SamplerLabel(s.Sampler)
		if s.Eta > 0 {
			p.Extra = append(p.Extra, images.Field{Key: "Eta", Value: strconv.FormatFloat(s.Eta, 'g', -1, 64)})
		}
	}
	if m.Guidance {
		p.CFGScale = s.Guidance
	}
	if m.Temperature {
		p.Extra = append(p.Extra, images.Field{Key: "Temperature", Value: strconv.FormatFloat(s.Temperature, 'g', -1, 64)})
	}
	switch {
	case s.Class != NoClass:
		p.Prompt = fmt.Sprintf("class %d", s.Class)
		p.Extra = append(p.Extra, images.Field{Key: "Class", Value: strconv.Itoa(s.Class)})
	case m.Prompt:
		p.Prompt = s.Prompt
	}
	return p
}

// SettingsFrom reads the settings a PNG's parameters record, over base
// (what the panel has now) for what they leave out. The model they name,
// if any, is p.Model.
func SettingsFrom(p images.Parameters, base Settings) Settings {
	s := base
	s.Seed = uint64(p.Seed)
	s.Count = 1
	if p.Steps > 0 {
		s.Steps = p.Steps
	}
	if n := samplerName(p.Sampler); n != "" {
		s.Sampler = n
	}
	if p.CFGScale > 0 {
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
