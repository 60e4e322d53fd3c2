package tasks

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/pipeline/pipelinetest"
)

// The comparison runs end to end on a tiny base and an untrained judge:
// a row for the base and one per method, the base unable to read the new
// words, and a finished run reused rather than retrained.
func TestEvalFineTunesTiny(t *testing.T) {
	dir := t.TempDir()
	base := pipelinetest.Tiny(t, dir, "base.safetensors", pipelinetest.Kind{Family: diffusion.Family, Cond: "text"})
	var cfg eval.AttributesConfig
	cfg.Colors, cfg.Shapes, cfg.Sizes, cfg.Positions = datasets.ShapesAttributesWithNew()
	cfg.Channels, cfg.Features = 4, 8
	judge, err := eval.NewAttributeClassifier(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	jpath := filepath.Join(dir, "judge.safetensors")
	if err := judge.Save(jpath, 0, nil); err != nil {
		t.Fatal(err)
	}
	var logs []string
	o := FineTuneEvalOptions{Base: base, Judge: jpath, Out: filepath.Join(dir, "runs"), Methods: []string{"prompt"}, Steps: 1, N: 1, Batch: 1, Grid: 1,
		Log: func(f string, a ...any) { logs = append(logs, f) }}
	rows, ex, err := EvalFineTunes(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Method != "base" || rows[1].Method != "prompt" || len(ex.Rows) != 2 || len(ex.Rows[0]) != len(ex.Columns) {
		t.Fatalf("rows %+v, %d example rows", rows, len(ex.Rows))
	}
	for k := range 4 {
		if rows[0].Acc[k] != -1 || rows[1].Acc[k] < 0 || math.IsNaN(rows[1].Acc[k]) {
			t.Errorf("setting %s: base %v, prompt %v", FineTuneSettings[k], rows[0].Acc[k], rows[1].Acc[k])
		}
	}
	if rows[1].Params != 2*32 || rows[1].FileBytes == 0 {
		t.Errorf("prompt tuning: %d parameters (want 2 words of 32), file %d bytes", rows[1].Params, rows[1].FileBytes)
	}
	table := FineTuneTable(rows, o)
	if !strings.Contains(table, "| prompt | 64 |") || !strings.Contains(table, "| base | — |") || !strings.Contains(table, "| base prompts: colour |") {
		t.Errorf("table:\n%s", table)
	}
	logs = nil
	data, err := datasets.Load("shapes-new", "train")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fineTuneOnce(context.Background(), o.withDefaults(), "prompt", data); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "reusing") {
		t.Error("a finished run was not reused")
	}
	// Another recipe (prior images from the data) trains again.
	logs = nil
	other := o.withDefaults()
	other.Prior, other.PriorData = 2, true
	if _, _, err := fineTuneOnce(context.Background(), other, "prompt", data); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(logs, "\n"), "reusing") {
		t.Error("a run of another recipe was reused")
	}
}
