//go:build cgo

package ui

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gioui.org/f32"
	"gioui.org/gpu/headless"
	"gioui.org/io/pointer"
)

// The main screen drawn by the GPU renderer (Mesa's software EGL, no
// display) to a PNG: the header, the model list with its selection, the
// Generate button and the gallery's images are where they should be.
// GENLAB_UI_SHOT=FILE keeps the picture.
func TestRenderMainScreen(t *testing.T) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("EGL_PLATFORM") == "" {
		// Without a display, Mesa's EGL renders off-screen.
		t.Setenv("EGL_PLATFORM", "surfaceless")
	}
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.set(map[string]string{"Count": "3", "Steps": "8", "Class": "2"})
	h.click("Generate")
	h.waitJob(time.Minute)
	// A result of a colour no sample has, to find on the screen.
	green := image.NewNRGBA(image.Rect(0, 0, 28, 28))
	for i := range 28 * 28 {
		green.SetNRGBA(i%28, i/28, color.NRGBA{G: 255, A: 255})
	}
	h.u.addResults([]Result{{Image: green, Class: NoClass, Source: "test"}})
	// The mouse leaves, and the buttons' press ripples fade.
	h.r.Queue(pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: f32.Pt(1270, 810)})
	time.Sleep(time.Second)
	h.frame()

	w, err := headless.NewWindow(h.size.X, h.size.Y)
	if err != nil {
		t.Fatalf("headless GPU window: %v (needs Mesa's EGL: libegl-mesa0 libgl1-mesa-dri)", err)
	}
	defer w.Release()
	if err := w.Frame(&h.ops); err != nil {
		t.Fatal(err)
	}
	shot := image.NewRGBA(image.Rectangle{Max: h.size})
	if err := w.Screenshot(shot); err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("GENLAB_UI_SHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "main.png")
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, shot); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Logf("screenshot: %s", path)

	near := func(c color.RGBA, want color.NRGBA) bool {
		d := func(a, b uint8) int { return max(int(a), int(b)) - min(int(a), int(b)) }
		return d(c.R, want.R) <= 6 && d(c.G, want.G) <= 6 && d(c.B, want.B) <= 6
	}
	share := func(r image.Rectangle, want color.NRGBA) float64 {
		n, in := 0, 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				n++
				if near(shot.RGBAAt(x, y), want) {
					in++
				}
			}
		}
		return float64(in) / float64(max(n, 1))
	}
	checks := []struct {
		what string
		area image.Rectangle
		col  color.NRGBA
		min  float64
	}{
		{"the header bar", image.Rect(600, 2, 1200, 40), headerBg, 0.95},
		{"the selected model", h.findAll("tiny/ckpt-000005")[0].Inset(2), selectBg, 0.5},
		{"the Generate button", h.mustFind("Generate").Inset(3), h.u.th.ContrastBg, 0.5},
		{"the newest gallery image", h.mustFind("result 0").Inset(10), color.NRGBA{G: 255, A: 255}, 0.4},
		{"the page", image.Rect(1100, 700, 1260, 780), h.u.th.Bg, 0.95},
	}
	for _, c := range checks {
		if got := share(c.area, c.col); got < c.min {
			t.Errorf("%s (%v): %.0f%% of its pixels are %v, want at least %.0f%%", c.what, c.area, 100*got, c.col, 100*c.min)
		}
	}
	// Text is drawn: the status line has dark pixels.
	dark := 0
	for x := 5; x < 400; x++ {
		for y := h.size.Y - 22; y < h.size.Y-4; y++ {
			if c := shot.RGBAAt(x, y); int(c.R)+int(c.G)+int(c.B) < 200 {
				dark++
			}
		}
	}
	if dark < 50 {
		t.Errorf("the status line has %d dark pixels: no text drawn", dark)
	}
	// A real sample is in the gallery too: the next tile is not empty.
	if share(h.mustFind("result 1").Inset(10), imageBg) > 0.9 {
		t.Error("the first sample's tile is blank")
	}
}
