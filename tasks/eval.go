package tasks

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"genlab/eval"
	"genlab/images"

	"github.com/disintegration/imaging"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The task evaluation (genlab eval-tasks): each task is run on held-out
// data beside its naive baselines, and all of them land in one Markdown
// table and one PNG of examples per task.
//
// To add a task, write its EvalTask (Name, the checkpoint it needs, Run)
// and append it to EvalTasks (and any further file it reads to
// EvalFiles); the CLI makes a flag for each and the table gains the
// task's rows and metric columns.

// EvalTask is one task's evaluation.
type EvalTask struct {
	Name  string // "inpaint", as --tasks names it
	About string // one line for the help
	// Ckpt is the checkpoint the task runs on, by its flag ("ckpt" for
	// the class-conditional MNIST diffusion model); "" if it needs none.
	Ckpt string
	// CkptUsage describes the checkpoint for the flag's help.
	CkptUsage string
	Run       func(ctx context.Context, env *EvalEnv) (*TaskResult, error)
}

// EvalTasks are the evaluations genlab eval-tasks runs, in table order.
var EvalTasks = []EvalTask{
	{Name: "inpaint", About: "RePaint on MNIST test digits under a random 14x14 square and the bottom half, beside mean-fill and blur-fill",
		Ckpt: "ckpt", CkptUsage: "class-conditional MNIST diffusion checkpoint (inpaint, edit)", Run: evalInpaint},
	{Name: "edit", About: "SDEdit of MNIST test digits to another class at rising strengths, beside blending with the class's mean image",
		Ckpt: "ckpt", CkptUsage: "class-conditional MNIST diffusion checkpoint (inpaint, edit)", Run: evalEdit},
	{Name: "style", About: "style transfer between procedural content and texture images, random-filter features against the classifier's, beside colour matching",
		Run: evalStyle},
}

// EvalFile is a further file the evaluations read, such as a judge: the
// CLI takes it as --Flag and passes it in EvalEnv.Ckpts[Flag].
type EvalFile struct {
	Flag, Usage string
}

// EvalFiles are the further files the evaluations read.
var EvalFiles = []EvalFile{
	{Flag: AttributesKey, Usage: "the shapes attribute classifier (genlab train attributes): judges text-to-image and super-resolution on shapes"},
	{Flag: InpaintClassifierKey, Usage: "a classifier of occluded digits (genlab train classifier --occluded): inpaint adds a row filled under the class it names"},
}

// FindEvalTask returns the task of that name.
func FindEvalTask(name string) (EvalTask, bool) {
	for _, t := range EvalTasks {
		if t.Name == name {
			return t, true
		}
	}
	return EvalTask{}, false
}

// EvalEnv is what the evaluations share: checkpoints, the judge, sizes and
// the per-task settings. Zero fields take the defaults.
type EvalEnv struct {
	Ckpts          map[string]string // checkpoint paths by EvalTask.Ckpt flag
	ClassifierPath string            // the MNIST judge (genlab train classifier)
	N              int               // held-out images per setting (200)
	Batch          int               // images per network pass (50)
	Seed           uint64            // picks the images, masks and noise
	Log            io.Writer         // progress lines; may be nil
	// Progress, if not nil, is told each task's work done and due.
	Progress func(task string, done, total int)

	Repaint RepaintOptions // inpainting's schedule
	// InpaintGuidance and Guidance are the classifier-free guidance
	// scales of inpainting under the inferred class and of editing
	// (eval-tasks passes 2 and 3). Like every guidance in genlab, 0 is the
	// unconditional model, not a default.
	InpaintGuidance float64
	Strengths       []float64 // edit strengths (0.3, 0.4, 0.5, 0.6, 0.8, 1)
	Guidance        float64
	EditSteps       int    // edit's DDIM steps at strength 1 (50)
	StyleN          int    // style pairs (4)
	StyleSize       int    // their side (64)
	StyleIter       int    // optimisation steps per pair (150)
	TextSampler     string // text-to-image's sampler (DefaultTextSampler)
	SRSampler       string // super-resolution's sampler (DefaultSuperResSampler)
	VideoSteps      int    // video's sampler steps (50)

	judge *eval.Classifier
}

func (e *EvalEnv) defaults() {
	if e.N == 0 {
		e.N = 200
	}
	if e.Batch == 0 {
		e.Batch = 50
	}
	if e.Strengths == nil {
		e.Strengths = []float64{0.3, 0.4, 0.5, 0.6, 0.8, 1}
	}
	if e.EditSteps == 0 {
		e.EditSteps = 50
	}
	if e.TextSampler == "" {
		e.TextSampler = DefaultTextSampler
	}
	if e.SRSampler == "" {
		e.SRSampler = DefaultSuperResSampler
	}
	if e.StyleN == 0 {
		e.StyleN = 4
	}
	if e.StyleSize == 0 {
		e.StyleSize = 64
	}
	if e.StyleIter == 0 {
		e.StyleIter = 150
	}
}

// Judge loads (once) the classifier.
func (e *EvalEnv) Judge() (*eval.Classifier, error) {
	if e.judge != nil {
		return e.judge, nil
	}
	if e.ClassifierPath == "" {
		return nil, fmt.Errorf("tasks: no classifier to judge the results: train one with 'genlab train classifier'")
	}
	j, err := eval.LoadClassifier(e.ClassifierPath)
	if err != nil {
		return nil, err
	}
	e.judge = j
	return j, nil
}

func (e *EvalEnv) logf(format string, a ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", a...)
	}
}

// Metric is one measured value of a row.
type Metric struct {
	Name  string  `json:"name"`  // the column, e.g. "PSNR (dB)"
	Value float64 `json:"value"` // NaN: not applicable
	Unit  string  `json:"unit"`  // "%" (Value is a share in [0, 1]), "dB", "s" or ""
}

// Row is one line of the table: a method in a setting.
type Row struct {
	Task     string   `json:"task"`
	Setting  string   `json:"setting"`
	Method   string   `json:"method"`
	Baseline bool     `json:"baseline"` // a naive baseline or reference, not genlab's method
	Metrics  []Metric `json:"metrics"`
}

// Examples is one PNG of examples: rows of tiles under column titles.
type Examples struct {
	Name    string          // file name without .png
	Columns []string        // titles: input, baseline, genlab, ground truth
	Rows    [][]image.Image // each as long as Columns
}

// TaskResult is what one evaluation produced.
type TaskResult struct {
	Task     string
	Rows     []Row
	Examples []Examples
	Notes    []string // lines printed under the table
	Seconds  float64  // wall time of the whole evaluation
}

// RunEval runs the named tasks (all of EvalTasks if names is empty) and
// returns their results in order. A task whose checkpoint is not in
// env.Ckpts is an error if it was named, and skipped (with a note)
// otherwise.
func RunEval(ctx context.Context, env *EvalEnv, names []string) ([]*TaskResult, []string, error) {
	env.defaults()
	var todo []EvalTask
	var skipped []string
	if len(names) == 0 {
		for _, t := range EvalTasks {
			if t.Ckpt != "" && env.Ckpts[t.Ckpt] == "" {
				skipped = append(skipped, fmt.Sprintf("%s: skipped, no --%s given", t.Name, t.Ckpt))
				continue
			}
			todo = append(todo, t)
		}
	} else {
		for _, n := range names {
			t, ok := FindEvalTask(n)
			if !ok {
				return nil, nil, fmt.Errorf("tasks: unknown task %q (valid: %s)", n, strings.Join(EvalTaskNames(), ", "))
			}
			if t.Ckpt != "" && env.Ckpts[t.Ckpt] == "" {
				return nil, nil, fmt.Errorf("tasks: task %s needs --%s (%s)", t.Name, t.Ckpt, t.CkptUsage)
			}
			todo = append(todo, t)
		}
	}
	var out []*TaskResult
	for _, t := range todo {
		env.logf("eval-tasks: %s", t.Name)
		r, err := t.Run(ctx, env)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		r.Task = t.Name
		out = append(out, r)
	}
	return out, skipped, nil
}

// EvalTaskNames lists the tasks' names.
func EvalTaskNames() []string {
	var s []string
	for _, t := range EvalTasks {
		s = append(s, t.Name)
	}
	return s
}

// WriteTable writes the results as one Markdown table: a column per
// metric (in order of first appearance), "–" where a metric does not
// apply, baselines in italics, then each task's notes.
func WriteTable(w io.Writer, results []*TaskResult) error {
	var cols []string
	units := map[string]string{}
	for _, r := range results {
		for _, row := range r.Rows {
			for _, m := range row.Metrics {
				if !slices.Contains(cols, m.Name) {
					cols = append(cols, m.Name)
					units[m.Name] = m.Unit
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString("| task | setting | method |")
	for _, c := range cols {
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n|---|---|---|")
	for range cols {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range results {
		for _, row := range r.Rows {
			method := row.Method
			if row.Baseline {
				method = "*" + method + "*"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |", row.Task, row.Setting, method)
			for _, c := range cols {
				v := math.NaN()
				for _, m := range row.Metrics {
					if m.Name == c {
						v = m.Value
					}
				}
				b.WriteString(" " + formatMetric(v, units[c]) + " |")
			}
			b.WriteString("\n")
		}
	}
	for _, r := range results {
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "\n- %s: %s", r.Task, n)
		}
	}
	if len(results) > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatMetric(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	switch unit {
	case "%":
		return fmt.Sprintf("%.1f%%", 100*v)
	case "dB":
		return fmt.Sprintf("%.2f", v)
	case "s":
		if v < 10 {
			return fmt.Sprintf("%.2f", v)
		}
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// Sheet lays out examples as a PNG: a title row, then one row per example,
// tiles scaled up by scale (nearest neighbour) with 2 px padding.
func (ex Examples) Sheet(scale int) image.Image {
	if scale < 1 {
		scale = 1
	}
	cols := len(ex.Columns)
	tw, th := 0, 0
	for _, row := range ex.Rows {
		for _, t := range row {
			if t != nil {
				tw, th = max(tw, t.Bounds().Dx()*scale), max(th, t.Bounds().Dy()*scale)
			}
		}
	}
	face := basicfont.Face7x13
	const pad, titleH = 4, 16
	// Columns at least as wide as their titles.
	colW := tw
	for _, c := range ex.Columns {
		colW = max(colW, font.MeasureString(face, c).Ceil())
	}
	W := pad + cols*(colW+pad)
	H := pad + titleH + len(ex.Rows)*(th+pad)
	sheet := imaging.New(W, H, color.NRGBA{255, 255, 255, 255})
	d := &font.Drawer{Dst: sheet, Src: image.NewUniform(color.Black), Face: face}
	for i, c := range ex.Columns {
		x := pad + i*(colW+pad) + (colW-font.MeasureString(face, c).Ceil())/2
		d.Dot = fixed.P(x, pad+12)
		d.DrawString(c)
	}
	for r, row := range ex.Rows {
		for i, t := range row {
			if t == nil {
				continue
			}
			big := imaging.Resize(t, t.Bounds().Dx()*scale, t.Bounds().Dy()*scale, imaging.NearestNeighbor)
			x := pad + i*(colW+pad) + (colW-big.Bounds().Dx())/2
			y := pad + titleH + r*(th+pad)
			draw.Draw(sheet, big.Bounds().Add(image.Pt(x, y)), big, image.Point{}, draw.Src)
		}
	}
	return sheet
}

// SaveExamples writes each of a result's example sheets to dir/NAME.png.
func SaveExamples(dir string, r *TaskResult, scale int) ([]string, error) {
	var paths []string
	for _, ex := range r.Examples {
		p := filepath.Join(dir, ex.Name+".png")
		if err := images.Save(p, ex.Sheet(scale), ""); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
