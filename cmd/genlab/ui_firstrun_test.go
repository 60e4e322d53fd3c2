package main

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"genlab/eval/evaltest"
	"genlab/images"
	"genlab/ui"
)

// The first run as a newcomer does it, in the real window under Xvfb,
// with the real mouse and keyboard: an empty models folder, a click on
// "Train a quick model", the model appears in the list (selected), then
// for each digit a click on its class and on Generate, at the app's
// settings for the model (the quick model's own default guidance, 4). The
// images the app saves on its own in its outputs folder say in their
// parameters which class was asked; the judge (a classifier trained here
// meanwhile) must read at least 80% of them as that class. It trains the
// quick model for real: about 5 minutes on two quiet cores, the longest
// test of `make test` (-short skips it). The seed is fixed (the "random"
// box unticked, seed 0) so that a run is reproducible. When it fails, it
// keeps its screenshots and says where.
//
// Why the quick model records guidance 4: at 2 (DDIM 50) this judge reads
// 68% of its digits at seeds 0-3, 77-84% over seeds 0-9, 100-109 and
// 200-209, a coin toss around the bar; at 4, 88% at seeds 0-3 and 91-96%
// over those three sets.
func TestFirstRunInTheWindowDrawsDigitsTheJudgeReads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the quick model for real, minutes")
	}
	needXTools(t)
	start := time.Now()
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(models, 0o755); err != nil {
		t.Fatal(err)
	}
	shots, err := os.MkdirTemp("", "genlab-first-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots kept in %s", shots)
		} else {
			os.RemoveAll(shots)
		}
	})
	display := startXvfb(t)
	exited, stderr := startUI(t, display, "--models", models, "--out", out)

	blue := color.RGBA{0x3f, 0x51, 0xb5, 0xff} // the theme's buttons, radio buttons and check boxes
	selected := color.RGBA{0xdc, 0xe3, 0xfb, 0xff}
	const guidanceScale = "4"
	list := image.Rect(0, 46, 250, 700)    // the model list, left
	panel := image.Rect(256, 46, 560, 800) // the sampling panel, beside it
	shotNo := 0
	// look takes a screenshot, keeps it as NN-name.png, and fails the
	// test if the app has exited.
	look := func(name string) *image.RGBA {
		t.Helper()
		select {
		case err := <-exited:
			t.Fatalf("genlab ui exited: %v\n%s", err, stderr.String())
		default:
		}
		img, err := screenshot(display)
		if err != nil {
			t.Fatal(err)
		}
		if name != "" {
			shotNo++
			f, err := os.Create(filepath.Join(shots, fmt.Sprintf("%02d-%s.png", shotNo, name)))
			if err == nil {
				png.Encode(f, img)
				f.Close()
			}
		}
		return img
	}
	// waitFor looks every period until ok says yes, for at most limit.
	waitFor := func(what string, limit, period time.Duration, ok func(*image.RGBA) bool) *image.RGBA {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			img := look("")
			if ok(img) {
				return img
			}
			if time.Now().After(deadline) {
				look(what)
				t.Fatalf("%s: not after %s (%s in)", what, limit, time.Since(start).Round(time.Second))
			}
			time.Sleep(period)
		}
	}

	// The empty list offers the quick model: the one button as wide as
	// the list.
	var train image.Point
	waitFor("the window with Train a quick model", 30*time.Second, 300*time.Millisecond, func(img *image.RGBA) bool {
		var ok bool
		train, ok = findRun(img, blue, list, 180)
		return ok
	})
	look("empty")
	clickAt(t, display, train)
	quick := filepath.Join(models, "quick")
	waitFor("training started in "+quick, 30*time.Second, 300*time.Millisecond, func(*image.RGBA) bool {
		_, err := os.Stat(quick)
		return err == nil
	})
	look("training")

	judge := evaltest.MNISTJudge(t, 150) // learns meanwhile

	// Trained: the checkpoint is in the folder the list shows, and the
	// list shows it selected, with Generate enabled beside it.
	ckpt := filepath.Join(quick, fmt.Sprintf("ckpt-%06d.safetensors", ui.QuickSteps))
	var generate image.Point
	waitFor("the quick model trained, listed and selected", 18*time.Minute, 2*time.Second, func(img *image.RGBA) bool {
		_, err := os.Stat(ckpt)
		var ok bool
		generate, ok = findButton(img, blue, panel)
		return err == nil && countIn(img, selected, list) > 2000 && ok
	})
	trained := time.Since(start)
	shot := look("trained")

	// The panel's small blue shapes, top to bottom: the "random" box, the
	// samplers, the class "any", then the classes 0-9 last.
	icons := smallShapes(shot, blue, image.Rect(panel.Min.X, panel.Min.Y, panel.Max.X, generate.Y-10))
	if len(icons) < 12 {
		t.Fatalf("%d check boxes and radio buttons in the sampling panel, want the random box, the samplers and 11 classes: %v", len(icons), icons)
	}
	classes := icons[len(icons)-10:]
	clickAt(t, display, center(icons[0])) // untick "random": seed 0

	const count = 4 // the panel's default Count
	for k := range 10 {
		clickAt(t, display, center(classes[k]))
		clickAt(t, display, generate)
		waitFor(fmt.Sprintf("class %d generated", k), 3*time.Minute, 300*time.Millisecond, func(*image.RGBA) bool {
			return len(savedPNGs(out)) >= count*(k+1)
		})
	}
	look("generated")

	// What the app saved: count images of each class, in the order asked,
	// each with its class and seed in its parameters, the same seeds for
	// every class.
	files := savedPNGs(out)
	if len(files) != 10*count {
		t.Fatalf("%d images in %s, want %d: %v", len(files), out, 10*count, files)
	}
	pix := make([]float32, 0, len(files)*28*28)
	want := make([]int, len(files))
	seeds := map[int][]int64{}
	for i, f := range files {
		text, err := images.ReadParameters(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := images.ParseParameters(text)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if g := strconv.FormatFloat(p.CFGScale, 'g', -1, 64); g != guidanceScale {
			t.Fatalf("%s was drawn at guidance %s, want the quick model's own default %s", f, g, guidanceScale)
		}
		v, _ := p.Lookup("Class")
		k, err := strconv.Atoi(v)
		if err != nil || k != i/count {
			t.Fatalf("%s was drawn for class %q, want %d (was the click on the class's radio button? parameters %q)", f, v, i/count, text)
		}
		want[i] = k
		seeds[k] = append(seeds[k], p.Seed)
		img, err := images.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 28 || b.Dy() != 28 {
			t.Fatalf("%s is %v, want 28x28", f, b)
		}
		pix = append(pix, images.ToFloats(img, 1)...)
	}
	for k := range 10 {
		if !slices.Equal(seeds[k], seeds[0]) {
			t.Fatalf("class %d drawn with seeds %v, class 0 with %v: want the one fixed seed", k, seeds[k], seeds[0])
		}
	}
	labels, acc := evaltest.ReadAs(t, judge, pix, want)
	t.Logf("trained in %s, all in %s; seeds %v; the judge reads %.0f%% of %d digits as the class asked",
		trained.Round(time.Second), time.Since(start).Round(time.Second), seeds[0], 100*acc, len(want))
	if acc < 0.8 {
		t.Errorf("the judge reads %.0f%% of the quick model's digits as the class asked, want at least 80%% (read %v)", 100*acc, labels)
	}
}

// savedPNGs are the images the app saved on its own in out (out/<kind>/
// <date>/NNNNN-....png), in the order it saved them.
func savedPNGs(out string) []string {
	files, _ := filepath.Glob(filepath.Join(out, "txt2img", "*", "*.png"))
	slices.SortFunc(files, func(a, b string) int {
		return cmp.Or(cmp.Compare(filepath.Dir(a), filepath.Dir(b)), cmp.Compare(filepath.Base(a), filepath.Base(b)))
	})
	return files
}

// smallShapes are the boxes of the shapes of c (and its blends with the
// light background) in r between 12 and 28 pixels on a side, a ring and
// the dot inside it as one: radio buttons and check boxes. They come in
// reading order: rows top to bottom, left to right in a row.
func smallShapes(img *image.RGBA, c color.RGBA, r image.Rectangle) []image.Rectangle {
	r = r.Intersect(img.Bounds())
	// near: c, or c blended with at least a third of it over white.
	near := func(p color.RGBA) bool {
		return int(p.B)-int(p.R) >= (int(c.B)-int(c.R))/3 && int(p.B)-int(p.G) >= (int(c.B)-int(c.G))/3
	}
	seen := map[image.Point]bool{}
	var boxes []image.Rectangle
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := image.Pt(x, y)
			if seen[p] || !near(img.RGBAAt(x, y)) {
				continue
			}
			// Flood the 8-connected shape.
			box := image.Rectangle{Min: p, Max: p.Add(image.Pt(1, 1))}
			stack := []image.Point{p}
			seen[p] = true
			for len(stack) > 0 {
				q := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				box = box.Union(image.Rectangle{Min: q, Max: q.Add(image.Pt(1, 1))})
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						n := q.Add(image.Pt(dx, dy))
						if n.In(r) && !seen[n] && near(img.RGBAAt(n.X, n.Y)) {
							seen[n] = true
							stack = append(stack, n)
						}
					}
				}
			}
			boxes = append(boxes, box)
		}
	}
	// A shape inside another's box (a radio button's dot) is part of it.
	var outer []image.Rectangle
	for i, b := range boxes {
		inside := false
		for j, o := range boxes {
			inside = inside || (i != j && b.In(o) && b != o)
		}
		if !inside {
			outer = append(outer, b)
		}
	}
	var small []image.Rectangle
	for _, b := range outer {
		if b.Dx() >= 12 && b.Dx() <= 28 && b.Dy() >= 12 && b.Dy() <= 28 {
			small = append(small, b)
		}
	}
	slices.SortFunc(small, func(a, b image.Rectangle) int {
		if d := center(a).Y - center(b).Y; d < -6 || d > 6 {
			return d
		}
		return a.Min.X - b.Min.X
	})
	return small
}

func center(r image.Rectangle) image.Point { return r.Min.Add(r.Max).Div(2) }
