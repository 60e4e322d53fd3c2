package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
	wantUserError(t, `"gan" checkpoint`, "sample", "diffusion", "--ckpt", ckpt)
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
}
