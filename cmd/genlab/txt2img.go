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
			loraFlag(),
		},
		Action: txt2img,
	}
}

// txt2img is genlab sample for a text model with a prompt required.
func txt2img(c *cli.Context) error { return drawPrompt(c, "txt2img") }

// drawPrompt is txt2img, txt2vid and img2vid (verb): a text model's
// images or clips of --prompt, clips from --image's first frame.
func drawPrompt(c *cli.Context, verb string) error {
	n := c.Int("n")
	if n < 1 || n > 100000 {
		return userErrorf("%s: --n %d: want 1 to 100000", verb, n)
	}
	ckpt, prompt := c.String("ckpt"), c.String("prompt")
	tunes, err := fineTuneOptions(c, "txt2img")
	if err != nil {
		return err
	}
	p, err := pipeline.Open(ckpt, tunes...)
	if err != nil {
		return err
	}
	k := p.Knobs()
	if err := checkVideoVerb(verb, ckpt, k); err != nil {
		return err
	}
	if !k.Prompt && verb != "img2vid" {
		return userErrorf("%s: %s is not a text-to-image model; text-to-image needs one trained with --cond text", verb, ckpt)
	}
	if strings.TrimSpace(prompt) == "" && verb != "img2vid" {
		return userErrorf("%s: --prompt is empty; say what to draw, in the words: %s", verb, strings.Join(k.Vocabulary, " "))
	}
	r, err := flagRequest(c, verb, p, seedsOf(c, n), false)
	if err != nil {
		return err
	}
	if verb == "img2vid" {
		if r.First, err = firstFrame(c, verb, p); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, verb, 0, 0)
	r.Progress = bar.report
	out, err := p.Generate(ctx, r)
	bar.done()
	if err != nil {
		return err
	}
	if err := saveSamples(c, out); err != nil {
		return err
	}
	what := nOf(n, "image")
	if k.Frames > 0 {
		what = nOf(n, "clip") + " (animated PNGs)"
	}
	of := fmt.Sprintf("of %q", prompt)
	if verb == "img2vid" {
		of = fmt.Sprintf("from %s (prompt %q)", c.String("image"), prompt)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s %s to %s\n", what, of, c.String("out"))
	return writeGrid(c, out)
}
