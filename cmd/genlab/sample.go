package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
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
		&cli.Float64Flag{Name: "guidance", Usage: "class or text diffusion: " + guidanceUsage},
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
			seedFlag("0", seedListUsage),
			variationFlags()[0], variationFlags()[1],
			&cli.StringFlag{Name: "out", Value: "out/samples", Usage: "folder for the PNGs"},
			&cli.StringFlag{Name: "prompt", Usage: "what a text-to-image model draws (default: the null prompt)"},
			&cli.StringFlag{Name: "class", Usage: "class K for every image, none for no class in particular (default: the classes in equal blocks in order, image i of n drawing class i*K/n of K: 100 images, 10 of each; 4 of 10 classes: 0, 2, 5, 7; said on stderr)"},
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
	r, err := request(c, "sample", p, seedsOf(c, n), c.String("class"), false)
	if err != nil {
		return err
	}
	if k := p.Knobs().Classes; k > 0 && c.String("class") == "" {
		fmt.Fprintf(c.App.ErrWriter, "sample: no --class: %s; --class K draws one class\n", classSpread(r.Classes, k))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "sample", 0, 0)
	r.Progress = bar.report
	out, err := p.Generate(ctx, r)
	bar.done()
	if err != nil {
		return err
	}
	if err := saveSamples(c, out); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s to %s\n", nOf(n, "image"), c.String("out"))
	return writeGrid(c, out)
}

// saveSamples writes out's images into --out as NNNNN-SEED[-cK].png.
func saveSamples(c *cli.Context, out *pipeline.Output) error {
	dir := c.String("out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range out.Len() {
		if err := savePNG(c, dir, i, out, i); err != nil {
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
	q := gridParameters(out)
	if err := saveImage(c, gp, images.Grid(tiles, 0, 2, nil), &q); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "grid: %s\n", gp)
	return nil
}

// classSpread says which classes a sample run without --class draws
// (pipeline.GridClasses' equal blocks).
func classSpread(classes []int, k int) string {
	n := len(classes)
	if n%k == 0 {
		return fmt.Sprintf("%s of each of the %d classes, in order", nOf(n/k, "image"), k)
	}
	seen := map[int]bool{}
	var list []string
	for _, c := range classes {
		if !seen[c] {
			seen[c] = true
			list = append(list, strconv.Itoa(c))
		}
	}
	if len(seen) < k {
		return fmt.Sprintf("%s spread over the %d classes in equal blocks: classes %s", nOf(n, "image"), k, strings.Join(list, ", "))
	}
	return fmt.Sprintf("%s over the %d classes in equal blocks of %d or %d, in order", nOf(n, "image"), k, n/k, n/k+1)
}

// nOf says n things in words: "1 image", "2 images".
func nOf(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
