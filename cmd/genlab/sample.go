package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"genlab/images"

	"github.com/urfave/cli/v2"
)

func sampleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ckpt", Usage: "the model's checkpoint", Required: true},
		&cli.IntFlag{Name: "steps", Value: 50, Usage: "sampler steps"},
		&cli.StringFlag{Name: "sampler", Value: "ddim", Usage: "ddpm, ddim or dpmpp2m"},
		&cli.Float64Flag{Name: "eta", Usage: "DDIM's η (0: deterministic)"},
		&cli.Float64Flag{Name: "guidance", Value: 2, Usage: "classifier-free guidance scale (1: none)"},
		&cli.IntFlag{Name: "batch", Value: 16, Usage: "images per forward pass (never changes the images)"},
		&cli.Float64Flag{Name: "temperature", Value: 0.7, Usage: "flow: scale of the latent noise (1 samples the model itself)"},
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
		),
		Action: sample,
	}
}

// family checks the FAMILY argument against what this build can sample.
func family(c *cli.Context, verb string) error {
	switch fam := c.Args().First(); {
	case c.NArg() != 1:
		return userErrorf("%s: name the family: diffusion, vae, flow or gan", verb)
	case fam == "diffusion" || fam == "gan" || fam == "vae" || fam == "flow":
		return nil
	default:
		return userErrorf("%s: unknown family %q: want diffusion, vae, flow or gan", verb, fam)
	}
}

// validSampler says whether name is one of the diffusion samplers.
func validSampler(name string) bool {
	return name == "ddpm" || name == "ddim" || name == "dpmpp2m"
}

func checkSampler(c *cli.Context) error {
	if !validSampler(c.String("sampler")) {
		return userErrorf("--sampler %s: use ddpm, ddim or dpmpp2m", c.String("sampler"))
	}
	if s := c.Int("steps"); s < 1 || s > 1000 {
		return userErrorf("--steps %d: want 1 to 1000", s)
	}
	if g := c.Float64("guidance"); g < 0 {
		return userErrorf("--guidance %g: want 0 or more", g)
	}
	if e := c.Float64("eta"); e < 0 || e > 1 {
		return userErrorf("--eta %g: want 0 to 1", e)
	}
	if c.Int("batch") < 1 {
		return userErrorf("--batch %d: want at least 1", c.Int("batch"))
	}
	return nil
}

// samplerLabel is the sampler's name as A1111 writes it.
func samplerLabel(s string) string {
	switch s {
	case "ddpm":
		return "DDPM"
	case "dpmpp2m":
		return "DPM++ 2M"
	}
	return "DDIM"
}

func sample(c *cli.Context) error {
	if err := family(c, "sample"); err != nil {
		return err
	}
	if err := checkSampler(c); err != nil {
		return err
	}
	n := c.Int("n")
	if n < 1 || n > 100000 {
		return userErrorf("sample: --n %d: want 1 to 100000", n)
	}
	ckpt := c.String("ckpt")
	g, err := loadGenerator(c, "sample", ckpt)
	if err != nil {
		return err
	}
	if fam := c.Args().First(); g.family != fam {
		return userErrorf("sample %s: %s is a %s checkpoint: use 'genlab sample %s'", fam, ckpt, g.family, g.family)
	}
	classes, err := g.classesFor("sample", c.String("class"), n)
	if err != nil {
		return err
	}
	seed := c.Uint64("seed")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "sample", 1, 1)
	pix, err := g.draw(ctx, seedsFrom(seed, n), classes, func(done, total int) {
		bar.total = total
		bar.every = max(1, total/10)
		bar.step(done, "")
	})
	bar.done()
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dim := g.channels * g.size * g.size
	tiles := make([]image.Image, n)
	for i := 0; i < n; i++ {
		img := images.FromFloats(pix[i*dim:(i+1)*dim], g.channels, g.size, g.size)
		tiles[i] = img
		class := noClass
		if classes != nil {
			class = classes[i]
		}
		params := ""
		if !c.Bool("no-metadata") {
			params = g.settings(seed+uint64(i), class).String()
		}
		if err := images.Save(filepath.Join(out, images.SampleName(i, int64(seed)+int64(i), class)), img, params); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.Writer, "wrote %d images to %s\n", n, out)
	if gp := c.String("grid"); gp != "" {
		if err := os.MkdirAll(filepath.Dir(gp), 0o755); err != nil {
			return err
		}
		params := ""
		if !c.Bool("no-metadata") {
			params = g.settings(seed, noClass).String()
		}
		if err := images.Save(gp, images.Grid(tiles, 0, 2, nil), params); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "grid: %s\n", gp)
	}
	return nil
}

func sampleParameters(c *cli.Context, ckpt, hash string, seed uint64, class, size int) images.Parameters {
	p := images.Parameters{
		Steps: c.Int("steps"), Sampler: samplerLabel(c.String("sampler")), CFGScale: c.Float64("guidance"),
		Seed: int64(seed), Width: size, Height: size,
		Model: strings.TrimSuffix(filepath.Base(ckpt), ".safetensors"), ModelHash: hash, Family: "diffusion",
	}
	if class >= 0 {
		p.Prompt = fmt.Sprintf("class %d", class)
		p.Extra = append(p.Extra, images.Field{Key: "Class", Value: strconv.Itoa(class)})
	}
	if c.Float64("eta") > 0 {
		p.Extra = append(p.Extra, images.Field{Key: "Eta", Value: strconv.FormatFloat(c.Float64("eta"), 'g', -1, 64)})
	}
	return p
}
