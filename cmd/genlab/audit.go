package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"genlab/datasets"
	"genlab/eval"
	"genlab/images"
	"genlab/internal/atomicfile"
	"genlab/models"
	"genlab/pipeline"
	"genlab/train"

	"github.com/disintegration/imaging"
	"github.com/urfave/cli/v2"
)

// Does a model copy its training images? `genlab audit` draws samples
// through the pipeline (or reads a folder of them), finds each one's
// nearest training images in pixel space and in the MNIST judge's feature
// space, sets their distances beside those of held-out test images (which
// are new by construction) and counts the samples a copy rule flags
// (eval.CopyRule, after Carlini et al. 2023).

func auditCommand() *cli.Command {
	var flags []cli.Flag
	for _, f := range sampleFlags() {
		if f.Names()[0] == "ckpt" {
			f = &cli.StringFlag{Name: "ckpt", Usage: "the model's checkpoint (or --samples)"}
		}
		flags = append(flags, f)
	}
	flags = append(flags,
		&cli.StringFlag{Name: "samples", Usage: "audit the PNG/JPEG images in this folder instead of a checkpoint's samples"},
		&cli.StringFlag{Name: "data", Usage: "the training set: mnist, shapes or a folder of images (default: the checkpoint's)"},
		&cli.IntFlag{Name: "limit", Usage: "the training set is the split's first N images (default: the checkpoint's --limit, else all)"},
		&cli.IntFlag{Name: "n", Value: 500, Usage: "samples to audit"},
		&cli.IntFlag{Name: "held-out", Value: 1000, Usage: "test images measured the same way, the baseline of new images (0: none)"},
		&cli.IntFlag{Name: "k", Value: 50, Usage: "copy rule: the nearest training image is compared with the mean distance of the K nearest"},
		&cli.Float64Flag{Name: "ratio", Value: 1.0 / 3, DefaultText: "1/3", Usage: "copy rule: a copy when nearest < RATIO x that mean (0-1)"},
		&cli.StringFlag{Name: "classifier", Value: defaultClassifier, Usage: "the MNIST judge whose feature space is searched too (MNIST-shaped data only)"},
		&cli.StringFlag{Name: "report", Usage: "folder for report.md, report.json and pairs.png (default out/audit-RUN-CHECKPOINT, or out/audit-FOLDER)"},
		seedFlag("1", "image i's noise comes from seed+i"),
		&cli.BoolFlag{Name: "json", Usage: "print the report as one JSON object"},
	)
	return &cli.Command{
		Name: "audit",
		Usage: "does a model copy its training images? nearest training images of its samples (pixels and judge features) " +
			"beside held-out test images', the share of copies by an explicit rule, and a sheet of the closest pairs",
		Flags:  flags,
		Action: auditAction,
	}
}

// auditReport is report.json (and --json).
type auditReport struct {
	Checkpoint string    `json:"checkpoint,omitempty"`
	Family     string    `json:"family,omitempty"`
	Step       int       `json:"step,omitempty"`
	SamplesDir string    `json:"samples_folder,omitempty"`
	Data       string    `json:"data"`
	Limit      int       `json:"limit,omitempty"`
	Quantiles  []float64 `json:"quantiles"`
	*eval.MemorizationReport
	Closest      []auditPair `json:"closest"`
	SampleSecs   float64     `json:"sample_seconds"`
	SearchSecs   float64     `json:"search_seconds"`
	FeatureSpace string      `json:"feature_space"` // the judge, or why there is none
}

// auditPair is one sample beside its nearest training images.
type auditPair struct {
	Sample       int     `json:"sample"`
	Train        int     `json:"train_index"`
	Distance     float64 `json:"pixel_distance"`
	Score        float64 `json:"pixel_score"`
	Copy         bool    `json:"pixel_copy"`
	FeatureTrain *int    `json:"feature_train_index,omitempty"` // nil without the feature space
	FeatureScore float64 `json:"feature_score,omitempty"`
	FeatureCopy  bool    `json:"feature_copy,omitempty"`
}

func auditAction(c *cli.Context) error {
	ckpt, folder := c.String("ckpt"), c.String("samples")
	n, heldN, k, ratio := c.Int("n"), c.Int("held-out"), c.Int("k"), c.Float64("ratio")
	switch {
	case (ckpt == "") == (folder == ""):
		return userErrorf("audit: give either --ckpt (a model's samples) or --samples (a folder of images)")
	case n < 1:
		return userErrorf("audit: --n %d: want at least 1 sample", n)
	case k < 1:
		return userErrorf("audit: --k %d: want at least 1 neighbour", k)
	case !(ratio > 0 && ratio <= 1):
		return userErrorf("audit: --ratio %g: want a number in (0,1]", ratio)
	}
	rep := auditReport{Checkpoint: ckpt, SamplesDir: folder, Quantiles: eval.Quantiles}
	data, limit := c.String("data"), c.Int("limit")
	if ckpt != "" {
		meta, err := models.ReadMeta(ckpt, "")
		if err != nil {
			return err
		}
		if data == "" {
			data = meta.Extra["genlab.data"]
		}
		if v, ok := meta.Extra[train.KeyDataLimit]; ok && !c.IsSet("limit") {
			limit, _ = strconv.Atoi(v)
		}
	}
	if data == "" {
		return userErrorf("audit: name the training set with --data mnist, shapes or a folder (the checkpoint does not record it)")
	}
	rep.Data, rep.Limit = data, limit
	trainSet, err := datasets.Load(data, "train")
	if err != nil {
		return err
	}
	if trainSet, err = firstImages(trainSet, limit, "audit"); err != nil {
		return err
	}
	if trainSet.N <= k {
		return userErrorf("audit: --k %d: the training set holds %d images; want K below that", k, trainSet.N)
	}
	// Notes on what the audit goes without wait until the samples are
	// drawn: an error before then stays the one line printed.
	var notes []string
	judge, why, err := auditJudge(c, trainSet)
	if err != nil {
		return err
	}
	rep.FeatureSpace = why
	if judge == nil {
		notes = append(notes, "feature space: "+why)
	}
	held, note := heldOutSet(data, heldN, trainSet)
	if note != "" {
		notes = append(notes, note)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	var samples []float32
	if ckpt != "" {
		p, err := openPipeline("audit", ckpt)
		if err != nil {
			return err
		}
		info := p.Info()
		rep.Family, rep.Step = info.Family, info.Step
		if samples, err = auditSamples(ctx, c, p, n, trainSet); err != nil {
			return err
		}
	} else {
		s, err := datasets.LoadFolder(folder, trainSet.H, trainSet.C)
		if err != nil {
			return err
		}
		n = min(n, s.N)
		samples = s.Pixels[:n*s.Dim()]
	}
	rep.SampleSecs = time.Since(start).Seconds()
	for _, note := range notes {
		fmt.Fprintf(c.App.ErrWriter, "audit: %s\n", note)
	}

	start = time.Now()
	m, err := eval.NewMemorizer(trainSet, held, judge, eval.CopyRule{K: k, Ratio: ratio})
	if err != nil {
		return err
	}
	if rep.MemorizationReport, err = m.Audit(samples, n); err != nil {
		return err
	}
	rep.SearchSecs = time.Since(start).Seconds()
	rep.Closest = closestPairs(rep.MemorizationReport, 32)

	dir := c.String("report")
	if dir == "" {
		// The run folder's name too: every run has a ckpt-005000.
		path := filepath.Clean(ckpt + folder)
		name := strings.TrimSuffix(filepath.Base(path), ".safetensors")
		if ckpt != "" {
			name = filepath.Base(filepath.Dir(path)) + "-" + name
		}
		dir = filepath.Join("out", "audit-"+name)
	}
	if err := writeAudit(dir, &rep, samples, trainSet); err != nil {
		return err
	}
	w := c.App.Writer
	if c.Bool("json") {
		return json.NewEncoder(w).Encode(rep)
	}
	printAuditReport(w, &rep)
	fmt.Fprintf(w, "report: %s (report.md, report.json, pairs.png)\n", dir)
	return nil
}

// heldOutSet is the baseline of new images: the first n of the dataset's
// test split (a folder's DIR/test), or nil with a note why there is none.
func heldOutSet(data string, n int, trainSet *datasets.Set) (*datasets.Set, string) {
	if n == 0 {
		return nil, ""
	}
	if data != "mnist" && data != "shapes" {
		if st, err := os.Stat(filepath.Join(data, "test")); err != nil || !st.IsDir() {
			return nil, fmt.Sprintf("%s has no test folder of held-out images, so there is no baseline of new images", data)
		}
	}
	held, err := datasets.Load(data, "test")
	if err != nil {
		return nil, fmt.Sprintf("no held-out images: %v", err)
	}
	if held.Dim() != trainSet.Dim() {
		return nil, fmt.Sprintf("no held-out images: the test images are %dx%dx%d, the training images %dx%dx%d", held.C, held.H, held.W, trainSet.C, trainSet.H, trainSet.W)
	}
	s, _ := firstImages(held, min(n, held.N), "audit")
	return s, ""
}

// auditSamples draws n samples of p the shape of trainSet's images:
// classes in turn for a class-conditional model, the null prompt for a
// text one.
func auditSamples(ctx context.Context, c *cli.Context, p pipeline.Pipeline, n int, trainSet *datasets.Set) ([]float32, error) {
	k, ckpt := p.Knobs(), p.Info().Path
	if k.Channels != trainSet.C || k.Size != trainSet.H || k.Size != trainSet.W {
		return nil, userErrorf("audit: %s makes %dx%dx%d images, the training set %s holds %dx%dx%d",
			ckpt, k.Channels, k.Size, k.Size, trainSet.Name, trainSet.C, trainSet.H, trainSet.W)
	}
	r, err := flagRequest(c, "audit", p, seedsOf(c, n), false)
	if err != nil {
		return nil, err
	}
	r.Classes = nil
	if k.Classes > 0 {
		r.Classes = make([]int, n)
		for i := range r.Classes {
			r.Classes[i] = i % k.Classes
		}
	}
	bar := newProgress(c.App.ErrWriter, "audit: sampling", 1, 1)
	r.Progress = func(pr pipeline.Progress) error {
		bar.total, bar.every = pr.Total, max(1, pr.Total/10)
		bar.step(pr.Done, "")
		return nil
	}
	out, err := p.Generate(ctx, r)
	bar.done()
	if err != nil {
		return nil, err
	}
	return out.Pixels, nil
}

// auditJudge is the classifier whose feature space is searched too, for
// MNIST-shaped images; nil and why not otherwise. The default judge may be
// missing (a note); one named with --classifier may not.
func auditJudge(c *cli.Context, trainSet *datasets.Set) (*eval.Classifier, string, error) {
	if trainSet.C != 1 || trainSet.H != 28 || trainSet.W != 28 {
		return nil, "none: the judge is an MNIST classifier and these images are not 1x28x28", nil
	}
	path := c.String("classifier")
	if _, err := os.Stat(path); err != nil {
		if c.IsSet("classifier") {
			return nil, "", userErrorf("audit: no classifier at %s: train one with 'genlab train classifier'", path)
		}
		return nil, fmt.Sprintf("none: no judge at %s, so pixel space only (train one with 'genlab train classifier')", path), nil
	}
	clf, err := eval.LoadClassifier(path)
	if err != nil {
		return nil, "", err
	}
	return clf, path, nil
}

// closestPairs are the m samples nearest their nearest training image in
// pixel space, nearest first.
func closestPairs(r *eval.MemorizationReport, m int) []auditPair {
	px := &r.Spaces[0]
	order := make([]int, r.Samples)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(px.Nearest[a].Dist, px.Nearest[b].Dist)
	})
	var out []auditPair
	for _, i := range order[:min(m, len(order))] {
		p := auditPair{Sample: i, Train: px.Nearest[i].Index, Distance: px.Nearest[i].Dist, Score: px.Score[i], Copy: px.Copy(i, r.Rule)}
		if len(r.Spaces) > 1 {
			f := &r.Spaces[1]
			p.FeatureTrain, p.FeatureScore, p.FeatureCopy = &f.Nearest[i].Index, f.Score[i], f.Copy(i, r.Rule)
		}
		out = append(out, p)
	}
	return out
}

func printAuditReport(w io.Writer, rep *auditReport) {
	r := rep.MemorizationReport
	if rep.Checkpoint != "" {
		fmt.Fprintf(w, "%s (%s, step %d): %d samples", rep.Checkpoint, rep.Family, rep.Step, r.Samples)
	} else {
		fmt.Fprintf(w, "%s: %d images", rep.SamplesDir, r.Samples)
	}
	fmt.Fprintf(w, " against %d training images of %s", r.Train, rep.Data)
	if rep.Limit > 0 {
		fmt.Fprintf(w, " (the first %d)", rep.Limit)
	}
	fmt.Fprintf(w, "; %d held-out test images as the baseline\n", r.HeldOut)
	fmt.Fprintf(w, "copy rule: nearest training image closer than %.3f x the mean distance of the %d nearest\n", r.Rule.Ratio, r.Rule.K)
	for _, s := range r.Spaces {
		fmt.Fprintf(w, "%s: copies %.1f%% of samples", s.Space, 100*s.SampleCopies)
		if r.HeldOut > 0 {
			fmt.Fprintf(w, ", %.1f%% of held-out images (false alarms)", 100*s.HeldOutCopies)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  nearest-training distance at quantiles %s\n", quantileHeader(rep.Quantiles))
		fmt.Fprintf(w, "    samples   %s\n", quantileRow(s.SampleQuantiles))
		if r.HeldOut > 0 {
			fmt.Fprintf(w, "    held-out  %s\n", quantileRow(s.HeldOutQuantiles))
		}
	}
	if len(r.Spaces) == 1 {
		fmt.Fprintf(w, "features: %s\n", rep.FeatureSpace)
	}
	fmt.Fprintf(w, "time: sampling %.1f s, search %.1f s\n", rep.SampleSecs, rep.SearchSecs)
}

func quantileHeader(qs []float64) string {
	var b strings.Builder
	for _, q := range qs {
		fmt.Fprintf(&b, "%8s", fmt.Sprintf("%g%%", 100*q))
	}
	return b.String()
}

func quantileRow(x []float64) string {
	var b strings.Builder
	for _, v := range x {
		fmt.Fprintf(&b, "%8.3f", v)
	}
	return b.String()
}

// writeAudit writes report.json, report.md and pairs.png: each of the
// closest samples beside its nearest training image in pixels (and in
// features).
func writeAudit(dir string, rep *auditReport, samples []float32, trainSet *datasets.Set) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	err := atomicfile.Write(filepath.Join(dir, "report.json"), func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	err = atomicfile.Write(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		r := rep.MemorizationReport
		what := rep.SamplesDir
		if rep.Checkpoint != "" {
			what = fmt.Sprintf("%s (%s, step %d)", rep.Checkpoint, rep.Family, rep.Step)
		}
		fmt.Fprintf(w, "# Memorization audit: %s\n\n", mdCell(what))
		fmt.Fprintf(w, "%d samples against %d training images of %s", r.Samples, r.Train, mdCell(rep.Data))
		if rep.Limit > 0 {
			fmt.Fprintf(w, " (the first %d)", rep.Limit)
		}
		fmt.Fprintf(w, "; %d held-out test images measured the same way. Copy rule (after Carlini et al. 2023): a sample is a copy when the distance to its nearest training image is below %.3f x the mean distance to its %d nearest. Feature space: %s.\n\n",
			r.HeldOut, r.Rule.Ratio, r.Rule.K, mdCell(rep.FeatureSpace))
		fmt.Fprintln(w, "| space | copies among samples | among held-out images | "+strings.Join(quantileCells(rep.Quantiles, "sample"), " | ")+" | "+strings.Join(quantileCells(rep.Quantiles, "held-out"), " | ")+" |")
		fmt.Fprintln(w, "|---|---:|---:|"+strings.Repeat("---:|", 2*len(rep.Quantiles)))
		for _, s := range r.Spaces {
			held := "—"
			if r.HeldOut > 0 {
				held = fmt.Sprintf("%.1f%%", 100*s.HeldOutCopies)
			}
			fmt.Fprintf(w, "| %s | %.1f%% | %s |", s.Space, 100*s.SampleCopies, held)
			for _, v := range s.SampleQuantiles {
				fmt.Fprintf(w, " %.3f |", v)
			}
			for i := range rep.Quantiles {
				if i < len(s.HeldOutQuantiles) {
					fmt.Fprintf(w, " %.3f |", s.HeldOutQuantiles[i])
				} else {
					fmt.Fprint(w, " — |")
				}
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "\nDistances are Euclidean, between images with pixels in [0,1] (or between the judge's features); quantiles of each image's distance to its nearest training image.\n\n")
		fmt.Fprintf(w, "## The closest pairs (pairs.png, one a row: sample, nearest training image in pixels%s)\n\n", map[bool]string{true: ", nearest in features", false: ""}[len(r.Spaces) > 1])
		fmt.Fprintln(w, "| sample | training image | pixel distance | score | copy |\n|---:|---:|---:|---:|---|")
		for _, p := range rep.Closest {
			fmt.Fprintf(w, "| %d | %d | %.3f | %.3f | %v |\n", p.Sample, p.Train, p.Distance, p.Score, p.Copy)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	d := trainSet.Dim()
	big := func(img image.Image) image.Image {
		return imaging.Resize(img, 2*img.Bounds().Dx(), 0, imaging.NearestNeighbor)
	}
	var tiles []image.Image
	for _, p := range rep.Closest {
		tiles = append(tiles, big(images.FromFloats(samples[p.Sample*d:(p.Sample+1)*d], trainSet.C, trainSet.H, trainSet.W)), big(trainSet.ToImage(p.Train)))
		if len(rep.Spaces) > 1 {
			tiles = append(tiles, big(trainSet.ToImage(*p.FeatureTrain)))
		}
	}
	cols := 2
	if len(rep.Spaces) > 1 {
		cols = 3
	}
	// Four pairs a row: a wider gap between pairs than within one.
	var rows []image.Image
	for i := 0; i < len(tiles); i += 4 * cols {
		var pairs []image.Image
		for j := i; j < min(i+4*cols, len(tiles)); j += cols {
			pairs = append(pairs, images.Grid(tiles[j:j+cols], cols, 2, color.Gray{Y: 128}))
		}
		rows = append(rows, images.Grid(pairs, 4, 10, color.White))
	}
	if err := images.Save(filepath.Join(dir, "pairs.png"), images.Grid(rows, 1, 0, color.White), "genlab audit: the closest sample/training pairs"); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func quantileCells(qs []float64, who string) []string {
	var out []string
	for _, q := range qs {
		out = append(out, fmt.Sprintf("%s %g%%", who, 100*q))
	}
	return out
}
