package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"genlab/images"
)

// A tiny flow through every command: training (and a resume that must give
// the very bytes of an uninterrupted run, so actnorm's data-dependent
// initialisation survives the checkpoint), sampling at a temperature, eval
// with the exact bits/dim, and batch.
func TestTrainAndSampleFlowEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny flow")
	}
	straight, split := t.TempDir(), t.TempDir()
	args := []string{"train", "flow", "--size", "tiny", "--data", "mnist", "--batch", "16", "--samples", "4", "--save-every", "4"}
	train := func(out string, extra ...string) {
		t.Helper()
		if status, _, stderr := genlab(t, append(append(args, "--out", out), extra...)...); status != 0 {
			t.Fatalf("train flow: exit %d: %s", status, stderr)
		}
	}
	train(straight, "--steps", "8")
	train(split, "--steps", "4")
	train(split, "--steps", "8", "--resume", "latest")
	for _, f := range []string{"ckpt-000008.safetensors", "ckpt-000008.state.safetensors"} {
		x, _ := os.ReadFile(filepath.Join(straight, f))
		y, _ := os.ReadFile(filepath.Join(split, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: 4 + 4 resumed steps differ from 8 straight", f)
		}
	}
	for _, f := range []string{"grid-000008.png", "loss.csv", "loss.png"} {
		if _, err := os.Stat(filepath.Join(straight, f)); err != nil {
			t.Error(err)
		}
	}
	ckpt := filepath.Join(straight, "ckpt-000008.safetensors")

	out := t.TempDir()
	if status, _, stderr := genlab(t, "sample", "flow", "--ckpt", ckpt, "--n", "3", "--seed", "9", "--temperature", "0.7", "--out", out); status != 0 {
		t.Fatalf("sample flow: exit %d: %s", status, stderr)
	}
	raw, err := images.ReadParameters(filepath.Join(out, "00002-11.png"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := images.ParseParameters(raw); err != nil || p.Family != "flow" || p.Seed != 11 {
		t.Fatalf("parameters %q: %+v %v", raw, p, err)
	} else if v, _ := p.Lookup("Temperature"); v != "0.7" {
		t.Errorf("parameters %q do not record the temperature", raw)
	}
	// A colder sample of the same seed is another image.
	cold := t.TempDir()
	if status, _, stderr := genlab(t, "sample", "flow", "--ckpt", ckpt, "--n", "1", "--seed", "11", "--temperature", "0.3", "--out", cold); status != 0 {
		t.Fatalf("sample flow: exit %d: %s", status, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(out, "00002-11.png"))
	b, _ := os.ReadFile(filepath.Join(cold, "00000-11.png"))
	if len(b) == 0 || bytes.Equal(a, b) {
		t.Error("temperature 0.3 drew the image of temperature 0.7")
	}

	wantUserError(t, "--temperature", "sample", "flow", "--ckpt", ckpt, "--temperature", "-1")
	wantUserError(t, "is a flow checkpoint", "sample", "vae", "--ckpt", ckpt)
	wantUserError(t, "diffusion's", "sample", "flow", "--ckpt", ckpt, "--sampler", "ddpm")
	wantUserError(t, "unconditional", "sample", "flow", "--ckpt", ckpt, "--class", "3")
	wantUserError(t, "--cond", "train", "flow", "--cond", "class", "--out", t.TempDir())
	wantUserError(t, "--size", "train", "flow", "--size", "huge", "--out", t.TempDir())

	status, stdout, stderr := genlab(t, "eval", "--ckpt", ckpt, "--n", "20", "--bpd-images", "8", "--classifier", tinyJudge(t), "--json")
	if status != 0 {
		t.Fatalf("eval flow: exit %d: %s", status, stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	// Eight steps in, a poor model but a real number of bits, and exact.
	if rep.Family != "flow" || rep.BPD == nil || *rep.BPD <= 0 || *rep.BPD > 16 || rep.BPDImages != 8 || !strings.Contains(rep.BPDMethod, "exact") {
		t.Fatalf("eval flow: %+v", rep)
	}

	// A temperature sweep writes a copy whose default is the best of the
	// sweep, and sampling without --temperature uses it.
	tuned := filepath.Join(t.TempDir(), "tuned.safetensors")
	wantUserError(t, "--temperatures", "tune-temperature", "--ckpt", ckpt, "--out", tuned, "--temperatures", "0.5,3", "--classifier", tinyJudge(t))
	status, stdout, stderr = genlab(t, "tune-temperature", "--ckpt", ckpt, "--out", tuned, "--temperatures", "0.3,0.9", "--n", "20", "--classifier", tinyJudge(t))
	if status != 0 {
		t.Fatalf("tune-temperature: exit %d: %s", status, stderr)
	}
	var best string
	if m := regexp.MustCompile(`at temperature (\S+) by default`).FindStringSubmatch(stdout); m != nil {
		best = m[1]
	}
	if best != "0.3" && best != "0.9" {
		t.Fatalf("tune-temperature chose %q:\n%s", best, stdout)
	}
	dir0 := t.TempDir()
	if status, _, stderr := genlab(t, "sample", "flow", "--ckpt", tuned, "--n", "1", "--seed", "11", "--out", dir0); status != 0 {
		t.Fatalf("sample tuned flow: exit %d: %s", status, stderr)
	}
	if params, err := images.ReadParameters(filepath.Join(dir0, "00000-11.png")); err != nil || !strings.Contains(params, "Temperature: "+best) {
		t.Errorf("tuned flow's parameters %q (%v): want temperature %s", params, err, best)
	}

	manifest := filepath.Join(t.TempDir(), "m.csv")
	os.WriteFile(manifest, []byte("class,seed,count\nnone,9,3\n"), 0o644)
	dir := t.TempDir()
	if status, _, stderr := genlab(t, "batch", "--ckpt", ckpt, "--manifest", manifest, "--out", dir); status != 0 {
		t.Fatalf("batch flow: exit %d: %s", status, stderr)
	}
	c, _ := os.ReadFile(filepath.Join(dir, "00002-11.png"))
	if len(c) == 0 || !bytes.Equal(a, c) {
		t.Error("batch and sample made different images of seed 11")
	}
}
