package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/images"
	"genlab/models"
	"genlab/pipeline"
	"genlab/tasks"

	"gioui.org/f32"
	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
)

// tinyCheckpoint writes an untrained tiny class-conditional diffusion
// model on 28×28 grey images: real weights, real sampling, in no time.
func tinyCheckpoint(t testing.TB, dir, name string, step int) string {
	t.Helper()
	cfg, err := diffusion.NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = "mnist"
	return saveUntrained(t, cfg, dir, name, step)
}

// saveUntrained writes a freshly initialised network of cfg as a
// checkpoint at step.
func saveUntrained(t testing.TB, cfg diffusion.Config, dir, name string, step int) string {
	t.Helper()
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := models.SaveWeights(path, net.Params, models.Meta{Family: diffusion.Family, Config: raw, Step: step, Extra: map[string]string{"genlab.data": cfg.Data}}); err != nil {
		t.Fatal(err)
	}
	return path
}

// harness drives the app through Gio's input router, with no display.
type harness struct {
	t    testing.TB
	r    input.Router
	u    *UI
	ops  op.Ops
	size image.Point
	last time.Duration // how long the last frame's Layout took
}

func newHarness(t testing.TB, cfg Config) *harness {
	h := &harness{t: t, size: image.Pt(1280, 820)}
	if cfg.Seed == nil {
		seed := uint64(100)
		cfg.Seed = func() uint64 { seed++; return seed }
	}
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join(t.TempDir(), "out")
	}
	h.u = New(cfg, nil)
	h.frame()
	return h
}

func (h *harness) frame() {
	h.ops.Reset()
	gtx := layout.Context{
		Ops:         &h.ops,
		Now:         time.Now(),
		Metric:      unit.Metric{PxPerDp: 1, PxPerSp: 1},
		Constraints: layout.Exact(h.size),
		Source:      h.r.Source(),
	}
	start := time.Now()
	h.u.Layout(gtx)
	h.last = time.Since(start)
	h.r.Frame(&h.ops)
}

// flat is the semantic tree in pre-order, each node with its nearest
// ancestor that is a widget (a button, a check box...).
type flatNode struct {
	n, parent input.SemanticNode
}

func (h *harness) flat() []flatNode {
	var out []flatNode
	var walk func(n, parent input.SemanticNode)
	walk = func(n, parent input.SemanticNode) {
		out = append(out, flatNode{n, parent})
		if n.Desc.Class != semantic.Unknown {
			parent = n
		}
		for _, c := range n.Children {
			walk(c, parent)
		}
	}
	for _, n := range h.r.AppendSemantics(nil) {
		walk(n, input.SemanticNode{})
	}
	return out
}

// find is the bounds of the widget whose label or description is text:
// the button, check box or radio button a label is on, or the label's own
// first line.
func (h *harness) find(text string) (image.Rectangle, bool) {
	all := h.findAll(text)
	if len(all) == 0 {
		return image.Rectangle{}, false
	}
	// The last one: the panels come after the tab row.
	return all[len(all)-1], true
}

func (h *harness) findAll(text string) []image.Rectangle {
	var out []image.Rectangle
	for _, f := range h.flat() {
		d := f.n.Desc
		if d.Label != text && d.Description != text {
			continue
		}
		switch {
		case d.Label == text && f.parent.Desc.Class != semantic.Unknown:
			out = append(out, f.parent.Desc.Bounds)
		case d.Label == text:
			// A label's bounds run past its text; its first line is
			// where it is.
			out = append(out, image.Rectangle{Min: d.Bounds.Min, Max: d.Bounds.Min.Add(image.Pt(20, 12))})
		default:
			out = append(out, d.Bounds)
		}
	}
	return out
}

// clickTab shows a panel by its tab.
func (h *harness) clickTab(t Tab) {
	h.t.Helper()
	all := h.findAll(t.String())
	if len(all) == 0 {
		h.t.Fatalf("no tab %s", t)
	}
	h.clickAt(center(all[0]))
	if h.u.Tab() != t {
		h.t.Fatalf("clicked tab %s, %s is shown", t, h.u.Tab())
	}
}

// editorAfter is the bounds of the first editor after the label text.
func (h *harness) editorAfter(text string) image.Rectangle {
	h.t.Helper()
	found := false
	for _, f := range h.flat() {
		if f.n.Desc.Label == text {
			found = true
		}
		if found && f.n.Desc.Class == semantic.Editor {
			return f.n.Desc.Bounds
		}
	}
	h.t.Fatalf("no editor after %q", text)
	return image.Rectangle{}
}

func (h *harness) mustFind(text string) image.Rectangle {
	h.t.Helper()
	r, ok := h.find(text)
	if !ok {
		h.t.Fatalf("no %q on the screen", text)
	}
	return r
}

func center(r image.Rectangle) f32.Point {
	return f32.Pt(float32(r.Min.X+r.Max.X)/2, float32(r.Min.Y+r.Max.Y)/2)
}

// click presses and releases the mouse on the widget labelled text.
func (h *harness) click(text string) {
	h.t.Helper()
	h.clickAt(center(h.mustFind(text)))
}

func (h *harness) clickAt(p f32.Point) {
	h.r.Queue(
		pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: p},
		pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: p},
		pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: p},
	)
	h.frame()
}

// typeInto focuses the editor showing hint, replaces its text and frames.
func (h *harness) typeInto(ed interface{ Text() string }, where f32.Point, text string) {
	h.t.Helper()
	h.r.Queue(
		pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: where},
		pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: where},
	)
	h.frame()
	n := len([]rune(ed.Text()))
	h.r.Queue(key.EditEvent{Range: key.Range{Start: 0, End: n}, Text: text})
	h.frame()
	if ed.Text() != text {
		h.t.Fatalf("typed %q, the editor has %q", text, ed.Text())
	}
}

// drag moves the pressed mouse through points.
func (h *harness) drag(pts ...f32.Point) {
	h.r.Queue(pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pts[0]})
	for _, p := range pts[1:] {
		h.r.Queue(pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: p}) // a move with the button down is a drag
	}
	h.r.Queue(pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pts[len(pts)-1]})
	h.frame()
}

// waitJob frames until the job has ended, watching its progress.
func (h *harness) waitJob(limit time.Duration) (seen []JobStatus) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		j := h.u.Job()
		if j == nil {
			h.t.Fatal("no job started")
		}
		st := j.Status()
		seen = append(seen, st)
		h.frame()
		if !st.Running {
			return seen
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the job still runs after %s: %+v", limit, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// setSettings types the sampling knobs into their fields, as a user would.
func (h *harness) set(fields map[string]string) {
	h.t.Helper()
	eds := map[string]interface{ Text() string }{
		"Seed": &h.u.seed, "Count": &h.u.count, "Steps": &h.u.steps, "Guidance": &h.u.guidance,
	}
	for name, v := range fields {
		if name == "Class" { // a choice
			if v == "none" {
				v = anyClass
			}
			h.click(v)
			h.frame() // a change of focus leaves the release to the next frame
			if h.u.classChoice.Value != v {
				h.t.Fatalf("clicked class %s at %v, the choice is %q", v, h.findAll(v), h.u.classChoice.Value)
			}
			continue
		}
		h.typeInto(eds[name], center(h.editorAfter(name)), v)
	}
}

func TestScanListsCheckpointsWithTheirMetadata(t *testing.T) {
	dir := t.TempDir()
	a := tinyCheckpoint(t, filepath.Join(dir, "runs", "tiny"), "ckpt-000020.safetensors", 20)
	tinyCheckpoint(t, filepath.Join(dir, "runs", "tiny"), "ckpt-000010.safetensors", 10)
	// Training state and other files are not models.
	os.WriteFile(filepath.Join(dir, "runs", "tiny", "ckpt-000020.state.safetensors"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "runs", "tiny", "notes.safetensors"), []byte("not a checkpoint"), 0o644)
	es := Scan(filepath.Join(dir, "models"), filepath.Join(dir, "runs"))
	if len(es) != 2 {
		t.Fatalf("found %d checkpoints, want 2: %+v", len(es), es)
	}
	e := es[1]
	if e.Path != a || e.Family != "diffusion" || e.Size != "tiny" || e.Cond != "class" || e.Data != "mnist" || e.Step != 20 || e.Params < 100_000 {
		t.Errorf("entry %+v", e)
	}
	if es[0].Step != 10 {
		t.Errorf("not sorted by step: %+v", es)
	}
	if got, want := e.Name(), "tiny/ckpt-000020"; got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	if s := e.Summary(); !strings.Contains(s, "diffusion · tiny · class-cond · mnist · step 20") {
		t.Errorf("summary %q", s)
	}
}

func TestModelListAndControlsFitTheFamily(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.mustFind("tiny/ckpt-000005")
	if h.u.Selected() == nil {
		t.Fatal("no model selected at start")
	}
	for _, want := range []string{"Seed", "Count", "Steps", "Guidance", "Class", "Generate", "DDIM", "DPM++ 2M", "random", "Gallery (0)", "Models"} {
		h.mustFind(want)
	}
	if _, ok := h.find("Temperature"); ok {
		t.Error("a diffusion model shows the flow's temperature")
	}
}

// tinyTextCheckpoint writes an untrained tiny text-to-image model over
// the shapes vocabulary.
func tinyTextCheckpoint(t testing.TB, dir, name string) string {
	t.Helper()
	cfg, err := diffusion.NewConfig("tiny", 3, 32, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetCaptions(datasets.Shapes(50, 1, "all").Captions); err != nil {
		t.Fatal(err)
	}
	cfg.Data = "shapes"
	return saveUntrained(t, cfg, dir, name, 1)
}

func TestSelectingAModelSetsItsSamplerUnlessTheUserChoseOne(t *testing.T) {
	dir := t.TempDir()
	class := tinyCheckpoint(t, filepath.Join(dir, "digits"), "ckpt-000005.safetensors", 5)
	text := tinyTextCheckpoint(t, filepath.Join(dir, "shapes"), "ckpt-000001.safetensors")
	h := newHarness(t, Config{Dirs: []string{dir}})
	if got := h.u.sampler.Value; got != "ddim" {
		t.Fatalf("sampler %q at start with a class model", got)
	}
	h.u.open(text)
	if got := h.u.sampler.Value; got != tasks.DefaultTextSampler {
		t.Errorf("a text model: sampler %q, want %q", got, tasks.DefaultTextSampler)
	}
	// The guidance follows the model's default too (pipeline.Knobs), as
	// under genlab sample and txt2img.
	if got := h.u.guidance.Text(); got != "3" {
		t.Errorf("a text model: guidance %q, want 3", got)
	}
	h.u.open(class)
	if got := h.u.sampler.Value; got != "ddim" {
		t.Errorf("back to the class model: sampler %q, want ddim", got)
	}
	if got := h.u.guidance.Text(); got != "2" {
		t.Errorf("back to the class model: guidance %q, want 2", got)
	}
	h.frame()
	h.click("DPM++ 2M")
	h.u.open(text)
	if got := h.u.sampler.Value; got != "dpmpp2m" {
		t.Errorf("the user's sampler was replaced by %q on selecting a model", got)
	}
	// A PNG's settings are the user's too: reusing one made with DDIM by
	// the text model selects that model and keeps DDIM.
	h2 := newHarness(t, Config{Dirs: []string{dir}})
	if h2.u.Selected().Path != class || h2.u.sampler.Value != "ddim" {
		t.Fatalf("at start: %s with %q", h2.u.Selected().Path, h2.u.sampler.Value)
	}
	tm, err := Load(text)
	if err != nil {
		t.Fatal(err)
	}
	h2.u.reuse(Result{Params: tm.Parameters(Settings{Count: 1, Steps: 5, Sampler: "ddim", Guidance: 2, Class: NoClass, Prompt: "a red circle"}, 3), Source: "drawn.png"})
	if h2.u.Selected().Path != text || h2.u.sampler.Value != "ddim" {
		t.Errorf("reusing a text model's DDIM PNG: %s with %q", h2.u.Selected().Path, h2.u.sampler.Value)
	}
}

func TestGenerateShowsProgressThenImages(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	// The sampler waits at its first preview midway until the test has
	// looked, so a busy machine cannot finish the run between frames.
	reached, release := make(chan struct{}), make(chan struct{})
	load := func(path string) (*Model, error) {
		m, err := Load(path)
		if err != nil {
			return nil, err
		}
		generate, once := m.generate, false
		m.generate = func(ctx context.Context, r pipeline.Request) (*pipeline.Output, error) {
			progress := r.Progress
			r.Progress = func(p pipeline.Progress) error {
				err := progress(p)
				if !once && p.Preview != nil && p.Done > 0 && p.Done < p.Total {
					once = true
					close(reached)
					<-release
				}
				return err
			}
			return generate(ctx, r)
		}
		return m, nil
	}
	h := newHarness(t, Config{Dirs: []string{dir}, Load: load})
	h.set(map[string]string{"Count": "3", "Steps": "12", "Class": "7"})
	h.click("Generate")
	select {
	case <-reached:
	case <-time.After(time.Minute):
		t.Fatal("no preview midway within a minute")
	}
	h.frame()
	if mid := h.u.Job().Status(); !mid.Running || mid.Done <= 0 || mid.Done >= mid.Total || mid.Preview == nil {
		t.Errorf("midway the job shows %d of %d steps, running %v, a live preview %v", mid.Done, mid.Total, mid.Running, mid.Preview != nil)
	}
	close(release)
	seen := h.waitJob(time.Minute)
	st := seen[len(seen)-1]
	if st.Err != nil || st.Cancelled {
		t.Fatalf("generation ended with %+v", st)
	}
	rs := h.u.Results()
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3", len(rs))
	}
	// Random by default: the seed drawn is shown and recorded.
	s, _ := h.u.CurrentSettings()
	if h.u.seed.Text() != RandomSeed || !h.u.randomSeed.Value {
		t.Errorf("a random seed's field shows %q after the run, want %s", h.u.seed.Text(), RandomSeed)
	}
	s.Seed = h.u.lastSeed
	if rs[0].Seed != s.Seed || rs[1].Seed != s.Seed+1 || rs[0].Class != 7 {
		t.Errorf("results %v/%v, class %d; the seed drawn %d", rs[0].Seed, rs[1].Seed, rs[0].Class, s.Seed)
	}
	h.click("Reuse last")
	if h.u.seed.Text() != fmt.Sprint(s.Seed) || h.u.randomSeed.Value {
		t.Errorf("Reuse last: the seed field has %q", h.u.seed.Text())
	}
	if b := rs[0].Image.Bounds(); b.Dx() != 28 || b.Dy() != 28 {
		t.Errorf("image %v", b)
	}
	h.mustFind("Gallery (3)")
	h.mustFind("result 2")
	// The same settings give the same pixels: the app's images are the
	// CLI's.
	m := h.u.Selected()
	again, err := m.Generate(context.Background(), Settings{Seed: s.Seed + 1, Count: 1, Steps: 12, Sampler: "ddim", Guidance: 2, Class: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sameImage(again[0].Image, rs[1].Image) {
		t.Error("regenerating image 1 alone gives other pixels")
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}

func TestCancelMidRunLeavesTheAppResponsive(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.set(map[string]string{"Count": "8", "Steps": "1000", "Class": "none"})
	h.click("Generate")
	j := h.u.Job()
	deadline := time.Now().Add(time.Minute)
	for j.Status().Done < 3 {
		if time.Now().After(deadline) || !j.Status().Running {
			t.Fatalf("no progress: %+v", j.Status())
		}
		h.frame()
		time.Sleep(5 * time.Millisecond)
	}
	h.click("Cancel")
	st := j.Status()
	if st.Running || !st.Cancelled || st.Done >= st.Total {
		t.Fatalf("after Cancel: %+v", st)
	}
	// The window goes on drawing at once, and the work stops soon.
	if h.last > 200*time.Millisecond {
		t.Errorf("a frame took %s after Cancel", h.last)
	}
	stopped := make(chan struct{})
	go func() { j.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled generation is still running after 5 s")
	}
	h.frame()
	if msg, isErr := h.u.Status(); isErr || !strings.Contains(msg, "cancelled") {
		t.Errorf("status %q (error %v)", msg, isErr)
	}
	if len(h.u.Results()) != 0 {
		t.Errorf("a cancelled run left %d results", len(h.u.Results()))
	}
	// And the app still works.
	h.set(map[string]string{"Count": "2", "Steps": "5"})
	h.click("Generate")
	if st := h.waitJob(time.Minute); st[len(st)-1].Err != nil || len(h.u.Results()) != 2 {
		t.Fatalf("after a cancel, generating gave %+v and %d results", st[len(st)-1], len(h.u.Results()))
	}
}

func TestSavedPNGReloadsWithItsSettings(t *testing.T) {
	dir := t.TempDir()
	ckpt := tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	out := filepath.Join(t.TempDir(), "saved")
	h := newHarness(t, Config{Dirs: []string{dir}, OutDir: out})
	h.set(map[string]string{"Count": "2", "Steps": "7", "Guidance": "3.5", "Class": "4"})
	h.click("DPM++ 2M")
	h.click("Generate")
	h.waitJob(time.Minute)
	// Each image was saved on its own, in outputs/txt2img/<date>/.
	want := h.u.Results()[1] // the second image: seed+1
	names, _ := filepath.Glob(filepath.Join(out, "txt2img", time.Now().Format("2006-01-02"), "*.png"))
	if len(names) != 2 || want.Path != names[1] {
		t.Fatalf("kept %v; the result says %s", names, want.Path)
	}
	if base := filepath.Base(names[1]); base != fmt.Sprintf("00001-%d-c4.png", want.Seed) {
		t.Errorf("file name %s", base)
	}
	names = names[1:]
	text, err := images.ReadParameters(names[0])
	if err != nil {
		t.Fatal(err)
	}
	p, err := images.ParseParameters(text)
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps != 7 || p.Sampler != "DPM++ 2M" || p.CFGScale != 3.5 || p.Seed != int64(want.Seed) || p.Model != "ckpt-000005" || p.Family != "diffusion" || p.Prompt != "class 4" {
		t.Errorf("parameters %q", text)
	}
	img, err := images.Load(names[0])
	if err != nil || !sameImage(img, want.Image) {
		t.Fatalf("the PNG's pixels differ from the result's (%v)", err)
	}

	// Save copies the selected image to the save folder once; Save all
	// writes only the others; ×4 writes a copy 4 times as large.
	saved := func() []string {
		n, _ := filepath.Glob(filepath.Join(out, "saved", "*.png"))
		return n
	}
	h.click("result 1")
	h.click("Save")
	h.click("Save")
	if n := saved(); len(n) != 1 {
		t.Fatalf("Save twice wrote %v", n)
	}
	if msg, _ := h.u.Status(); !strings.Contains(msg, "already saved") {
		t.Errorf("the second Save says %q", msg)
	}
	h.click("Save all")
	if n := saved(); len(n) != 2 {
		t.Fatalf("Save all after Save wrote %v", n)
	}
	h.click("×4")
	h.frame()
	h.click("Save")
	if n := saved(); len(n) != 3 {
		t.Fatalf("Save at ×4 wrote %v", n)
	} else if big, err := images.Load(n[2]); err != nil || big.Bounds().Dx() != 112 || !sameImage(big, Enlarge(want.Image, 4)) {
		t.Errorf("the ×4 copy: %v, %v", big.Bounds(), err)
	}

	// A new session shows the work in its gallery; Clear asks nothing but
	// can be undone, and a cleared gallery stays cleared at the next start.
	h3 := newHarness(t, Config{Dirs: []string{dir}, OutDir: out})
	if rs := h3.u.Results(); len(rs) != 2 || rs[0].Seed != want.Seed || rs[0].Class != 4 || rs[0].Task != "txt2img" {
		t.Fatalf("the gallery after a restart: %d results", len(rs))
	}
	h3.mustFind("Gallery (2)")
	h3.click("Clear")
	h3.mustFind("Gallery (0)")
	h3.click("Undo clear")
	h3.mustFind("Gallery (2)")
	h3.click("Clear")
	if rs := newHarness(t, Config{Dirs: []string{dir}, OutDir: out}).u.Results(); len(rs) != 0 {
		t.Errorf("a cleared gallery came back with %d results", len(rs))
	}
	if n, _ := filepath.Glob(filepath.Join(out, "txt2img", "*", "*.png")); len(n) != 2 {
		t.Errorf("Clear lost files: %v", n)
	}

	// A new session opens the PNG and takes its settings and model.
	tinyCheckpoint(t, filepath.Join(dir, "other"), "ckpt-000009.safetensors", 9)
	h2 := newHarness(t, Config{Dirs: []string{dir}})
	if h2.u.Selected().Path == ckpt {
		t.Fatal("the test wants another model selected at start")
	}
	h2.typeInto(&h2.u.path, center(h2.mustFind("path/to/file")), names[0])
	h2.click("Open")
	s, err := h2.u.CurrentSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != want.Seed || s.Steps != 7 || s.Sampler != "dpmpp2m" || s.Guidance != 3.5 || s.Class != 4 {
		t.Errorf("reloaded settings %+v", s)
	}
	if h2.u.Selected().Path != ckpt {
		t.Errorf("selected %s, want the PNG's model %s", h2.u.Selected().Path, ckpt)
	}
	if h2.u.randomSeed.Value {
		t.Error("reusing a PNG's settings left the seed random")
	}
	// Generating with them gives the PNG's image back.
	h2.set(map[string]string{"Count": "1"})
	h2.click("Generate")
	h2.waitJob(time.Minute)
	if got := h2.u.Results()[0]; got.Seed != want.Seed || !sameImage(got.Image, want.Image) {
		t.Errorf("regenerated seed %d: pixels differ from the saved PNG's", got.Seed)
	}
}

func TestBadInputIsOneLineInTheStatus(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	for _, c := range []struct {
		field, value, mention string
		ed                    any
	}{
		{"Count", "many", "count", &h.u.count},
		{"Steps", "0", `steps "0"`, &h.u.steps},
		{"Steps", "100000", "steps 100000", &h.u.steps},
		{"Guidance", "-1", "guidance", &h.u.guidance},
		{"Seed", "-2", "seed", &h.u.seed},
	} {
		h.set(map[string]string{"Count": "2", "Class": "none", "Steps": "5", "Guidance": "2", "Seed": "-1"})
		h.set(map[string]string{c.field: c.value})
		h.click("Generate")
		msg, isErr := h.u.Status()
		if !isErr || !strings.Contains(msg, c.mention) || strings.Contains(msg, "\n") {
			t.Errorf("%s %q: status %q (error %v)", c.field, c.value, msg, isErr)
		}
		// The field is marked; on another tab the error is not shown, and
		// it goes once the field is right.
		if h.u.cur().errField != c.ed {
			t.Errorf("%s %q: the field in error is not marked", c.field, c.value)
		}
		h.clickTab(TabEdit)
		if _, isErr := h.u.Status(); isErr {
			t.Errorf("the Generate tab's error shows on the Edit tab")
		}
		h.clickTab(TabGenerate)
		h.set(map[string]string{"Count": "2", "Steps": "5", "Guidance": "2", "Seed": "-1"})
		if msg, isErr := h.u.Status(); isErr || h.u.cur().errField != nil {
			t.Errorf("%s fixed: the status still says %q", c.field, msg)
		}
	}
	h.typeInto(&h.u.path, center(h.editorAfter("Open a checkpoint or a genlab PNG:")), filepath.Join(dir, "missing.png"))
	h.click("Open")
	if msg, isErr := h.u.Status(); !isErr || !strings.Contains(msg, "missing.png") {
		t.Errorf("opening a missing PNG: status %q", msg)
	}
}

func TestQuickTrainOnFirstLaunch(t *testing.T) {
	dir := t.TempDir()
	runOut := filepath.Join(dir, "quick")
	release := make(chan struct{})
	cfg := Config{Dirs: []string{dir}, TrainOut: runOut, Train: func(ctx context.Context, out string, r Reporter) (string, error) {
		for i := 1; i <= 4; i++ {
			r.Report(Progress{Done: i, Total: 4})
			if i == 2 {
				<-release
			}
		}
		return tinyCheckpoint(t, out, "ckpt-000004.safetensors", 4), nil
	}}
	h := newHarness(t, cfg)
	if len(h.u.Entries()) != 0 || h.u.Selected() != nil {
		t.Fatal("the folder has no checkpoint")
	}
	h.click("Train a quick model")
	tj := h.u.TrainJob()
	for tj.Status().Done < 2 {
		time.Sleep(time.Millisecond)
	}
	h.frame()
	h.mustFind("Cancel training")
	if f := tj.Status().Fraction(); f != 0.5 {
		t.Errorf("progress %v, want 0.5", f)
	}
	close(release)
	tj.Wait()
	h.frame()
	if m := h.u.Selected(); m == nil || m.Path != filepath.Join(runOut, "ckpt-000004.safetensors") {
		t.Fatalf("after training the selected model is %v", m)
	}
	h.mustFind("quick/ckpt-000004")
}

func TestMaskPainting(t *testing.T) {
	m := NewMask(10, 8)
	m.Paint(2, 2, 1)
	if m.Count() == 0 || !m.Pix[1*10+1] || m.Pix[7*10+9] {
		t.Fatalf("a dab at (2,2): %v", m.Pix)
	}
	m.Clear()
	m.Stroke(0.5, 4.5, 9.5, 4.5, 0.5) // along row 4, no gaps
	for x := 0; x < 10; x++ {
		if !m.Pix[4*10+x] {
			t.Errorf("the stroke missed (%d,4)", x)
		}
	}
	if m.Count() != 10 {
		t.Errorf("a one-pixel stroke over 10 pixels set %d", m.Count())
	}
	m.Invert()
	if m.Count() != 70 || m.Pix[4*10+3] {
		t.Errorf("inverted: %d set", m.Count())
	}
	g := m.Image()
	if g.GrayAt(0, 0).Y != 255 || g.GrayAt(3, 4).Y != 0 {
		t.Error("the mask PNG is not white where to fill")
	}
}

func TestSettingsFromParameters(t *testing.T) {
	p, err := images.ParseParameters("class 3\nSteps: 20, Sampler: DDPM, CFG scale: 4, Seed: 99, Size: 28x28, Model: ckpt-000100, Family: diffusion, Class: 3, Eta: 0.5")
	if err != nil {
		t.Fatal(err)
	}
	s := SettingsFrom(p, DefaultSettings())
	want := Settings{Seed: 99, Count: 1, Steps: 20, Sampler: "ddpm", Eta: 0.5, Guidance: 4, Class: 3, Temperature: 0.7}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v, want %+v", s, want)
	}
}
