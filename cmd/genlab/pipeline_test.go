package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"genlab/images"
	"genlab/pipeline/pipelinetest"
	"genlab/ui"
)

// The front ends on the one pipeline: the same request gives the same
// PNG bytes, parameters chunk included, whichever front end makes it.

// frontEndRequest is one request as each front end spells it.
type frontEndRequest struct {
	seed     uint64
	n        int
	class    string // --class: a class, none, or "" for the command's default
	prompt   string
	guidance string // --guidance: "" for the model's default
}

// samplePNGs runs genlab sample and returns the PNGs' bytes in order.
func samplePNGs(t *testing.T, fam, ckpt string, r frontEndRequest, extra ...string) [][]byte {
	t.Helper()
	out := t.TempDir()
	args := []string{"sample", fam, "--ckpt", ckpt, "--n", strconv.Itoa(r.n), "--seed", strconv.FormatUint(r.seed, 10), "--out", out}
	args = append(args, r.flags(fam)...)
	if status, _, stderr := genlab(t, append(args, extra...)...); status != 0 {
		t.Fatalf("%v: exit %d: %s", args, status, stderr)
	}
	return pngsIn(t, out)
}

// batchPNGs runs genlab batch over a manifest of the same images.
func batchPNGs(t *testing.T, fam, ckpt string, r frontEndRequest) [][]byte {
	t.Helper()
	dir, out := t.TempDir(), t.TempDir()
	class := r.class
	if class == "" {
		class = "none"
	}
	manifest := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(manifest, fmt.Appendf(nil, "class,seed,count\n%s,%d,%d\n", class, r.seed, r.n), 0o644); err != nil {
		t.Fatal(err)
	}
	r.class = "" // the manifest's
	args := append([]string{"batch", "--ckpt", ckpt, "--manifest", manifest, "--out", out}, r.flags(fam)...)
	if status, _, stderr := genlab(t, args...); status != 0 {
		t.Fatalf("%v: exit %d: %s", args, status, stderr)
	}
	return pngsIn(t, out)
}

// appPNGs draws the images with the app's generate path and writes them
// as UI.Save does.
func appPNGs(t *testing.T, ckpt string, r frontEndRequest) [][]byte {
	t.Helper()
	m, err := ui.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	s := ui.DefaultSettings()
	s.Seed, s.Count, s.Prompt, s.Class = r.seed, r.n, r.prompt, ui.NoClass
	if m.Sampler != "" {
		s.Sampler = m.Sampler
	}
	if m.Steps {
		s.Steps = 3
	}
	if r.class != "" && r.class != "none" {
		s.Class, _ = strconv.Atoi(r.class)
	}
	// Selecting a model sets its default guidance and temperature.
	s.Guidance, s.Temperature = m.Defaults.Guidance, m.Defaults.Temperature
	if r.guidance != "" {
		s.Guidance, _ = strconv.ParseFloat(r.guidance, 64)
	}
	res, err := m.Generate(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for i, x := range res {
		if err := images.Save(filepath.Join(out, images.SampleName(i, int64(x.Seed), x.Class)), x.Image, x.Params.String()); err != nil {
			t.Fatal(err)
		}
	}
	return pngsIn(t, out)
}

func (r frontEndRequest) flags(fam string) []string {
	var f []string
	if fam == "diffusion" {
		f = append(f, "--steps", "3")
	}
	if r.class != "" {
		f = append(f, "--class", r.class)
	}
	if r.prompt != "" {
		f = append(f, "--prompt", r.prompt)
	}
	if r.guidance != "" {
		f = append(f, "--guidance", r.guidance)
	}
	return f
}

func pngsIn(t *testing.T, dir string) [][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no PNGs in %s: %v", dir, err)
	}
	slices.Sort(names)
	out := make([][]byte, len(names))
	for i, n := range names {
		if out[i], err = os.ReadFile(n); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// pngParams is the parameters chunk of a PNG's bytes.
func pngParams(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.png")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := images.ReadParameters(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func samePNGs(t *testing.T, what string, a, b [][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d PNGs against %d", what, len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("%s: PNG %d differs (parameters %q and %q)", what, i, pngParams(t, a[i]), pngParams(t, b[i]))
		}
	}
}

// TestSampleBatchAndAppMakeTheSamePNGs: for a tiny model of every family,
// genlab sample, genlab batch and the app's generate path give
// byte-identical PNGs, parameters chunks included, for the same request.
func TestSampleBatchAndAppMakeTheSamePNGs(t *testing.T) {
	for _, k := range pipelinetest.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			ckpt := pipelinetest.Tiny(t, t.TempDir(), "ckpt-000001.safetensors", k)
			r := frontEndRequest{seed: 7, n: 3}
			switch k.Cond {
			case "class":
				r.class = "4"
			case "text":
				r.prompt = "a small red circle at the top left"
			}
			s := samplePNGs(t, k.Family, ckpt, r)
			samePNGs(t, "sample and batch", s, batchPNGs(t, k.Family, ckpt, r))
			samePNGs(t, "sample and the app", s, appPNGs(t, ckpt, r))
			if p := pngParams(t, s[1]); !strings.Contains(p, "Seed: 8,") || !strings.Contains(p, "Family: "+k.Family) {
				t.Errorf("image 1's parameters %q", p)
			}
		})
	}
}

// TestGuidanceMeansOneThingEverywhere: every command that takes
// --guidance (sample, batch, txt2img, edit, inpaint) and the app give the
// same images at the same guidance, and guidance 0 is the unconditional
// model everywhere.
func TestGuidanceMeansOneThingEverywhere(t *testing.T) {
	dir := t.TempDir()
	class := pipelinetest.Tiny(t, dir, "class.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "class"})
	text := pipelinetest.Tiny(t, dir, "text.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "text"})
	const prompt = "a large blue square in the center"
	for _, g := range []string{"0", "1", "2.5"} {
		// Generation: sample, batch and the app.
		r := frontEndRequest{seed: 5, n: 2, class: "3", guidance: g}
		s := samplePNGs(t, "diffusion", class, r)
		samePNGs(t, "class, guidance "+g+": sample and batch", s, batchPNGs(t, "diffusion", class, r))
		samePNGs(t, "class, guidance "+g+": sample and the app", s, appPNGs(t, class, r))
		tr := frontEndRequest{seed: 5, n: 2, prompt: prompt, guidance: g}
		ts := samplePNGs(t, "diffusion", text, tr)
		samePNGs(t, "text, guidance "+g+": sample and batch", ts, batchPNGs(t, "diffusion", text, tr))
		samePNGs(t, "text, guidance "+g+": sample and the app", ts, appPNGs(t, text, tr))
		out := t.TempDir()
		if status, _, stderr := genlab(t, "txt2img", "--ckpt", text, "--prompt", prompt, "--n", "2", "--seed", "5", "--steps", "3", "--guidance", g, "--out", out); status != 0 {
			t.Fatalf("txt2img: exit %d: %s", status, stderr)
		}
		samePNGs(t, "guidance "+g+": txt2img and sample", pngsIn(t, out), ts)
		// The unconditional model: no class, the null prompt.
		if g == "0" {
			u := samplePixels(t, samplePNGs(t, "diffusion", class, frontEndRequest{seed: 5, n: 2, class: "none"}))
			if !slices.EqualFunc(u, samplePixels(t, s), slices.Equal) {
				t.Error("sample --class 3 --guidance 0 is not the unconditional model")
			}
			u = samplePixels(t, samplePNGs(t, "diffusion", text, frontEndRequest{seed: 5, n: 2}))
			if !slices.EqualFunc(u, samplePixels(t, pngsIn(t, out)), slices.Equal) {
				t.Error("txt2img --guidance 0 is not the unconditional model")
			}
			if p := pngParams(t, pngsIn(t, out)[0]); !strings.Contains(p, "CFG scale: 0,") || !strings.HasPrefix(p, prompt+"\n") {
				t.Errorf("txt2img --guidance 0 wrote %q", p)
			}
		}
		// The tasks: the CLI's and the app's edit and inpaint agree, and
		// at guidance 0 the class asked for makes no difference.
		edit := func(k string) []float32 { return editPixels(t, class, k, g) }
		e3 := edit("3")
		if g == "0" && !slices.Equal(e3, edit("8")) {
			t.Error("edit --guidance 0 depends on the class: it is not the unconditional model")
		}
		if g != "0" && slices.Equal(e3, edit("8")) {
			t.Errorf("edit --guidance %s ignores the class", g)
		}
		if app := appTaskPixels(t, class, "edit", 3, g); !slices.Equal(app, e3) {
			t.Errorf("guidance %s: the app's edit differs from genlab edit's", g)
		}
		i3 := inpaintPixels(t, class, "3", g)
		if g == "0" && !slices.Equal(i3, inpaintPixels(t, class, "none", g)) {
			t.Error("inpaint --class 3 --guidance 0 is not the unconditional model")
		}
		if app := appTaskPixels(t, class, "inpaint", 3, g); !slices.Equal(app, i3) {
			t.Errorf("guidance %s: the app's inpaint differs from genlab inpaint's", g)
		}
	}
}

func samplePixels(t *testing.T, pngs [][]byte) [][]float32 {
	t.Helper()
	out := make([][]float32, len(pngs))
	for i, b := range pngs {
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = images.ToFloats(img, 1)
	}
	return out
}

// guidanceTaskInputs are a digit-sized image and a mask of its right half.
func guidanceTaskInputs(t *testing.T) (img, mask string) {
	t.Helper()
	dir := t.TempDir()
	src := image.NewGray(image.Rect(0, 0, 28, 28))
	m := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := range 28 {
		for x := range 28 {
			if (x-14)*(x-14)+(y-14)*(y-14) < 64 {
				src.Pix[y*28+x] = 255
			}
			if x >= 14 {
				m.Pix[y*28+x] = 255
			}
		}
	}
	img, mask = filepath.Join(dir, "in.png"), filepath.Join(dir, "mask.png")
	if err := images.Save(img, src, ""); err != nil {
		t.Fatal(err)
	}
	if err := images.Save(mask, m, ""); err != nil {
		t.Fatal(err)
	}
	return img, mask
}

func editPixels(t *testing.T, ckpt, class, g string) []float32 {
	t.Helper()
	img, _ := guidanceTaskInputs(t)
	out := filepath.Join(t.TempDir(), "edit.png")
	if status, _, stderr := genlab(t, "edit", "--ckpt", ckpt, "--image", img, "--strength", "0.6", "--class", class, "--steps", "4", "--seed", "2", "--guidance", g, "--out", out); status != 0 {
		t.Fatalf("edit: exit %d: %s", status, stderr)
	}
	return pngPixels(t, out)
}

func inpaintPixels(t *testing.T, ckpt, class, g string) []float32 {
	t.Helper()
	img, mask := guidanceTaskInputs(t)
	out := filepath.Join(t.TempDir(), "inpaint.png")
	if status, _, stderr := genlab(t, "inpaint", "--ckpt", ckpt, "--image", img, "--mask", mask, "--class", class, "--steps", "10", "--seed", "2", "--guidance", g, "--out", out); status != 0 {
		t.Fatalf("inpaint: exit %d: %s", status, stderr)
	}
	return pngPixels(t, out)
}

// appTaskPixels runs the app's edit or inpaint with the settings the
// commands above were given.
func appTaskPixels(t *testing.T, ckpt, task string, class int, g string) []float32 {
	t.Helper()
	m, err := ui.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	s := ui.DefaultSettings()
	s.Seed, s.Count, s.Class, s.Steps, s.Sampler = 2, 1, class, 4, m.Sampler
	if task == "inpaint" {
		s.Steps = 10
	}
	s.Guidance, _ = strconv.ParseFloat(g, 64)
	imgPath, maskPath := guidanceTaskInputs(t)
	img, err := images.Load(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	ts := ui.DefaultTasks()
	var out image.Image
	switch task {
	case "edit":
		out, err = ts.Edit(context.Background(), m, img, 0.6, s, nil)
	case "inpaint":
		mask, _ := images.Load(maskPath)
		out, err = ts.Inpaint(context.Background(), m, img, mask, s, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return images.ToFloats(out, 1)
}

func pngPixels(t *testing.T, path string) []float32 {
	t.Helper()
	img, err := images.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return images.ToFloats(img, 1)
}
