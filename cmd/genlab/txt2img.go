package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"genlab/diffusion"
	"genlab/images"
	"genlab/models"
	"genlab/tasks"

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
			&cli.Uint64Flag{Name: "seed", Usage: "image i's noise comes from seed+i"},
			&cli.IntFlag{Name: "steps", Value: 50, Usage: "sampler steps"},
			&cli.StringFlag{Name: "sampler", Value: tasks.DefaultTextSampler, Usage: "ddpm, ddim or dpmpp2m (DDIM leaves grainy backgrounds on shapes)"},
			&cli.Float64Flag{Name: "guidance", Value: 3, Usage: "classifier-free guidance scale (1: none)"},
			&cli.IntFlag{Name: "batch", Value: 16, Usage: "images per forward pass (never changes the images)"},
			&cli.StringFlag{Name: "grid", Usage: "also write a grid of all images to this PNG"},
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNGs"},
		},
		Action: txt2img,
	}
}

func txt2img(c *cli.Context) error {
	if err := checkSampler(c); err != nil {
		return userErrorf("txt2img: %v", err)
	}
	n := c.Int("n")
	if n < 1 || n > 100000 {
		return userErrorf("txt2img: --n %d: want 1 to 100000", n)
	}
	ckpt, prompt := c.String("ckpt"), c.String("prompt")
	net, err := diffusion.LoadNetwork(ckpt)
	if err != nil {
		return err
	}
	if net.Config.Cond != "text" {
		return userErrorf("txt2img: %s is a %s diffusion model; text-to-image needs one trained with --cond text", ckpt, condLabel(net.Config.Cond))
	}
	if strings.TrimSpace(prompt) == "" {
		return userErrorf("txt2img: --prompt is empty; say what to draw, in the words: %s", strings.Join(net.Vocabulary(), " "))
	}
	if _, err := net.Tokenize(prompt); err != nil {
		var uw *models.UnknownWordError
		if errors.As(err, &uw) {
			return userErrorf("txt2img: --prompt: %v", uw)
		}
		return userErrorf("txt2img: --prompt: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "txt2img", 1, 1)
	seed := c.Uint64("seed")
	imgs, err := tasks.TextToImage(ctx, tasks.TextToImageParams{Net: net, Prompt: prompt, N: n, Steps: c.Int("steps"), Sampler: c.String("sampler"),
		Guidance: c.Float64("guidance"), Seed: seed, Batch: c.Int("batch"),
		Progress: func(done, total int) {
			bar.total, bar.every = total, max(1, total/10)
			bar.step(done, "")
		}})
	bar.done()
	if err != nil {
		return err
	}
	hash := ""
	if !c.Bool("no-metadata") {
		if hash, err = images.ModelHash(ckpt); err != nil {
			return err
		}
	}
	settings := func(seed uint64) string {
		if c.Bool("no-metadata") {
			return ""
		}
		p := sampleParameters(c, ckpt, hash, seed, noClass, net.Config.UNet.Size)
		p.Prompt = strings.Join(models.Words(prompt), " ")
		return p.String()
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for i, img := range imgs {
		if err := images.Save(filepath.Join(out, images.SampleName(i, int64(seed)+int64(i), noClass)), img, settings(seed+uint64(i))); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.Writer, "wrote %d images of %q to %s\n", n, prompt, out)
	if gp := c.String("grid"); gp != "" {
		if err := os.MkdirAll(filepath.Dir(gp), 0o755); err != nil {
			return err
		}
		if err := images.Save(gp, images.Grid(imgs, 0, 2, nil), settings(seed)); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "grid: %s\n", gp)
	}
	return nil
}

// promptFlag reads --prompt for a diffusion model: only a text model takes
// one, in its own words. prompts gives the per-image prompts Generate
// takes (nil without a prompt: the null prompt).
func promptFlag(c *cli.Context, net *diffusion.Network) (string, func(n int) []string, error) {
	prompt := strings.Join(models.Words(c.String("prompt")), " ")
	none := func(int) []string { return nil }
	if prompt == "" {
		return "", none, nil
	}
	if net.Config.Cond != "text" {
		return "", none, userErrorf("--prompt: this is a %s diffusion model; prompts are for text-to-image models (--cond text)", condLabel(net.Config.Cond))
	}
	if _, err := net.Tokenize(prompt); err != nil {
		return "", none, userErrorf("--prompt: %v", err)
	}
	return prompt, func(n int) []string {
		p := make([]string, n)
		for i := range p {
			p[i] = prompt
		}
		return p
	}, nil
}
