package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/images"
	"genlab/tasks"

	"github.com/urfave/cli/v2"
)

func superresCommand() *cli.Command {
	return &cli.Command{
		Name:  "superres",
		Usage: "upscale an image 2x or 4x with a super-resolution diffusion model (genlab train diffusion --cond lowres)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "the super-resolution model's checkpoint", Required: true},
			&cli.StringFlag{Name: "image", Usage: "the low-resolution PNG or JPEG, any size (grey or colour)", Required: true},
			&cli.IntFlag{Name: "scale", Usage: "the factor, one the model was trained for (default: its largest)"},
			&cli.StringFlag{Name: "out", Usage: "the PNG to write, scale times the input's size", Required: true},
			&cli.IntFlag{Name: "steps", Usage: "sampler steps (default: the model's, 50)"},
			&cli.StringFlag{Name: "sampler", Usage: strings.Join(diffusion.Samplers, ", ") + " (default: the model's, " + diffusion.SuperResSampler + " (ancestral, as SR3))"},
			seedFlag("0", "the noise's seed"),
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNG"},
		},
		Action: superres,
	}
}

func superres(c *cli.Context) error {
	if c.Int("scale") < 0 {
		return userErrorf("superres: --scale %d: want 2 or 4", c.Int("scale"))
	}
	ckpt := c.String("ckpt")
	net, p, err := loadTaskNetwork("superres", ckpt)
	if err != nil {
		return err
	}
	if net.Config.Cond != "lowres" {
		return userErrorf("superres: %s is a %s diffusion model; super-resolution needs one trained with --cond lowres", ckpt, condLabel(net.Config.Cond))
	}
	set, err := taskRequest(c, "superres", p)
	if err != nil {
		return err
	}
	img, err := images.Load(c.String("image"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "superres", set.Steps, 0)
	out, err := tasks.SuperRes(ctx, tasks.SuperResParams{Net: net, Image: img, Scale: c.Int("scale"), Steps: set.Steps, Sampler: set.Sampler, Seed: seedOf(c),
		Progress: func(done, _ int) { bar.step(done, "") }})
	bar.done()
	if err != nil {
		return userErrorf("superres: %s", strings.TrimPrefix(err.Error(), "tasks: "))
	}
	scale := c.Int("scale")
	if scale == 0 {
		scale = out.Bounds().Dx() / img.Bounds().Dx()
	}
	b := out.Bounds()
	info := p.Info()
	q := images.Parameters{Steps: set.Steps, Sampler: diffusion.SamplerLabel(set.Sampler), Seed: int64(seedOf(c)), Width: b.Dx(), Height: b.Dy(),
		Model: info.Name, ModelHash: info.Hash, Family: info.Family,
		Extra: []images.Field{{Key: "Task", Value: "superres"}, {Key: "Scale", Value: strconv.Itoa(scale)}}}
	path := c.String("out")
	if err := saveImage(c, path, out, &q); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%dx%d)\n", path, upscaleOf(c)*out.Bounds().Dx(), upscaleOf(c)*out.Bounds().Dy())
	return nil
}

// condLabel names a diffusion model's conditioning for messages.
func condLabel(cond string) string {
	switch cond {
	case "", "none":
		return "unconditional"
	case "class":
		return "class-conditional"
	case "text":
		return "text-to-image"
	case "lowres":
		return "super-resolution"
	}
	return cond
}
