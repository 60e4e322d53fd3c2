package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/images"
)

// genlab runs the CLI in-process and returns its exit status and output.
func genlab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	status := run(append([]string{"genlab"}, args...), &out, &errb)
	return status, out.String(), errb.String()
}

// wantUserError checks the contract for bad input: exit 1, exactly one
// line on stderr that mentions what is wrong.
func wantUserError(t *testing.T, mention string, args ...string) {
	t.Helper()
	status, _, stderr := genlab(t, args...)
	if status != 1 {
		t.Errorf("genlab %v: exit %d, want 1 (stderr %q)", args, status, stderr)
	}
	if n := strings.Count(stderr, "\n"); n != 1 {
		t.Errorf("genlab %v: %d lines on stderr, want 1:\n%s", args, n, stderr)
	}
	if !strings.Contains(stderr, mention) {
		t.Errorf("genlab %v: stderr %q does not mention %q", args, stderr, mention)
	}
}

func TestDataShowWritesAGridOfMNIST(t *testing.T) {
	grid := filepath.Join(t.TempDir(), "grid.png")
	status, stdout, stderr := genlab(t, "data", "show", "mnist", "--n", "64", "--grid", grid)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, grid) {
		t.Errorf("stdout %q does not say where the grid is", stdout)
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// 8 columns and rows of 28 px tiles with 2 px padding around each.
	if b := img.Bounds(); b.Dx() != 8*28+9*2 || b.Dy() != 8*28+9*2 {
		t.Fatalf("grid is %v, want 8x8 tiles of 28 px with 2 px padding", b)
	}
	params, err := images.ReadParameters(grid)
	if err != nil || !strings.Contains(params, "mnist") {
		t.Fatalf("parameters chunk %q (%v) does not name the dataset", params, err)
	}
}

func TestDataCheck(t *testing.T) {
	report := t.TempDir()
	status, stdout, stderr := genlab(t, "data", "check", "mnist", "--split", "test", "--report", report)
	if status != 0 || !strings.Contains(stdout, "10000 images of 1x28x28") || !strings.Contains(stdout, "ok") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", status, stdout, stderr)
	}
	for _, f := range []string{"report.md", "report.json", "duplicates.png", "problems.png", "outliers.png"} {
		if _, err := os.Stat(filepath.Join(report, f)); err != nil {
			t.Errorf("the report has no %s: %v", f, err)
		}
	}
	status, stdout, _ = genlab(t, "data", "check", "shapes", "--split", "heldout", "--report", t.TempDir())
	if status != 0 || !strings.Contains(stdout, "captions") {
		t.Fatalf("shapes: exit %d, stdout %s", status, stdout)
	}
}

// A folder with a file that does not load, a duplicate and a blank image:
// exit 1 naming the file, the rest reported, the clean list written, no
// file in the folder changed.
func TestDataCheckFolder(t *testing.T) {
	dir := t.TempDir()
	mnist, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		images.Save(filepath.Join(dir, fmt.Sprintf("d%d.png", i)), mnist.ToImage(i), "")
	}
	images.Save(filepath.Join(dir, "copy.png"), mnist.ToImage(2), "a copy")
	images.Save(filepath.Join(dir, "blank.png"), image.NewGray(image.Rect(0, 0, 28, 28)), "")
	clean := filepath.Join(t.TempDir(), "keep.txt")
	status, stdout, stderr := genlab(t, "data", "check", dir, "--report", t.TempDir(), "--write-clean", clean)
	if status != 0 || !strings.Contains(stdout, "exact duplicates: 1 groups, 2 images") || !strings.Contains(stdout, "blank.png") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", status, stdout, stderr)
	}
	status, stdout, _ = genlab(t, "data", "check", dir, "--report", t.TempDir(), "--phash", "4")
	if status != 0 || !strings.Contains(stdout, "perceptual hashes at most 4 bits apart): 0 groups") {
		t.Errorf("--phash 4: exit %d, stdout %s", status, stdout)
	}
	wantUserError(t, "--phash 40", "data", "check", dir, "--phash", "40")
	keep, _ := os.ReadFile(clean)
	// One of each duplicate group is kept: the first in name order.
	if n := strings.Count(string(keep), "\n"); n != 6 || !strings.Contains(string(keep), "copy.png") ||
		strings.Contains(string(keep), "d2.png") || strings.Contains(string(keep), "blank.png") {
		t.Errorf("kept:\n%s", keep)
	}
	os.WriteFile(filepath.Join(dir, "notes.png"), []byte("not an image"), 0o644)
	wantUserError(t, "notes.png", "data", "check", dir, "--report", t.TempDir())
	if entries, _ := os.ReadDir(dir); len(entries) != 9 {
		t.Errorf("%d files in the folder after the checks, want the 9 put there", len(entries))
	}
}

func TestTrainClassifierAndInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	out := t.TempDir()
	status, stdout, stderr := genlab(t, "train", "classifier", "--steps", "30", "--batch", "32", "--out", out)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	if !strings.Contains(stdout, "test accuracy") {
		t.Errorf("stdout %q does not report the accuracy", stdout)
	}
	ckpt := filepath.Join(out, "classifier.safetensors")
	h, err := checkpoint.ReadHeader(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if h.Metadata[checkpoint.KeyFamily] != "classifier" || h.Metadata[checkpoint.KeyStep] != "30" {
		t.Errorf("metadata %v", h.Metadata)
	}
	status, stdout, _ = genlab(t, "info", "--ckpt", ckpt)
	if status != 0 || !strings.Contains(stdout, "conv1.weight") || !strings.Contains(stdout, "genlab.family: classifier") {
		t.Fatalf("info: exit %d, stdout:\n%s", status, stdout)
	}
	status, stdout, _ = genlab(t, "info", "--ckpt", ckpt, "--json")
	var js struct {
		Metadata map[string]string
		Params   int64 `json:"parameters"`
	}
	if status != 0 || json.Unmarshal([]byte(stdout), &js) != nil || js.Params == 0 {
		t.Fatalf("info --json: exit %d, stdout:\n%s", status, stdout)
	}

	checkWithIndependentReader(t, ckpt, h)

	// A truncated copy is refused with one line naming the file.
	data, _ := os.ReadFile(ckpt)
	bad := filepath.Join(t.TempDir(), "truncated.safetensors")
	os.WriteFile(bad, data[:len(data)-100], 0o644)
	wantUserError(t, "truncated.safetensors", "info", "--ckpt", bad)
}

func TestBadInputIsOneLineAndExit1(t *testing.T) {
	dir := t.TempDir()
	notPNG := filepath.Join(dir, "notes.png")
	os.WriteFile(notPNG, []byte("this is not an image"), 0o644)
	junk := filepath.Join(dir, "junk.safetensors")
	hdr := make([]byte, 8)
	binary.LittleEndian.PutUint64(hdr, 5)
	os.WriteFile(junk, append(hdr, []byte("{oops")...), 0o644)
	// A folder dataset with a corrupt IDX-free image: the folder reader must name it.
	imgDir := filepath.Join(dir, "imgs")
	os.Mkdir(imgDir, 0o755)
	os.WriteFile(filepath.Join(imgDir, "broken.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o644)

	for _, c := range []struct {
		mention string
		args    []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"unknown family", []string{"train", "wizard"}},
		{"bogus", []string{"train", "classifier", "--bogus"}},
		{"--n", []string{"data", "show", "mnist", "--n", "0"}},
		{"nosuchdata", []string{"data", "show", "nosuchdata"}},
		{"broken.png", []string{"data", "check", imgDir, "--report", filepath.Join(dir, "report")}},
		{"missing.safetensors", []string{"info", "--ckpt", filepath.Join(dir, "missing.safetensors")}},
		{"junk.safetensors", []string{"info", "--ckpt", junk}},
		{"notes.png", []string{"info", "--ckpt", notPNG}},
		{"--data", []string{"train", "classifier", "--data", "shapes"}},
	} {
		t.Run(c.mention, func(t *testing.T) { wantUserError(t, c.mention, c.args...) })
	}
}

func TestFlagsAfterPositionalArguments(t *testing.T) {
	app := newApp(nil, nil)
	got := flagsFirst(app, []string{"genlab", "data", "show", "mnist", "--n", "4", "--grid=x.png", "--split", "test"})
	want := []string{"genlab", "data", "show", "--n", "4", "--grid=x.png", "--split", "test", "mnist"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// checkWithIndependentReader reads a checkpoint with the pure-Python
// safetensors reader of checkpoint/testdata (json and struct only, plus a
// torch cross-check when torch is installed) and compares names, dtypes and
// shapes with genlab's own reading.
func checkWithIndependentReader(t *testing.T, path string, h *checkpoint.Header) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: independent reader check skipped")
		return
	}
	out, err := exec.Command(py, filepath.Join("..", "..", "checkpoint", "testdata", "read_safetensors.py"), path).Output()
	if err != nil {
		t.Fatalf("independent reader refused %s: %v", path, err)
	}
	var got struct {
		Metadata map[string]string
		Tensors  map[string]struct {
			Dtype string
			Shape []int
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != len(h.Tensors) || got.Metadata[checkpoint.KeyFamily] != "classifier" {
		t.Fatalf("independent reader: %d tensors, metadata %v", len(got.Tensors), got.Metadata)
	}
	for _, ti := range h.Tensors {
		pt, ok := got.Tensors[ti.Name]
		if !ok || pt.Dtype != "F32" || !slices.Equal(pt.Shape, ti.Shape) {
			t.Errorf("tensor %s: independent reader has %+v, genlab %v %v", ti.Name, pt, ti.DType, ti.Shape)
		}
	}
}

func TestHelpAfterTheFamily(t *testing.T) {
	for _, args := range [][]string{{"train", "vae", "--help"}, {"sample", "gan", "-h", "--n", "3"}} {
		status, stdout, stderr := genlab(t, args...)
		if status != 0 || !strings.Contains(stdout, "USAGE") || strings.Contains(stdout+stderr, "unknown command") {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q", args, status, stdout, stderr)
		}
	}
}
