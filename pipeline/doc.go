// Package pipeline is the one way from a checkpoint to images, shared by
// every front end (the CLI's sample, batch, eval, compare and txt2img, the
// desktop app) and by the tasks, as diffusers' pipelines are: the model
// knows nothing of samplers, the sampler nothing of the network, and the
// pipeline composes them.
//
// Open reads a checkpoint's family and builds its Pipeline; it is the only
// place in genlab that switches on the family to draw images. A Pipeline's
// Knobs say which controls the model has (sampler, guidance, classes,
// prompt, temperature) and their defaults, so that the app draws its
// controls and the CLI checks its flags from the same table. Knobs.Request
// fills a Request with those defaults; a front end changes what its user
// set and calls Generate, which returns the images and, for each, the
// exact images.Parameters that made it (a PNG's parameters chunk is
// written from those).
//
// Every family draws image i's noise from noise.RNG(Seeds[i]) alone, so an
// image is reproducible from its seed whatever the batch it was drawn in.
//
// A minimal use:
//
//	p, err := pipeline.Open("runs/diffusion/ckpt-010000.safetensors")
//	if err != nil { ... }
//	r := p.Knobs().Request(42, 16) // 16 images from seeds 42..57, the defaults
//	r.Guidance = 4
//	out, err := p.Generate(ctx, r)
//	for i := range out.Params {
//		images.Save(name(i), out.Image(i), out.Params[i].String())
//	}
package pipeline
