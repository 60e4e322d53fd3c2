package train

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"genlab/checkpoint"
)

// scripted is a Selector whose scores come from a list, one per checkpoint.
func scripted(scores []float64, patience int, calls *int) *Selector {
	return &Selector{Metric: "fid_lenet", N: 4, Patience: patience, Score: func(pix []float32, n int) (float64, error) {
		v := scores[*calls]
		*calls++
		return v, nil
	}}
}

func bestOf(t *testing.T, dir string) (step int, score string) {
	t.Helper()
	h, err := checkpoint.ReadHeader(filepath.Join(dir, BestName))
	if err != nil {
		t.Fatal(err)
	}
	step, _ = strconv.Atoi(h.Metadata[checkpoint.KeyStep])
	return step, h.Metadata[KeySelectScore]
}

func TestSelectorKeepsTheBestAndStopsWithoutProgress(t *testing.T) {
	dir := t.TempDir()
	calls := 0
	o := opts(dir, 40)
	o.SaveEvery = 5
	o.Select = scripted([]float64{9, 4, 6, 5, 7, 1}, 3, &calls)
	res, err := Run(context.Background(), newAutoencoder(t, 8), o)
	if err != nil {
		t.Fatal(err)
	}
	// Scores 9, 4 (best, step 10), 6, 5, 7: three without a better one.
	if calls != 5 || res.Step != 25 || !strings.Contains(res.Stopped, "stopping") {
		t.Fatalf("scored %d checkpoints, stopped at step %d (%q); want 5 and 25", calls, res.Step, res.Stopped)
	}
	if step, score := bestOf(t, dir); step != 10 || score != "4" {
		t.Fatalf("best.safetensors is step %d score %s, want step 10 score 4", step, score)
	}
	if res.Best != filepath.Join(dir, BestName) {
		t.Fatalf("Result.Best = %q", res.Best)
	}
}

func TestSelectorResumesItsBest(t *testing.T) {
	dir := t.TempDir()
	calls := 0
	o := opts(dir, 15)
	o.SaveEvery = 5
	o.Select = scripted([]float64{3, 8, 9}, 0, &calls)
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err != nil {
		t.Fatal(err)
	}
	// Resumed: the best so far is 3 at step 5, so 2.5 at step 20 beats it
	// and 4 at step 25 does not.
	calls = 0
	o = opts(dir, 25)
	o.SaveEvery, o.Resume = 5, "latest"
	o.Select = scripted([]float64{2.5, 4}, 0, &calls)
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err != nil {
		t.Fatal(err)
	}
	if step, score := bestOf(t, dir); step != 20 || score != "2.5" {
		t.Fatalf("best.safetensors is step %d score %s, want step 20 score 2.5", step, score)
	}
	// A fresh run starts its own selection, even over an old best file.
	for _, p := range []string{"ckpt-000020", "ckpt-000025"} {
		for _, f := range []string{p + ".safetensors", p + ".state.safetensors"} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	calls = 0
	o = opts(dir, 5)
	o.Select = scripted([]float64{7}, 0, &calls)
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err != nil {
		t.Fatal(err)
	}
	if step, score := bestOf(t, dir); step != 5 || score != "7" {
		t.Fatalf("after a fresh run best.safetensors is step %d score %s, want step 5 score 7", step, score)
	}
}
