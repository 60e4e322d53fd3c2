package main

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"genlab/images"
	"genlab/pipeline/pipelinetest"
)

// The app's media under Xvfb, with the real window and mouse: a
// fine-tune made by `genlab finetune` from a metadata.jsonl folder is
// listed under its base, switched on and scaled, and Generate's PNG is
// byte for byte `genlab txt2img --lora FILE:SCALE`'s; a clip opened from
// its animated PNG plays in the stage (its frames change on the screen),
// pauses, and the app's own clip is byte for byte `genlab txt2vid`'s.

// uiApp is `genlab ui` running on an Xvfb display.
type uiApp struct {
	t       *testing.T
	display string
	stderr  *bytes.Buffer
	exited  <-chan error
}

// launchUI starts Xvfb and `genlab ui ARGS` on it until the test ends; a
// panic on its stderr fails the test.
func launchUI(t *testing.T, args ...string) *uiApp {
	t.Helper()
	needXTools(t)
	a := &uiApp{t: t, display: startXvfb(t)}
	t.Cleanup(func() { // runs after startUI's, which ends the app
		if strings.Contains(a.stderr.String(), "panic") {
			t.Errorf("stderr:\n%s", a.stderr.String())
		}
	})
	a.exited, a.stderr = startUI(t, a.display, args...)
	return a
}

// waitShot takes screenshots until ok says the screen is right, failing
// after limit with what.
func (a *uiApp) waitShot(limit time.Duration, what string, ok func(*image.RGBA) bool) *image.RGBA {
	a.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		select {
		case err := <-a.exited:
			a.t.Fatalf("genlab ui exited: %v\n%s", err, a.stderr.String())
		default:
		}
		shot, err := screenshot(a.display)
		if err != nil {
			a.t.Fatal(err)
		}
		if ok(shot) {
			return shot
		}
		if time.Now().After(deadline) {
			a.keep(shot, "failed")
			a.t.Fatalf("%s: not on the screen after %s", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// keep writes a screenshot to GENLAB_UI_SHOTS, if set.
func (a *uiApp) keep(shot *image.RGBA, name string) {
	dir := os.Getenv("GENLAB_UI_SHOTS")
	if dir == "" {
		return
	}
	if f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(a.t.Name(), "/", "-")+"-"+name+".png")); err == nil {
		png.Encode(f, shot)
		f.Close()
	}
}

func (a *uiApp) click(p image.Point) {
	a.t.Helper()
	clickAt(a.t, a.display, p)
}

var (
	themeBlue   = color.RGBA{0x3f, 0x51, 0xb5, 0xff} // buttons, check boxes, sliders
	selectedBg  = color.RGBA{0xdc, 0xe3, 0xfb, 0xff} // the selected model's entry
	controlsBox = image.Rect(280, 46, 560, 800)      // the controls column (1280-wide window)
)

// near reports whether p is c within 3 in each channel (an icon's pixels
// drawn over a panel's ground are).
func near(p, c color.RGBA) bool {
	d := func(a, b uint8) bool { return max(a, b)-min(a, b) <= 3 }
	return d(p.R, c.R) && d(p.G, c.G) && d(p.B, c.B)
}

// boxOf is the bounding box of the pixels near c in r, and how many.
func boxOf(img *image.RGBA, c color.RGBA, r image.Rectangle) (image.Rectangle, int) {
	var box image.Rectangle
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if near(img.RGBAAt(x, y), c) {
				box = box.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return box, n
}

// newPNG waits for a PNG to appear under dir (the app's autosave).
func newPNG(t *testing.T, a *uiApp, dir string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(dir, "*", "*.png"))
		if len(m) > 0 {
			time.Sleep(200 * time.Millisecond) // written atomically; settle
			return m[0]
		}
		if time.Now().After(deadline) {
			shot, _ := screenshot(a.display)
			if shot != nil {
				a.keep(shot, "no-png")
			}
			t.Fatalf("no PNG in %s after 90 s", dir)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func sameFileBytes(t *testing.T, what, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		pa, _ := images.ReadParameters(a)
		pb, _ := images.ReadParameters(b)
		t.Errorf("%s: %s and %s differ (parameters %q and %q)", what, a, b, pa, pb)
	}
}

func TestUIFineTuneUnderXvfb(t *testing.T) {
	dir := t.TempDir()
	base := pipelinetest.Tiny(t, filepath.Join(dir, "models"), "text.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "text"})
	run := filepath.Join(dir, "runs", "zorbs")
	if status, _, stderr := genlab(t, "finetune", "--method", "lora", "--base", base, "--data", zorbFolder(t, dir), "--steps", "2", "--batch", "4", "--out", run, "--samples", "1"); status != 0 {
		t.Fatalf("finetune: exit %d: %s", status, stderr)
	}
	lora := filepath.Join(run, "lora.safetensors")
	const prompt = "a large red circle in the center"
	plain := filepath.Join(dir, "plain")
	if status, _, stderr := genlab(t, "txt2img", "--ckpt", base, "--prompt", prompt, "--n", "1", "--seed", "5", "--steps", "3", "--out", plain); status != 0 {
		t.Fatalf("txt2img: exit %d: %s", status, stderr)
	}
	// The app opens the plain image: its settings and model, the
	// fine-tune listed under the model, off.
	out := filepath.Join(dir, "out")
	a := launchUI(t, "--models", filepath.Join(dir, "models"), "--models", filepath.Join(dir, "runs"), "--out", out, "--open", filepath.Join(plain, "00000-5.png"))
	shot := a.waitShot(30*time.Second, "the model list", func(s *image.RGBA) bool {
		return countIn(s, selectedBg, image.Rect(0, 40, 260, 300)) > 1000 && count(s, themeBlue) > 1000
	})
	a.keep(shot, "start")
	entry, _ := boxOf(shot, selectedBg, image.Rect(0, 40, 260, 400))
	band := image.Rect(0, entry.Max.Y, 250, entry.Max.Y+70)
	box, before := boxOf(shot, themeBlue, band) // the fine-tune's check box
	if box.Empty() || box.Dx() > 30 {
		t.Fatalf("no check box under the selected model %v: blue at %v", entry, box)
	}
	a.click(image.Pt((box.Min.X+box.Max.X)/2, (box.Min.Y+box.Max.Y)/2))
	// Switched on: the box fills and the scale slider shows under it.
	under := image.Rect(0, box.Max.Y, 250, box.Max.Y+60)
	shot = a.waitShot(20*time.Second, "the fine-tune switched on with its slider", func(s *image.RGBA) bool {
		_, n := boxOf(s, themeBlue, band)
		slider, _ := boxOf(s, themeBlue, under)
		return n > before+40 && !slider.Empty()
	})
	a.keep(shot, "on")
	// The slider's blue track runs from its start to the thumb, at 1 of
	// 1.5: a click a third of the way along sets about 0.5.
	track, _ := boxOf(shot, themeBlue, under)
	length := track.Dx() * 3 / 2
	a.click(image.Pt(track.Min.X+length/3, (track.Min.Y+track.Max.Y)/2))
	time.Sleep(500 * time.Millisecond)
	shot = a.waitShot(10*time.Second, "the slider moved", func(s *image.RGBA) bool {
		b, _ := boxOf(s, themeBlue, under)
		return b.Dx() < track.Dx()-10
	})
	btn, ok := findButton(shot, themeBlue, controlsBox)
	if !ok {
		a.keep(shot, "no-generate")
		t.Fatal("no Generate button in the controls")
	}
	a.click(btn)
	made := newPNG(t, a, filepath.Join(out, "txt2img"))
	params, err := images.ReadParameters(made)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<lora:lora:([0-9.]+)>`).FindStringSubmatch(params)
	if m == nil || m[1] == "1" || !strings.Contains(params, "Seed: 5,") || !strings.Contains(params, "Lora hashes:") {
		t.Fatalf("the app's PNG records %q: want the LoRA at the slider's scale", params)
	}
	cli := filepath.Join(dir, "cli")
	if status, _, stderr := genlab(t, "txt2img", "--ckpt", base, "--prompt", prompt, "--n", "1", "--seed", "5", "--steps", "3", "--lora", lora+":"+m[1], "--out", cli); status != 0 {
		t.Fatalf("txt2img --lora: exit %d: %s", status, stderr)
	}
	sameFileBytes(t, "the app with the LoRA on and txt2img --lora "+m[1], made, filepath.Join(cli, "00000-5.png"))
	x, _ := os.ReadFile(made)
	y, _ := os.ReadFile(filepath.Join(plain, "00000-5.png"))
	if sha256.Sum256(x) == sha256.Sum256(y) {
		t.Error("the LoRA changed nothing")
	}
}

func TestUIPlaysAClipUnderXvfb(t *testing.T) {
	dir := t.TempDir()
	video := pipelinetest.Tiny(t, filepath.Join(dir, "models"), "video.safetensors", pipelinetest.Video)
	cli := filepath.Join(dir, "cli")
	if status, _, stderr := genlab(t, "txt2vid", "--ckpt", video, "--prompt", "a small red circle growing", "--n", "1", "--seed", "3", "--steps", "2", "--out", cli); status != 0 {
		t.Fatalf("txt2vid: exit %d: %s", status, stderr)
	}
	clip := filepath.Join(cli, "00000-3.png")
	out := filepath.Join(dir, "out")
	a := launchUI(t, "--models", filepath.Join(dir, "models"), "--out", out, "--open", clip)
	shot := a.waitShot(30*time.Second, "the app", func(s *image.RGBA) bool {
		return countIn(s, selectedBg, image.Rect(0, 40, 260, 300)) > 1000 && count(s, themeBlue) > 1000
	})
	a.keep(shot, "start")
	// The stage's pane: the middle of the square left in the workspace.
	pane := image.Rect(640, 180, 840, 380)
	crop := func(s *image.RGBA) [32]byte {
		var b []byte
		for y := pane.Min.Y; y < pane.Max.Y; y++ {
			b = append(b, s.Pix[s.PixOffset(pane.Min.X, y):s.PixOffset(pane.Max.X, y)]...)
		}
		return sha256.Sum256(b)
	}
	seen := map[[32]byte]bool{}
	for deadline := time.Now().Add(10 * time.Second); len(seen) < 3 && time.Now().Before(deadline); {
		s, err := screenshot(a.display)
		if err != nil {
			t.Fatal(err)
		}
		seen[crop(s)] = true
		shot = s
		time.Sleep(60 * time.Millisecond)
	}
	a.keep(shot, "playing")
	if len(seen) < 3 {
		t.Fatalf("the clip's pane showed %d different pictures in 10 s, want a clip playing", len(seen))
	}
	// Pause: the pane holds still.
	pause, ok := findButton(shot, themeBlue, image.Rect(900, 60, 1280, 200))
	if !ok {
		t.Fatal("no Pause button beside the clip")
	}
	a.click(pause)
	// Paused: five screenshots in a row over more than four frames'
	// time show one picture.
	var still int
	var last [32]byte
	for deadline := time.Now().Add(10 * time.Second); still < 5; time.Sleep(150 * time.Millisecond) {
		if time.Now().After(deadline) {
			a.keep(shot, "not-paused")
			t.Fatal("the clip still changes 10 s after a click on Pause")
		}
		s, err := screenshot(a.display)
		if err != nil {
			t.Fatal(err)
		}
		if c := crop(s); c == last {
			still++
		} else {
			last, still = c, 1
		}
		shot = s
	}
	// The app's own clip of the opened one's settings is txt2vid's, byte
	// for byte.
	btn, ok := findButton(shot, themeBlue, controlsBox)
	if !ok {
		t.Fatal("no Generate button in the controls")
	}
	a.click(btn)
	made := newPNG(t, a, filepath.Join(out, "txt2vid"))
	sameFileBytes(t, "the app's clip and txt2vid's", made, clip)
}
