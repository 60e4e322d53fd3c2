package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"genlab/pipeline"

	"github.com/urfave/cli/v2"
)

func txt2imgCommand() *cli.Command {
	return &cli.Command{
		Name:  "txt2img",
		Usage: "draw images of a prompt with a text-to-image diffusion model (genlab train diffusion --data shapes --cond text)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "the text-to-image model's checkpoint", Required: true},
			&cli.StringFlag{Name: "prompt", Usage: `what to draw, in the model's words, e.g. "a small red circle at the top left"`, Required: true},
			&cli.IntFlag{Name: "n", Value: 4, Usage: "how many images"},
			&cli.StringFlag{Name: "out", Value: "out/txt2img", Usage: "folder for the PNGs (NNNNN-SEED.png)"},
			seedFlag("0", seedListUsage),
			variationFlags()[0], variationFlags()[1],
			&cli.IntFlag{Name: "steps", Usage: "sampler steps (default: the model's, 50)"},
			&cli.StringFlag{Name: "sampler", Usage: samplerUsage + "; DDIM leaves grainy backgrounds on shapes"},
			&cli.Float64Flag{Name: "guidance", Usage: guidanceUsage},
			&cli.IntFlag{Name: "batch", Value: pipeline.DefaultBatch, Usage: "images per forward pass"},
			&cli.StringFlag{Name: "grid", Usage: "also write a grid of all images to this PNG"},
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNGs"},
		},
		Action: txt2img,
	}
}

// txt2img is genlab sample for a text model with a prompt required.
func txt2img(c *cli.Context) error {
	n := c.Int("n")
	if n < 1 || n > 100000 {
		return userErrorf("txt2img: --n %d: want 1 to 100000", n)
	}
	ckpt, prompt := c.String("ckpt"), c.String("prompt")
	p, err := pipeline.Open(ckpt)
	if err != nil {
		return err
	}
	k := p.Knobs()
	if !k.Prompt {
		return userErrorf("txt2img: %s is not a text-to-image model; text-to-image needs one trained with --cond text", ckpt)
	}
	if strings.TrimSpace(prompt) == "" {
		return userErrorf("txt2img: --prompt is empty; say what to draw, in the words: %s", strings.Join(k.Vocabulary, " "))
	}
	r, err := flagRequest(c, "txt2img", p, seedsOf(c, n), false)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "txt2img", 0, 0)
	r.Progress = bar.report
	out, err := p.Generate(ctx, r)
	bar.done()
	if err != nil {
		return err
	}
	if err := saveSamples(c, out); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s of %q to %s\n", nOf(n, "image"), prompt, c.String("out"))
	return writeGrid(c, out)
}
