package gan

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
	cfg.GenCh, cfg.DiscCh, cfg.ZDim, cfg.Groups = 8, 8, 8, 2
	n, err := NewNetworks(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := corpus.SaveGood(t, dir, Family, cfg, n.GP, func(path string) error { _, err := LoadNetworks(path); return err })
	corpus.CheckRefusals(t, dir, good, []corpus.ConfigCase{
		{Name: "gen_ch 1e9", Set: map[string]any{"gen_ch": 1_000_000_000}, Want: "gen_ch 1000000000"},
		{Name: "size 1e6", Set: map[string]any{"size": 1_000_000}, Want: "size 1000000"},
		{Name: "classes 1e12", Set: map[string]any{"classes": 1_000_000_000_000}, Want: "classes 1000000000000"},
		{Name: "z_dim 1e9", Set: map[string]any{"z_dim": 1_000_000_000}, Want: "z_dim"},
		{Name: "negative z_dim", Set: map[string]any{"z_dim": -8}, Want: "z_dim -8"},
		{Name: "negative size", Set: map[string]any{"size": -28}, Want: "size -28"},
		{Name: "zero size", Set: map[string]any{"size": 0}, Want: "size 0"},
		{Name: "negative groups", Set: map[string]any{"groups": -2}, Want: "groups -2"},
		{Name: "negative classes", Set: map[string]any{"classes": -3}, Want: "classes -3"},
		{Name: "size unlike the weights", Set: map[string]any{"size": 32}, Want: "weights do not fit"},
		{Name: "classes unlike the weights", Set: map[string]any{"classes": 10}, Want: "missing tensor"},
	}, func(path string) error { _, err := LoadNetworks(path); return err })
	bad := filepath.Join(dir, "nan.safetensors")
	name, err := corpus.Poison(good, bad, "", 0, float32(math.NaN()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadNetworks(bad)
	if msg := corpus.Refusal(err, `"`+name+`" holds a non-finite value`, bad); msg != "" {
		t.Error(msg)
	}
}
