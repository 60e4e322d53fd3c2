package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"genlab/images"
	"genlab/pipeline"

	"github.com/urfave/cli/v2"
)

func xyCommand() *cli.Command {
	axis := "KNOB=V1,V2,... with KNOB one of " + strings.Join(pipeline.XYKnobs, ", ")
	return &cli.Command{
		Name:  "xy",
		Usage: "draw an X/Y plot: one image per pair of values of two knobs, as one labelled PNG",
		Description: "Every cell is one image drawn with the flags' settings and the cell's two values, e.g.\n" +
			"  genlab xy --ckpt C --x guidance=1,3,5 --y steps=10,25,50 --out plot.png\n" +
			"  genlab xy --ckpt C --x sampler=ddim,ddpm,dpmpp2m --y seed=1-4 --class 7 --out plot.png\n" +
			"Seeds may be ranges (seed=1-4) and -1 (a random one). The PNG's parameters are the first\n" +
			"cell's with the axes (Script: X/Y plot, X Type, X Values, Y Type, Y Values), as AUTOMATIC1111\n" +
			"writes them. Every cell is checked before any is drawn.",
		Flags: append(sampleFlags(),
			&cli.StringFlag{Name: "x", Usage: "the columns: " + axis, Required: true},
			&cli.StringFlag{Name: "y", Usage: "the rows: " + axis, Required: true},
			&cli.StringFlag{Name: "out", Usage: "the plot's PNG", Required: true},
			seedFlag("0", "every cell's seed, unless an axis varies it"),
			&cli.StringFlag{Name: "class", Usage: "class K of every cell, or none (default: class 0 of a class-conditional model)"},
			&cli.StringFlag{Name: "prompt", Usage: "what a text-to-image model draws (default: the null prompt)"},
			variationFlags()[0], variationFlags()[1],
			&cli.IntFlag{Name: "upscale", Value: 4, Usage: fmt.Sprintf("draw each image N times larger, nearest neighbour, 1 to %d (the labels stay readable)", images.MaxUpscale)},
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNG"},
		),
		Action: xyAction,
	}
}

func xyAction(c *cli.Context) error {
	var axes [2]pipeline.Axis
	for i, name := range []string{"x", "y"} {
		a, err := pipeline.ParseAxis(c.String(name))
		if err != nil {
			return userErrorf("xy: --%s: %v", name, err)
		}
		axes[i] = a
	}
	x, y := axes[0], axes[1]
	p, err := openPipeline("xy", c.String("ckpt"))
	if err != nil {
		return err
	}
	base, err := request(c, "xy", p, []uint64{seedOf(c)}, c.String("class"), false)
	if err != nil {
		return err
	}
	random, _ := pipeline.ParseSeeds("-1")
	subseed, _ := random.Resolve(1, nil)
	if pipeline.XYVariation(&base, x, y, subseed[0]) {
		fmt.Fprintf(c.App.ErrWriter, "xy: no --subseed: variation seed %d\n", base.Subseeds[0])
	}
	if _, err := pipeline.XYRequests(p, base, x, y); err != nil {
		return userErrorf("xy: %v", err)
	}
	if k := p.Knobs(); k.Classes > 0 && c.String("class") == "" && x.Knob != "class" && y.Knob != "class" {
		fmt.Fprintf(c.App.ErrWriter, "xy: no --class: every cell draws class %d\n", base.Classes[0])
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "xy", 0, 0)
	base.Progress = bar.report
	plot, err := pipeline.XY(ctx, p, base, x, y)
	bar.done()
	if err != nil {
		return err
	}
	q := plot.Parameters()
	img := plot.Image(upscaleOf(c))
	if err := writeImage(c, c.String("out"), img, &q); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%d x %d images, %dx%d)\n", c.String("out"), len(x.Values), len(y.Values), img.Bounds().Dx(), img.Bounds().Dy())
	return nil
}
