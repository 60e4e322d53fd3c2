package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"genlab/images"
)

func TestCompareTabulatesEveryFamily(t *testing.T) {
	diff := tinyCheckpoint(t)
	judge := tinyJudge(t)
	var ckpts []string
	for _, fam := range []string{"gan", "vae"} {
		run := t.TempDir()
		if status, _, stderr := genlab(t, "train", fam, "--data", "mnist", "--batch", "16", "--steps", "6", "--select", "none", "--out", run); status != 0 {
			t.Fatalf("train %s: exit %d: %s", fam, status, stderr)
		}
		ckpts = append(ckpts, "--ckpt", filepath.Join(run, "ckpt-000006.safetensors"))
	}
	out := t.TempDir()
	args := append([]string{"compare", "--ckpt", diff}, ckpts...)
	args = append(args, "--n", "20", "--grid", "4", "--steps", "3", "--bpd-images", "2", "--bpd-terms", "3", "--bpd-k", "2",
		"--classifier", judge, "--out", out)
	status, stdout, stderr := genlab(t, args...)
	if status != 0 {
		t.Fatalf("compare: exit %d: %s", status, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "compare.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(md), "\n")
	// Header, rule, one row per model.
	for i, fam := range []string{"diffusion", "gan", "vae"} {
		row := lines[2+i]
		if !strings.HasPrefix(row, "| "+fam+" |") {
			t.Fatalf("row %d is %q, want the %s model", i, row, fam)
		}
		cells := strings.Split(row, "|")
		if bpd := strings.TrimSpace(cells[4]); (fam == "gan") != (bpd == "—") {
			t.Errorf("%s: bpd cell %q", fam, bpd)
		}
		if tt := strings.TrimSpace(cells[8]); tt == "—" {
			t.Errorf("%s: no training time", fam)
		}
		if cp := strings.TrimSpace(cells[10]); !strings.HasSuffix(cp, "%") {
			t.Errorf("%s: copies cell %q", fam, cp)
		}
	}
	if !strings.Contains(stdout, "compare.png") {
		t.Errorf("stdout does not say where the sheet is: %s", stdout)
	}
	sheet, err := images.Load(filepath.Join(out, "compare.png"))
	if err != nil {
		t.Fatal(err)
	}
	// Three 2x2 grids of 28-px tiles (62 px) with 8 px between and around.
	if w := sheet.Bounds().Dx(); w != 8+3*(62+8) {
		t.Errorf("compare.png is %d px wide", w)
	}
	wantUserError(t, "at least 10", "compare", "--ckpt", diff, "--n", "3", "--classifier", judge)
}
