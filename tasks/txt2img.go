package tasks

import (
	"context"
	"errors"
	"fmt"
	"image"

	"genlab/diffusion"
	"genlab/images"
	"genlab/internal/noise"
	"genlab/models"
)

// Text-to-image: a diffusion model whose UNet reads a caption's encoding
// through cross-attention, trained jointly with a small text encoder
// (genlab train diffusion --data shapes --cond text), sampled with
// classifier-free guidance against the null prompt (Ho & Salimans 2022).

// DefaultTextSampler is text-to-image's sampler (diffusion.TextSampler,
// where the reason is).
const DefaultTextSampler = diffusion.TextSampler

// TextToImageParams is one text-to-image job. No zero value stands for a
// default: the front ends fill them from pipeline.Knobs.
type TextToImageParams struct {
	Net     *diffusion.Network // a text model
	Prompt  string             // words of the model's vocabulary
	N       int                // images, at least 1
	Steps   int                // sampler steps
	Sampler string             // one of diffusion.Samplers; see DefaultTextSampler
	// Guidance is the classifier-free guidance scale: 1 is the prompt's
	// model alone, 0 the unconditional one (the null prompt), more
	// extrapolates (diffusion.Guidance).
	Guidance float64
	Seed     uint64 // image i's noise comes from Seed+i
	Batch    int    // images per network pass (16 if 0; never changes the images)
	Progress func(done, total int)
}

// TextToImage draws p.N images of p.Prompt. A word outside the model's
// vocabulary is a *models.UnknownWordError, whose message lists the
// vocabulary.
func TextToImage(ctx context.Context, p TextToImageParams) ([]image.Image, error) {
	net := p.Net
	if net == nil || net.Config.Cond != "text" {
		return nil, fmt.Errorf("tasks: text-to-image needs a text-conditioned model (trained on captions)")
	}
	if p.N < 1 || !(p.Guidance >= 0) {
		return nil, fmt.Errorf("tasks: %d images at guidance %g: want 1 or more at 0 or more", p.N, p.Guidance)
	}
	if _, err := net.Tokenize(p.Prompt); err != nil {
		var uw *models.UnknownWordError
		if errors.As(err, &uw) {
			return nil, err
		}
		return nil, fmt.Errorf("tasks: %w", err)
	}
	prompts := make([]string, p.N)
	for i := range prompts {
		prompts[i] = p.Prompt
	}
	pix, err := net.Generate(ctx, net.Params, diffusion.GenerateOptions{
		Seeds: noise.Seeds(p.Seed, p.N), Sampler: p.Sampler, Steps: p.Steps, Guidance: p.Guidance, Prompts: prompts, Batch: p.Batch,
		Progress: func(done, total int, _ []float32) error {
			if p.Progress != nil {
				p.Progress(done, total)
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	u := net.Config.UNet
	dim := net.Dim()
	out := make([]image.Image, p.N)
	for i := range out {
		out[i] = images.FromFloats(pix[i*dim:(i+1)*dim], u.InChannels, u.Size, u.Size)
	}
	return out, nil
}
