//go:build cgo

package ui

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"genlab/diffusion"
	"genlab/finetune"
	"genlab/pipeline/pipelinetest"

	"gioui.org/gpu/headless"
)

// At the smallest and a large window, a text model with a fine-tune
// switched on and a clip on the stage: the clip's pane is a whole square
// beside its player, whose controls and the fine-tune's switch and slider
// stay inside the window. GENLAB_UI_SHOTS=DIR keeps the screenshots.
func TestClipAndFineTunesFit(t *testing.T) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("EGL_PLATFORM") == "" {
		t.Setenv("EGL_PLATFORM", "surfaceless")
	}
	dir := t.TempDir()
	base := pipelinetest.Tiny(t, dir, "text.safetensors", pipelinetest.Kind{Family: diffusion.Family, Cond: "text"})
	lora := filepath.Join(dir, "zorbs", "lora.safetensors")
	c, _ := finetune.NewConfig("lora")
	c.Rank, c.Alpha, c.NewWords = 2, 2, []string{"zorb"}
	saveTune(t, base, lora, c, 1)
	yellow, magenta := color.NRGBA{R: 255, G: 255, A: 255}, color.NRGBA{R: 255, B: 255, A: 255}
	for _, size := range []image.Point{{1024, 680}, {1600, 1000}} {
		h := newHarness(t, Config{Dirs: []string{dir}})
		h.size = size
		win, err := headless.NewWindow(size.X, size.Y)
		if err != nil {
			t.Fatalf("headless GPU window: %v", err)
		}
		defer win.Release()
		if err := h.u.SetFineTune(lora, true, 0.8); err != nil {
			t.Fatal(err)
		}
		clip := []image.Image{solid(32, 32, yellow), solid(32, 32, magenta)}
		h.u.addResults([]Result{{Image: clip[0], Frames: clip, Task: "txt2vid", Class: NoClass, Seed: 1, Params: h.u.model.Parameters(Settings{Steps: 2, Sampler: "ddim", Class: NoClass, Prompt: "a red circle"}, 1)}})
		h.frame()
		h.click("Pause")
		h.frame()
		shot := h.shoot(win, fmt.Sprintf("%dx%d-clip", size.X, size.Y))
		found := blobs(shot, []color.NRGBA{yellow, magenta})
		// The pause holds whichever frame was playing: the stage shows it,
		// the tile frame 1 (yellow).
		frame, _, _ := h.u.ClipFrame()
		panes := append(found[yellow], found[magenta]...)
		if want := map[int]int{0: 2, 1: 1}[frame]; len(found[yellow]) != want || len(panes) != 2 {
			t.Errorf("%v: paused on frame %d, %d yellow and %d magenta regions, want the stage's pane and the tile: %v", size, frame+1, len(found[yellow]), len(found[magenta]), panes)
		}
		least := map[bool]int{false: 240, true: 420}[size.X >= 1600]
		win0 := image.Rectangle{Max: size}
		for _, bl := range panes {
			b := bl.box
			if bl.n < b.Dx()*b.Dy()*97/100 || !b.In(win0) {
				t.Errorf("%v: the pane %v is cut or overlapped", size, b)
			}
			if b.Dx() > 150 && b.Dx() < least {
				t.Errorf("%v: the clip's pane is %d px, want at least %d", size, b.Dx(), least)
			}
		}
		for _, name := range []string{"Play", fmt.Sprintf("frame %d of 2 · 8 fps", frame+1), "zorbs/lora", "scale", "0.80", "Generate", "Save"} {
			if r, ok := h.find(name); !ok || !r.In(win0) {
				t.Errorf("%v: %q is at %v (found %v), not inside the window", size, name, r, ok)
			}
		}
	}
}
