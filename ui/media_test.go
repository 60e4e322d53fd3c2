package ui

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"genlab/diffusion"
	"genlab/finetune"
	"genlab/images"
	"genlab/pipeline"
	"genlab/pipeline/pipelinetest"

	"gioui.org/f32"
)

// saveTune writes a fine-tune of the base at basePath with random
// (non-zero) weights, so that it changes the images.
func saveTune(t *testing.T, basePath, path string, c finetune.Config, seed uint64) {
	t.Helper()
	net, err := diffusion.LoadNetwork(basePath)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseHash == "" {
		if c.BaseHash, err = images.ModelHash(basePath); err != nil {
			t.Fatal(err)
		}
	}
	tune, err := finetune.New(net.Params, c, "", seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	for _, n := range tune.Store.Names() {
		d := tune.Store.Float32s(n)
		for j := range d {
			d[j] += float32(0.3 * rng.NormFloat64())
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tune.Save(path, 1, nil); err != nil {
		t.Fatal(err)
	}
}

// The fine-tunes of the selected text model are listed under it (those
// of another base are not), switched on by their check box with a scale
// slider, and Generate draws through the pipeline with them as
// pipeline.WithFineTunes (the CLI's --lora FILE:SCALE) does, the PNGs
// recording each with its hash.
func TestFineTunesSwitchOnWithTheirScale(t *testing.T) {
	dir := t.TempDir()
	base := pipelinetest.Tiny(t, filepath.Join(dir, "models"), "text.safetensors", pipelinetest.Kind{Family: diffusion.Family, Cond: "text"})
	lora := filepath.Join(dir, "runs", "zorbs", "lora.safetensors")
	c, _ := finetune.NewConfig("lora")
	c.Rank, c.Alpha, c.NewWords = 2, 2, []string{"zorb"}
	saveTune(t, base, lora, c, 1)
	prefix := filepath.Join(dir, "runs", "pre", "prefix.safetensors")
	c, _ = finetune.NewConfig("prefix")
	c.Prefix = 2
	saveTune(t, base, prefix, c, 2)
	c, _ = finetune.NewConfig("lora")
	c.BaseHash = "0123456789" // another base's
	saveTune(t, base, filepath.Join(dir, "runs", "other", "lora.safetensors"), c, 3)

	h := newHarness(t, Config{Dirs: []string{filepath.Join(dir, "models"), filepath.Join(dir, "runs")}})
	if h.u.Selected() == nil || h.u.Selected().Path != base {
		t.Fatalf("selected %+v", h.u.Selected())
	}
	if fs := h.u.FineTunes(); len(fs) != 2 || fs[0].Path != prefix || fs[1].Path != lora {
		t.Fatalf("fine-tunes listed: %+v", fs)
	}
	h.mustFind("Fine-tunes (2)")
	if _, ok := h.find("scale"); ok {
		t.Error("a scale slider shows before its fine-tune is on")
	}
	h.click("zorbs/lora")
	h.frame()
	if uses := h.u.ActiveFineTunes(); len(uses) != 1 || uses[0] != (finetune.Use{Path: lora, Scale: 1}) {
		t.Fatalf("after a click on zorbs/lora: %+v", uses)
	}
	// The slider: a click at its left end is scale 0, three quarters
	// along is 1.5·0.75, on the slider's steps.
	val := h.mustFind("1.00")
	sl := h.mustFind("scale")
	y := float32(val.Min.Y + 6)
	left, right := float32(sl.Min.X+40), float32(val.Min.X-4) // the label, its gap and the slider's thumb margins
	h.clickAt(f32.Pt(left, y))
	if got := h.u.ActiveFineTunes()[0].Scale; got != 0 {
		t.Errorf("a click at the slider's left end: scale %v", got)
	}
	h.clickAt(f32.Pt(left+(right-left)*0.75, y))
	got := h.u.ActiveFineTunes()[0].Scale
	if got < 1.0 || got > 1.25 || got*20 != float64(int(got*20)) {
		t.Fatalf("three quarters along the slider: scale %v, want about 1.12 on steps of 0.05", got)
	}
	h.frame()
	h.mustFind(fmt.Sprintf("%.2f", got)) // the value shown beside it

	// Generate with the new word.
	h.set(map[string]string{"Seed": "5", "Count": "2", "Steps": "2"})
	h.typeInto(&h.u.prompt, center(h.editorAfter("Prompt")), "a large zorb in the center")
	h.click("Generate")
	st := h.waitJob(time.Minute)
	if end := st[len(st)-1]; end.Err != nil || len(h.u.Results()) != 2 {
		t.Fatalf("generate: %+v, %d results (status %q)", end, len(h.u.Results()), h.u.cur().status)
	}
	rs := h.u.Results()
	p, err := pipeline.Open(base, pipeline.WithFineTunes(finetune.Use{Path: lora, Scale: got}))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Knobs().Request(5, 2)
	r.Prompt, r.Steps = "a large zorb in the center", 2
	r.Sampler = h.u.sampler.Value
	r.Guidance = p.Knobs().Defaults.Guidance
	out, err := p.Generate(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := images.ModelHash(lora)
	for i := range rs {
		if !sameImage(rs[i].Image, out.Image(i)) || rs[i].Params.String() != out.Params[i].String() {
			t.Errorf("image %d: the app's differs from the pipeline's with the fine-tune (%q vs %q)", i, rs[i].Params.String(), out.Params[i].String())
		}
		text, err := images.ReadParameters(rs[i].Path)
		if err != nil || !strings.Contains(text, "<lora:lora:"+formatScale(got)+">") || !strings.Contains(text, "lora: "+hash) {
			t.Errorf("the saved PNG records %q (%v)", text, err)
		}
	}
	// The tasks draw with the fine-tune too.
	h.u.sel = 0
	h.clickTab(TabEdit)
	h.click("Use as source")
	h.frame()
	h.click("Edit")
	if st := h.waitJob(time.Minute); st[len(st)-1].Err != nil {
		t.Fatalf("edit: %v", st[len(st)-1].Err)
	}
	if p := h.u.Results()[0].Params.String(); !strings.Contains(p, "<lora:lora:"+formatScale(got)+">") || !strings.Contains(p, "Task: edit") {
		t.Errorf("the edit's parameters %q", p)
	}
	h.clickTab(TabGenerate)
	// Off again: the base model, which does not know the new word.
	h.click("zorbs/lora")
	h.click("Generate")
	if msg, bad := h.u.Status(); !bad || !strings.Contains(msg, "zorb") {
		t.Errorf("the base model with the fine-tune's word: status %q", msg)
	}
	// The prefix takes no scale.
	h.click("pre/prefix")
	h.frame()
	h.mustFind("scale 1 (this method takes no scale)")
	// Reusing a fine-tuned image's settings switches its fine-tunes back
	// on at their scales, and only them; its prompt is the words alone.
	h.u.reuse(rs[1])
	if uses := h.u.ActiveFineTunes(); len(uses) != 1 || uses[0] != (finetune.Use{Path: lora, Scale: got}) {
		t.Errorf("reused %q: fine-tunes %+v", rs[1].Params.Prompt, uses)
	}
	if p := h.u.prompt.Text(); p != "a large zorb in the center" {
		t.Errorf("reused prompt %q", p)
	}
	if msg, _ := h.u.Status(); !strings.Contains(msg, "zorbs/lora at") {
		t.Errorf("status %q", msg)
	}
}

func formatScale(s float64) string { return strconv.FormatFloat(s, 'g', -1, 64) }

// A video model's clip plays on the stage: its frames advance while it
// plays and hold while paused, the slider picks a frame, and the
// autosaved animated PNG, opened again, plays the same frames.
func TestClipPlaysPausesAndSeeks(t *testing.T) {
	dir := t.TempDir()
	video := pipelinetest.Tiny(t, filepath.Join(dir, "models"), "video.safetensors", pipelinetest.Video)
	h := newHarness(t, Config{Dirs: []string{filepath.Join(dir, "models")}})
	if m := h.u.Selected(); m == nil || m.Path != video || m.Frames != 4 {
		t.Fatalf("selected %+v", m)
	}
	h.mustFind("start from the selected image") // an image-to-video model
	h.set(map[string]string{"Seed": "3", "Count": "1", "Steps": "2"})
	h.typeInto(&h.u.prompt, center(h.editorAfter("Prompt")), "a small red circle growing")
	h.click("Generate")
	st := h.waitJob(time.Minute)
	if end := st[len(st)-1]; end.Err != nil || len(h.u.Results()) != 1 {
		t.Fatalf("generate: %+v (status %q)", end, h.u.cur().status)
	}
	r := h.u.Results()[0]
	if !r.IsClip() || len(r.Frames) != 4 || r.Task != "txt2vid" || sameImage(r.Frames[0], r.Frames[1]) {
		t.Fatalf("result: clip %v of %d frames, task %q", r.IsClip(), len(r.Frames), r.Task)
	}
	if !strings.Contains(r.Path, "txt2vid") {
		t.Errorf("saved as %s", r.Path)
	}
	f, err := os.Open(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := images.AnimationFrames(f)
	f.Close()
	if err != nil || n != 4 {
		t.Errorf("the saved file has %d frames (%v)", n, err)
	}
	// Playing: the frames advance over time.
	seen := map[int]bool{}
	for deadline := time.Now().Add(3 * time.Second); len(seen) < 3 && time.Now().Before(deadline); {
		h.frame()
		k, frames, playing := h.u.ClipFrame()
		if frames != 4 || !playing {
			t.Fatalf("frame %d of %d, playing %v", k, frames, playing)
		}
		seen[k] = true
		time.Sleep(40 * time.Millisecond)
	}
	if len(seen) < 3 {
		t.Fatalf("frames shown while playing for 3 s: %v", seen)
	}
	h.click("Pause")
	h.frame()
	held, _, playing := h.u.ClipFrame()
	time.Sleep(300 * time.Millisecond)
	h.frame()
	if k, _, _ := h.u.ClipFrame(); playing || k != held {
		t.Errorf("paused on frame %d, then frame %d shows (playing %v)", held, k, playing)
	}
	h.mustFind("Play")
	// The slider: its right end is the last frame, its left end the first.
	label := h.mustFind("frame " + strconv.Itoa(held+1) + " of 4 · 8 fps")
	btn := h.mustFind("Play")
	y := float32(btn.Max.Y+label.Min.Y) / 2
	h.clickAt(f32.Pt(float32(label.Min.X+314), y))
	h.frame()
	if k, _, playing := h.u.ClipFrame(); k != 3 || playing {
		t.Errorf("the slider's right end: frame %d, playing %v", k, playing)
	}
	if !sameImage(h.u.frameShown(&h.u.results[0]), r.Frames[3]) {
		t.Error("the stage does not show frame 4")
	}
	h.clickAt(f32.Pt(float32(label.Min.X+1), y))
	h.frame()
	if k, _, _ := h.u.ClipFrame(); k != 0 {
		t.Errorf("the slider's left end: frame %d", k)
	}
	h.click("Play")
	if _, _, playing := h.u.ClipFrame(); !playing {
		t.Error("Play does not play")
	}
	// The animated PNG opened from disk is the same clip, and plays.
	h.u.open(r.Path)
	h.frame()
	o := h.u.Results()[0]
	if !o.IsClip() || len(o.Frames) != 4 || o.Task != "txt2vid" {
		t.Fatalf("opened %s: clip %v of %d frames, task %q", r.Path, o.IsClip(), len(o.Frames), o.Task)
	}
	for i := range o.Frames {
		if !sameImage(o.Frames[i], r.Frames[i]) {
			t.Errorf("frame %d read back differs", i)
		}
	}
	if _, frames, playing := h.u.ClipFrame(); frames != 4 || !playing {
		t.Errorf("the opened clip: %d frames, playing %v", frames, playing)
	}
	// Image-to-video from the selected clip's frame shown.
	h.click("start from the selected image")
	h.frame()
	h.click("Generate")
	st = h.waitJob(time.Minute)
	if end := st[len(st)-1]; end.Err != nil || h.u.Results()[0].Task != "img2vid" {
		t.Fatalf("img2vid: %+v, task %q (status %q)", end, h.u.Results()[0].Task, h.u.cur().status)
	}
	if v, _ := h.u.Results()[0].Params.Lookup("First frame"); v != "given" {
		t.Errorf("img2vid parameters %q", h.u.Results()[0].Params.String())
	}
	// Save ×2 writes the clip enlarged, still animated; the gallery
	// reloads the autosaved clips at the next start.
	h.u.sel = 1
	h.u.saveScale.Value = "2"
	saved, err := h.u.Save(1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := images.LoadAnimation(saved)
	if err != nil || len(a.Frames) != 4 || a.Frames[0].Bounds().Dx() != 64 {
		t.Fatalf("saved ×2: %v, %v", a, err)
	}
	if p, _ := images.ReadParameters(saved); !strings.Contains(p, "Size: 64x64") || !strings.Contains(p, "Frames: 4") {
		t.Errorf("saved ×2 records %q", p)
	}
	again := newHarness(t, Config{Dirs: []string{filepath.Join(dir, "models")}, OutDir: h.u.cfg.OutDir})
	if rs := again.u.Results(); len(rs) != 2 || !rs[0].IsClip() || !rs[1].IsClip() {
		t.Errorf("reloaded %d results", len(rs))
	}
}
