package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"genlab/checkpoint"
	"genlab/images"
)

// tinyRun trains the tiny class-conditional model once for the tests of
// this file, with the command the diffusion issue names:
// genlab train diffusion --data mnist --cond class --size tiny --steps 50 --out DIR
var tinyRun struct {
	once sync.Once
	dir  string
	err  error
}

func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("trains a tiny diffusion model")
	}
	tinyRun.once.Do(func() {
		dir, err := os.MkdirTemp("", "genlab-tiny-")
		if err != nil {
			tinyRun.err = err
			return
		}
		tinyRun.dir = dir
		status, _, stderr := genlab(t, "train", "diffusion", "--data", "mnist", "--cond", "class", "--size", "tiny",
			"--steps", "50", "--out", dir)
		if status != 0 {
			tinyRun.err = fmt.Errorf("train diffusion: exit %d: %s", status, stderr)
		}
	})
	if tinyRun.err != nil {
		t.Fatal(tinyRun.err)
	}
	return filepath.Join(tinyRun.dir, "ckpt-000050.safetensors")
}

func TestTrainDiffusionEndToEnd(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := filepath.Dir(ckpt)
	for _, f := range []string{"ckpt-000050.safetensors", "ckpt-000050.state.safetensors", "grid-000050.png", "loss.csv", "loss.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("run folder lacks %s: %v", f, err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "loss.csv"))
	if lines := strings.Count(string(csv), "\n"); lines != 51 {
		t.Errorf("loss.csv has %d lines, want a header and 50 steps", lines)
	}
	status, stdout, _ := genlab(t, "info", "--ckpt", ckpt)
	if status != 0 || !strings.Contains(stdout, "genlab.family: diffusion") || !strings.Contains(stdout, "class_emb.weight") {
		t.Fatalf("info: %d\n%s", status, stdout)
	}
}

// The same seed gives the same PNG, byte for byte, at batch sizes 1, 5 and
// 16, and on one core or two.
func TestSampleIsTheSameAtAnyBatchSize(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	a, b := t.TempDir(), t.TempDir()
	for _, run := range []struct{ out, batch string }{{a, "1"}, {b, "16"}} {
		status, _, stderr := genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "16", "--seed", "42", "--steps", "10",
			"--batch", run.batch, "--out", run.out)
		if status != 0 {
			t.Fatalf("sample: exit %d: %s", status, stderr)
		}
	}
	// And in a process of its own on one core (GOMAXPROCS=1: the kernels
	// then run on one worker), at batch 5.
	one := t.TempDir()
	if status, _, stderr := genlabProcess(t, []string{"GOMAXPROCS=1"}, "sample", "diffusion", "--ckpt", ckpt, "--n", "16",
		"--seed", "42", "--steps", "10", "--batch", "5", "--out", one); status != 0 {
		t.Fatalf("sample on one core: exit %d: %s", status, stderr)
	}
	names, _ := filepath.Glob(filepath.Join(a, "*.png"))
	if len(names) != 16 || filepath.Base(names[3]) != "00003-45-c1.png" {
		t.Fatalf("files %v", names)
	}
	for _, n := range names {
		x, _ := os.ReadFile(n)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(n)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between batch 1 and batch 16", filepath.Base(n))
		}
		z, err := os.ReadFile(filepath.Join(one, filepath.Base(n)))
		if err != nil || !bytes.Equal(x, z) {
			t.Errorf("%s differs between 2 cores at batch 1 and 1 core at batch 5", filepath.Base(n))
		}
	}
	params, err := images.ReadParameters(names[3])
	if err != nil {
		t.Fatal(err)
	}
	p, err := images.ParseParameters(params)
	if err != nil || p.Seed != 45 || p.Steps != 10 || p.Sampler != "DDIM" || p.Family != "diffusion" || p.ModelHash == "" {
		t.Fatalf("parameters %q parsed as %+v (%v)", params, p, err)
	}
	// And the image alone, from its own seed, is the same too.
	c := t.TempDir()
	genlab(t, "sample", "diffusion", "--ckpt", ckpt, "--n", "1", "--seed", "45", "--class", "1", "--steps", "10", "--out", c)
	x, _ := os.ReadFile(names[3])
	y, _ := os.ReadFile(filepath.Join(c, "00000-45-c1.png"))
	// The index in the name differs, the pixels must not.
	ix, err1 := images.Load(names[3])
	iy, err2 := images.Load(filepath.Join(c, "00000-45-c1.png"))
	if err1 != nil || err2 != nil || !slices.Equal(images.ToFloats(ix, 1), images.ToFloats(iy, 1)) {
		t.Errorf("image 3 of a run and the same seed alone differ (%d and %d bytes)", len(x), len(y))
	}
}

// A manifest of 100 images split over two shards gives the same files as
// one unsharded run.
func TestBatchShardsMatchOneRun(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	manifest := filepath.Join(t.TempDir(), "manifest.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n3,100,40\nnone,7,20\n9,1000,40\n"), 0o644)
	one, sharded := t.TempDir(), t.TempDir()
	common := []string{"batch", "--ckpt", ckpt, "--manifest", manifest, "--steps", "5", "--batch", "25"}
	for _, args := range [][]string{
		append(common, "--out", one),
		append(common, "--out", sharded, "--shard", "1/2"),
		append(common, "--out", sharded, "--shard", "2/2"),
	} {
		if status, _, stderr := genlab(t, args...); status != 0 {
			t.Fatalf("%v: exit %d: %s", args, status, stderr)
		}
	}
	list := func(dir string) []string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.png"))
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		sort.Strings(m)
		return m
	}
	a, b := list(one), list(sharded)
	if len(a) != 100 || strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatalf("%d files unsharded, %d sharded; names differ", len(a), len(b))
	}
	for _, n := range a {
		x, _ := os.ReadFile(filepath.Join(one, n))
		y, _ := os.ReadFile(filepath.Join(sharded, n))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs", n)
		}
	}
	// Resumable: a rerun finds everything done.
	_, stdout, _ := genlab(t, append(common, "--out", one)...)
	if !strings.Contains(stdout, "wrote 0 images") {
		t.Errorf("rerun: %s", stdout)
	}
	// A rerun with other settings is refused before any work, not counted
	// as done.
	wantUserError(t, "other settings", "batch", "--ckpt", ckpt, "--manifest", manifest, "--steps", "6", "--batch", "25", "--out", one)
}

// --overwrite draws the images of a batch folder again with the new
// settings.
func TestBatchRerunWithOtherSettings(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	manifest := filepath.Join(t.TempDir(), "manifest.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n3,100,2\n"), 0o644)
	out := t.TempDir()
	args := []string{"batch", "--ckpt", ckpt, "--manifest", manifest, "--out", out}
	if status, _, stderr := genlab(t, append(args, "--steps", "2")...); status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	status, stdout, stderr := genlab(t, append(args, "--steps", "3", "--overwrite")...)
	if status != 0 || !strings.Contains(stdout, "wrote 2 images") {
		t.Fatalf("--overwrite: exit %d: %s %s", status, stdout, stderr)
	}
	params, _ := images.ReadParameters(filepath.Join(out, "00001-101-c3.png"))
	if !strings.Contains(params, "Steps: 3,") {
		t.Errorf("redrawn image records %q", params)
	}
}

// N steps, then a resume of N more, give the same checkpoint bytes as 2N
// steps straight.
func TestTrainDiffusionResumeIsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twice")
	}
	straight, split := t.TempDir(), t.TempDir()
	args := []string{"train", "diffusion", "--data", "mnist", "--size", "tiny", "--batch", "8", "--samples", "4", "--save-every", "10"}
	run := func(out string, extra ...string) {
		t.Helper()
		if status, _, stderr := genlab(t, append(append(args, "--out", out), extra...)...); status != 0 {
			t.Fatalf("exit %d: %s", status, stderr)
		}
	}
	run(straight, "--steps", "20")
	run(split, "--steps", "10")
	run(split, "--steps", "20", "--resume", "latest")
	for _, f := range []string{"ckpt-000020.safetensors", "ckpt-000020.state.safetensors"} {
		x, _ := os.ReadFile(filepath.Join(straight, f))
		y, _ := os.ReadFile(filepath.Join(split, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: 10 + 10 resumed steps differ from 20 straight", f)
		}
	}
}

// Training on one core gives the same checkpoint bytes as on two: the
// weight gradients are summed in fixed chunks, not per core.
func TestTrainIsTheSameOnOneCoreAndTwo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twice")
	}
	one, two := t.TempDir(), t.TempDir()
	for _, run := range []struct{ out, procs string }{{one, "GOMAXPROCS=1"}, {two, "GOMAXPROCS=2"}} {
		if status, _, stderr := genlabProcess(t, []string{run.procs}, "train", "diffusion", "--data", "mnist", "--cond", "class",
			"--size", "tiny", "--batch", "8", "--samples", "4", "--steps", "10", "--out", run.out); status != 0 {
			t.Fatalf("%s: exit %d: %s", run.procs, status, stderr)
		}
	}
	for _, f := range []string{"ckpt-000010.safetensors", "ckpt-000010.state.safetensors"} {
		x, _ := os.ReadFile(filepath.Join(one, f))
		y, _ := os.ReadFile(filepath.Join(two, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: one core and two cores differ", f)
		}
	}
}

func TestDiffusionBadInput(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "m.csv")
	os.WriteFile(bad, []byte("class,seed\n1,2\n"), 0o644)
	for _, c := range []struct {
		mention string
		args    []string
	}{
		{"--sampler", []string{"sample", "diffusion", "--ckpt", ckpt, "--sampler", "euler"}},
		{"--class 12", []string{"sample", "diffusion", "--ckpt", ckpt, "--class", "12"}},
		{"count", []string{"batch", "--ckpt", ckpt, "--manifest", bad}},
		{"--shard", []string{"batch", "--ckpt", ckpt, "--manifest", bad, "--shard", "3/2"}},
		{"--cond", []string{"train", "diffusion", "--cond", "text", "--steps", "1"}},
		{"unknown size", []string{"train", "diffusion", "--size", "huge", "--steps", "1"}},
		{"no checkpoint", []string{"train", "diffusion", "--resume", "latest", "--out", dir}},
		{"classifier", []string{"eval", "--ckpt", ckpt, "--classifier", filepath.Join(dir, "none.safetensors")}},
		{"not a genlab checkpoint", []string{"sample", "diffusion", "--ckpt", writeForeignSafetensors(t, dir)}},
	} {
		t.Run(c.mention, func(t *testing.T) { wantUserError(t, c.mention, c.args...) })
	}
}

func writeForeignSafetensors(t *testing.T, dir string) string {
	path := filepath.Join(dir, "foreign.safetensors")
	f := &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.F32("w", []int{2}, []float32{1, 2})}}
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
	return path
}

// trainedClassifier is a classifier the tests train once, in a folder of
// their own, and share.
type trainedClassifier struct {
	once sync.Once
	path string
	err  error
}

// get trains it with the train classifier flags args the first time;
// stdout must mention want.
func (r *trainedClassifier) get(t *testing.T, want string, args ...string) string {
	t.Helper()
	r.once.Do(func() {
		dir, err := os.MkdirTemp("", "genlab-classifier-")
		if err != nil {
			r.err = err
			return
		}
		args = append(append([]string{"train", "classifier"}, args...), "--out", dir)
		if status, stdout, stderr := genlab(t, args...); status != 0 || !strings.Contains(stdout, want) {
			r.err = fmt.Errorf("%v: exit %d: %s %s", args, status, stdout, stderr)
		}
		r.path = filepath.Join(dir, "classifier.safetensors")
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.path
}

// tinyJudge is a classifier trained for 20 steps, shared by the tests
// that need a judge (its accuracy does not matter to them).
var tinyJudgeRun trainedClassifier

func tinyJudge(t *testing.T) string {
	t.Helper()
	return tinyJudgeRun.get(t, "classifier:", "--steps", "20", "--batch", "32")
}

func TestEvalReportsEveryMetric(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	status, stdout, stderr := genlab(t, "eval", "--ckpt", ckpt, "--n", "20", "--steps", "5", "--bpd-images", "4", "--bpd-terms", "5",
		"--classifier", tinyJudge(t), "--json")
	if status != 0 {
		t.Fatalf("eval: exit %d: %s", status, stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("eval --json printed %q: %v", stdout, err)
	}
	if rep.Samples != 20 || rep.FIDLeNet <= 0 || rep.FIDLeNetReal <= 0 || rep.ClassAccuracy == nil || rep.BPD == nil ||
		*rep.BPD <= 0 || len(rep.ClassCoverage) != 10 || rep.Step != 50 {
		t.Fatalf("report %+v", rep)
	}
}
