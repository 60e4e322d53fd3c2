package main

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"genlab/images"
)

// The super-resolution and text-to-image commands on tiny models trained
// here for a few steps, with the commands their recipes use.
var tasks2Runs struct {
	once         sync.Once
	lowres, text string
	err          error
}

func tasks2Checkpoints(t *testing.T) (lowres, text string) {
	t.Helper()
	if testing.Short() {
		t.Skip("trains two tiny diffusion models")
	}
	tasks2Runs.once.Do(func() {
		dir, err := os.MkdirTemp("", "genlab-tasks2-")
		if err != nil {
			tasks2Runs.err = err
			return
		}
		common := []string{"--size", "tiny", "--steps", "4", "--batch", "8", "--save-every", "4", "--sample-every", "4", "--samples", "2"}
		for _, run := range []struct {
			out  *string
			args []string
		}{
			{&tasks2Runs.lowres, []string{"--data", "mnist", "--cond", "lowres", "--scale", "2,4"}},
			{&tasks2Runs.text, []string{"--data", "shapes", "--cond", "text"}},
		} {
			d := filepath.Join(dir, run.args[3])
			args := append(append([]string{"train", "diffusion"}, run.args...), append(common, "--out", d)...)
			if status, _, stderr := genlab(t, args...); status != 0 {
				tasks2Runs.err = fmt.Errorf("%v: exit %d: %s", args, status, stderr)
				return
			}
			*run.out = filepath.Join(d, "ckpt-000004.safetensors")
		}
	})
	if tasks2Runs.err != nil {
		t.Fatal(tasks2Runs.err)
	}
	return tasks2Runs.lowres, tasks2Runs.text
}

func TestSuperResCommand(t *testing.T) {
	ckpt, text := tasks2Checkpoints(t)
	dir := t.TempDir()
	// A 7x7 grey PNG and a 10x6 colour JPEG, both from the user.
	small := image.NewGray(image.Rect(0, 0, 7, 7))
	for i := range small.Pix {
		small.Pix[i] = uint8(30 * (i % 7))
	}
	png7 := filepath.Join(dir, "digit.png")
	if err := images.Save(png7, small, ""); err != nil {
		t.Fatal(err)
	}
	rgb := image.NewRGBA(image.Rect(0, 0, 10, 6))
	for y := range 6 {
		for x := range 10 {
			rgb.Set(x, y, color.RGBA{uint8(20 * x), 200, uint8(40 * y), 255})
		}
	}
	jpg := filepath.Join(dir, "photo.jpg")
	f, _ := os.Create(jpg)
	if err := jpeg.Encode(f, rgb, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, c := range []struct {
		in, scale string
		w, h      int
	}{{png7, "4", 28, 28}, {jpg, "2", 20, 12}, {png7, "", 28, 28}} {
		out := filepath.Join(dir, "out", "up"+c.scale+".png")
		args := []string{"superres", "--ckpt", ckpt, "--image", c.in, "--out", out, "--steps", "3", "--seed", "7"}
		if c.scale != "" {
			args = append(args, "--scale", c.scale)
		}
		status, stdout, stderr := genlab(t, args...)
		if status != 0 {
			t.Fatalf("%v: exit %d: %s", args, status, stderr)
		}
		img, err := images.Load(out)
		if err != nil || img.Bounds().Dx() != c.w || img.Bounds().Dy() != c.h || !strings.Contains(stdout, out) {
			t.Fatalf("%s at %sx: %v, %v (%s)", c.in, c.scale, img.Bounds(), err, stdout)
		}
		params, _ := images.ReadParameters(out)
		p, err := images.ParseParameters(params)
		if err != nil || p.Seed != 7 || p.Steps != 3 || p.Width != c.w {
			t.Errorf("parameters %q: %+v, %v", params, p, err)
		}
		if v, _ := p.Lookup("Scale"); c.scale != "" && v != c.scale {
			t.Errorf("parameters %q: scale %q", params, v)
		}
	}

	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("not an image"), 0o644)
	out := filepath.Join(dir, "x.png")
	wantUserError(t, "not a PNG or JPEG", "superres", "--ckpt", ckpt, "--image", notImage, "--out", out)
	wantUserError(t, "no such file", "superres", "--ckpt", ckpt, "--image", filepath.Join(dir, "missing.png"), "--out", out)
	wantUserError(t, "trained to upscale by 2 or 4", "superres", "--ckpt", ckpt, "--image", png7, "--scale", "3", "--out", out)
	wantUserError(t, "--cond lowres", "superres", "--ckpt", text, "--image", png7, "--out", out)
	wantUserError(t, "largest output", "superres", "--ckpt", ckpt, "--image", bigImage(t, dir), "--out", out)
	wantUserError(t, "image", "superres", "--ckpt", ckpt, "--out", out)
}

func bigImage(t *testing.T, dir string) string {
	p := filepath.Join(dir, "big.png")
	if err := images.Save(p, image.NewGray(image.Rect(0, 0, 300, 10)), ""); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTxt2ImgCommand(t *testing.T) {
	lowres, ckpt := tasks2Checkpoints(t)
	out := t.TempDir()
	grid := filepath.Join(out, "grid.png")
	prompt := "A large blue circle in the center."
	status, stdout, stderr := genlab(t, "txt2img", "--ckpt", ckpt, "--prompt", prompt, "--n", "3", "--seed", "40",
		"--steps", "3", "--out", out, "--grid", grid)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	for i := range 3 {
		name := filepath.Join(out, fmt.Sprintf("%05d-%d.png", i, 40+i))
		img, err := images.Load(name)
		if err != nil || img.Bounds().Dx() != 32 {
			t.Fatalf("%s: %v", name, err)
		}
		params, _ := images.ReadParameters(name)
		p, err := images.ParseParameters(params)
		if err != nil || p.Prompt != "a large blue circle in the center" || p.Seed != int64(40+i) || p.CFGScale != 3 || p.Steps != 3 {
			t.Errorf("%s: parameters %q parsed as %+v (%v)", name, params, p, err)
		}
	}
	if _, err := os.Stat(grid); err != nil || !strings.Contains(stdout, "wrote 3 images") {
		t.Errorf("grid %v; stdout %q", err, stdout)
	}
	wantUserError(t, `unknown word "purple"; the model knows: a at blue bottom center circle cross cyan green in large left magenta orange red right small square the top triangle white yellow`,
		"txt2img", "--ckpt", ckpt, "--prompt", "a small purple circle", "--out", out)
	wantUserError(t, "at most 8", "txt2img", "--ckpt", ckpt, "--prompt", "a small red circle at the top left in the center", "--out", out)
	wantUserError(t, "--prompt is empty", "txt2img", "--ckpt", ckpt, "--prompt", " ", "--out", out)
	wantUserError(t, "--cond text", "txt2img", "--ckpt", lowres, "--prompt", "a", "--out", out)
	wantUserError(t, "prompt", "txt2img", "--ckpt", ckpt, "--out", out)
	wantUserError(t, "--guidance", "txt2img", "--ckpt", ckpt, "--prompt", "a", "--guidance", "-1", "--out", out)
}

func TestTrainAttributesCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the attribute classifier for a few steps")
	}
	out := t.TempDir()
	status, stdout, stderr := genlab(t, "train", "attributes", "--steps", "5", "--batch", "16", "--out", out)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, "all four") || !strings.Contains(stdout, filepath.Join(out, "attributes.safetensors")) {
		t.Errorf("stdout %q", stdout)
	}
	status, stdout, _ = genlab(t, "info", "--ckpt", filepath.Join(out, "attributes.safetensors"))
	if status != 0 || !strings.Contains(stdout, "genlab.family: attributes") || !strings.Contains(stdout, "head.position.weight") {
		t.Errorf("info: %d %s", status, stdout)
	}
	wantUserError(t, "--data shapes", "train", "attributes", "--data", "mnist", "--out", out)
}

func TestSampleDiffusionPrompt(t *testing.T) {
	lowres, ckpt := tasks2Checkpoints(t)
	out := t.TempDir()
	status, _, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--prompt", "a small red square at the top right", "--n", "2", "--steps", "3", "--out", out)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	params, _ := images.ReadParameters(filepath.Join(out, "00001-1.png"))
	if p, err := images.ParseParameters(params); err != nil || p.Prompt != "a small red square at the top right" {
		t.Errorf("parameters %q: %+v %v", params, p, err)
	}
	// A fresh folder: into out, the refusal to replace its images comes first.
	fresh := t.TempDir()
	wantUserError(t, `unknown word "pink"`, "sample", "diffusion", "--ckpt", ckpt, "--prompt", "a pink square", "--out", fresh)
	wantUserError(t, "genlab superres", "sample", "diffusion", "--ckpt", lowres, "--out", fresh)
	wantUserError(t, "from an earlier run", "sample", "diffusion", "--ckpt", ckpt, "--prompt", "a red square", "--out", out)
}

// eval-tasks scores an MNIST and a shapes super-resolution model, each
// under its own flag, with example sheets that do not overwrite each
// other.
func TestEvalTasksSuperRes(t *testing.T) {
	lowres, _ := tasks2Checkpoints(t)
	dir := t.TempDir()
	shapes := filepath.Join(dir, "sr-shapes")
	if status, _, stderr := genlab(t, "train", "diffusion", "--data", "shapes", "--cond", "lowres", "--scale", "2", "--size", "tiny",
		"--steps", "2", "--batch", "4", "--save-every", "2", "--sample-every", "2", "--samples", "2", "--out", shapes); status != 0 {
		t.Fatalf("train: exit %d: %s", status, stderr)
	}
	attr := filepath.Join(dir, "attr")
	if status, _, stderr := genlab(t, "train", "attributes", "--steps", "2", "--batch", "8", "--out", attr); status != 0 {
		t.Fatalf("train attributes: exit %d: %s", status, stderr)
	}
	out := filepath.Join(dir, "eval")
	status, _, stderr := genlab(t, "eval-tasks", "--tasks", "superres,superres-shapes", "--sr-ckpt", lowres,
		"--sr-shapes-ckpt", filepath.Join(shapes, "ckpt-000002.safetensors"), "--attributes", filepath.Join(attr, "attributes.safetensors"),
		"--classifier", tinyJudge(t), "--n", "2", "--batch", "2", "--out", out)
	if status != 0 {
		t.Fatalf("eval-tasks: exit %d: %s", status, stderr)
	}
	table, _ := os.ReadFile(filepath.Join(out, "table.md"))
	for _, want := range []string{"| superres | MNIST 7->28 (4x) | genlab SR3 (DDPM 50) |", "| superres | shapes 16->32 (2x) | *bicubic (imaging)* |", "attribute acc."} {
		if !strings.Contains(string(table), want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	for _, f := range []string{"superres-2x.png", "superres-4x.png", "superres-shapes-2x.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("no example sheet %s: %v", f, err)
		}
	}
}
