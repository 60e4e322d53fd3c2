package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"genlab/eval"
	"genlab/images"
	"genlab/pipeline/pipelinetest"
)

// txt2vid, img2vid and batch write each clip as an APNG that carries its
// parameters; the wrong model or first frame is one line of error.
func TestVideoCommandsWriteAnimatedPNGs(t *testing.T) {
	dir := t.TempDir()
	video := pipelinetest.Tiny(t, dir, "video.safetensors", pipelinetest.Video)
	text := pipelinetest.Tiny(t, dir, "text.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "text"})
	frames := func(path string) (int, string) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		n, err := images.AnimationFrames(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := images.ReadParameters(path)
		if err != nil {
			t.Fatal(err)
		}
		return n, p
	}
	out := filepath.Join(dir, "t2v")
	grid := filepath.Join(dir, "strip.png")
	if status, _, stderr := genlab(t, "txt2vid", "--ckpt", video, "--prompt", "a small red circle growing", "--n", "2", "--steps", "2", "--out", out, "--grid", grid); status != 0 {
		t.Fatalf("txt2vid: exit %d: %s", status, stderr)
	}
	n, params := frames(filepath.Join(out, "00001-1.png"))
	if n != 4 || !strings.HasPrefix(params, "a small red circle growing\n") || !strings.Contains(params, "Frames: 4") {
		t.Errorf("txt2vid clip: %d frames, parameters %q", n, params)
	}
	strip, err := images.Load(grid)
	if err != nil {
		t.Fatal(err)
	}
	if b := strip.Bounds(); b.Dx() < 4*32 {
		t.Errorf("frame strips %v", b)
	}
	first := filepath.Join(dir, "first.png")
	if err := images.Save(first, images.FromFloats(make([]float32, 3*32*32), 3, 32, 32), ""); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "i2v")
	if status, _, stderr := genlab(t, "img2vid", "--ckpt", video, "--image", first, "--n", "1", "--steps", "2", "--out", out); status != 0 {
		t.Fatalf("img2vid: exit %d: %s", status, stderr)
	}
	if n, params := frames(filepath.Join(out, "00000-0.png")); n != 4 || !strings.Contains(params, "First frame: given") {
		t.Errorf("img2vid clip: %d frames, parameters %q", n, params)
	}
	manifest := filepath.Join(dir, "m.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n,3,2\n"), 0o644)
	out = filepath.Join(dir, "batch")
	if status, _, stderr := genlab(t, "batch", "--ckpt", video, "--manifest", manifest, "--prompt", "a large blue square shrinking", "--image", first, "--steps", "2", "--out", out); status != 0 {
		t.Fatalf("batch: exit %d: %s", status, stderr)
	}
	if n, params := frames(filepath.Join(out, "00001-4.png")); n != 4 || !strings.Contains(params, "First frame: given") {
		t.Errorf("batch clip: %d frames, parameters %q", n, params)
	}
	wantUserError(t, "draws still images", "txt2vid", "--ckpt", text, "--prompt", "a small red circle at the top left", "--out", dir)
	wantUserError(t, "is a video model", "txt2img", "--ckpt", video, "--prompt", "a small red circle growing", "--out", dir)
	wantUserError(t, "is 64x64", "img2vid", "--ckpt", video, "--image", grid64(t, dir), "--out", dir)
	wantUserError(t, "--image", "img2vid", "--ckpt", video, "--image", filepath.Join(dir, "missing.png"), "--out", dir)
	wantUserError(t, "works on still images", "edit", "--ckpt", video, "--image", first, "--strength", "0.5", "--prompt", "a small red circle growing", "--out", filepath.Join(dir, "e.png"))
}

func grid64(t *testing.T, dir string) string {
	path := filepath.Join(dir, "big.png")
	if err := images.Save(path, images.FromFloats(make([]float32, 64*64), 1, 64, 64), ""); err != nil {
		t.Fatal(err)
	}
	return path
}

// eval-video runs end to end on tiny untrained models and writes its table
// with every row, baselines included.
func TestEvalVideoWritesItsTable(t *testing.T) {
	dir := t.TempDir()
	video := pipelinetest.Tiny(t, dir, "video.safetensors", pipelinetest.Video)
	text := pipelinetest.Tiny(t, dir, "text.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "text"})
	attr, err := eval.NewAttributeClassifier(eval.AttributesConfig{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	attrPath := filepath.Join(dir, "attributes.safetensors")
	if err := attr.Save(attrPath, 1, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "eval")
	status, stdout, stderr := genlab(t, "eval-video", "--ckpt", video, "--attributes", attrPath, "--txt2img-ckpt", text, "--n", "2", "--steps", "2", "--out", out)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	table, err := os.ReadFile(filepath.Join(out, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"seen pairs", "held-out pairs", "real clips", "text-to-video", "first frame repeated", "text-to-image per frame", "image-to-video", "motion acc."} {
		if !strings.Contains(string(table), want) || !strings.Contains(stdout, want) {
			t.Errorf("table has no %q:\n%s", want, table)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "video-heldout.png")); err != nil {
		t.Error(err)
	}
	wantUserError(t, "not a text-to-video model", "eval-video", "--ckpt", text, "--attributes", attrPath, "--n", "1", "--out", out)
}

func TestDataShowDrawsClipsAsFrameStrips(t *testing.T) {
	grid := filepath.Join(t.TempDir(), "clips.png")
	if status, _, stderr := genlab(t, "data", "show", "clips", "--split", "heldout", "--n", "3", "--grid", grid); status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	img, err := images.Load(grid)
	if err != nil {
		t.Fatal(err)
	}
	// One strip of 8 frames per row: 2 + 8*32 + 9 + 2 wide, 3 rows.
	if b := img.Bounds(); b.Dx() != 8*32+9+4 || b.Dy() != 3*34+4*2 {
		t.Errorf("grid %v", b)
	}
	params, err := images.ReadParameters(grid)
	if err != nil || !strings.Contains(params, "Frames: 8") || !strings.Contains(params, "clips-heldout") {
		t.Errorf("parameters %q, %v", params, err)
	}
}

// A video run starts from a text-to-image run's checkpoint and says so;
// --init elsewhere is one line of error.
func TestTrainVideoFromAnImageModel(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	if status, _, stderr := genlab(t, "train", "diffusion", "--data", "shapes", "--cond", "text", "--size", "tiny", "--batch", "2", "--steps", "1", "--samples", "1", "--out", img); status != 0 {
		t.Fatalf("train text-to-image: exit %d: %s", status, stderr)
	}
	ckpt := filepath.Join(img, "ckpt-000001.safetensors")
	vid := filepath.Join(dir, "vid")
	status, stdout, stderr := genlab(t, "train", "diffusion", "--data", "clips", "--cond", "text", "--size", "tiny", "--batch", "1", "--steps", "1", "--samples", "1", "--init", ckpt, "--out", vid)
	if status != 0 {
		t.Fatalf("train video --init: exit %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, "starting from "+ckpt) {
		t.Errorf("the run does not say what it started from:\n%s", stdout)
	}
	meta, err := os.ReadFile(filepath.Join(vid, "ckpt-000001.safetensors"))
	if err != nil || !strings.Contains(string(meta[:min(len(meta), 1<<16)]), `ckpt-000001.safetensors `) {
		t.Errorf("the checkpoint's config does not name its start (%v)", err)
	}
	wantUserError(t, "--init is for diffusion", "train", "vae", "--init", ckpt, "--out", filepath.Join(dir, "x"))
	wantUserError(t, "keeps its own weights", "train", "diffusion", "--resume", "latest", "--init", ckpt, "--out", vid)
	wantUserError(t, "--init", "train", "diffusion", "--data", "clips", "--cond", "text", "--size", "tiny", "--init", filepath.Join(dir, "none.safetensors"), "--out", filepath.Join(dir, "y"))
}
