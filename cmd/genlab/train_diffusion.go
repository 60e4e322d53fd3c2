package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/models"
	"genlab/train"

	"github.com/urfave/cli/v2"
)

// trainRun is where every family's train command starts: its run folder,
// its length and, when resuming, the checkpoint and its configuration.
type trainRun struct {
	out, resume string // resume: the checkpoint, "" for a fresh run
	steps       int
	config      json.RawMessage // the checkpoint's, when resuming
}

// startRun checks the flags every family shares and finds the checkpoint
// of a resume.
func startRun(c *cli.Context, family string) (trainRun, error) {
	r := trainRun{out: c.String("out"), steps: c.Int("steps")}
	if r.out == "" {
		r.out = filepath.Join("runs", family)
	}
	if r.steps == 0 {
		r.steps = 10000
	}
	if r.steps < 0 || c.Int("batch") < 0 || c.Float64("lr") < 0 || c.Int("save-every") < 0 || c.Int("sample-every") < 0 {
		return r, userErrorf("train %s: --steps, --batch, --lr, --save-every and --sample-every must be positive", family)
	}
	if e := c.Float64("ema"); e < 0 || e >= 1 {
		return r, userErrorf("train %s: --ema %g: want a decay in [0,1)", family, e)
	}
	if c.String("resume") != "" {
		var err error
		if r.resume, r.config, err = resumeConfig(c, r.out, family); err != nil {
			return r, err
		}
	}
	return r, nil
}

// trainData loads the training set: the checkpoint's dataset when
// resuming (resumedData), else --data. A fresh run's images must be square
// with a side divisible by 4, the two downsamplings every family makes.
func trainData(c *cli.Context, family string, r trainRun, resumedData string) (*datasets.Set, string, error) {
	dataName := c.String("data")
	if r.resume != "" {
		dataName = resumedData
	}
	set, err := datasets.Load(dataName, "train")
	if err != nil {
		return nil, "", err
	}
	if r.resume == "" && (set.H != set.W || set.H%4 != 0) {
		return nil, "", userErrorf("train %s: %s images are %dx%d; the model takes square images with a side divisible by 4", family, dataName, set.W, set.H)
	}
	return set, dataName, nil
}

// checkFits refuses a dataset whose images are not the model's.
func checkFits(family, dataName string, set *datasets.Set, channels, size int) error {
	if set.C != channels || set.H != size || set.W != size {
		return userErrorf("train %s: %s images are %dx%dx%d; the model takes %dx%dx%d", family, dataName, set.C, set.H, set.W, channels, size, size)
	}
	return nil
}

func trainDiffusion(c *cli.Context) error {
	r, err := startRun(c, diffusion.Family)
	if err != nil {
		return err
	}
	out, steps, resume := r.out, r.steps, r.resume
	var net *diffusion.Network
	if resume != "" {
		cfg, err := diffusion.OpenConfig(resume)
		if err != nil {
			return err
		}
		if net, err = diffusion.NewNetwork(cfg, c.Uint64("seed")); err != nil {
			return err
		}
	}
	dataName := c.String("data")
	if net != nil {
		dataName = net.Config.Data
	}
	set, err := datasets.Load(dataName, "train")
	if err != nil {
		return err
	}
	if net == nil {
		cfg, err := diffusion.NewConfig(c.String("size"), set.C, set.H, c.String("cond"), set.Classes)
		if err != nil {
			return userErrorf("train diffusion: %v", strings.TrimPrefix(err.Error(), "diffusion: "))
		}
		if set.H != set.W {
			return userErrorf("train diffusion: %s images are %dx%d; the UNet takes square images", dataName, set.W, set.H)
		}
		if err := condFlags(c, &cfg, set, dataName); err != nil {
			return err
		}
		cfg.Data = dataName
		if cfg.Schedule = c.String("schedule"); cfg.Schedule != "linear" && cfg.Schedule != "cosine" {
			return userErrorf("train diffusion: --schedule %s: use linear or cosine", cfg.Schedule)
		}
		if v := c.Float64("lr"); v > 0 {
			cfg.LR = v
		}
		if v := c.Int("batch"); v > 0 {
			cfg.Batch = v
		}
		if c.IsSet("ema") {
			cfg.EMA = c.Float64("ema")
		}
		if v := c.Int("warmup"); v >= 0 {
			cfg.Warmup = v
		}
		if cfg.Cosine, err = cosineLR(c, diffusion.Family); err != nil {
			return err
		}
		if net, err = diffusion.NewNetwork(cfg, c.Uint64("seed")); err != nil {
			return err
		}
	}
	cfg := net.Config
	if err := checkFits(diffusion.Family, dataName, set, cfg.UNet.InChannels, cfg.UNet.Size); err != nil {
		return err
	}
	if cfg.Cond == "class" && set.Labels == nil {
		return userErrorf("train diffusion: --cond class needs labels; %s has none", dataName)
	}
	tr, err := diffusion.NewTrainer(net, steps)
	if err != nil {
		return err
	}
	gridN := 64
	switch cfg.Cond {
	case "class":
		gridN = 10 * net.Classes() // one row per class
	case "text":
		tr.GridSource = set // a row per caption
	case "lowres":
		gridN = 16 // bicubic, sample and truth side by side
		tr.GridSource = set
		if test, err := datasets.Load(dataName, "test"); err == nil && test.Dim() == set.Dim() {
			tr.GridSource = test
		}
	}
	fmt.Fprintf(c.App.Writer, "training a %s %s diffusion model (%d parameters, %s) on %s for %d steps at batch %d; run folder %s\n",
		cfg.Size, cfg.Cond, net.Params.Count(), models.BLASName, dataName, steps, cfg.Batch, out)
	return runTraining(c, tr, set, dataName, out, steps, cfg.Batch, gridN, resume)
}

// condFlags completes a fresh run's config for its conditioning: a text
// model's vocabulary comes from the dataset's captions, a super-resolution
// model's factors from --scale (2, 4, or 2,4 for a model of both).
func condFlags(c *cli.Context, cfg *diffusion.Config, set *datasets.Set, dataName string) error {
	if c.IsSet("scale") && cfg.Cond != "lowres" {
		return userErrorf("train diffusion: --scale is for super-resolution models (--cond lowres)")
	}
	switch cfg.Cond {
	case "text":
		if set.Captions == nil {
			return userErrorf("train diffusion: --cond text needs captions; %s has none (use --data shapes)", dataName)
		}
		if err := cfg.SetCaptions(set.Captions); err != nil {
			return err
		}
	case "lowres":
		if v := c.String("scale"); v != "" {
			cfg.Scales = nil
			for _, f := range strings.Split(v, ",") {
				k, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || k < 2 || set.H%k != 0 || slices.Contains(cfg.Scales, k) {
					return userErrorf("train diffusion: --scale %s: want factors such as 2, 4 or 2,4 that divide the %d-pixel image side", v, set.H)
				}
				cfg.Scales = append(cfg.Scales, k)
			}
		}
	}
	return nil
}

// runTraining runs the shared loop for any family with the CLI's flags,
// progress display and summary.
func runTraining(c *cli.Context, t train.Trainee, set *datasets.Set, dataName, out string, steps, batch, gridN int, resume string) error {
	sel, err := selector(c, t.Family(), set.C, set.H)
	if err != nil {
		return err
	}
	if v := c.Int("samples"); v > 0 {
		gridN = v
	} else if v < 0 {
		return userErrorf("train %s: --samples %d: want at least 1", t.Family(), v)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "train "+t.Family(), steps, 100)
	start := time.Now()
	res, err := train.Run(ctx, t, train.Options{
		Out: out, Data: set, DataName: dataName, Batch: batch, Steps: steps,
		SaveEvery: c.Int("save-every"), Keep: c.Int("keep"), SampleEvery: c.Int("sample-every"),
		GridN: gridN, Seed: c.Uint64("seed"), Resume: resume, Select: sel,
		Progress: func(p train.Progress) {
			if p.Event != "" {
				if bar.bar == nil {
					fmt.Fprintf(c.App.ErrWriter, "step %d: %s\n", p.Step, p.Event)
				}
				return
			}
			bar.step(p.Step, fmt.Sprintf("loss %.4f", p.Losses["loss"]))
		},
	})
	bar.done()
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "trained to step %d in %s\n", res.Step, time.Since(start).Round(time.Second))
	fmt.Fprintf(w, "checkpoint: %s\nsamples:    %s\nloss:       %s, %s\n", res.Checkpoint, res.Grid, res.LossCSV, res.LossPlot)
	if res.Best != "" {
		fmt.Fprintf(w, "best:       %s (by %s)\n", res.Best, sel.Metric)
	}
	if res.Stopped != "" {
		fmt.Fprintf(w, "stopped early at step %d: %s\n", res.Step, res.Stopped)
	}
	return nil
}

// resumeConfig finds the checkpoint --resume names (latest: the newest in
// out) and returns its config. The architecture and recipe of a resumed
// run come from the checkpoint, as in nanoGPT; flags that would change
// them get a note rather than being ignored silently.
func resumeConfig(c *cli.Context, out, family string) (string, json.RawMessage, error) {
	path := c.String("resume")
	if path == "latest" {
		var err error
		if path, err = train.Latest(out); err != nil {
			return "", nil, err
		}
	}
	meta, err := models.ReadMeta(path, family)
	if err != nil {
		return "", nil, err
	}
	var ignored []string
	for _, f := range []string{"data", "size", "cond", "scale", "schedule", "lr", "batch", "ema", "warmup", "lr-schedule"} {
		if c.IsSet(f) {
			ignored = append(ignored, "--"+f)
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "note: resuming %s with its own configuration; %s ignored\n", path, strings.Join(ignored, ", "))
	}
	return path, meta.Config, nil
}
