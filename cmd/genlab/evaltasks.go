package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/internal/atomicfile"
	"genlab/tasks"

	"github.com/urfave/cli/v2"
)

func evalTasksCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "out", Value: "out/eval-tasks", Usage: "folder for table.md, results.json and the example PNGs"},
		&cli.StringFlag{Name: "tasks", Usage: "comma-separated tasks to run (default: every task whose checkpoint is given): " + strings.Join(tasks.EvalTaskNames(), ", ")},
		&cli.StringFlag{Name: "classifier", Value: defaultClassifier, Usage: "the MNIST judge (genlab train classifier)"},
		&cli.IntFlag{Name: "n", Value: 200, Usage: "held-out images per setting"},
		&cli.IntFlag{Name: "batch", Value: 50, Usage: "images per network pass"},
		seedFlag("1", "picks the images, the masks and the noise"),
		&cli.IntFlag{Name: "steps", Value: 50, Usage: "inpaint: respaced sampler steps"},
		&cli.IntFlag{Name: "jump", Value: 5, Usage: "inpaint: RePaint's jump length"},
		&cli.IntFlag{Name: "resample", Value: 5, Usage: "inpaint: RePaint's resampling count"},
		&cli.IntFlag{Name: "candidates", Value: tasks.DefaultCandidates, Usage: "inpaint: fill under this many likeliest inferred classes and keep the one that best explains the known pixels"},
		&cli.Float64Flag{Name: "inpaint-guidance", Value: 2, Usage: "inpaint: guidance scale under the inferred class"},
		&cli.StringFlag{Name: "strengths", Value: "0.3,0.4,0.5,0.6,0.8,1", Usage: "edit: the strengths to measure"},
		&cli.Float64Flag{Name: "guidance", Value: 3, Usage: "edit: classifier-free guidance scale of the evaluation's protocol (genlab edit's own default is the model's, from the same table as sample's)"},
		&cli.IntFlag{Name: "edit-steps", Value: 50, Usage: "edit: DDIM steps at strength 1"},
		&cli.IntFlag{Name: "style-n", Value: 4, Usage: "style: content/style pairs"},
		&cli.IntFlag{Name: "style-size", Value: 64, Usage: "style: their side in pixels"},
		&cli.IntFlag{Name: "style-steps", Value: 150, Usage: "style: optimisation steps per pair"},
		&cli.StringFlag{Name: "sr-sampler", Value: tasks.DefaultSuperResSampler, Usage: "superres: " + strings.Join(diffusion.Samplers, ", ") + " (50 steps)"},
		&cli.StringFlag{Name: "txt2img-sampler", Value: tasks.DefaultTextSampler, Usage: "txt2img: " + strings.Join(diffusion.Samplers, ", ") + " (50 steps)"},
	}
	// One flag per file the tasks read (--ckpt for the MNIST model).
	for _, f := range evalFileFlags() {
		flags = append(flags, &cli.StringFlag{Name: f.Flag, Usage: f.Usage})
	}
	return &cli.Command{
		Name:  "eval-tasks",
		Usage: "evaluate the tasks on held-out data beside their baselines: one Markdown table and example PNGs",
		Description: "Runs each task's evaluation (see --tasks), prints the table and writes OUT/table.md,\n" +
			"OUT/results.json and one PNG of examples per task and setting (input, baselines, genlab, truth).",
		Flags:  flags,
		Action: evalTasksAction,
	}
}

func evalTasksAction(c *cli.Context) error {
	env := &tasks.EvalEnv{
		Ckpts:           map[string]string{},
		ClassifierPath:  c.String("classifier"),
		N:               c.Int("n"),
		Batch:           c.Int("batch"),
		Seed:            seedOf(c),
		Log:             c.App.ErrWriter,
		Repaint:         tasks.RepaintOptions{Steps: c.Int("steps"), Jump: c.Int("jump"), Resample: c.Int("resample"), Candidates: c.Int("candidates")},
		Guidance:        c.Float64("guidance"),
		InpaintGuidance: c.Float64("inpaint-guidance"),
		EditSteps:       c.Int("edit-steps"),
		StyleN:          c.Int("style-n"),
		StyleSize:       c.Int("style-size"),
		StyleIter:       c.Int("style-steps"),
		TextSampler:     c.String("txt2img-sampler"),
		SRSampler:       c.String("sr-sampler"),
	}
	switch {
	case env.N < 1 || env.N > 10000:
		return userErrorf("eval-tasks: --n %d: want 1 to 10000", env.N)
	case env.Batch < 1:
		return userErrorf("eval-tasks: --batch %d: want at least 1", env.Batch)
	case !(env.Guidance >= 0):
		return userErrorf("eval-tasks: --guidance %g: want 0 or more (1: the conditional model alone, 0: the unconditional one)", env.Guidance)
	case !(env.InpaintGuidance >= 0):
		return userErrorf("eval-tasks: --inpaint-guidance %g: want 0 or more (1: the conditional model alone, 0: the unconditional one)", env.InpaintGuidance)
	case env.EditSteps < 1 || env.EditSteps > 1000:
		return userErrorf("eval-tasks: --edit-steps %d: want 1 to 1000", env.EditSteps)
	case env.StyleN < 1 || env.StyleN > 100:
		return userErrorf("eval-tasks: --style-n %d: want 1 to 100", env.StyleN)
	case env.StyleSize < 16 || env.StyleSize > 512:
		return userErrorf("eval-tasks: --style-size %d: want 16 to 512", env.StyleSize)
	case env.StyleIter < 1:
		return userErrorf("eval-tasks: --style-steps %d: want at least 1", env.StyleIter)
	case !slices.Contains(diffusion.Samplers, env.TextSampler):
		return userErrorf("eval-tasks: --txt2img-sampler %s: use %s", env.TextSampler, strings.Join(diffusion.Samplers, ", "))
	case !slices.Contains(diffusion.Samplers, env.SRSampler):
		return userErrorf("eval-tasks: --sr-sampler %s: use %s", env.SRSampler, strings.Join(diffusion.Samplers, ", "))
	}
	if err := env.Repaint.Validate(1000); err != nil {
		return userErrorf("eval-tasks: %s", strings.TrimPrefix(err.Error(), "tasks: "))
	}
	for _, f := range strings.Split(c.String("strengths"), ",") {
		s, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(s > 0 && s <= 1) {
			return userErrorf("eval-tasks: --strengths %q: want comma-separated numbers in (0, 1]", c.String("strengths"))
		}
		env.Strengths = append(env.Strengths, s)
	}
	for _, f := range evalFileFlags() {
		if p := c.String(f.Flag); p != "" {
			if _, err := os.Stat(p); err != nil {
				return userErrorf("eval-tasks: --%s %s: no such file", f.Flag, p)
			}
			env.Ckpts[f.Flag] = p
		}
	}
	var names []string
	if s := c.String("tasks"); s != "" {
		for _, n := range strings.Split(s, ",") {
			n = strings.TrimSpace(n)
			t, ok := tasks.FindEvalTask(n)
			if !ok {
				return userErrorf("eval-tasks: --tasks: unknown task %q (valid: %s)", n, strings.Join(tasks.EvalTaskNames(), ", "))
			}
			if t.Ckpt != "" && env.Ckpts[t.Ckpt] == "" {
				return userErrorf("eval-tasks: task %s needs --%s (%s)", n, t.Ckpt, t.CkptUsage)
			}
			names = append(names, n)
		}
	}
	if _, err := os.Stat(env.ClassifierPath); err != nil {
		return userErrorf("eval-tasks: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", env.ClassifierPath)
	}
	if p := env.Ckpts[tasks.InpaintClassifierKey]; p != "" && tasks.SameFile(p, env.ClassifierPath) {
		return userErrorf("eval-tasks: --%s %s is the judge itself; name the classes with a classifier of occluded digits (genlab train classifier --occluded)", tasks.InpaintClassifierKey, p)
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return userErrorf("eval-tasks: --out %s: %v", out, err)
	}
	bars := map[string]*progress{}
	env.Progress = func(task string, done, total int) {
		b := bars[task]
		if b == nil {
			b = newProgress(c.App.ErrWriter, task, total, max(1, total/20))
			bars[task] = b
		}
		b.task(done, total)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, skipped, err := tasks.RunEval(ctx, env, names)
	for _, b := range bars {
		b.done()
	}
	if err != nil {
		return taskError("eval-tasks", err)
	}
	if len(results) == 0 {
		return userErrorf("eval-tasks: nothing to evaluate: %s", strings.Join(skipped, "; "))
	}
	return writeEvalResults(c, out, results, skipped)
}

// writeEvalResults writes the table (printed too), results.json and the
// example sheets of an evaluation to out.
func writeEvalResults(c *cli.Context, out string, results []*tasks.TaskResult, skipped []string) error {
	var table bytes.Buffer
	if err := tasks.WriteTable(&table, results); err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(&table, "- %s\n", s)
	}
	if err := writeFileAtomic(filepath.Join(out, "table.md"), table.Bytes()); err != nil {
		return err
	}
	js, err := json.MarshalIndent(jsonResults(results), "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(out, "results.json"), append(js, '\n')); err != nil {
		return err
	}
	var pngs []string
	for _, r := range results {
		ps, err := tasks.SaveExamples(out, r, 3)
		if err != nil {
			return err
		}
		pngs = append(pngs, ps...)
	}
	w := c.App.Writer
	w.Write(table.Bytes())
	fmt.Fprintf(w, "\nwrote %s, %s and %d example sheets to %s\n", filepath.Join(out, "table.md"), filepath.Join(out, "results.json"), len(pngs), out)
	return nil
}

// evalFileFlags are the tasks' checkpoints and further files, each once.
func evalFileFlags() []tasks.EvalFile {
	var out []tasks.EvalFile
	seen := map[string]bool{}
	for _, t := range tasks.EvalTasks {
		if t.Ckpt != "" && !seen[t.Ckpt] {
			seen[t.Ckpt] = true
			out = append(out, tasks.EvalFile{Flag: t.Ckpt, Usage: t.CkptUsage})
		}
	}
	for _, f := range tasks.EvalFiles {
		if !seen[f.Flag] {
			seen[f.Flag] = true
			out = append(out, f)
		}
	}
	return out
}

// jsonResults is results.json: each task's rows, with NaN (not
// applicable) left out, and its wall time.
func jsonResults(results []*tasks.TaskResult) any {
	type metric struct {
		Name  string  `json:"name"`
		Value float64 `json:"value"`
		Unit  string  `json:"unit,omitempty"`
	}
	type row struct {
		Setting  string   `json:"setting"`
		Method   string   `json:"method"`
		Baseline bool     `json:"baseline"`
		Metrics  []metric `json:"metrics"`
	}
	type task struct {
		Task    string   `json:"task"`
		Seconds float64  `json:"seconds"`
		Rows    []row    `json:"rows"`
		Notes   []string `json:"notes,omitempty"`
	}
	var out []task
	for _, r := range results {
		t := task{Task: r.Task, Seconds: math.Round(r.Seconds*10) / 10, Notes: r.Notes}
		for _, rw := range r.Rows {
			x := row{Setting: rw.Setting, Method: rw.Method, Baseline: rw.Baseline}
			for _, m := range rw.Metrics {
				if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
					x.Metrics = append(x.Metrics, metric{m.Name, m.Value, m.Unit})
				}
			}
			t.Rows = append(t.Rows, x)
		}
		out = append(out, t)
	}
	return out
}

func writeFileAtomic(path string, b []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
