package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"

	"genlab/eval"
	"genlab/images"
	"genlab/tasks"

	"github.com/urfave/cli/v2"
)

func styleCommand() *cli.Command {
	return &cli.Command{
		Name:  "style",
		Usage: "render a content image in the style of another (Gatys et al., on random or genlab's own conv features)",
		Description: "The result is optimised so that the feature statistics (Gram matrices) of its conv features match\n" +
			"the style image's and its deeper features match the content image's. With no pretrained VGG,\n" +
			"the features come from a pyramid of random 3x3 conv filters (--features random, the default)\n" +
			"or from genlab's MNIST classifier (--features classifier). Each step is one evaluation of the\n" +
			"loss and its gradient (L-BFGS); a 256x256 result takes 200 steps.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "content", Usage: "the content image (PNG or JPEG)", Required: true},
			&cli.StringFlag{Name: "style", Usage: "the style image (PNG or JPEG)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "the result PNG", Required: true},
			&cli.IntFlag{Name: "steps", Value: 200, Usage: "optimisation steps (loss evaluations)"},
			&cli.IntFlag{Name: "size", Value: tasks.DefaultStyleSide, Usage: "the result's longest side; a larger content image is shrunk (8 to 1024)"},
			&cli.Float64Flag{Name: "style-weight", Value: 1, Usage: "weight of the style term"},
			&cli.Float64Flag{Name: "content-weight", Value: 0.2, Usage: "weight of the content term (0: texture only)"},
			&cli.Float64Flag{Name: "tv-weight", Value: 0.1, Usage: "weight of the smoothness term against high-frequency artefacts (0: none)"},
			&cli.StringFlag{Name: "features", Value: tasks.FeaturesRandom, Usage: "random or classifier"},
			&cli.StringFlag{Name: "classifier", Value: defaultClassifier, Usage: "the classifier of --features classifier"},
			&cli.StringFlag{Name: "optimizer", Value: "lbfgs", Usage: "lbfgs or adam"},
			&cli.Float64Flag{Name: "lr", Value: 0.02, Usage: "Adam's step (and L-BFGS's first step) in pixel units"},
			seedFlag("0", "seed of the random filters"),
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNG"},
		},
		Action: styleAction,
	}
}

func styleAction(c *cli.Context) error {
	o := tasks.StyleOptions{
		Steps: c.Int("steps"), StyleWeight: c.Float64("style-weight"), ContentWeight: c.Float64("content-weight"),
		TVWeight: c.Float64("tv-weight"), LR: c.Float64("lr"), Features: c.String("features"),
		Optimizer: c.String("optimizer"), Seed: seedOf(c),
	}
	switch {
	case o.Steps < 1 || o.Steps > 100000:
		return userErrorf("style: --steps %d: want 1 to 100000", o.Steps)
	case c.Int("size") < 8 || c.Int("size") > 1024:
		return userErrorf("style: --size %d: want 8 to 1024", c.Int("size"))
	case !(o.StyleWeight > 0):
		return userErrorf("style: --style-weight %g: want more than 0", o.StyleWeight)
	case !(o.ContentWeight >= 0):
		return userErrorf("style: --content-weight %g: want 0 or more", o.ContentWeight)
	case !(o.TVWeight >= 0):
		return userErrorf("style: --tv-weight %g: want 0 or more", o.TVWeight)
	case o.Optimizer != "lbfgs" && o.Optimizer != "adam":
		return userErrorf("style: --optimizer %s: use lbfgs or adam", o.Optimizer)
	case o.Features != tasks.FeaturesRandom && o.Features != tasks.FeaturesClassifier:
		return userErrorf("style: --features %s: use %s", o.Features, tasks.FeatureNames())
	}
	// Zero weights mean "none" on the command line; the options' zero
	// value means the default.
	if o.ContentWeight == 0 {
		o.ContentWeight = -1
	}
	if o.TVWeight == 0 {
		o.TVWeight = -1
	}
	if o.Features == tasks.FeaturesClassifier {
		path := c.String("classifier")
		if _, err := os.Stat(path); err != nil {
			return userErrorf("style: --features classifier: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", path)
		}
		clf, err := eval.LoadClassifier(path)
		if err != nil {
			return err
		}
		o.Classifier = clf
	}
	content, err := loadUserImage("style", "content", c.String("content"))
	if err != nil {
		return err
	}
	style, err := loadUserImage("style", "style", c.String("style"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "style", o.Steps, 0)
	out, err := tasks.Style(ctx, tasks.StyleParams{
		Content: content, Style: style, MaxSide: c.Int("size"), StyleOptions: o,
		Progress: func(step, _ int, loss float64) { bar.step(step, fmt.Sprintf("loss %.4f", loss)) },
	})
	bar.done()
	if err != nil {
		return taskError("style", err)
	}
	p := images.Parameters{Seed: int64(seedOf(c)), Steps: o.Steps, Width: out.Bounds().Dx(), Height: out.Bounds().Dy(),
		Extra: []images.Field{
			{Key: "Task", Value: "style"},
			{Key: "Features", Value: o.Features},
			{Key: "Style weight", Value: strconv.FormatFloat(c.Float64("style-weight"), 'g', -1, 64)},
			{Key: "Content weight", Value: strconv.FormatFloat(c.Float64("content-weight"), 'g', -1, 64)},
			{Key: "TV weight", Value: strconv.FormatFloat(c.Float64("tv-weight"), 'g', -1, 64)},
			{Key: "Optimizer", Value: o.Optimizer},
		}}
	return saveTaskResult(c, "style", out, p)
}
