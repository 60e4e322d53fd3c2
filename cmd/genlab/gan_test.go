package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"genlab/checkpoint"
	"genlab/images"
)

func TestTrainAndSampleGANEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small GAN")
	}
	straight, split := t.TempDir(), t.TempDir()
	args := []string{"train", "gan", "--data", "mnist", "--batch", "16", "--samples", "4", "--save-every", "10"}
	run := func(out string, extra ...string) {
		t.Helper()
		if status, _, stderr := genlab(t, append(append(args, "--out", out), extra...)...); status != 0 {
			t.Fatalf("exit %d: %s", status, stderr)
		}
	}
	run(straight, "--steps", "20")
	run(split, "--steps", "10")
	run(split, "--steps", "20", "--resume", "latest")
	ckpt := filepath.Join(straight, "ckpt-000020.safetensors")
	for _, f := range []string{"ckpt-000020.safetensors", "ckpt-000020.state.safetensors"} {
		x, _ := os.ReadFile(filepath.Join(straight, f))
		y, _ := os.ReadFile(filepath.Join(split, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: 10 + 10 resumed steps differ from 20 straight", f)
		}
	}
	for _, f := range []string{"grid-000020.png", "loss.csv", "loss.png"} {
		if _, err := os.Stat(filepath.Join(straight, f)); err != nil {
			t.Error(err)
		}
	}
	out := t.TempDir()
	if status, _, stderr := genlab(t, "sample", "gan", "--ckpt", ckpt, "--n", "3", "--seed", "9", "--out", out); status != 0 {
		t.Fatalf("sample gan: exit %d: %s", status, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "00002-11.png")); err != nil {
		t.Error(err)
	}
	wantUserError(t, "unconditional", "sample", "gan", "--ckpt", ckpt, "--class", "3")
	wantUserError(t, "is a gan checkpoint", "sample", "diffusion", "--ckpt", ckpt)
}

func TestTrainAndSampleVAEEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small VAE")
	}
	out := t.TempDir()
	if status, _, stderr := genlab(t, "train", "vae", "--data", "mnist", "--batch", "16", "--samples", "4", "--steps", "10", "--out", out); status != 0 {
		t.Fatalf("train vae: exit %d: %s", status, stderr)
	}
	ckpt := filepath.Join(out, "ckpt-000010.safetensors")
	for _, f := range []string{"ckpt-000010.safetensors", "ckpt-000010.state.safetensors", "grid-000010.png", "loss.csv", "loss.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	dir := t.TempDir()
	if status, _, stderr := genlab(t, "sample", "vae", "--ckpt", ckpt, "--n", "2", "--seed", "4", "--out", dir); status != 0 {
		t.Fatalf("sample vae: exit %d: %s", status, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "00001-5.png")); err != nil {
		t.Error(err)
	}

	// A fitted prior: a new checkpoint that samples at its temperature and
	// says so in its PNGs; the input is never overwritten.
	prior := filepath.Join(out, "prior.safetensors")
	wantUserError(t, "--out", "fit-prior", "--ckpt", ckpt, "--out", ckpt, "--images", "100")
	wantUserError(t, "--components 0", "fit-prior", "--ckpt", ckpt, "--out", prior, "--components", "0")
	if status, stdout, stderr := genlab(t, "fit-prior", "--ckpt", ckpt, "--out", prior, "--images", "500", "--components", "2",
		"--iterations", "3", "--temperature", "0.9"); status != 0 || !strings.Contains(stdout, "2-component prior") {
		t.Fatalf("fit-prior: exit %d: %s%s", status, stdout, stderr)
	}
	dir = t.TempDir()
	if status, _, stderr := genlab(t, "sample", "vae", "--ckpt", prior, "--n", "1", "--seed", "4", "--out", dir); status != 0 {
		t.Fatalf("sample vae with a prior: exit %d: %s", status, stderr)
	}
	params, err := images.ReadParameters(filepath.Join(dir, "00000-4.png"))
	if err != nil || !strings.Contains(params, "Temperature: 0.9") {
		t.Errorf("parameters %q (%v): want the checkpoint's temperature 0.9", params, err)
	}
	wantUserError(t, "fitted prior", "train", "vae", "--resume", prior, "--steps", "12")
}

// A class-conditional GAN through every command: training with the best
// checkpoint kept by fid_lenet, sampling a class, eval and batch.
func TestClassConditionalGANEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small GAN")
	}
	judge := tinyJudge(t)
	run := t.TempDir()
	status, stdout, stderr := genlab(t, "train", "gan", "--data", "mnist", "--cond", "class", "--batch", "16", "--steps", "40",
		"--save-every", "10", "--select-n", "50", "--patience", "2", "--classifier", judge, "--out", run)
	if status != 0 {
		t.Fatalf("train gan --cond class: exit %d: %s", status, stderr)
	}
	best := filepath.Join(run, "best.safetensors")
	if !strings.Contains(stdout, "best:       "+best) {
		t.Fatalf("train did not report its best checkpoint:\n%s", stdout)
	}
	h, err := checkpoint.ReadHeader(best)
	if err != nil {
		t.Fatal(err)
	}
	if score, err := strconv.ParseFloat(h.Metadata["genlab.select.score"], 64); err != nil || score <= 0 || h.Metadata["genlab.select.metric"] != "fid_lenet" {
		t.Fatalf("best.safetensors metadata %v", h.Metadata)
	}
	// The grid has one row per digit.
	if g, err := images.Load(filepath.Join(run, "grid-000010.png")); err != nil || g.Bounds().Dx() != 10*30+2 {
		t.Fatalf("grid-000010.png: %v", err)
	}

	out := t.TempDir()
	if status, _, stderr := genlab(t, "sample", "gan", "--ckpt", best, "--n", "3", "--class", "7", "--seed", "5", "--out", out); status != 0 {
		t.Fatalf("sample gan --class 7: exit %d: %s", status, stderr)
	}
	raw, err := images.ReadParameters(filepath.Join(out, "00002-7-c7.png"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := images.ParseParameters(raw); err != nil || p.Family != "gan" || p.Seed != 7 || p.Prompt != "class 7" {
		t.Fatalf("parameters %q: %+v %v", raw, p, err)
	}
	wantUserError(t, "class from 0 to 9", "sample", "gan", "--ckpt", best, "--class", "10")
	wantUserError(t, "only draws classes", "sample", "gan", "--ckpt", best, "--class", "none")
	wantUserError(t, "diffusion's", "sample", "gan", "--ckpt", best, "--sampler", "ddpm")

	status, stdout, stderr = genlab(t, "eval", "--ckpt", best, "--n", "20", "--classifier", judge, "--json")
	if status != 0 {
		t.Fatalf("eval gan: exit %d: %s", status, stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Family != "gan" || rep.ClassAccuracy == nil || rep.BPD != nil || rep.FIDLeNet <= 0 || len(rep.ClassCoverage) != 10 {
		t.Fatalf("eval gan: %+v", rep)
	}

	manifest := filepath.Join(t.TempDir(), "m.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n2,40,3\n"), 0o644)
	dir := t.TempDir()
	if status, _, stderr := genlab(t, "batch", "--ckpt", best, "--manifest", manifest, "--out", dir); status != 0 {
		t.Fatalf("batch gan: exit %d: %s", status, stderr)
	}
	// Image 1 of the manifest is the image sample makes at seed 41.
	if status, _, stderr := genlab(t, "sample", "gan", "--ckpt", best, "--n", "2", "--class", "2", "--seed", "40", "--out", out); status != 0 {
		t.Fatalf("sample: %s", stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "00001-41-c2.png"))
	b, _ := os.ReadFile(filepath.Join(out, "00001-41-c2.png"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("batch and sample made different images of the same seed and class")
	}
	os.WriteFile(manifest, []byte("class,seed,count\nnone,1,2\n"), 0o644)
	wantUserError(t, "draws only classes", "batch", "--ckpt", best, "--manifest", manifest, "--out", dir)
}

func TestEvalVAEReportsItsBound(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small VAE")
	}
	run := t.TempDir()
	if status, _, stderr := genlab(t, "train", "vae", "--data", "mnist", "--batch", "16", "--steps", "10", "--out", run); status != 0 {
		t.Fatalf("train vae: exit %d: %s", status, stderr)
	}
	status, stdout, stderr := genlab(t, "eval", "--ckpt", filepath.Join(run, "ckpt-000010.safetensors"), "--n", "20",
		"--bpd-images", "8", "--bpd-k", "4", "--classifier", tinyJudge(t), "--json")
	if status != 0 {
		t.Fatalf("eval vae: exit %d: %s", status, stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	// Ten steps in, the bound is poor but a real number of bits.
	if rep.Family != "vae" || rep.BPD == nil || *rep.BPD <= 0 || *rep.BPD > 16 || rep.BPDImages != 8 ||
		!strings.Contains(rep.BPDMethod, "K=4") || rep.ClassAccuracy != nil {
		t.Fatalf("eval vae: %+v", rep)
	}
}
