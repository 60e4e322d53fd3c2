package main

import (
	"genlab/images"
	"genlab/pipeline"

	"github.com/urfave/cli/v2"
)

// Text-to-video and image-to-video: the prompt commands of a video
// diffusion model (genlab train diffusion --data clips --cond text). Each
// clip is an animated PNG, NNNNN-SEED.png, whose first frame any PNG
// reader shows; --grid writes every clip's frame strip.

func videoFlags(what string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ckpt", Usage: "the video model's checkpoint", Required: true},
		&cli.IntFlag{Name: "n", Value: 4, Usage: "how many clips"},
		&cli.StringFlag{Name: "out", Value: "out/" + what, Usage: "folder for the animated PNGs (NNNNN-SEED.png)"},
		&cli.Uint64Flag{Name: "seed", Usage: "clip i's noise comes from seed+i"},
		&cli.IntFlag{Name: "steps", Usage: "sampler steps (default: the model's, 50)"},
		&cli.StringFlag{Name: "sampler", Usage: samplerUsage},
		&cli.Float64Flag{Name: "guidance", Usage: "classifier-free guidance scale of the prompt: 1 is the prompt's model alone, 0 the unconditional one (default: the model's, 3)"},
		&cli.IntFlag{Name: "batch", Value: pipeline.DefaultBatch, Usage: "clips per forward pass"},
		&cli.StringFlag{Name: "grid", Usage: "also write every clip's frame strip, one a row, to this PNG"},
		&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNGs"},
	}
}

func txt2vidCommand() *cli.Command {
	return &cli.Command{
		Name:  "txt2vid",
		Usage: "draw short clips of a prompt with a text-to-video diffusion model (genlab train diffusion --data clips --cond text)",
		Flags: append(videoFlags("txt2vid"),
			&cli.StringFlag{Name: "prompt", Usage: `what to draw, in the model's words, e.g. "a small red circle moving from left to right"`, Required: true}),
		Action: func(c *cli.Context) error { return drawPrompt(c, "txt2vid") },
	}
}

func img2vidCommand() *cli.Command {
	return &cli.Command{
		Name:  "img2vid",
		Usage: "draw short clips that start from an image with an image-to-video diffusion model (genlab train diffusion --data clips --cond text)",
		Flags: append(videoFlags("img2vid"),
			&cli.StringFlag{Name: "image", Usage: "the first frame: a PNG or JPEG of the model's frame size", Required: true},
			&cli.StringFlag{Name: "prompt", Usage: `what happens next, in the model's words, e.g. "a small red circle growing" (default: the null prompt)`}),
		Action: func(c *cli.Context) error { return drawPrompt(c, "img2vid") },
	}
}

// firstFrameFlag is batch's --image.
func firstFrameFlag() cli.Flag {
	return &cli.StringFlag{Name: "image", Usage: "image-to-video models: the first frame every clip starts from (a PNG or JPEG of the model's frame size)"}
}

// checkVideoVerb refuses an image model for txt2vid and img2vid, and a
// video model for txt2img.
func checkVideoVerb(verb, ckpt string, k pipeline.Knobs) error {
	switch {
	case verb == "txt2img" && k.Frames > 0:
		return userErrorf("txt2img: %s is a video model: use 'genlab txt2vid'", ckpt)
	case (verb == "txt2vid" || verb == "img2vid") && k.Frames == 0:
		return userErrorf("%s: %s draws still images, not clips; a video model is trained with --data clips", verb, ckpt)
	case verb == "img2vid" && !k.FirstFrame:
		return userErrorf("img2vid: %s does not start clips from a given frame", ckpt)
	}
	return nil
}

// firstFrame reads --image as the first frame of p's clips, in pixels.
func firstFrame(c *cli.Context, verb string, p pipeline.Pipeline) ([]float32, error) {
	k, path := p.Knobs(), c.String("image")
	if !k.FirstFrame {
		return nil, userErrorf("%s: --image: %s does not start clips from a given frame", verb, p.Info().Path)
	}
	img, err := images.Load(path)
	if err != nil {
		return nil, userErrorf("%s: --image: %v", verb, err)
	}
	if b := img.Bounds(); b.Dx() != k.Size || b.Dy() != k.Size {
		return nil, userErrorf("%s: --image %s is %dx%d; the model's frames are %dx%d", verb, path, b.Dx(), b.Dy(), k.Size, k.Size)
	}
	return images.ToFloats(img, k.Channels), nil
}
