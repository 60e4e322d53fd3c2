package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"strings"

	"genlab/diffusion"
	"genlab/tasks"

	"github.com/urfave/cli/v2"
)

func evalVideoCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval-video",
		Usage: "evaluate a text-to-video and image-to-video model on seen and held-out (shape, motion) pairs beside its baselines",
		Description: "Judges every frame with the shapes attribute classifier, measures each clip's motion from its centroid track and\n" +
			"its frame-to-frame change against real clips; baselines: the first frame repeated and, with --txt2img-ckpt, the\n" +
			"text-to-image model drawn per frame with independent noise. Writes OUT/table.md, OUT/results.json and frame strips.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "the video model (genlab train diffusion --data clips --cond text)", Required: true},
			&cli.StringFlag{Name: "attributes", Usage: "the shapes attribute classifier that judges the frames (genlab train attributes)", Required: true},
			&cli.StringFlag{Name: "txt2img-ckpt", Usage: "a text-to-image shapes model, for the per-frame baseline (optional)"},
			&cli.IntFlag{Name: "n", Value: 100, Usage: "clips per setting (seen and held-out pairs)"},
			&cli.IntFlag{Name: "batch", Value: 64, Usage: "frames per network pass"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "picks the clips and the noise"},
			&cli.StringFlag{Name: "sampler", Value: tasks.DefaultTextSampler, Usage: strings.Join(diffusion.Samplers, ", ")},
			&cli.IntFlag{Name: "steps", Value: 50, Usage: "sampler steps"},
			&cli.StringFlag{Name: "out", Value: "out/eval-video", Usage: "folder for table.md, results.json and the example PNGs"},
		},
		Action: evalVideo,
	}
}

func evalVideo(c *cli.Context) error {
	env := &tasks.EvalEnv{
		Ckpts: map[string]string{}, N: c.Int("n"), Batch: c.Int("batch"), Seed: c.Uint64("seed"),
		TextSampler: c.String("sampler"), VideoSteps: c.Int("steps"), Log: c.App.ErrWriter,
	}
	switch {
	case env.N < 1 || env.N > 10000:
		return userErrorf("eval-video: --n %d: want 1 to 10000", env.N)
	case env.Batch < 1:
		return userErrorf("eval-video: --batch %d: want at least 1", env.Batch)
	case env.VideoSteps < 1 || env.VideoSteps > 1000:
		return userErrorf("eval-video: --steps %d: want 1 to 1000", env.VideoSteps)
	case !slices.Contains(diffusion.Samplers, env.TextSampler):
		return userErrorf("eval-video: --sampler %s: use %s", env.TextSampler, strings.Join(diffusion.Samplers, ", "))
	}
	for flag, key := range map[string]string{"ckpt": tasks.VideoKey, "attributes": tasks.AttributesKey, "txt2img-ckpt": tasks.TextToImageKey} {
		if p := c.String(flag); p != "" {
			if _, err := os.Stat(p); err != nil {
				return userErrorf("eval-video: --%s %s: no such file", flag, p)
			}
			env.Ckpts[key] = p
		}
	}
	cfg, err := diffusion.OpenConfig(c.String("ckpt"))
	if err != nil {
		return err
	}
	if cfg.Frames == 0 || cfg.Cond != "text" {
		return userErrorf("eval-video: %s is not a text-to-video model (genlab train diffusion --data clips --cond text)", c.String("ckpt"))
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return userErrorf("eval-video: --out %s: %v", out, err)
	}
	var bar *progress
	env.Progress = func(_ string, done, total int) {
		if bar == nil {
			bar = newProgress(c.App.ErrWriter, "eval-video", total, max(1, total/20))
		}
		bar.step(min(done, total), "")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, _, err := tasks.RunEval(ctx, env, []string{"video"})
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return taskError("eval-video", err)
	}
	return writeEvalResults(c, out, results, nil)
}
