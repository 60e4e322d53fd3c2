package main

import (
	"context"
	"os"
	"os/signal"
	"strconv"

	"genlab/images"
	"genlab/tasks"

	"github.com/urfave/cli/v2"
)

func editCommand() *cli.Command {
	return &cli.Command{
		Name:  "edit",
		Usage: "redraw an image as another class at a strength (SDEdit image-to-image)",
		Description: "The image is noised to --strength (0: kept as is, 1: ignored) and denoised towards --class K\n" +
			"(or --prompt TEXT with a text-conditioned model). Low strengths keep the layout and change\n" +
			"details; high ones keep little but the position and thickness of strokes.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "class-conditional diffusion checkpoint", Required: true},
			&cli.StringFlag{Name: "image", Usage: "the image (PNG or JPEG)", Required: true},
			&cli.Float64Flag{Name: "strength", Usage: "how much to redraw, more than 0 and at most 1", Required: true},
			&cli.StringFlag{Name: "class", Usage: "the class K to turn the image into"},
			&cli.StringFlag{Name: "prompt", Usage: "the text to turn the image into (text-conditioned models only)"},
			&cli.StringFlag{Name: "out", Usage: "the result PNG", Required: true},
			&cli.IntFlag{Name: "steps", Usage: "sampler steps at strength 1, a strength s runs s x steps of them (default: the model's, 50)"},
			&cli.StringFlag{Name: "sampler", Usage: samplerUsage},
			&cli.Float64Flag{Name: "eta", Usage: "DDIM's η (0: deterministic)"},
			&cli.Float64Flag{Name: "guidance", Usage: guidanceUsage},
			seedFlag("0", "the noise's seed"),
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNG"},
			loraFlag(),
		},
		Action: editAction,
	}
}

func editAction(c *cli.Context) error {
	s := c.Float64("strength")
	if !(s > 0 && s <= 1) {
		return userErrorf("edit: --strength %g: want more than 0 and at most 1 (0 would keep the image, 1 ignores it)", s)
	}
	hasClass, hasPrompt := c.String("class") != "" && c.String("class") != "none", c.String("prompt") != ""
	switch {
	case hasClass && hasPrompt:
		return userErrorf("edit: give --class or --prompt, not both")
	case !hasClass && !hasPrompt:
		return userErrorf("edit: say what to turn the image into: --class K (or --prompt TEXT with a text-conditioned model)")
	}
	tunes, err := fineTuneOptions(c, "edit")
	if err != nil {
		return err
	}
	net, p, err := loadTaskNetwork("edit", c.String("ckpt"), tunes...)
	if err != nil {
		return err
	}
	set, err := taskRequest(c, "edit", p)
	if err != nil {
		return err
	}
	var cond tasks.Condition
	if hasPrompt {
		if kind := net.Config.Cond; kind != "text" {
			return userErrorf("edit: --prompt: %s is conditioned on %s, not text: use --class K", c.String("ckpt"), condName(kind))
		}
		cond.Prompt = c.String("prompt")
	} else if cond, err = classCondition("edit", c, net); err != nil {
		return err
	}
	img, err := loadUserImage("edit", "image", c.String("image"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "edit", 0, 0)
	out, err := tasks.Edit(ctx, tasks.EditParams{
		Net: net, Image: img, Strength: s, Cond: cond, Guidance: set.Guidance,
		EditOptions: tasks.EditOptions{Steps: set.Steps, Sampler: set.Sampler, Eta: set.Eta},
		Seed:        seedOf(c),
		Progress:    bar.task,
	})
	bar.done()
	if err != nil {
		return taskError("edit", err)
	}
	q := taskParameters("edit", p, set, out, cond)
	q.Extra = append(q.Extra, images.Field{Key: "Denoising strength", Value: strconv.FormatFloat(s, 'g', -1, 64)})
	return saveTaskResult(c, "edit", out, q)
}

// condName says in words what a diffusion config's Cond conditions on.
func condName(kind string) string {
	switch kind {
	case "", "none":
		return "nothing (unconditional)"
	case "class":
		return "classes"
	}
	return kind
}
