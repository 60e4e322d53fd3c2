package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"genlab/images"
	"genlab/pipeline"

	"github.com/urfave/cli/v2"
)

// sampleFlags set a pipeline.Request. Those without a value take the
// model's default (pipeline.Knobs), which depends on the model.
func sampleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ckpt", Usage: "the model's checkpoint", Required: true},
		&cli.IntFlag{Name: "steps", Usage: "diffusion: sampler steps (default: 50)"},
		&cli.StringFlag{Name: "sampler", Usage: "diffusion: " + samplerUsage},
		&cli.Float64Flag{Name: "eta", Usage: "diffusion: DDIM's η (0: deterministic)"},
		&cli.Float64Flag{Name: "guidance", Usage: "class or text diffusion: classifier-free guidance scale; 1 is the conditional model alone, 0 the unconditional one (default: 2 for classes, 3 for prompts)"},
		&cli.IntFlag{Name: "batch", Value: pipeline.DefaultBatch, Usage: "images per forward pass"},
		&cli.Float64Flag{Name: "temperature", Usage: fmt.Sprintf("flow and VAE: scale of the latent noise, 1 samples the model itself (default: %g for a flow, the checkpoint's for a VAE)", pipeline.DefaultTemperature)},
	}
}

func sampleCommand() *cli.Command {
	return &cli.Command{
		Name:      "sample",
		Usage:     "draw images from a trained model, one PNG each",
		ArgsUsage: "FAMILY",
		Flags: append(sampleFlags(),
			&cli.IntFlag{Name: "n", Value: 16, Usage: "how many images"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "image i's noise comes from seed+i, its file is NNNNN-SEED.png"},
			&cli.StringFlag{Name: "out", Value: "out/samples", Usage: "folder for the PNGs"},
			&cli.StringFlag{Name: "prompt", Usage: "what a text-to-image model draws (default: the null prompt)"},
			&cli.StringFlag{Name: "class", Usage: "class K for every image, none for unconditional (default: all classes in equal blocks, one row each in a grid of 10 per class)"},
			&cli.StringFlag{Name: "grid", Usage: "also write a grid of all images to this PNG"},
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNGs"},
			loraFlag(),
		),
		Action: sample,
	}
}

// family checks the FAMILY argument against what this build can sample.
func family(c *cli.Context, verb string) error {
	switch fam := c.Args().First(); {
	case c.NArg() != 1:
		return userErrorf("%s: name the family: %s", verb, strings.Join(pipeline.Families, ", "))
	case slices.Contains(pipeline.Families, fam):
		return nil
	default:
		return userErrorf("%s: unknown family %q: want %s", verb, fam, strings.Join(pipeline.Families, ", "))
	}
}

func sample(c *cli.Context) error {
	if err := family(c, "sample"); err != nil {
		return err
	}
	n := c.Int("n")
	if n < 1 || n > 100000 {
		return userErrorf("sample: --n %d: want 1 to 100000", n)
	}
	ckpt := c.String("ckpt")
	tunes, err := fineTuneOptions(c, "sample")
	if err != nil {
		return err
	}
	p, err := openPipeline("sample", ckpt, tunes...)
	if err != nil {
		return err
	}
	if fam, got := c.Args().First(), p.Info().Family; got != fam {
		return userErrorf("sample %s: %s is a %s checkpoint: use 'genlab sample %s'", fam, ckpt, got, got)
	}
	seed := c.Uint64("seed")
	r, err := request(c, "sample", p, seed, n, c.String("class"), false)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "sample", 1, 1)
	r.Progress = func(pr pipeline.Progress) error {
		bar.total, bar.every = pr.Total, max(1, pr.Total/10)
		bar.step(pr.Done, "")
		return nil
	}
	out, err := p.Generate(ctx, r)
	bar.done()
	if err != nil {
		return err
	}
	if err := saveSamples(c, out); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %d images to %s\n", n, c.String("out"))
	return writeGrid(c, out)
}

// saveSamples writes out's images into --out as NNNNN-SEED[-cK].png.
func saveSamples(c *cli.Context, out *pipeline.Output) error {
	dir := c.String("out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range out.Len() {
		if err := savePNG(dir, i, out, i, c.Bool("no-metadata")); err != nil {
			return err
		}
	}
	return nil
}

// writeGrid writes the grid of out's images to --grid, if asked.
func writeGrid(c *cli.Context, out *pipeline.Output) error {
	gp := c.String("grid")
	if gp == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(gp), 0o755); err != nil {
		return err
	}
	tiles := make([]image.Image, out.Len())
	for i := range tiles {
		tiles[i] = out.Image(i)
	}
	params := ""
	if !c.Bool("no-metadata") {
		params = gridParameters(out).String()
	}
	if err := images.Save(gp, images.Grid(tiles, 0, 2, nil), params); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "grid: %s\n", gp)
	return nil
}
