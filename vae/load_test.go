package vae

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
	cfg := DefaultConfig(1, 28)
	cfg.Channels, cfg.Latent, cfg.Groups = 8, 2, 2
	n, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := corpus.SaveGood(t, dir, Family, cfg, n.Params, func(path string) error { _, err := LoadNetwork(path); return err })
	corpus.CheckRefusals(t, dir, good, []corpus.ConfigCase{
		{Name: "channels 1e9", Set: map[string]any{"channels": 1_000_000_000}, Want: "channels 1000000000"},
		{Name: "size 1e6", Set: map[string]any{"size": 1_000_000}, Want: "size 1000000"},
		{Name: "latent 1e9", Set: map[string]any{"latent": 1_000_000_000}, Want: "latent 1000000000"},
		{Name: "negative channels", Set: map[string]any{"channels": -8}, Want: "channels -8"},
		{Name: "negative latent", Set: map[string]any{"latent": -2}, Want: "latent -2"},
		{Name: "zero size", Set: map[string]any{"size": 0}, Want: "size 0"},
		{Name: "negative groups", Set: map[string]any{"groups": -2}, Want: "groups -2"},
		{Name: "groups do not divide", Set: map[string]any{"groups": 3}, Want: "groups 3"},
		{Name: "lr NaN", Set: map[string]any{"lr": "NaN"}, Want: "config"},
		{Name: "channels unlike the weights", Set: map[string]any{"channels": 16}, Want: "weights do not fit"},
		{Name: "latent unlike the weights", Set: map[string]any{"latent": 4}, Want: "weights do not fit"},
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
