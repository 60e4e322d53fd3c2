package pipeline

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
	"genlab/models"
	"genlab/vae"
)

// Request is what to draw. No zero value stands for a default: start from
// Knobs.Request, which fills the model's defaults in, and change what the
// user set. A control the model lacks must be left zero (Knobs.Check).
type Request struct {
	// Seeds holds one seed per image: image i's noise comes from
	// noise.RNG(Seeds[i]) alone, whatever the batch.
	Seeds []uint64
	// Classes holds image i's class for a class-conditional model
	// (NoClass: none in particular); nil asks for no class at all.
	Classes []int
	// Prompt is what a text-to-image model draws, in its vocabulary; ""
	// is the null prompt.
	Prompt string
	// Sampler, Steps and Eta set a diffusion model's sampler: one of
	// Knobs.Samplers, its steps (1 to MaxSteps) and DDIM's η (0 to 1).
	Sampler string
	Steps   int
	Eta     float64
	// Guidance is the classifier-free guidance scale of a class or text
	// diffusion model, in diffusers' convention: the prediction is
	// ε_u + Guidance·(ε_c − ε_u), so 1 is the conditional model alone, 0
	// the unconditional model alone and more than 1 extrapolates away
	// from the unconditional prediction.
	Guidance float64
	// Subseeds are AUTOMATIC1111's variation seeds, one per image (nil:
	// none): image i's initial noise is the spherical interpolation of
	// its seed's noise and Subseeds[i]'s at SubseedStrength (0 to 1), so
	// small strengths give small variations of one image. Only a model
	// with Knobs.Variation takes them.
	Subseeds        []uint64
	SubseedStrength float64
	// Temperature scales a flow's or a VAE's latent noise (0 to 2; 1 samples the model).
	Temperature float64
	// Batch is how many images go through the network at once (at
	// least 1).
	Batch int
	// Progress, if not nil, is called as work gets done; an error it
	// returns stops Generate with that error.
	Progress func(Progress) error
	// First is, for an image-to-video model (Knobs.FirstFrame), the frame
	// every clip starts from (Channels·Size·Size pixels in [0,1]); nil
	// draws the first frame too.
	First []float32
}

// Progress is what Generate reports: the work done and due (sampler steps
// of every batch, or images for a one-pass family) and the current batch's
// predicted images, Preview (pixels in [0,1], NCHW, of PreviewImages
// images; nil when there is none this time). A video model's preview is
// its clips' frames, one after the other, as images.
type Progress struct {
	Done, Total   int
	Preview       []float32
	PreviewImages int
}

// Output is what Generate made: the pixels of each image and the
// parameters that made it.
type Output struct {
	Pixels         []float32 // len(Params) images (or clips, frame after frame), NCHW, in [0,1]
	Channels, Size int
	Frames         int // > 0: each item is a clip of this many frames
	// Params[i] is what image i's PNG records: the settings actually
	// used, defaults included.
	Params []images.Parameters
}

// Len is the number of images.
func (o *Output) Len() int { return len(o.Params) }

// Dim is the number of values of one image, or one clip.
func (o *Output) Dim() int { return max(1, o.Frames) * o.Channels * o.Size * o.Size }

// Image is image i; for a clip, its frame strip.
func (o *Output) Image(i int) image.Image {
	d := o.Dim()
	if o.Frames > 0 {
		return images.FrameStrip(o.Pixels[i*d:(i+1)*d], o.Frames, o.Channels, o.Size, o.Size)
	}
	return images.FromFloats(o.Pixels[i*d:(i+1)*d], o.Channels, o.Size, o.Size)
}

// Clip is the frames of clip i (an image's one frame for an image model).
func (o *Output) Clip(i int) []image.Image {
	d := o.Dim()
	return images.ClipFrames(o.Pixels[i*d:(i+1)*d], max(1, o.Frames), o.Channels, o.Size, o.Size)
}

// FrameDelayMS is how long a clip shows each frame (8 frames a second).
const FrameDelayMS = 125

// Info is what a pipeline knows of its checkpoint.
type Info struct {
	Path, Name string // the file and its name without .safetensors
	Hash       string // images.ModelHash
	Family     string
	Step       int
	// FineTunes are the fine-tunes applied (WithFineTunes), in order.
	FineTunes []FineTuneInfo
}

// Pipeline draws images from one checkpoint. It keeps compiled graphs
// between calls and is not safe for concurrent use: run one Generate at a
// time (the app runs one job at a time).
type Pipeline interface {
	Info() Info
	Knobs() Knobs
	// Check says what is wrong with r for this model, if anything:
	// Knobs.Check, and a prompt's words against the vocabulary (a word
	// the model does not know is a *models.UnknownWordError).
	Check(r Request) error
	// Generate draws one image per r.Seeds.
	Generate(ctx context.Context, r Request) (*Output, error)
	// Parameters are what the PNG of image i of r records: the seed, the
	// class or prompt and the settings of the model's controls. Generate
	// returns them with each image; a task that drives the model itself
	// starts its PNG's parameters from them.
	Parameters(r Request, i int) images.Parameters
}

// BitsPerDimOptions set a likelihood estimate: the seed of its noise and,
// for the families whose bound has them, the diffusion bound's terms per
// image and the VAE's importance samples.
type BitsPerDimOptions struct {
	Seed  uint64
	Terms int // diffusion: terms of the variational bound per image (an unbiased estimate; 999: all)
	K     int // vae: importance samples per image
}

// Likelihood is a Pipeline whose family has a likelihood.
type Likelihood interface {
	// BitsPerDim is the model's bits/dim on n images (pixels in [0,1],
	// taken as 8-bit) and a line saying which bound or estimate it is.
	BitsPerDim(ctx context.Context, pix []float32, n int, o BitsPerDimOptions) (float64, string, error)
}

// family is what each family provides to the pipeline.
type family interface {
	knobs() Knobs
	// work is the progress units one batch of b images costs.
	work(r Request, b int) int
	// draw makes the images of one batch: seeds and classes (nil or a
	// class per image, NoClass for none) are the batch's, step reports
	// the units done within the batch and a preview.
	draw(ctx context.Context, r Request, seeds []uint64, classes []int, step func(done int, preview []float32) error) ([]float32, error)
}

// Families are the families Open builds a pipeline of.
var Families = []string{diffusion.Family, vae.Family, flow.Family, gan.Family}

// Open reads the checkpoint at path and builds the pipeline of its family.
// It is genlab's one switch on a model's family.
func Open(path string, opts ...Option) (Pipeline, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	meta, err := models.ReadMeta(path, "")
	if err != nil {
		return nil, err
	}
	if len(o.fineTunes) > 0 && meta.Family != diffusion.Family {
		return nil, fmt.Errorf("%s is a %s checkpoint; fine-tunes apply to text diffusion models", path, meta.Family)
	}
	var f family
	var fts []FineTuneInfo
	switch meta.Family {
	case diffusion.Family:
		net, err := diffusion.LoadNetwork(path)
		if err != nil {
			return nil, err
		}
		if len(o.fineTunes) > 0 {
			if fts, err = applyFineTunes(net, path, o.fineTunes); err != nil {
				return nil, err
			}
		}
		f = &diffusionFamily{net: net}
	case gan.Family:
		net, err := gan.LoadNetworks(path)
		if err != nil {
			return nil, err
		}
		f = &ganFamily{net: net}
	case vae.Family:
		net, err := vae.LoadNetwork(path)
		if err != nil {
			return nil, err
		}
		f = &vaeFamily{net: net}
	case flow.Family:
		net, err := flow.LoadNetwork(path)
		if err != nil {
			return nil, err
		}
		f = &flowFamily{net: net}
	default:
		return nil, &NotGeneratorError{Path: path, Family: meta.Family}
	}
	hash, err := images.ModelHash(path)
	if err != nil {
		return nil, err
	}
	info := Info{Path: path, Name: strings.TrimSuffix(filepath.Base(path), ".safetensors"), Hash: hash, Family: meta.Family, Step: meta.Step, FineTunes: fts}
	p := &pipe{info: info, fam: f, k: f.knobs()}
	if l, ok := f.(likelihood); ok {
		return &likelyPipe{p, l}, nil
	}
	return p, nil
}

// NotGeneratorError is Open's error for a checkpoint that draws no images
// (a classifier, say).
type NotGeneratorError struct {
	Path, Family string
}

func (e *NotGeneratorError) Error() string {
	return fmt.Sprintf("%s is a %q checkpoint, not a generator (diffusion, vae, flow or gan)", e.Path, e.Family)
}

// DiffusionNetwork is the network of a diffusion pipeline, for the tasks
// that drive it directly (inpainting, editing, super-resolution).
func DiffusionNetwork(p Pipeline) (*diffusion.Network, bool) {
	if lp, ok := p.(*likelyPipe); ok {
		p = lp.pipe
	}
	if pp, ok := p.(*pipe); ok {
		if d, ok := pp.fam.(*diffusionFamily); ok {
			return d.net, true
		}
	}
	return nil, false
}

type likelihood interface {
	bitsPerDim(ctx context.Context, pix []float32, n int, o BitsPerDimOptions) (float64, string, error)
}

type pipe struct {
	info Info
	fam  family
	k    Knobs
}

type likelyPipe struct {
	*pipe
	l likelihood
}

func (p *likelyPipe) BitsPerDim(ctx context.Context, pix []float32, n int, o BitsPerDimOptions) (float64, string, error) {
	if d := p.k.Channels * p.k.Size * p.k.Size; n < 1 || len(pix) != n*d {
		return 0, "", fmt.Errorf("pipeline: bits/dim of %d values as %d images of %d", len(pix), n, d)
	}
	return p.l.bitsPerDim(ctx, pix, n, o)
}

var (
	_ Pipeline   = (*pipe)(nil)
	_ Likelihood = (*likelyPipe)(nil)
)

func (p *pipe) Info() Info   { return p.info }
func (p *pipe) Knobs() Knobs { return p.k }

func (p *pipe) Check(r Request) error {
	if err := p.k.Check(r); err != nil {
		return err
	}
	if c, ok := p.fam.(interface{ check(Request) error }); ok {
		return c.check(r)
	}
	return nil
}

// Generate checks r against the knobs and draws its images in batches of
// r.Batch: genlab's one chunked sampling loop.
func (p *pipe) Generate(ctx context.Context, r Request) (*Output, error) {
	if err := p.Check(r); err != nil {
		return nil, err
	}
	n := len(r.Seeds)
	out := &Output{Channels: p.k.Channels, Size: p.k.Size, Frames: p.k.Frames, Params: make([]images.Parameters, n)}
	out.Pixels = make([]float32, 0, n*out.Dim())
	frame := p.k.Channels * p.k.Size * p.k.Size
	total := 0
	for lo := 0; lo < n; lo += r.Batch {
		total += p.fam.work(r, min(n, lo+r.Batch)-lo)
	}
	done := 0
	for lo := 0; lo < n; lo += r.Batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(n, lo+r.Batch)
		var classes []int
		if r.Classes != nil {
			classes = r.Classes[lo:hi]
		}
		rb := r // the batch's own variation seeds
		if r.Subseeds != nil {
			rb.Subseeds = r.Subseeds[lo:hi]
		}
		pix, err := p.fam.draw(ctx, rb, r.Seeds[lo:hi], classes, func(d int, preview []float32) error {
			if r.Progress == nil {
				return nil
			}
			pr := Progress{Done: done + d, Total: total}
			if len(preview) > 0 {
				pr.Preview, pr.PreviewImages = preview, len(preview)/frame
			}
			return r.Progress(pr)
		})
		if err != nil {
			return nil, err
		}
		done += p.fam.work(r, hi-lo)
		out.Pixels = append(out.Pixels, pix...)
	}
	for i := range out.Params {
		out.Params[i] = p.Parameters(r, i)
	}
	return out, nil
}

func (p *pipe) Parameters(r Request, i int) images.Parameters {
	k := p.k
	class := NoClass
	if r.Classes != nil {
		class = r.Classes[i]
	}
	q := images.Parameters{
		Seed: int64(r.Seeds[i]), Width: k.Size, Height: k.Size,
		Model: p.info.Name, ModelHash: p.info.Hash, Family: p.info.Family,
	}
	if k.Sampling {
		q.Steps, q.Sampler = r.Steps, diffusion.SamplerLabel(r.Sampler)
		if r.Eta > 0 {
			q.Extra = append(q.Extra, images.Field{Key: "Eta", Value: strconv.FormatFloat(r.Eta, 'g', -1, 64)})
		}
	}
	if k.Guidance {
		q.CFGScale, q.ZeroCFG = r.Guidance, r.Guidance == 0
	}
	if r.Subseeds != nil && r.SubseedStrength > 0 {
		q.VariationSeed, q.VariationStrength = int64(r.Subseeds[i]), r.SubseedStrength
	}
	if k.Temperature {
		q.Extra = append(q.Extra, images.Field{Key: "Temperature", Value: strconv.FormatFloat(r.Temperature, 'g', -1, 64)})
	}
	if k.Frames > 0 {
		q.Extra = append(q.Extra, images.Field{Key: "Frames", Value: strconv.Itoa(k.Frames)})
		if r.First != nil {
			q.Extra = append(q.Extra, images.Field{Key: "First frame", Value: "given"})
		}
	}
	switch {
	case class != NoClass:
		q.Prompt = fmt.Sprintf("class %d", class)
		q.Extra = append(q.Extra, images.Field{Key: "Class", Value: strconv.Itoa(class)})
	case k.Prompt:
		q.Prompt = strings.Join(models.Words(r.Prompt), " ")
	}
	recordFineTunes(&q, p.info.FineTunes)
	return q
}
