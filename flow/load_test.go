package flow

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"genlab/internal/corpus"
	"genlab/models"
)

// A checkpoint's config is read from a file that may come from anyone: a
// config that asks for absurd sizes, negative or zero fields, or that does
// not match the tensors beside it is refused with one line before anything
// the size of the model is allocated; so are non-finite weights.
func TestLoadRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(28)
	n, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.safetensors")
	if err := models.SaveWeights(good, n.Params, models.Meta{Family: Family, Config: raw, Step: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNetwork(good); err != nil {
		t.Fatalf("the untouched checkpoint: %v", err)
	}
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"hidden 1e9", map[string]any{"hidden": 1_000_000_000}, "hidden 1000000000"},
		{"size 1e6", map[string]any{"size": 1_000_000}, "size 1000000"},
		{"depth 1e9", map[string]any{"depth": 1_000_000_000}, "depth 1000000000"},
		{"negative hidden", map[string]any{"hidden": -8}, "hidden -8"},
		{"zero size", map[string]any{"size": 0}, "size 0"},
		{"negative levels", map[string]any{"levels": -1}, "levels -1"},
		{"negative groups", map[string]any{"groups": -2}, "groups -2"},
		{"hidden unlike the weights", map[string]any{"hidden": 16}, "weights do not fit"},
		{"depth unlike the weights", map[string]any{"depth": 3}, "missing tensor"},
		{"channels unlike the weights", map[string]any{"in_channels": 3}, "weights do not fit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".safetensors")
			if err := corpus.EditConfig(good, bad, c.set); err != nil {
				t.Fatal(err)
			}
			var err error
			alloc, took := corpus.Measure(func() { _, err = LoadNetwork(bad) })
			if msg := corpus.Refusal(err, c.want, bad); msg != "" {
				t.Error(msg)
			}
			if alloc > 16<<20 || took.Seconds() > 2 {
				t.Errorf("refusal allocated %d bytes in %v; want little of either", alloc, took)
			}
		})
	}
	bad := filepath.Join(dir, "nan.safetensors")
	name, err := corpus.Poison(good, bad, "", 0, float32(math.NaN()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadNetwork(bad)
	if msg := corpus.Refusal(err, `"`+name+`" holds a non-finite value`, bad); msg != "" {
		t.Error(msg)
	}
}
