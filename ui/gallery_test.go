package ui

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"genlab/images"

	"gioui.org/f32"
	"gioui.org/io/key"
)

// The gallery tells results apart by what made them; a plain PNG says it
// has no parameters; Reuse settings goes to the tab that made the result;
// the PNG info tab and the zoomed view show one image; Enter in a field
// and Ctrl+Enter anywhere run.
func TestGalleryTellsResultsApart(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	m := h.u.Selected()

	plain := filepath.Join(dir, "plain.png")
	if err := images.Save(plain, solid(8, 8, color.NRGBA{R: 9, A: 255}), ""); err != nil {
		t.Fatal(err)
	}
	p := m.Parameters(Settings{Steps: 7, Sampler: "ddim", Guidance: 2, Class: 5}, 42)
	p.Extra = append(p.Extra, images.Field{Key: "Task", Value: "edit"}, images.Field{Key: "Denoising strength", Value: "0.35"})
	edited := filepath.Join(dir, "edited.png")
	if err := images.Save(edited, solid(28, 28, color.NRGBA{G: 9, A: 255}), p.String()); err != nil {
		t.Fatal(err)
	}
	h.typeInto(&h.u.path, center(h.editorAfter("Open a checkpoint or a genlab PNG:")), plain)
	h.click("Open")
	if r := h.u.Results()[0]; r.Label() != "file · no parameters" || r.Caption() != "file · no parameters" {
		t.Errorf("a plain PNG reads %q / %q", r.Label(), r.Caption())
	}
	h.mustFind("file · no parameters")
	h.mustFind("plain.png · no parameters")
	if _, ok := h.find("seed 0"); ok {
		t.Error("a plain PNG shows a seed")
	}
	h.clickTab(TabGenerate)
	h.typeInto(&h.u.path, center(h.editorAfter("Open a checkpoint or a genlab PNG:")), edited)
	h.click("Open") // reuses its settings: the Edit tab
	if h.u.Tab() != TabEdit || h.u.strength.Value != 0.35 {
		t.Errorf("opening an edit's PNG: tab %s, strength %v", h.u.Tab(), h.u.strength.Value)
	}
	r := h.u.Results()[0]
	if got := r.Caption(); got != "edit · strength 0.35 · class 5 · seed 42 · DDIM 7" {
		t.Errorf("an edit's caption %q", got)
	}
	h.mustFind("edit · strength 0.35 · class 5")
	h.mustFind("seed 42")
	h.clickTab(TabGenerate)
	h.click("result 0")
	h.click("Reuse settings")
	if h.u.Tab() != TabEdit {
		t.Errorf("Reuse settings on an edit went to %s", h.u.Tab())
	}

	// PNG info: the selected image's parameters, and any PNG read.
	h.clickTab(TabInfo)
	if s := h.u.shown(); s == nil || s.Path != edited {
		t.Fatalf("the info tab shows %v", s)
	}
	h.mustFind("Send to Edit")
	h.typeInto(&h.u.infoPath, center(h.editorAfter("The settings a PNG records (its parameters chunk). Open one, or pick one in the gallery.")), plain)
	h.click("Read")
	if s := h.u.shown(); s == nil || s.Path != plain || s.HasParams() {
		t.Errorf("read a plain PNG: %+v", s)
	}

	// Zoom: the selected image alone; Escape goes back.
	h.clickTab(TabGenerate)
	h.click("Zoom")
	h.mustFind("Close zoom")
	h.r.Queue(key.Event{Name: key.NameEscape, State: key.Press})
	h.frame()
	if h.u.zoom {
		t.Error("Escape left the zoomed view on")
	}

	// Enter in the Steps field generates; so does Ctrl+Enter.
	h.set(map[string]string{"Count": "1", "Steps": "3"})
	h.r.Queue(key.Event{Name: key.NameReturn, State: key.Press}, key.Event{Name: key.NameReturn, State: key.Release})
	h.frame()
	if j := h.u.Job(); j == nil {
		t.Fatal("Enter in the Steps field did not generate")
	}
	h.waitJob(time.Minute)
	n := len(h.u.Results())
	h.clickAt(center(h.mustFind(fmt.Sprintf("Gallery (%d)", n))))
	h.r.Queue(key.Event{Name: key.NameReturn, Modifiers: key.ModShortcut, State: key.Press})
	h.frame()
	h.waitJob(time.Minute)
	if got := len(h.u.Results()); got != n+1 {
		t.Errorf("Ctrl+Enter: %d results, want %d", got, n+1)
	}
	if msg, _ := h.u.Status(); !strings.Contains(msg, "saved in") {
		t.Errorf("status %q", msg)
	}
}

// Each tab keeps its own source, result, job and status: the Edit tab
// shows none of the Generate tab's or the Inpaint tab's.
func TestTabsKeepTheirOwnState(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.set(map[string]string{"Count": "1", "Steps": "3"})
	h.click("Generate")
	h.waitJob(time.Minute)
	h.click("Use as source")
	if h.u.Tab() != TabInpaint || h.u.Source() == nil {
		t.Fatalf("Use as source: tab %s", h.u.Tab())
	}
	for _, tab := range []Tab{TabSuperRes, TabStyle, TabEdit} {
		h.clickTab(tab)
		if h.u.Source() != nil || h.u.TaskResult() != nil || h.u.Job() != nil {
			t.Errorf("%s shows another tab's source, result or job", tab)
		}
		if msg, _ := h.u.Status(); msg != "" {
			t.Errorf("%s shows another tab's status %q", tab, msg)
		}
		h.mustFind("idle")
		h.mustFind("result: none yet")
	}
	h.clickTab(TabGenerate)
	if h.u.Job() == nil {
		t.Error("the Generate tab lost its job")
	}
}

// A click anywhere in a field's box, its padding too, focuses it.
func TestFieldsTakeClicksOverTheirWholeBox(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	for _, dy := range []int{-5, 5} {
		r := h.editorAfter("Steps")
		y := r.Min.Y + dy // in the padding above the text
		if dy > 0 {
			y = r.Max.Y + dy - 1 // below it
		}
		h.clickAt(f32.Pt(float32(r.Min.X+r.Max.X)/2, float32(y)))
		h.frame()
		h.r.Queue(key.EditEvent{Range: key.Range{Start: 0, End: len(h.u.steps.Text())}, Text: "17"})
		h.frame()
		if h.u.steps.Text() != "17" {
			t.Errorf("a click %d px off the text of Steps: it has %q", dy, h.u.steps.Text())
		}
		h.u.steps.SetText("50")
	}
}
