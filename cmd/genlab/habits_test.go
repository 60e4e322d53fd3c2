package main

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"genlab/images"
	"genlab/pipeline"
)

// A required flag left out is one line naming it, with no help printed,
// and no help line shows a default for a required flag or two defaults.
func TestRequiredFlagsAndTheirHelp(t *testing.T) {
	status, stdout, stderr := genlab(t, "edit", "--ckpt", "c.safetensors", "--image", "i.png", "--out", "o.png")
	if status != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "edit: --strength is missing") {
		t.Errorf("edit without --strength: exit %d, stdout %q, stderr %q; want one line naming --strength", status, stdout, stderr)
	}
	required := 0
	for _, c := range newApp(nil, nil).Commands {
		paths := [][]string{{c.Name}}
		for _, s := range c.Subcommands {
			paths = append(paths, []string{c.Name, s.Name})
		}
		for _, path := range paths {
			_, help, _ := genlab(t, append(path, "--help")...)
			for _, line := range strings.Split(help, "\n") {
				if strings.Contains(line, "(required)") {
					required++
					if strings.Contains(line, "(default:") {
						t.Errorf("genlab %s --help: a required flag shows a default: %q", strings.Join(path, " "), line)
					}
				}
				if strings.Count(line, "(default:") > 1 {
					t.Errorf("genlab %s --help: two defaults: %q", strings.Join(path, " "), line)
				}
			}
		}
	}
	if required < 10 {
		t.Errorf("%d help lines say (required), want the required flags of every command", required)
	}
}

// sample without --class says which classes it draws; "1 image" is
// singular; sample and edit both take the class model's guidance from the
// pipeline's table.
func TestSampleDefaultsAreSaid(t *testing.T) {
	dir := t.TempDir()
	ckpt := untrainedDiffusion(t, dir)
	out := filepath.Join(dir, "s")
	status, stdout, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "4", "--steps", "1", "--out", out)
	if status != 0 || !strings.Contains(stderr, "no --class: 4 images spread over the 10 classes in equal blocks: classes 0, 2, 5, 7") || !strings.Contains(stdout, "wrote 4 images") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", status, stdout, stderr)
	}
	for i, c := range []int{0, 2, 5, 7} {
		q, err := images.ParseParameters(readParams(t, filepath.Join(out, images.SampleName(i, int64(i), c))))
		if err != nil || q.CFGScale != 2 {
			t.Errorf("image %d: %+v (%v), want class %d at the class model's guidance 2", i, q, err, c)
		}
	}
	status, stdout, _ = genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "1", "--steps", "1", "--class", "3", "--out", filepath.Join(dir, "one"))
	if status != 0 || !strings.Contains(stdout, "wrote 1 image to") {
		t.Errorf("exit %d, stdout %q: want \"wrote 1 image\"", status, stdout)
	}
	img, _, _ := taskInputs(t, dir)
	edited := filepath.Join(dir, "edit.png")
	if status, _, stderr := genlab(t, "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--class", "3", "--steps", "2", "--out", edited); status != 0 {
		t.Fatalf("edit: exit %d: %s", status, stderr)
	}
	if q, err := images.ParseParameters(readParams(t, edited)); err != nil || q.CFGScale != 2 {
		t.Errorf("edit: %+v (%v), want guidance 2 as sample", q, err)
	}
}

func readParams(t *testing.T, path string) string {
	t.Helper()
	s, err := images.ReadParameters(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Off a terminal the progress of a sampling run logs every tenth of its
// work, in the unit it counts; on a terminal the bar never starts at an
// empty "0/1".
func TestProgressReportsTheRealTotal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "sample", 0, 0)
	for i := 1; i <= 40; i++ {
		p.report(pipeline.Progress{Done: i, Total: 40})
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "sample 4/40 ") || !strings.Contains(lines[0], "steps/s") {
		t.Errorf("40 steps logged as:\n%s\nwant 10 lines, every 4 steps", b.String())
	}
	b.Reset()
	p = newProgress(&b, "batch", 3, 1)
	p.unit = "images"
	p.step(3, "")
	if !strings.Contains(b.String(), "images/s") {
		t.Errorf("batch logs %q, want a rate in images/s", b.String())
	}
	b.Reset()
	p = newProgress(&b, "sample", 0, 0)
	p.term = true
	for i := 1; i <= 50; i++ {
		p.task(i, 50)
	}
	p.done()
	if s := b.String(); strings.Contains(s, "/1,") || strings.Contains(s, "0 step/hr") || !strings.Contains(s, "/50") {
		t.Errorf("the bar shows %q: want counts out of 50", s)
	}
}

// --seed -1 draws a random seed once, says it and records it, so that the
// run can be made again; a list gives each image its own seed.
func TestSeedMinusOneAndSeedLists(t *testing.T) {
	dir := t.TempDir()
	ckpt := untrainedDiffusion(t, dir)
	a := filepath.Join(dir, "a")
	status, _, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "2", "--class", "1", "--steps", "2", "--seed", "-1", "--out", a)
	var seed int64
	_, said, _ := strings.Cut(stderr, "--seed -1: seed ")
	if _, err := fmt.Sscan(said, &seed); status != 0 || err != nil {
		t.Fatalf("exit %d, stderr %q: want the seed drawn", status, stderr)
	}
	first := filepath.Join(a, images.SampleName(0, seed, 1))
	if q, err := images.ParseParameters(readParams(t, first)); err != nil || q.Seed != seed {
		t.Fatalf("%s: %+v (%v), want seed %d", first, q, err, seed)
	}
	b := filepath.Join(dir, "b")
	if status, _, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "2", "--class", "1", "--steps", "2", "--seed", fmt.Sprint(seed), "--out", b); status != 0 {
		t.Fatalf("again with the seed said: exit %d: %s", status, stderr)
	}
	samePNGs(t, "the run again with the seed -1 drew", pngsIn(t, a), pngsIn(t, b))

	c := filepath.Join(dir, "c")
	if status, stdout, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--class", "1", "--steps", "2", "--seed", "3,7-8", "--out", c); status != 0 || !strings.Contains(stdout, "wrote 3 images") {
		t.Fatalf("--seed 3,7-8: exit %d, %s%s", status, stdout, stderr)
	}
	for i, s := range []int64{3, 7, 8} {
		if _, err := os.Stat(filepath.Join(c, images.SampleName(i, s, 1))); err != nil {
			t.Errorf("--seed 3,7-8: image %d: %v", i, err)
		}
	}
	wantUserError(t, "names 2 seeds but --n is 3", "sample", "diffusion", "--ckpt", ckpt, "--seed", "1,2", "--n", "3", "--out", filepath.Join(dir, "d"))
	wantUserError(t, "edit takes one seed", "edit", "--ckpt", ckpt, "--image", first, "--strength", "0.5", "--class", "1", "--seed", "1,2", "--out", filepath.Join(dir, "e.png"))

	img, _, _ := taskInputs(t, dir)
	edited := filepath.Join(dir, "edit.png")
	status, _, stderr = genlab(t, "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--class", "3", "--steps", "2", "--seed", "-1", "--out", edited)
	_, said, _ = strings.Cut(stderr, "--seed -1: seed ")
	if _, err := fmt.Sscan(said, &seed); status != 0 || err != nil {
		t.Fatalf("edit --seed -1: exit %d, stderr %q", status, stderr)
	}
	if q, _ := images.ParseParameters(readParams(t, edited)); q.Seed != seed {
		t.Errorf("edit --seed -1 said seed %d but recorded %d", seed, q.Seed)
	}
}

// --subseed and --subseed-strength: strength 1 draws the variation seed's
// own image (DDIM, η 0), the PNG records both with A1111's names, and a
// strength without --subseed draws a random variation seed and says it.
func TestVariationSeedFlags(t *testing.T) {
	dir := t.TempDir()
	ckpt := untrainedDiffusion(t, dir)
	sample := func(out string, extra ...string) (string, string) {
		t.Helper()
		args := append([]string{"sample", "diffusion", "--ckpt", ckpt, "--n", "1", "--class", "4", "--steps", "2", "--out", filepath.Join(dir, out)}, extra...)
		status, _, stderr := genlab(t, args...)
		if status != 0 {
			t.Fatalf("%v: exit %d: %s", args, status, stderr)
		}
		entries, _ := os.ReadDir(filepath.Join(dir, out))
		return filepath.Join(dir, out, entries[0].Name()), stderr
	}
	nine, _ := sample("nine", "--seed", "9")
	varied, _ := sample("varied", "--seed", "5", "--subseed", "9", "--subseed-strength", "1")
	if a, b := pngPixels(t, nine), pngPixels(t, varied); !slices.Equal(a, b) {
		t.Error("seed 5 at variation strength 1 towards seed 9 is not seed 9's image")
	}
	q, err := images.ParseParameters(readParams(t, varied))
	if err != nil || q.Seed != 5 || q.VariationSeed != 9 || q.VariationStrength != 1 || !strings.Contains(readParams(t, varied), "Variation seed: 9, Variation seed strength: 1") {
		t.Errorf("parameters %q: %+v (%v)", readParams(t, varied), q, err)
	}
	random, stderr := sample("random", "--seed", "5", "--subseed-strength", "0.2")
	_, said, _ := strings.Cut(stderr, "--subseed -1: seed ")
	var sub int64
	if _, err := fmt.Sscan(said, &sub); err != nil {
		t.Fatalf("stderr %q does not say the variation seed drawn", stderr)
	}
	if q, _ := images.ParseParameters(readParams(t, random)); q.VariationSeed != sub || q.VariationStrength != 0.2 {
		t.Errorf("said variation seed %d, recorded %+v", sub, q)
	}
	wantUserError(t, "--subseed needs --subseed-strength", "sample", "diffusion", "--ckpt", ckpt, "--subseed", "3", "--out", filepath.Join(dir, "x"))
	wantUserError(t, "--subseed-strength 2", "sample", "diffusion", "--ckpt", ckpt, "--subseed-strength", "2", "--out", filepath.Join(dir, "x"))
}

// --upscale N saves every PNG and grid N times larger by nearest
// neighbour and records it; a batch rerun at the same factor skips the
// images it wrote.
func TestUpscaleOnSave(t *testing.T) {
	dir := t.TempDir()
	ckpt := untrainedDiffusion(t, dir)
	out, grid := filepath.Join(dir, "s"), filepath.Join(dir, "grid.png")
	if status, _, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "2", "--class", "1", "--steps", "1", "--upscale", "4", "--out", out, "--grid", grid); status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	first := filepath.Join(out, images.SampleName(0, 0, 1))
	if b := readPNG(t, first).Bounds(); b.Dx() != 112 || b.Dy() != 112 {
		t.Errorf("a 28 px sample at --upscale 4 is %v", b)
	}
	if !strings.Contains(readParams(t, first), "Upscale: 4x nearest") {
		t.Errorf("parameters %q do not record the upscale", readParams(t, first))
	}
	if b := readPNG(t, grid).Bounds(); b.Dx() != 4*(2*28+3*2) {
		t.Errorf("the grid at --upscale 4 is %v", b)
	}
	if p := readParams(t, grid); !strings.Contains(p, "Seeds: 0-1") || !strings.Contains(p, "Upscale: 4x nearest") {
		t.Errorf("the grid's parameters %q do not list its tiles' seeds and the upscale", p)
	}
	img, _, _ := taskInputs(t, dir)
	edited := filepath.Join(dir, "edit.png")
	if status, _, stderr := genlab(t, "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--class", "3", "--steps", "2", "--upscale", "3", "--out", edited); status != 0 {
		t.Fatalf("edit: exit %d: %s", status, stderr)
	}
	if b := readPNG(t, edited).Bounds(); b.Dx() != 108 || b.Dy() != 90 {
		t.Errorf("a 36x30 edit at --upscale 3 is %v", b)
	}
	manifest := filepath.Join(dir, "m.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n2,5,2\n"), 0o644)
	bout := filepath.Join(dir, "b")
	for i, want := range []string{"wrote 2 images", "wrote 0 images to " + bout + " (2 were there already)"} {
		status, stdout, stderr := genlab(t, "batch", "--ckpt", ckpt, "--manifest", manifest, "--steps", "1", "--upscale", "2", "--out", bout)
		if status != 0 || !strings.Contains(stdout, want) {
			t.Errorf("batch run %d: exit %d, stdout %q, stderr %q; want %q", i+1, status, stdout, stderr, want)
		}
	}
	if status, stdout, stderr := genlab(t, "batch", "verify", "--ckpt", ckpt, "--manifest", manifest, "--steps", "1", "--upscale", "2", "--out", bout); status != 0 {
		t.Errorf("batch verify of an upscaled batch: exit %d\n%s%s", status, stdout, stderr)
	}
	os.WriteFile(manifest, []byte("class,seed,count\n2,-1,2\n"), 0o644)
	wantUserError(t, "line 2: seed -1: a manifest names its seeds", "batch", "--ckpt", ckpt, "--manifest", manifest, "--out", filepath.Join(dir, "b2"))
	wantUserError(t, "--upscale 0", "sample", "diffusion", "--ckpt", ckpt, "--upscale", "0", "--out", filepath.Join(dir, "x"))
}

// pnginfo prints a PNG's parameters, says when a plain PNG has none, and
// refuses a file that is not a PNG in one line.
func TestPNGInfo(t *testing.T) {
	dir := t.TempDir()
	with, plain, text := filepath.Join(dir, "with.png"), filepath.Join(dir, "plain.png"), filepath.Join(dir, "notes.png")
	q := images.Parameters{Prompt: "class 3", Steps: 20, Sampler: "DDIM", Seed: 7, VariationSeed: 9, VariationStrength: 0.25,
		Extra: []images.Field{{Key: "Class", Value: "3"}, {Key: "Note", Value: "a\x1b[31m"}}}
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	images.Save(with, img, q.String())
	images.Save(plain, img, "")
	os.WriteFile(text, []byte("not a png"), 0o644)
	status, stdout, stderr := genlab(t, "pnginfo", with, plain)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	for _, want := range []string{with + ":\nclass 3\nSteps: 20, Sampler: DDIM, Seed: 7, Variation seed: 9, Variation seed strength: 0.25, Class: 3", plain + ": no parameters"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout %q lacks %q", stdout, want)
		}
	}
	if strings.Contains(stdout, "\x1b") {
		t.Errorf("stdout %q writes an escape sequence to the terminal", stdout)
	}
	wantUserError(t, "notes.png", "pnginfo", text)
	wantUserError(t, "name one or more PNG files", "pnginfo")
}

// genlab xy draws one labelled PNG of every pair of values of two knobs
// (guidance x steps; sampler x seed), each cell the image sample draws
// with those settings, and records the axes; bad axes are one line.
func TestXYPlot(t *testing.T) {
	dir := t.TempDir()
	ckpt := untrainedDiffusion(t, dir)
	plot := filepath.Join(dir, "plot.png")
	status, stdout, stderr := genlab(t, "xy", "--ckpt", ckpt, "--x", "guidance=1,3,5", "--y", "steps=1,2", "--class", "3", "--out", plot)
	if status != 0 || !strings.Contains(stdout, "3 x 2 images") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", status, stdout, stderr)
	}
	img := readPNG(t, plot)
	if b := img.Bounds(); b.Dx() < 3*112 || b.Dy() < 2*112 {
		t.Errorf("plot %v: want 3x2 cells of 28 px at the default --upscale 4", b)
	}
	params := readParams(t, plot)
	for _, want := range []string{"Script: X/Y plot", "X Type: CFG Scale", `X Values: "1,3,5"`, "Y Type: Steps", `Y Values: "1,2"`} {
		if !strings.Contains(params, want) {
			t.Errorf("parameters %q lack %q", params, want)
		}
	}
	// The cell of guidance 5 and steps 2 is sample's image at those settings.
	s := filepath.Join(dir, "s")
	if status, _, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "1", "--class", "3", "--guidance", "5", "--steps", "2", "--upscale", "4", "--out", s); status != 0 {
		t.Fatalf("sample: exit %d: %s", status, stderr)
	}
	cell := readPNG(t, filepath.Join(s, images.SampleName(0, 0, 3)))
	found := false
	b := img.Bounds()
	for oy := b.Dy() / 2; oy+112 <= b.Dy() && !found; oy++ {
		for ox := 2 * b.Dx() / 3; ox+112 <= b.Dx() && !found; ox++ {
			found = sameAt(img, cell, ox, oy)
		}
	}
	if !found {
		t.Error("the plot has no cell equal to sample's image at guidance 5, 5 steps")
	}
	if status, _, stderr := genlab(t, "xy", "--ckpt", ckpt, "--x", "sampler=ddim,ddpm", "--y", "seed=1-3", "--steps", "1", "--upscale", "1", "--out", filepath.Join(dir, "p2.png")); status != 0 {
		t.Fatalf("sampler x seed: exit %d: %s", status, stderr)
	}
	wantUserError(t, "both axes vary steps", "xy", "--ckpt", ckpt, "--x", "steps=1,2", "--y", "steps=3", "--out", filepath.Join(dir, "p3.png"))
	wantUserError(t, "want KNOB=V1,V2", "xy", "--ckpt", ckpt, "--x", "colour=1,2", "--y", "steps=3", "--out", filepath.Join(dir, "p3.png"))
	wantUserError(t, "sampler=euler", "xy", "--ckpt", ckpt, "--x", "sampler=ddim,euler", "--y", "steps=3", "--out", filepath.Join(dir, "p3.png"))
	if _, err := os.Stat(filepath.Join(dir, "p3.png")); err == nil {
		t.Error("a refused plot was written")
	}
}

// sameAt reports whether tile's pixels are img's at offset (ox, oy).
func sameAt(img, tile image.Image, ox, oy int) bool {
	tb := tile.Bounds()
	for y := 0; y < tb.Dy(); y++ {
		for x := 0; x < tb.Dx(); x++ {
			r1, g1, b1, _ := img.At(ox+x, oy+y).RGBA()
			r2, g2, b2, _ := tile.At(tb.Min.X+x, tb.Min.Y+y).RGBA()
			if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
				return false
			}
		}
	}
	return true
}
