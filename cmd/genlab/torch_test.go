package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"genlab/checkpoint"
	"genlab/internal/torchtest"
	"genlab/pipeline"
	"genlab/torch"
	"genlab/ui"
)

// A genlab checkpoint makes the round trip genlab -> PyTorch's distributed
// engine (torchrun, 2 processes, gloo) -> genlab: it is exported with its
// training state and data, trained there for a few steps, and the result
// says so in genlab info, samples in the CLI and opens through pipeline,
// as the app opens checkpoints.
func TestPyTorchRoundTrip(t *testing.T) {
	torchtest.Require(t)
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	exp := filepath.Join(dir, "export")
	status, stdout, stderr := genlab(t, "export", "--to", "pytorch", "--ckpt", ckpt, "--out", exp, "--n", "128")
	if status != 0 || !strings.Contains(stdout, "with its training state") {
		t.Fatalf("export: exit %d: %s%s", status, stdout, stderr)
	}
	// A second export over the first is refused without --overwrite.
	if status, _, stderr := genlab(t, "export", "--ckpt", ckpt, "--out", exp, "--n", "128"); status != 1 || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("export over an export: exit %d: %s", status, stderr)
	}

	// Debian's torchrun (1.13 on Python 3.11) cannot parse its default
	// --redirects 0: -r 1 -t 1 sends each process's stdout to a log and
	// the console. --standalone takes a free port for the rendezvous.
	run := filepath.Join(dir, "torch")
	began := time.Now()
	cmd := torchtest.Command(t, "/usr/bin/torchrun", "--standalone", "--nproc_per_node", "2", "-r", "1", "-t", "1",
		"--log_dir", filepath.Join(dir, "logs"), "-m", "genlab_torch.train",
		"--from", exp, "--steps", "53", "--save-every", "2", "--out", run)
	cmd.Env = append(cmd.Env, "OMP_NUM_THREADS=1")
	out := torchtest.Run(t, cmd)
	t.Logf("torchrun, 2 processes, 3 steps: %v", time.Since(began).Round(time.Millisecond))
	if !strings.Contains(out, "2 process(es), gloo") {
		t.Errorf("torchrun output does not name 2 processes on gloo:\n%s", out)
	}
	back := filepath.Join(run, "ckpt-000053.safetensors")
	for _, f := range []string{"ckpt-000052.safetensors", "ckpt-000053.safetensors", "ckpt-000053.state.safetensors", "loss.csv"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("the PyTorch run did not write %s: %v", f, err)
		}
	}

	status, stdout, _ = genlab(t, "info", "--ckpt", back)
	if status != 0 || !strings.Contains(stdout, "trained last by: pytorch") || !strings.Contains(stdout, "genlab.step: 53") {
		t.Errorf("info of the PyTorch checkpoint: exit %d\n%s", status, stdout)
	}
	status, stdout, _ = genlab(t, "info", "--ckpt", ckpt)
	if status != 0 || !strings.Contains(stdout, "trained last by: genlab") {
		t.Errorf("info of genlab's checkpoint: exit %d\n%s", status, stdout)
	}

	samples := filepath.Join(dir, "samples")
	if status, _, stderr := genlab(t, "sample", "diffusion", "--ckpt", back, "--n", "2", "--steps", "5", "--out", samples); status != 0 {
		t.Fatalf("sample: exit %d: %s", status, stderr)
	}
	if pngs, _ := filepath.Glob(filepath.Join(samples, "*.png")); len(pngs) != 2 {
		t.Errorf("sample wrote %d PNGs, want 2", len(pngs))
	}
	p, err := pipeline.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	o, err := p.Generate(context.Background(), pipeline.Request{Seeds: []uint64{1}, Classes: []int{3}, Sampler: "ddim", Steps: 5, Guidance: 2, Batch: 1})
	if err != nil || o.Len() != 1 {
		t.Fatalf("pipeline: %v", err)
	}
	// The app lists it and draws from it.
	found := false
	for _, e := range ui.Scan(filepath.Dir(back)) {
		found = found || e.Path == back
	}
	if !found {
		t.Errorf("the app's model list has no %s", back)
	}
	m, err := ui.Load(back)
	if err != nil {
		t.Fatal(err)
	}
	s := ui.DefaultSettings()
	s.Count, s.Seed, s.Steps, s.Class = 1, 1, 5, 3
	if res, err := m.Generate(context.Background(), s, nil); err != nil || len(res) != 1 {
		t.Fatalf("the app: %d images, %v", len(res), err)
	}
}

// export names the one engine it knows and refuses others in one line.
func TestExportRefusesOtherEngines(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	wantUserError(t, "the one engine is pytorch", "export", "--to", "onnx", "--ckpt", "c.safetensors", "--out", out)
	wantUserError(t, "missing.safetensors", "export", "--ckpt", filepath.Join(t.TempDir(), "missing.safetensors"), "--out", out)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused export made %s", out)
	}
}

// info says who trained a checkpoint last, in text and JSON: the PyTorch
// side's genlab.trained_by, else genlab.
func TestInfoTrainedBy(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ by, want string }{{"", "genlab"}, {"pytorch 1.13, 2 process(es), cpu", "pytorch 1.13, 2 process(es), cpu"}} {
		md := map[string]string{checkpoint.KeyFamily: "diffusion", checkpoint.KeyConfig: "{}", checkpoint.KeyStep: "1", checkpoint.KeyFormat: "1"}
		if c.by != "" {
			md[torch.KeyTrainedBy] = c.by
		}
		path := filepath.Join(dir, c.want[:6]+".safetensors")
		if err := checkpoint.Save(path, &checkpoint.File{Metadata: md, Tensors: []checkpoint.Tensor{checkpoint.F32("w", []int{1}, []float32{1})}}); err != nil {
			t.Fatal(err)
		}
		status, stdout, _ := genlab(t, "info", "--ckpt", path)
		if status != 0 || !strings.Contains(stdout, "trained last by: "+c.want+"\n") {
			t.Errorf("info: exit %d\n%s", status, stdout)
		}
		status, stdout, _ = genlab(t, "info", "--ckpt", path, "--json")
		var js struct {
			TrainedBy string `json:"trained_by"`
		}
		if status != 0 || json.Unmarshal([]byte(stdout), &js) != nil || js.TrainedBy != c.want {
			t.Errorf("info --json: exit %d, trained_by %q, want %q\n%s", status, js.TrainedBy, c.want, stdout)
		}
	}
}
