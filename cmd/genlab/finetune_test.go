package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"genlab/images"
	"genlab/pipeline/pipelinetest"
)

// A user's folder with metadata.jsonl fine-tunes end to end: the fine-tune
// draws its new word through --lora (recorded with its hash in the PNG),
// merges into a standalone checkpoint, and is refused on another base.
func TestFineTuneFromAFolder(t *testing.T) {
	dir := t.TempDir()
	base := pipelinetest.Tiny(t, dir, "text.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "text"})
	data := zorbFolder(t, dir)
	out := filepath.Join(dir, "run")
	status, stdout, stderr := genlab(t, "finetune", "--method", "lora", "--base", base, "--data", data, "--steps", "2", "--batch", "4", "--out", out, "--samples", "1", "--targets", "attn,text")
	if status != 0 {
		t.Fatalf("finetune: exit %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, "new words [zorb]") {
		t.Errorf("finetune output %q does not name the new word", stdout)
	}
	lora := filepath.Join(out, "lora.safetensors")
	if status, stdout, stderr := genlab(t, "finetune", "--base", base, "--data", data, "--steps", "3", "--out", out, "--samples", "1", "--resume", "latest"); status != 0 || !strings.Contains(stdout, "trained to step 3") {
		t.Fatalf("finetune --resume latest: exit %d: %s%s", status, stdout, stderr)
	}
	pngs := filepath.Join(dir, "png")
	status, _, stderr = genlab(t, "txt2img", "--ckpt", base, "--prompt", "a large zorb in the center", "--lora", lora+":0.5", "--n", "1", "--steps", "2", "--out", pngs)
	if status != 0 {
		t.Fatalf("txt2img --lora: exit %d: %s", status, stderr)
	}
	params, err := images.ReadParameters(filepath.Join(pngs, "00000-0.png"))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := images.ModelHash(lora)
	if !strings.Contains(params, "<lora:lora:0.5>") || !strings.Contains(params, "Lora hashes: \"lora: "+hash+"\"") {
		t.Errorf("parameters %q do not record the LoRA and its hash", params)
	}
	// edit and batch take --lora too, and read the new word.
	edited := filepath.Join(dir, "edited.png")
	if status, _, stderr := genlab(t, "edit", "--ckpt", base, "--lora", lora, "--image", filepath.Join(data, "a.png"), "--strength", "0.5", "--prompt", "a large zorb in the center", "--steps", "2", "--out", edited); status != 0 {
		t.Fatalf("edit --lora: exit %d: %s", status, stderr)
	}
	if p, err := images.ReadParameters(edited); err != nil || !strings.Contains(p, "<lora:lora:1>") {
		t.Errorf("edit parameters %q, %v", p, err)
	}
	manifest := filepath.Join(dir, "m.csv")
	if err := os.WriteFile(manifest, []byte("class,seed,count\n,3,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, _, stderr := genlab(t, "batch", "--ckpt", base, "--lora", lora, "--manifest", manifest, "--prompt", "a large zorb in the center", "--steps", "2", "--out", filepath.Join(dir, "batch")); status != 0 {
		t.Fatalf("batch --lora: exit %d: %s", status, stderr)
	}
	wantUserError(t, `unknown word "zorb"`, "txt2img", "--ckpt", base, "--prompt", "a large zorb in the center", "--n", "1", "--steps", "2", "--out", filepath.Join(dir, "png4"))

	merged := filepath.Join(dir, "merged.safetensors")
	if status, _, stderr := genlab(t, "merge", "--base", base, "--lora", lora, "--out", merged); status != 0 {
		t.Fatalf("merge: exit %d: %s", status, stderr)
	}
	if status, _, stderr := genlab(t, "txt2img", "--ckpt", merged, "--prompt", "a large zorb in the center", "--n", "1", "--steps", "2", "--out", filepath.Join(dir, "png2")); status != 0 {
		t.Fatalf("txt2img on the merged model: exit %d: %s", status, stderr)
	}
	// The merged model draws what the base with the LoRA at scale 1 does.
	if status, _, stderr := genlab(t, "txt2img", "--ckpt", base, "--lora", lora, "--prompt", "a large zorb in the center", "--n", "1", "--steps", "2", "--out", filepath.Join(dir, "png1")); status != 0 {
		t.Fatalf("txt2img --lora: exit %d: %s", status, stderr)
	}
	a, err1 := images.Load(filepath.Join(dir, "png1", "00000-0.png"))
	b, err2 := images.Load(filepath.Join(dir, "png2", "00000-0.png"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	ra, ok1 := a.(*image.RGBA)
	rb, ok2 := b.(*image.RGBA)
	if !ok1 || !ok2 {
		t.Fatalf("decoded as %T and %T", a, b)
	}
	if !bytes.Equal(ra.Pix, rb.Pix) {
		t.Error("the merged model and the base with its LoRA draw different images")
	}
	wantUserError(t, "is a fine-tune of text", "txt2img", "--ckpt", merged, "--prompt", "a large circle in the center", "--lora", lora, "--n", "1", "--steps", "2", "--out", filepath.Join(dir, "png5"))
	wantUserError(t, "--method", "finetune", "--method", "dora", "--base", base, "--out", filepath.Join(dir, "x"))
	wantUserError(t, "no such file", "sample", "diffusion", "--ckpt", base, "--lora", filepath.Join(dir, "none.safetensors"))
	class := pipelinetest.Tiny(t, dir, "class.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "class"})
	wantUserError(t, "--cond text", "finetune", "--base", class, "--data", data, "--steps", "1", "--out", filepath.Join(dir, "y"))
	wantUserError(t, "fine-tunes apply to text diffusion models", "sample", "vae", "--ckpt", pipelinetest.Tiny(t, dir, "vae.safetensors", pipelinetest.Kind{Family: "vae"}), "--lora", lora)
	if err := os.Remove(filepath.Join(data, "metadata.jsonl")); err != nil {
		t.Fatal(err)
	}
	wantUserError(t, "metadata.jsonl", "finetune", "--base", base, "--data", data, "--steps", "1", "--out", filepath.Join(dir, "z"))
	for _, bad := range [][]string{{"--lr", "NaN"}, {"--alpha", "NaN"}, {"--rank", "-2"}, {"--batch", "0"}} {
		wantUserError(t, bad[0][2:], append([]string{"finetune", "--base", base, "--out", filepath.Join(dir, "z")}, bad...)...)
	}
	wantUserError(t, "scale NaN", "txt2img", "--ckpt", base, "--prompt", "a large circle in the center", "--lora", lora+":NaN", "--out", filepath.Join(dir, "z"))
	wantUserError(t, "--targets is for lora", "finetune", "--method", "prompt", "--targets", "attn", "--base", base, "--out", filepath.Join(dir, "z"))
}

// zorbFolder writes a user's concept folder in dir: four images of a
// green square captioned with the new word "zorb" in metadata.jsonl.
func zorbFolder(t *testing.T, dir string) string {
	t.Helper()
	data := filepath.Join(dir, "zorbs")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	var meta strings.Builder
	for i := range 4 {
		m := image.NewNRGBA(image.Rect(0, 0, 32, 32))
		for y := 8; y < 24; y++ {
			for x := 8; x < 24; x++ {
				m.Set(x, y, color.NRGBA{uint8(60 * i), 200, 90, 255})
			}
		}
		name := filepath.Join(data, string(rune('a'+i))+".png")
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, m); err != nil {
			t.Fatal(err)
		}
		f.Close()
		meta.WriteString(`{"file_name": "` + filepath.Base(name) + `", "text": "a large zorb in the center"}` + "\n")
	}
	if err := os.WriteFile(filepath.Join(data, "metadata.jsonl"), []byte(meta.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

// --prior draws the base's own images into the run folder and trains on
// them beside the concept's; a resumed run reads them back; flags that
// make no sense are one clear error each.
func TestFineTuneWithPrior(t *testing.T) {
	dir := t.TempDir()
	base := pipelinetest.Tiny(t, dir, "text.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "text"})
	out := filepath.Join(dir, "run")
	status, stdout, stderr := genlab(t, "finetune", "--method", "adapter", "--base", base, "--data", "shapes-new", "--prior", "4", "--steps", "2", "--batch", "4", "--out", out, "--samples", "1")
	if status != 0 {
		t.Fatalf("finetune --prior: exit %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, "64 images with 4 prior images of the base (prompts from shapes)") {
		t.Errorf("finetune output %q does not tell of the prior images", stdout)
	}
	pngs, _ := filepath.Glob(filepath.Join(out, "prior", "prior-*.png"))
	if len(pngs) != 4 {
		t.Fatalf("%d prior images in %s, want 4", len(pngs), filepath.Join(out, "prior"))
	}
	first, _ := os.ReadFile(pngs[0])
	if status, stdout, stderr := genlab(t, "finetune", "--base", base, "--data", "shapes-new", "--steps", "3", "--out", out, "--samples", "1", "--resume", "latest"); status != 0 || !strings.Contains(stdout, "with 4 prior images") {
		t.Fatalf("finetune --resume latest: exit %d: %s%s", status, stdout, stderr)
	}
	if again, _ := os.ReadFile(pngs[0]); !bytes.Equal(first, again) {
		t.Error("the resumed run drew its prior images again")
	}
	taken := filepath.Join(dir, "taken")
	if status, stdout, stderr := genlab(t, "finetune", "--method", "adapter", "--base", base, "--data", "shapes-new", "--prior", "4", "--prior-images", "shapes",
		"--steps", "2", "--batch", "4", "--out", taken, "--samples", "1"); status != 0 || !strings.Contains(stdout, "64 images with 4 prior images from shapes") {
		t.Fatalf("finetune --prior-images: exit %d: %s%s", status, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(taken, "prior")); err == nil {
		t.Error("finetune --prior-images drew prior images too")
	}
	wantUserError(t, "--prior-prompts needs --prior", "finetune", "--base", base, "--prior-prompts", "shapes", "--out", filepath.Join(dir, "x"))
	wantUserError(t, "--prior-images needs --prior", "finetune", "--base", base, "--prior-images", "shapes", "--out", filepath.Join(dir, "x"))
	wantUserError(t, "not both", "finetune", "--base", base, "--prior", "2", "--prior-images", "shapes", "--prior-prompts", "shapes", "--out", filepath.Join(dir, "x"))
	wantUserError(t, "prior images", "finetune", "--base", base, "--prior", "2", "--prior-images", filepath.Join(dir, "nosuchfolder"), "--out", filepath.Join(dir, "x"))
	wantUserError(t, "--prior -2", "finetune", "--base", base, "--prior", "-2", "--out", filepath.Join(dir, "y"))
	wantUserError(t, "prior prompts", "finetune", "--base", base, "--prior", "2", "--prior-prompts", filepath.Join(dir, "none.txt"), "--out", filepath.Join(dir, "z"))
}
