package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"genlab/datasets"
	"genlab/models"
	"genlab/train"

	"github.com/urfave/cli/v2"
)

// What every family's train command shares: the run folder and length,
// the checkpoint of a resume, the training set, and the loop with its
// progress display and summary.

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
	if set.Clip() && family != "diffusion" {
		return nil, "", userErrorf("train %s: %s holds video clips; only diffusion models train on clips", family, dataName)
	}
	limit, err := trainLimit(c, family, r.resume)
	if err != nil {
		return nil, "", err
	}
	if set, err = firstImages(set, limit, "train "+family); err != nil {
		return nil, "", err
	}
	if r.resume == "" && (set.H != set.W || set.H%4 != 0) {
		return nil, "", userErrorf("train %s: %s images are %dx%d; the model takes square images with a side divisible by 4", family, dataName, set.W, set.H)
	}
	return set, dataName, nil
}

// trainLimit is how many of the split's first images a run trains on (0:
// all): --limit for a fresh run, the checkpoint's own when resuming, so
// that a run on a small subset goes on on that subset.
func trainLimit(c *cli.Context, family, resume string) (int, error) {
	if resume == "" {
		if n := c.Int("limit"); n < 0 {
			return 0, userErrorf("train %s: --limit %d: want a number of images (0: all)", family, n)
		}
		return c.Int("limit"), nil
	}
	meta, err := models.ReadMeta(resume, family)
	if err != nil {
		return 0, err
	}
	if v, ok := meta.Extra[train.KeyDataLimit]; ok {
		return strconv.Atoi(v)
	}
	return 0, nil
}

// firstImages is set's first n images (all of them for n = 0).
func firstImages(set *datasets.Set, n int, verb string) (*datasets.Set, error) {
	if n == 0 || n == set.N {
		return set, nil
	}
	if n > set.N {
		return nil, userErrorf("%s: --limit %d: %s holds %d images", verb, n, set.Name, set.N)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return set.Subset(idx), nil
}

// checkFits refuses a dataset whose images are not the model's.
func checkFits(family, dataName string, set *datasets.Set, channels, size int) error {
	if set.C != channels || set.H != size || set.W != size {
		return userErrorf("train %s: %s images are %dx%dx%d; the model takes %dx%dx%d", family, dataName, set.C, set.H, set.W, channels, size, size)
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
	limit, err := trainLimit(c, t.Family(), resume)
	if err != nil {
		return err
	}
	res, err := train.Run(ctx, t, train.Options{
		Out: out, Data: set, DataName: dataName, DataLimit: limit, Batch: batch, Steps: steps,
		SaveEvery: c.Int("save-every"), Keep: c.Int("keep"), SampleEvery: c.Int("sample-every"),
		GridN: gridN, Seed: c.Uint64("seed"), Resume: resume, Select: sel,
		Progress: func(p train.Progress) {
			if p.Event != "" {
				if !bar.term {
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
	for _, f := range []string{"data", "limit", "size", "cond", "scale", "schedule", "lr", "batch", "ema", "warmup", "lr-schedule"} {
		if c.IsSet(f) {
			ignored = append(ignored, "--"+f)
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "note: resuming %s with its own configuration; %s ignored\n", path, strings.Join(ignored, ", "))
	}
	return path, meta.Config, nil
}

// recipeFlags sets the training recipe of a fresh run's config from the
// flags every family shares: --lr and --batch (when positive), --ema (when
// given) and, for the families whose config has them (warmup and cosine
// not nil), --warmup (when not negative) and --lr-schedule.
func recipeFlags(c *cli.Context, family string, lr *float64, batch *int, ema *float64, warmup *int, cosine *bool) error {
	if v := c.Float64("lr"); v > 0 {
		*lr = v
	}
	if v := c.Int("batch"); v > 0 {
		*batch = v
	}
	if c.IsSet("ema") {
		*ema = c.Float64("ema")
	}
	if warmup != nil {
		if v := c.Int("warmup"); v >= 0 {
			*warmup = v
		}
	}
	if cosine != nil {
		var err error
		if *cosine, err = cosineLR(c, family); err != nil {
			return err
		}
	}
	return nil
}
