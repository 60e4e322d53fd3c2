package flow

import (
	"math"
	"path/filepath"
	"testing"

	"genlab/internal/corpus"
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
	good := corpus.SaveGood(t, dir, Family, cfg, n.Params, func(path string) error { _, err := LoadNetwork(path); return err })
	corpus.CheckRefusals(t, dir, good, []corpus.ConfigCase{
		{Name: "hidden 1e9", Set: map[string]any{"hidden": 1_000_000_000}, Want: "hidden 1000000000"},
		{Name: "size 1e6", Set: map[string]any{"size": 1_000_000}, Want: "size 1000000"},
		{Name: "depth 1e9", Set: map[string]any{"depth": 1_000_000_000}, Want: "depth 1000000000"},
		{Name: "negative hidden", Set: map[string]any{"hidden": -8}, Want: "hidden -8"},
		{Name: "zero size", Set: map[string]any{"size": 0}, Want: "size 0"},
		{Name: "negative levels", Set: map[string]any{"levels": -1}, Want: "levels -1"},
		{Name: "negative groups", Set: map[string]any{"groups": -2}, Want: "groups -2"},
		{Name: "hidden unlike the weights", Set: map[string]any{"hidden": 16}, Want: "weights do not fit"},
		{Name: "depth unlike the weights", Set: map[string]any{"depth": 3}, Want: "missing tensor"},
		{Name: "channels unlike the weights", Set: map[string]any{"in_channels": 3}, Want: "weights do not fit"},
	}, func(path string) error { _, err := LoadNetwork(path); return err })
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
