package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"genlab/images"
)

// taskPNG writes img as a PNG in dir.
func taskPNG(t *testing.T, dir, name string, img image.Image) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := images.Save(p, img, ""); err != nil {
		t.Fatal(err)
	}
	return p
}

// taskInputs writes a 36x30 RGB picture, a mask of its size (a white box
// in the middle) and a mask of the wrong size.
func taskInputs(t *testing.T, dir string) (img, mask, badMask string) {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 36, 30))
	for y := range 30 {
		for x := range 36 {
			m.Set(x, y, color.NRGBA{uint8(7 * x), uint8(8 * y), 90, 255})
		}
	}
	k := image.NewGray(image.Rect(0, 0, 36, 30))
	for y := 10; y < 20; y++ {
		for x := 12; x < 24; x++ {
			k.Pix[y*36+x] = 255
		}
	}
	return taskPNG(t, dir, "picture.png", m), taskPNG(t, dir, "mask.png", k), taskPNG(t, dir, "small-mask.png", image.NewGray(image.Rect(0, 0, 28, 28)))
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	img, err := images.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Inpainting a user's RGB picture of another size than the model's gives
// an image of the picture's size whose unmasked pixels are the picture's
// own (in the model's grey), with its settings in the PNG.
func TestInpaintCommand(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	img, mask, _ := taskInputs(t, dir)
	out := filepath.Join(dir, "out", "filled.png")
	status, stdout, stderr := genlab(t, "inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--out", out,
		"--steps", "6", "--jump", "2", "--resample", "2", "--seed", "3")
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, out) {
		t.Errorf("stdout %q does not say where the result is", stdout)
	}
	res := readPNG(t, out)
	if b := res.Bounds(); b.Dx() != 36 || b.Dy() != 30 {
		t.Fatalf("result is %v, want 36x30", b)
	}
	orig := images.ToFloats(readPNG(t, img), 1)
	got := images.ToFloats(res, 1)
	for y := range 30 {
		for x := range 36 {
			inHole := y >= 10 && y < 20 && x >= 12 && x < 24
			if i := y*36 + x; !inHole && abs(got[i]-orig[i]) > 1.0/255 {
				t.Fatalf("unmasked pixel (%d,%d) changed: %g -> %g", x, y, orig[i], got[i])
			}
		}
	}
	params, err := images.ReadParameters(out)
	if err != nil || !strings.Contains(params, "Task: inpaint") || !strings.Contains(params, "Resample: 2") || !strings.Contains(params, "Seed: 3") || !strings.Contains(params, "Class choice: auto") {
		t.Errorf("parameters %q (%v)", params, err)
	}
	// --class auto (the default) says which class it filled under, on
	// stderr and in the PNG.
	var class int
	_, said, _ := strings.Cut(stderr, "--class auto: ")
	if _, err := fmt.Sscanf(said, "filled as class %d", &class); err != nil {
		t.Fatalf("stderr %q does not say which class --class auto chose", stderr)
	}
	if q, _ := images.ParseParameters(params); q.Prompt != fmt.Sprintf("class %d", class) || !strings.Contains(params, fmt.Sprintf("Class: %d", class)) {
		t.Errorf("parameters %q do not record the class chosen, %d", params, class)
	}
}

func abs(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func TestEditCommand(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	img, _, _ := taskInputs(t, dir)
	out := filepath.Join(dir, "edited.png")
	status, _, stderr := genlab(t, "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.6", "--class", "4", "--steps", "5", "--out", out)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	if b := readPNG(t, out).Bounds(); b.Dx() != 36 || b.Dy() != 30 {
		t.Errorf("result is %v, want the input's 36x30", b)
	}
	params, _ := images.ReadParameters(out)
	if !strings.Contains(params, "class 4") || !strings.Contains(params, "Denoising strength: 0.6") {
		t.Errorf("parameters %q", params)
	}
}

func TestStyleCommand(t *testing.T) {
	dir := t.TempDir()
	content, _, _ := taskInputs(t, dir)
	style := taskPNG(t, dir, "style.png", images.FromFloats(stripes(20), 3, 20, 20))
	out := filepath.Join(dir, "styled.png")
	status, _, stderr := genlab(t, "style", "--content", content, "--style", style, "--out", out, "--steps", "4", "--size", "24")
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	// 36x30 shrunk to a longest side of 24.
	if b := readPNG(t, out).Bounds(); b.Dx() != 24 || b.Dy() != 20 {
		t.Errorf("result is %v, want 24x20", b)
	}
	params, _ := images.ReadParameters(out)
	if !strings.Contains(params, "Features: random") {
		t.Errorf("parameters %q", params)
	}
}

// stripes is a 3×n×n image of coloured vertical stripes.
func stripes(n int) []float32 {
	p := make([]float32, 3*n*n)
	for c := range 3 {
		for y := range n {
			for x := range n {
				if (x/3+c)%2 == 0 {
					p[(c*n+y)*n+x] = 1
				}
			}
		}
	}
	return p
}

// eval-tasks writes the table (with a row per method and setting), the
// JSON and an example sheet per task and setting.
func TestEvalTasksCommand(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	out := t.TempDir()
	status, stdout, stderr := genlab(t, "eval-tasks", "--ckpt", ckpt, "--classifier", tinyJudge(t), "--inpaint-classifier", tinyOccluded(t), "--tasks", "inpaint,edit,style",
		"--n", "4", "--batch", "4", "--steps", "4", "--jump", "2", "--resample", "2", "--strengths", "0.5,1", "--edit-steps", "4",
		"--style-n", "1", "--style-size", "16", "--style-steps", "3", "--out", out)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	table, err := os.ReadFile(filepath.Join(out, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| inpaint | square 14x14 | *mean-fill* |", "| inpaint | bottom half | *blur-fill* |",
		"| inpaint | bottom half | genlab RePaint (", "| inpaint | square 14x14 | genlab RePaint + inferred class", "| inpaint | bottom half | genlab RePaint + class named by an occluded-digit classifier", "| edit | strength 0.5 | genlab SDEdit", "| edit | strength 1 | *blend with class mean* |",
		"| style | 16x16 | genlab, random features", "| style | 16x16 | genlab, classifier features", "PSNR (dB)", "SSIM to input"} {
		if !strings.Contains(string(table), want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(stdout, "| task | setting | method |") {
		t.Errorf("stdout lacks the table:\n%s", stdout)
	}
	var js []struct {
		Task string
		Rows []struct{ Method string }
	}
	b, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if err := json.Unmarshal(b, &js); err != nil || len(js) != 3 || len(js[0].Rows) != 12 {
		t.Errorf("results.json (%v):\n%s", err, b)
	}
	for _, f := range []string{"inpaint-square-14x14.png", "inpaint-bottom-half.png", "edit.png", "style.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("no example sheet %s: %v", f, err)
		}
	}
}

func TestTaskCommandsBadInput(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	img, mask, badMask := taskInputs(t, dir)
	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("not an image at all"), 0o644)
	black := taskPNG(t, dir, "black.png", image.NewGray(image.Rect(0, 0, 36, 30)))
	out := filepath.Join(dir, "out.png")
	missing := filepath.Join(dir, "missing.png")
	for _, c := range []struct {
		mention string
		args    []string
	}{
		{"missing.png", []string{"inpaint", "--ckpt", ckpt, "--image", missing, "--mask", mask, "--out", out}},
		{"not a PNG or JPEG", []string{"inpaint", "--ckpt", ckpt, "--image", notImage, "--mask", mask, "--out", out}},
		{"is 28x28 but --image", []string{"inpaint", "--ckpt", ckpt, "--image", img, "--mask", badMask, "--out", out}},
		{"no white pixels", []string{"inpaint", "--ckpt", ckpt, "--image", img, "--mask", black, "--out", out, "--steps", "2", "--jump", "1"}},
		{"jump length", []string{"inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--out", out, "--steps", "5", "--jump", "9"}},
		{"--class 12", []string{"inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--out", out, "--class", "12"}},
		{"not a genlab checkpoint", []string{"inpaint", "--ckpt", writeForeignSafetensors(t, dir), "--image", img, "--mask", mask, "--out", out}},
		{"classifier checkpoint", []string{"edit", "--ckpt", tinyJudge(t), "--image", img, "--strength", "0.5", "--class", "1", "--out", out}},
		{"--strength 0", []string{"edit", "--ckpt", ckpt, "--image", img, "--strength", "0", "--class", "1", "--out", out}},
		{"--strength 1.5", []string{"edit", "--ckpt", ckpt, "--image", img, "--strength", "1.5", "--class", "1", "--out", out}},
		{"--class K", []string{"edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--out", out}},
		{"not text", []string{"edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--prompt", "a red circle", "--out", out}},
		{"conditioned on classes, not text", []string{"inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--prompt", "a red circle", "--out", out}},
		{"not both", []string{"edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--prompt", "x", "--class", "1", "--out", out}},
		{"--sampler", []string{"edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--class", "1", "--sampler", "euler", "--out", out}},
		{"missing.png", []string{"style", "--content", img, "--style", missing, "--out", out}},
		{"--features", []string{"style", "--content", img, "--style", img, "--out", out, "--features", "vgg"}},
		{"--steps 0", []string{"style", "--content", img, "--style", img, "--out", out, "--steps", "0"}},
		{"no classifier", []string{"style", "--content", img, "--style", img, "--out", out, "--features", "classifier", "--classifier", missing}},
		{"unknown task", []string{"eval-tasks", "--ckpt", ckpt, "--tasks", "painting"}},
		{"needs --ckpt", []string{"eval-tasks", "--tasks", "inpaint"}},
		{"--strengths", []string{"eval-tasks", "--ckpt", ckpt, "--strengths", "0.5,2"}},
		{"--attributes", []string{"eval-tasks", "--ckpt", ckpt, "--attributes", missing}},
		{"is the judge itself", []string{"eval-tasks", "--ckpt", ckpt, "--tasks", "inpaint", "--classifier", tinyJudge(t), "--inpaint-classifier", tinyJudge(t)}},
	} {
		t.Run(c.mention, func(t *testing.T) { wantUserError(t, c.mention, c.args...) })
	}
}

// --class none fills with the unconditional model, --class K under K.
func TestInpaintCommandClasses(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	img, mask, _ := taskInputs(t, dir)
	for _, c := range []struct{ class, want string }{{"none", "Task: inpaint"}, {"3", "Class: 3"}} {
		out := filepath.Join(dir, "filled-"+c.class+".png")
		status, _, stderr := genlab(t, "inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--out", out,
			"--steps", "4", "--jump", "2", "--resample", "1", "--class", c.class)
		if status != 0 {
			t.Fatalf("--class %s: exit %d: %s", c.class, status, stderr)
		}
		params, _ := images.ReadParameters(out)
		if !strings.Contains(params, c.want) || (c.class == "none" && strings.Contains(params, "Class")) {
			t.Errorf("--class %s: parameters %q", c.class, params)
		}
	}
}

// inpaint --class-from fills under the class a classifier of occluded
// digits names; it takes no classifier without the mask channel, and no
// class of the user's beside it.
func TestInpaintCommandClassFrom(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	img, mask, _ := taskInputs(t, dir)
	namer := tinyOccluded(t)
	out := filepath.Join(dir, "filled.png")
	status, _, stderr := genlab(t, "inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--out", out,
		"--steps", "4", "--jump", "2", "--resample", "1", "--class-from", namer)
	if status != 0 {
		t.Fatalf("inpaint --class-from: exit %d: %s", status, stderr)
	}
	if params, _ := images.ReadParameters(out); !strings.Contains(params, "Class from: classifier.safetensors") {
		t.Errorf("parameters %q", params)
	}
	wantUserError(t, "--class auto", "inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--out", out, "--class", "3", "--class-from", namer)
	wantUserError(t, "--occluded", "inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--out", out, "--class-from", tinyJudge(t))
}

// tinyOccludedRun is a classifier of occluded digits trained for 5 steps.
var tinyOccludedRun trainedClassifier

func tinyOccluded(t *testing.T) string {
	t.Helper()
	return tinyOccludedRun.get(t, "accuracy on occluded MNIST test digits", "--occluded", "--steps", "5", "--batch", "16")
}

// taskTextRun is a text-conditioned tiny model trained for 2 steps, for
// edit --prompt.
var taskTextRun struct {
	once sync.Once
	path string
	err  error
}

func taskTextCheckpoint(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("trains a tiny text model")
	}
	taskTextRun.once.Do(func() {
		dir, err := os.MkdirTemp("", "genlab-tasks-text-")
		if err != nil {
			taskTextRun.err = err
			return
		}
		if status, _, stderr := genlab(t, "train", "diffusion", "--data", "shapes", "--cond", "text", "--size", "tiny", "--steps", "2",
			"--batch", "4", "--save-every", "2", "--sample-every", "2", "--samples", "1", "--out", dir); status != 0 {
			taskTextRun.err = fmt.Errorf("train text model: exit %d: %s", status, stderr)
		}
		taskTextRun.path = filepath.Join(dir, "ckpt-000002.safetensors")
	})
	if taskTextRun.err != nil {
		t.Fatal(taskTextRun.err)
	}
	return taskTextRun.path
}

// With a text model, edit takes a prompt of its vocabulary.
func TestEditCommandWithAPrompt(t *testing.T) {
	ckpt := taskTextCheckpoint(t)
	dir := t.TempDir()
	img, _, _ := taskInputs(t, dir)
	out := filepath.Join(dir, "edited.png")
	status, _, stderr := genlab(t, "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--prompt", "a large red circle in the center",
		"--steps", "4", "--out", out)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	params, _ := images.ReadParameters(out)
	if !strings.HasPrefix(params, "a large red circle in the center\n") {
		t.Errorf("parameters %q", params)
	}
	wantUserError(t, "unknown word \"unicorn\"", "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--prompt", "a red unicorn", "--out", out)
	wantUserError(t, "conditioned on text: use --prompt", "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.5", "--class", "2", "--out", out)
}
