package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/images"
	"genlab/models"
	"genlab/pipeline/pipelinetest"
	"genlab/train"
)

// runAudit runs genlab audit with --json and returns its report.
func runAudit(t *testing.T, args ...string) auditReport {
	t.Helper()
	status, stdout, stderr := genlab(t, append([]string{"audit", "--json"}, args...)...)
	if status != 0 {
		t.Fatalf("audit %v: exit %d: %s", args, status, stderr)
	}
	var rep auditReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("audit --json printed %q: %v", stdout, err)
	}
	return rep
}

// Every family's samples are drawn through the pipeline and audited:
// the report, the Markdown and the sheet of pairs are written, the
// training set is the one asked for, and the judge adds its feature space.
func TestAuditEveryFamily(t *testing.T) {
	judge := tinyJudge(t)
	for _, k := range pipelinetest.Kinds {
		if k.Cond == "text" || (k.Family == "gan" && k.Cond == "class") {
			continue // 32x32 shapes; and one GAN is enough
		}
		t.Run(k.String(), func(t *testing.T) {
			ckpt := pipelinetest.Tiny(t, t.TempDir(), "ckpt-000001.safetensors", k)
			report := filepath.Join(t.TempDir(), "audit")
			args := []string{"--ckpt", ckpt, "--n", "6", "--limit", "120", "--held-out", "30", "--k", "10", "--report", report}
			if k.Family == "diffusion" {
				args = append(args, "--steps", "2")
			}
			if k.Family == "vae" {
				args = append(args, "--classifier", judge)
			}
			rep := runAudit(t, args...)
			wantSpaces := 1
			if k.Family == "vae" {
				wantSpaces = 2
			}
			if rep.Family != k.Family || rep.MemorizationReport.Samples != 6 || rep.Train != 120 || rep.HeldOut != 30 ||
				rep.Data != "mnist" || len(rep.Spaces) != wantSpaces || len(rep.Closest) != 6 {
				t.Fatalf("report %+v", rep)
			}
			for _, s := range rep.Spaces {
				if len(s.SampleQuantiles) != len(rep.Quantiles) || len(s.HeldOutQuantiles) != len(rep.Quantiles) ||
					!(s.SampleMedian > 0) || !(s.HeldOutMedian > 0) {
					t.Errorf("%s: %+v", s.Space, s)
				}
			}
			for i := 1; i < len(rep.Closest); i++ {
				if rep.Closest[i].Distance < rep.Closest[i-1].Distance {
					t.Errorf("closest pairs out of order: %+v", rep.Closest)
				}
			}
			sheet, err := images.Load(filepath.Join(report, "pairs.png"))
			if err != nil {
				t.Fatal(err)
			}
			// Six pairs, four a row: two rows of tiles 56 px high.
			if h := sheet.Bounds().Dy(); h != 2*(56+2*2+2*10) {
				t.Errorf("pairs.png is %d px high", h)
			}
			md, err := os.ReadFile(filepath.Join(report, "report.md"))
			if err != nil || !strings.Contains(string(md), "| pixels |") {
				t.Errorf("report.md: %v\n%s", err, md)
			}
		})
	}
}

// Planted copies: images that are training digits with a little noise are
// flagged, new digits from the test split are not, through the command
// (--samples), and the closest pairs are the copies beside their originals.
func TestAuditFlagsPlantedCopies(t *testing.T) {
	trainSet, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	test, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	const copies, fresh = 12, 12
	for i := 0; i < copies; i++ {
		pix := append([]float32(nil), trainSet.Image(i*37)...)
		for j := range pix {
			pix[j] = min(1, max(0, pix[j]+float32(0.03*rng.NormFloat64())))
		}
		images.Save(filepath.Join(dir, fmt.Sprintf("c%02d.png", i)), images.FromFloats(pix, 1, 28, 28), "")
	}
	for i := 0; i < fresh; i++ {
		images.Save(filepath.Join(dir, fmt.Sprintf("f%02d.png", i)), test.ToImage(9000+i), "")
	}
	report := t.TempDir()
	rep := runAudit(t, "--samples", dir, "--data", "mnist", "--limit", "500", "--held-out", "200", "--classifier", tinyJudge(t), "--report", report)
	if len(rep.Spaces) != 2 {
		t.Fatalf("%d spaces", len(rep.Spaces))
	}
	px := rep.Spaces[0]
	if px.SampleCopies != 0.5 || px.HeldOutCopies > 0.02 || !(px.SampleMedian < px.HeldOutMedian) {
		t.Errorf("pixels: %.3f of samples flagged (want the %d copies of %d), %.3f of held-out; medians %.3f vs %.3f",
			px.SampleCopies, copies, copies+fresh, px.HeldOutCopies, px.SampleMedian, px.HeldOutMedian)
	}
	// Files load in name order: the copies first.
	for _, p := range rep.Closest[:copies] {
		if p.Sample >= copies || p.Train != p.Sample*37 || !p.Copy {
			t.Errorf("closest pair %+v: want copy %d beside training image %d, flagged", p, p.Sample, p.Sample*37)
		}
	}
	t.Logf("pixels: %.0f%% flagged, held-out %.1f%%; features: %.0f%%, held-out %.1f%%",
		100*px.SampleCopies, 100*px.HeldOutCopies, 100*rep.Spaces[1].SampleCopies, 100*rep.Spaces[1].HeldOutCopies)
	status, stdout, _ := genlab(t, "audit", "--samples", dir, "--data", "mnist", "--limit", "500", "--held-out", "0", "--report", report)
	if status != 0 || !strings.Contains(stdout, "pixels: copies 50.0% of samples") || !strings.Contains(stdout, "0.333 x the mean distance of the 50 nearest") {
		t.Errorf("exit %d, stdout:\n%s", status, stdout)
	}
}

// A run on the first N images records N, a resume keeps it, and the
// audit takes the checkpoint's training set by default.
func TestTrainLimitIsRecordedAndAudited(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	run := t.TempDir()
	train2 := func(extra ...string) {
		args := append([]string{"train", "vae", "--data", "mnist", "--limit", "40", "--batch", "8", "--out", run}, extra...)
		if status, _, stderr := genlab(t, args...); status != 0 {
			t.Fatalf("%v: exit %d: %s", args, status, stderr)
		}
	}
	train2("--steps", "2")
	train2("--steps", "4", "--resume", "latest")
	for _, step := range []int{2, 4} {
		meta, err := models.ReadMeta(filepath.Join(run, fmt.Sprintf("ckpt-%06d.safetensors", step)), "vae")
		if err != nil {
			t.Fatal(err)
		}
		if v := meta.Extra[train.KeyDataLimit]; v != "40" {
			t.Errorf("step %d: %s = %q, want 40", step, train.KeyDataLimit, v)
		}
	}
	rep := runAudit(t, "--ckpt", filepath.Join(run, "ckpt-000004.safetensors"), "--n", "4", "--held-out", "10", "--k", "5", "--report", t.TempDir())
	if rep.Train != 40 || rep.Limit != 40 {
		t.Errorf("audited against %d training images (limit %d), want the run's 40", rep.Train, rep.Limit)
	}
	wantUserError(t, "holds 60000 images", "train", "vae", "--data", "mnist", "--limit", "70000", "--out", t.TempDir())
}

func TestAuditBadInput(t *testing.T) {
	dir := t.TempDir()
	diff := pipelinetest.Tiny(t, dir, "diff.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "none"})
	gan := pipelinetest.Tiny(t, dir, "gan.safetensors", pipelinetest.Kind{Family: "gan", Cond: "none"})
	text := pipelinetest.Tiny(t, dir, "text.safetensors", pipelinetest.Kind{Family: "diffusion", Cond: "text"})
	empty := t.TempDir()
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("not a checkpoint"), 0o644)
	report := []string{"--report", t.TempDir()}
	for _, c := range []struct {
		mention string
		args    []string
	}{
		{"either --ckpt", nil},
		{"either --ckpt", []string{"--ckpt", diff, "--samples", empty}},
		{"--n 0", []string{"--ckpt", diff, "--n", "0"}},
		{"--k 0", []string{"--ckpt", diff, "--k", "0"}},
		{"--ratio 2", []string{"--ckpt", diff, "--ratio", "2"}},
		{"--ratio 0", []string{"--ckpt", diff, "--ratio", "0"}},
		{"holds 60000 images", []string{"--ckpt", diff, "--limit", "70000"}},
		{"want K below", []string{"--ckpt", diff, "--limit", "30"}},
		{"unknown dataset", []string{"--ckpt", diff, "--data", filepath.Join(empty, "nowhere")}},
		{"diffusion's", []string{"--ckpt", gan, "--steps", "3"}},
		{"3x32x32", []string{"--ckpt", text, "--data", "mnist", "--limit", "100"}},
		{"no classifier at", []string{"--ckpt", diff, "--limit", "100", "--classifier", filepath.Join(empty, "judge.safetensors")}},
		{"notes.txt", []string{"--ckpt", notes}},
		{"no PNG or JPEG", []string{"--samples", empty, "--data", "mnist", "--limit", "100"}},
		{"name the training set", []string{"--samples", empty}},
	} {
		wantUserError(t, c.mention, append(append([]string{"audit"}, c.args...), report...)...)
	}
}
