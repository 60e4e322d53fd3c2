package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"genlab/images"
)

// pngNames lists the PNG names in dir, sorted.
func pngNames(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	slices.Sort(m)
	return m
}

// sameFiles fails unless dirs a and b hold the same PNG names with the
// same bytes.
func sameFiles(t *testing.T, a, b string, want int) {
	t.Helper()
	x, y := pngNames(t, a), pngNames(t, b)
	if len(x) != want || !slices.Equal(x, y) {
		t.Fatalf("%d and %d files (want %d); names differ:\n%v\n%v", len(x), len(y), want, x, y)
	}
	for _, n := range x {
		p, _ := os.ReadFile(filepath.Join(a, n))
		q, _ := os.ReadFile(filepath.Join(b, n))
		if !bytes.Equal(p, q) {
			t.Errorf("%s differs", n)
		}
	}
}

// runBatch runs genlab in-process and fails the test unless it exits 0.
func runBatch(t *testing.T, args ...string) string {
	t.Helper()
	status, stdout, stderr := genlab(t, args...)
	if status != 0 {
		t.Fatalf("genlab %v: exit %d: %s", args, status, stderr)
	}
	return stdout
}

// batch verify finds a missing, a truncated, a corrupted and a redrawn
// image, names the shards to run again, and the reruns it names finish
// the batch with the bytes of an unbroken run.
func TestBatchVerifyFindsWhatIsMissing(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	manifest := filepath.Join(t.TempDir(), "manifest.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n3,100,6\nnone,7,2\n"), 0o644)
	good, out, other := t.TempDir(), t.TempDir(), t.TempDir()
	run := []string{"batch", "--ckpt", ckpt, "--manifest", manifest, "--steps", "2", "--batch", "8"}
	runBatch(t, append(run, "--out", good)...)
	runBatch(t, append(run, "--out", out)...)
	runBatch(t, "batch", "--ckpt", ckpt, "--manifest", manifest, "--steps", "3", "--out", other)
	verify := []string{"batch", "verify", "--manifest", manifest, "--out", out}
	if stdout := runBatch(t, verify...); stdout != "batch verify: 8 of 8 images ok in "+out+", model hash "+modelHash(t, out)+"\n" {
		t.Errorf("an unbroken batch: %q", stdout)
	}

	// 00000: a byte of its pixels changed (the CRC fails); 00002: cut
	// short; 00005: gone; 00007: drawn with --steps 3.
	corrupt := filepath.Join(out, "00000-100-c3.png")
	b, _ := os.ReadFile(corrupt)
	b[len(b)-30] ^= 0xff
	os.WriteFile(corrupt, b, 0o644)
	b, _ = os.ReadFile(filepath.Join(out, "00002-102-c3.png"))
	os.WriteFile(filepath.Join(out, "00002-102-c3.png"), b[:len(b)/2], 0o644)
	os.Remove(filepath.Join(out, "00005-105-c3.png"))
	b, _ = os.ReadFile(filepath.Join(other, "00007-8.png"))
	os.WriteFile(filepath.Join(out, "00007-8.png"), b, 0o644)

	// With the checkpoint and flags, and without (the images are compared
	// with each other), the same four are found.
	for _, extra := range [][]string{{"--ckpt", ckpt, "--steps", "2"}, nil} {
		status, stdout, stderr := genlab(t, append(append(verify, "--shards", "4"), extra...)...)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if status != 1 || len(lines) != 5 ||
			!strings.HasPrefix(lines[0], "unreadable 00000-100-c3.png (shard 1/4): ") ||
			!strings.HasPrefix(lines[1], "unreadable 00002-102-c3.png (shard 3/4): ") ||
			lines[2] != "missing 00005-105-c3.png (shard 2/4)" ||
			!strings.HasPrefix(lines[3], "wrong parameters 00007-8.png (shard 4/4): ") || !strings.Contains(lines[3], "Steps: 3") ||
			!strings.HasPrefix(lines[4], "batch verify: 4 of 8 images ok in "+out+" (1 missing, 2 unreadable, 1 wrong parameters), model hash ") {
			t.Errorf("verify %v: exit %d, stdout:\n%s", extra, status, stdout)
		}
		if want := "genlab: batch verify: 4 of 8 images missing or bad: rerun --shard 1/4, 2/4, 3/4; " +
			"rerun --shard 4/4 with --overwrite (images with other parameters)\n"; stderr != want {
			t.Errorf("verify %v: stderr %q, want %q", extra, stderr, want)
		}
	}
	// Without --shards it cannot name the shards.
	status, _, stderr := genlab(t, verify...)
	if status != 1 || !strings.Contains(stderr, "rerun the batch") {
		t.Errorf("verify without --shards: exit %d, %s", status, stderr)
	}

	// The reruns it names finish the batch.
	for _, s := range []string{"1/4", "2/4", "3/4"} {
		runBatch(t, append(run, "--out", out, "--shard", s)...)
	}
	runBatch(t, append(run, "--out", out, "--shard", "4/4", "--overwrite")...)
	runBatch(t, verify...)
	sameFiles(t, good, out, 8)

	// A batch without parameters chunks: verify says so, unless told.
	bare := t.TempDir()
	runBatch(t, append(run, "--out", bare, "--no-metadata")...)
	if status, stdout, _ := genlab(t, "batch", "verify", "--manifest", manifest, "--out", bare); status != 1 ||
		strings.Count(stdout, "no parameters chunk") != 8 {
		t.Errorf("verify of images without parameters: exit %d\n%s", status, stdout)
	}
	runBatch(t, "batch", "verify", "--manifest", manifest, "--out", bare, "--no-metadata")
}

// modelHash is the model hash the first image in dir records.
func modelHash(t *testing.T, dir string) string {
	t.Helper()
	for _, n := range pngNames(t, dir) {
		params, err := images.ReadParameters(filepath.Join(dir, n))
		q, err2 := images.ParseParameters(params)
		if err != nil || err2 != nil || q.ModelHash == "" {
			t.Fatalf("%s: parameters %q: %v %v", n, params, err, err2)
		}
		return q.ModelHash
	}
	t.Fatalf("no PNG in %s", dir)
	return ""
}

// GNU parallel as the job runner: four `genlab batch --shard auto` at
// once, each told its shard by PARALLEL_SEQ, then batch verify; the files
// are those of one unsharded run, byte for byte.
func TestBatchUnderGNUParallel(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	if _, err := exec.LookPath("parallel"); err != nil {
		t.Fatal("GNU parallel is not installed (Debian: parallel; make deps-test installs it)")
	}
	manifest := filepath.Join(t.TempDir(), "manifest.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n3,100,5\nnone,7,3\n9,1000,4\n"), 0o644)
	one, sharded := t.TempDir(), t.TempDir()
	common := []string{"batch", "--ckpt", ckpt, "--manifest", manifest, "--steps", "3", "--batch", "2"}
	runBatch(t, append(common, "--out", one)...)

	// parallel -q keeps each argument whole; -n0 runs the command once
	// for each of the four inputs, without them.
	args := append([]string{"--will-cite", "--halt", "now,fail=1", "-j", "4", "-n0", "-q", os.Args[0]}, common...)
	args = append(args, "--out", sharded, "--shard", "auto", "--shards", "4", ":::", "1", "2", "3", "4")
	cmd := exec.Command("parallel", args...)
	// Only GNU parallel's variables: a test run inside a Slurm job or
	// another parallel must not see two runners.
	cmd.Env = []string{"GENLAB_RUN_MAIN=1", "GOMAXPROCS=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLURM_") && !strings.HasPrefix(kv, "PARALLEL") &&
			!strings.HasPrefix(kv, "JOB_COMPLETION_INDEX=") && !strings.HasPrefix(kv, shardsEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("parallel: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, s := range []string{"1", "2", "3", "4"} {
		if !strings.Contains(stderr.String(), "batch: shard "+s+"/4 from GNU parallel (PARALLEL_SEQ="+s+")") ||
			!strings.Contains(stdout.String(), "shard "+s+"/4: wrote ") {
			t.Errorf("shard %s/4 is not reported:\n%s%s", s, stdout.String(), stderr.String())
		}
	}
	out := runBatch(t, "batch", "verify", "--manifest", manifest, "--out", sharded, "--ckpt", ckpt, "--steps", "3", "--shards", "4")
	if !strings.HasPrefix(out, "batch verify: 12 of 12 images ok") {
		t.Errorf("verify: %s", out)
	}
	sameFiles(t, one, sharded, 12)
}
