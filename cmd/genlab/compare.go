package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
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
	"genlab/internal/noise"
	"genlab/models"
	"genlab/train"

	"github.com/urfave/cli/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

func compareCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "ckpt", Usage: "a checkpoint to compare (repeat the flag, one per model)", Required: true},
		&cli.StringFlag{Name: "out", Value: "out/compare", Usage: "folder for compare.md and compare.png"},
		&cli.IntFlag{Name: "grid", Value: 64, Usage: "samples per family in compare.png"},
		&cli.IntFlag{Name: "diffusion-bpd-images", Value: 100, Usage: "at most this many test images for a diffusion model's bits/dim (its bound is slow)"},
	}
	for _, f := range evalCommand().Flags {
		if f.Names()[0] != "ckpt" && f.Names()[0] != "json" {
			flags = append(flags, f)
		}
	}
	return &cli.Command{
		Name:   "compare",
		Usage:  "one table of every model given: bits/dim, fid_lenet beside its floor, class coverage, training and sampling time; and a grid of each",
		Flags:  flags,
		Action: compareAction,
	}
}

// compareRow is one model's line of the table.
type compareRow struct {
	evalReport
	trainTime time.Duration // from its run folder's loss.csv; 0 if unknown
	copies    *float64      // share of samples the copy rule flags in pixel space; nil if unknown
	grid      image.Image
}

func compareAction(c *cli.Context) error {
	ckpts := c.StringSlice("ckpt")
	if n := c.Int("n"); n < 10 {
		return userErrorf("compare: --n %d: want at least 10 samples", n)
	}
	if g := c.Int("grid"); g < 1 || g > 400 {
		return userErrorf("compare: --grid %d: want 1 to 400", g)
	}
	clfPath := c.String("classifier")
	if _, err := os.Stat(clfPath); err != nil {
		return userErrorf("compare: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", clfPath)
	}
	judge, err := eval.NewJudge(clfPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var rows []compareRow
	mem := &compareMemorization{m: map[int]*eval.Memorizer{}}
	for _, ckpt := range ckpts {
		fmt.Fprintf(c.App.ErrWriter, "compare: %s\n", ckpt)
		rep, p, err := evaluate(ctx, c, "compare", ckpt, clfPath, judge)
		if err != nil {
			return err
		}
		row := compareRow{evalReport: rep}
		if row.copies, err = mem.share(c.App.ErrWriter, ckpt, rep); err != nil {
			return err
		}
		if d, err := train.TrainingTime(filepath.Join(filepath.Dir(ckpt), "loss.csv"), rep.Step); err == nil {
			row.trainTime = d
		}
		n := c.Int("grid")
		r, err := request(c, "compare", p, noise.Seeds(0, n), "", true)
		if err != nil {
			return err
		}
		grid, err := p.Generate(ctx, r)
		if err != nil {
			return err
		}
		tiles := make([]image.Image, n)
		for i := range tiles {
			tiles[i] = grid.Image(i)
		}
		row.grid = images.Grid(tiles, 0, 2, nil)
		rows = append(rows, row)
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	md := filepath.Join(out, "compare.md")
	if err := atomicfile.Write(md, func(w io.Writer) error { _, err := io.WriteString(w, compareTable(rows)); return err }); err != nil {
		return err
	}
	png := filepath.Join(out, "compare.png")
	if err := images.Save(png, compareSheet(rows), ""); err != nil {
		return err
	}
	fmt.Fprint(c.App.Writer, compareTable(rows))
	fmt.Fprintf(c.App.Writer, "\nwrote %s and %s\n", md, png)
	return nil
}

// compareTable is the Markdown table of rows.
func compareTable(rows []compareRow) string {
	var b strings.Builder
	n := 0
	if len(rows) > 0 {
		n = rows[0].Samples
	}
	fmt.Fprintf(&b, "| family | checkpoint | step | bpd | fid_lenet (floor) | class_accuracy | class_coverage min–max | training time | sampling s/image | copies |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		bpd := "—"
		if r.BPD != nil {
			bpd = fmt.Sprintf("%.3f", *r.BPD)
		}
		acc := "—"
		if r.ClassAccuracy != nil {
			acc = fmt.Sprintf("%.3f", *r.ClassAccuracy)
		}
		cov := "—"
		if len(r.ClassCoverage) > 0 {
			cov = fmt.Sprintf("%.3f–%.3f", slices.Min(r.ClassCoverage), slices.Max(r.ClassCoverage))
		}
		tt := "—"
		if r.trainTime > 0 {
			tt = r.trainTime.Round(time.Second).String()
		}
		copies := "—"
		if r.copies != nil {
			copies = fmt.Sprintf("%.1f%%", 100**r.copies)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %.2f (%.2f) | %s | %s | %s | %.4f | %s |\n", r.Family, filepath.Base(r.Checkpoint), r.Step,
			bpd, r.FIDLeNet, r.FIDLeNetReal, acc, cov, tt, r.SecondsPerImg, copies)
	}
	fmt.Fprintf(&b, "\n%d samples per model against the MNIST test set (fid_lenet's floor is real training digits at the same n); ", n)
	b.WriteString("bpd on MNIST test images:")
	for _, r := range rows {
		if r.BPD != nil {
			fmt.Fprintf(&b, " %s: %s over %d;", r.Family, r.BPDMethod, r.BPDImages)
		}
	}
	b.WriteString(" class_accuracy for class-conditional models (classes asked in turn), whose coverage is then of the classes asked.")
	rule := eval.CopyRule{}.WithDefaults()
	fmt.Fprintf(&b, " copies: the share of samples whose nearest training image (pixel distance, the model's own training set) is closer than %.3f x the mean distance of its %d nearest (after Carlini et al. 2023; 'genlab audit' has the details).\n", rule.Ratio, rule.K)
	return b.String()
}

// compareMemorization is compare's memorization column: one Memorizer per
// training set (MNIST's first N images, N from a checkpoint's --limit, 0
// for all), built when first needed, pixel space only and no held-out
// baseline, so that a model costs only its own samples' search (about
// 1000 x 60,000 distances of 784 values, seconds on 2 cores).
type compareMemorization struct {
	m     map[int]*eval.Memorizer
	mnist *datasets.Set
}

func (cm *compareMemorization) share(log io.Writer, ckpt string, rep evalReport) (*float64, error) {
	meta, err := models.ReadMeta(ckpt, "")
	if err != nil {
		return nil, err
	}
	if d := meta.Extra["genlab.data"]; d != "mnist" {
		fmt.Fprintf(log, "compare: %s was trained on %q, not MNIST: no memorization figure\n", ckpt, d)
		return nil, nil
	}
	limit, _ := strconv.Atoi(meta.Extra[train.KeyDataLimit])
	m := cm.m[limit]
	if m == nil {
		if cm.mnist == nil {
			if cm.mnist, err = datasets.LoadMNIST("train"); err != nil {
				return nil, err
			}
		}
		set, err := firstImages(cm.mnist, limit, "compare")
		if err != nil {
			return nil, err
		}
		if m, err = eval.NewMemorizer(set, nil, nil, eval.CopyRule{}); err != nil {
			return nil, err
		}
		cm.m[limit] = m
	}
	start := time.Now()
	r, err := m.Audit(rep.pixels, rep.Samples)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "compare: memorization search %.1f s\n", time.Since(start).Seconds())
	return &r.Spaces[0].SampleCopies, nil
}

// compareSheet puts each model's grid side by side under its family's name.
func compareSheet(rows []compareRow) image.Image {
	const label, pad = 20, 8
	w, h := pad, 0
	for _, r := range rows {
		b := r.grid.Bounds()
		w += b.Dx() + pad
		h = max(h, b.Dy())
	}
	sheet := image.NewRGBA(image.Rect(0, 0, w, h+label+pad))
	draw.Draw(sheet, sheet.Bounds(), image.White, image.Point{}, draw.Src)
	x := pad
	for _, r := range rows {
		b := r.grid.Bounds()
		d := font.Drawer{Dst: sheet, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13,
			Dot: fixed.P(x, label-6)}
		d.DrawString(fmt.Sprintf("%s (step %d)", r.Family, r.Step))
		draw.Draw(sheet, b.Add(image.Pt(x, label)), r.grid, b.Min, draw.Src)
		x += b.Dx() + pad
	}
	return sheet
}
