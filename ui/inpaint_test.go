package ui

import (
	"encoding/json"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
	"time"

	"genlab/diffusion"
	"genlab/images"
	"genlab/models"

	"gioui.org/f32"
)

// Inpainting through the panel: a generated image becomes the source, a
// mask is painted on it with the mouse, and tasks.Inpaint fills it: every
// pixel outside the mask is the source's own.
func TestInpaintWithAPaintedMask(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	if h.u.cfg.Tasks.Inpaint == nil {
		t.Fatal("this build has no inpainting")
	}
	h.set(map[string]string{"Count": "1", "Steps": "10", "Class": "3"})
	h.click("Generate")
	h.waitJob(time.Minute)
	h.click("Use as source")
	if h.u.Tab() != TabInpaint || h.u.Source() == nil {
		t.Fatalf("Use as source: tab %s, source %v", h.u.Tab(), h.u.Source() != nil)
	}
	src := h.u.Source()
	canvas := h.mustFind("mask canvas")
	if canvas.Dx() < 100 {
		t.Fatalf("the canvas is %v", canvas)
	}
	// A stroke across the middle row, with the default brush.
	y := float32(canvas.Min.Y+canvas.Max.Y) / 2
	h.drag(f32.Pt(float32(canvas.Min.X)+1, y), f32.Pt(float32(canvas.Min.X+canvas.Max.X)/2, y), f32.Pt(float32(canvas.Max.X)-1, y))
	m := h.u.Mask()
	n := m.Count()
	r := h.u.brushRadius()
	if n < 28*int(r) || n > 28*int(2*r+2) {
		t.Fatalf("a stroke across the image with a %.1f px brush set %d pixels", r, n)
	}
	for x := 0; x < 28; x++ {
		if !m.Pix[14*28+x] || m.Pix[2*28+x] || m.Pix[26*28+x] {
			t.Fatalf("the stroke is not across the middle at x=%d", x)
		}
	}
	h.click("Invert")
	if m.Count() != 28*28-n {
		t.Errorf("inverted: %d set, want %d", m.Count(), 28*28-n)
	}
	h.click("Invert")
	h.click("Clear mask")
	if m.Count() != 0 {
		t.Fatalf("cleared: %d set", m.Count())
	}
	h.drag(f32.Pt(float32(canvas.Min.X)+1, y), f32.Pt(float32(canvas.Max.X)-1, y))
	if m.Count() != n {
		t.Errorf("the same stroke again set %d, then %d", n, m.Count())
	}
	h.click("Inpaint")
	st := h.waitJob(2 * time.Minute)
	if last := st[len(st)-1]; last.Err != nil || last.Cancelled {
		t.Fatalf("inpainting ended with %+v", last)
	}
	out := h.u.TaskResult()
	if out == nil || out.Bounds() != src.Bounds() {
		t.Fatalf("the result is %v", out)
	}
	changed := 0
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			a, b := gray(src, x, y), gray(out, x, y)
			if !m.Pix[y*28+x] && a != b {
				t.Fatalf("pixel (%d,%d) outside the mask changed: %d to %d", x, y, a, b)
			}
			if m.Pix[y*28+x] && a != b {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Error("nothing inside the mask changed")
	}
	// The result is in the gallery with its settings.
	res := h.u.Results()[0]
	if v, _ := res.Params.Lookup("Task"); v != "inpaint" || res.Params.Steps != 10 {
		t.Errorf("the result's parameters: %s", res.Params)
	}
}

func gray(img image.Image, x, y int) uint8 {
	return color.GrayModel.Convert(img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y)).(color.Gray).Y
}

// The other task panels run their task on the source image and put the
// result in the gallery: edit with the strength slider, style transfer
// with a loaded style image, super-resolution with a lowres model.
func TestTaskPanels(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.set(map[string]string{"Count": "1", "Steps": "6", "Class": "5"})
	h.click("Generate")
	h.waitJob(time.Minute)
	h.click("Use as source")
	src := h.u.Source()
	run := func(tab Tab, button string) image.Image {
		t.Helper()
		h.clickTab(tab)
		if h.u.Source() == nil { // each tab has its own source
			h.click("Use as source")
		}
		h.click(button)
		st := h.waitJob(2 * time.Minute)
		if last := st[len(st)-1]; last.Err != nil || last.Cancelled {
			t.Fatalf("%s ended with %+v", tab, last)
		}
		return h.u.TaskResult()
	}
	if out := run(TabEdit, "Edit"); out == nil || out.Bounds() != src.Bounds() {
		t.Errorf("edit gave %v", out)
	}
	if v, _ := h.u.Results()[0].Params.Lookup("Denoising strength"); v != "0.60" {
		t.Errorf("edit's strength in its parameters: %q", v)
	}

	stylePNG := filepath.Join(dir, "style.png")
	stripes := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 * 16 {
		if (i%16)/2%2 == 0 {
			stripes.SetNRGBA(i%16, i/16, color.NRGBA{R: 200, B: 40, A: 255})
		} else {
			stripes.SetNRGBA(i%16, i/16, color.NRGBA{G: 120, B: 220, A: 255})
		}
	}
	if err := images.Save(stylePNG, stripes, ""); err != nil {
		t.Fatal(err)
	}
	h.clickTab(TabStyle)
	h.typeInto(&h.u.stylePath, center(h.editorAfter("Style image:")), stylePNG)
	h.click("Load")
	h.typeInto(&h.u.styleSteps, center(h.editorAfter("Steps")), "5")
	if out := run(TabStyle, "Transfer style"); out == nil || out.Bounds().Dx() != 28 {
		t.Errorf("style transfer gave %v", out)
	}

	// A super-resolution model: selecting it shows its panel at its scale.
	cfg, err := diffusion.NewConfig("tiny", 1, 28, "lowres", 0)
	if err != nil {
		t.Fatal(err)
	}
	net, err := diffusion.NewNetwork(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	sr := filepath.Join(dir, "sr", "ckpt-000003.safetensors")
	os.MkdirAll(filepath.Dir(sr), 0o755)
	if err := models.SaveWeights(sr, net.Params, models.Meta{Family: diffusion.Family, Config: raw, Step: 3}); err != nil {
		t.Fatal(err)
	}
	h.click("Refresh")
	h.click("sr/ckpt-000003")
	if h.u.Tab() != TabSuperRes || h.u.Selected().Path != sr {
		t.Fatalf("selecting the lowres model: tab %s, model %s", h.u.Tab(), h.u.Selected().Path)
	}
	small := image.NewGray(image.Rect(0, 0, 7, 7))
	h.u.setSource(small, "small")
	out := run(TabSuperRes, "Upscale")
	want := 7 * cfg.Scales[len(cfg.Scales)-1]
	if out == nil || out.Bounds().Dx() != want {
		t.Errorf("super-resolution of 7x7 gave %v, want %dx%d", out, want, want)
	}
}
