package gan

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
	cfg := DefaultConfig(1, 28)
	cfg.GenCh, cfg.DiscCh, cfg.ZDim, cfg.Groups = 8, 8, 8, 2
	n, err := NewNetworks(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.safetensors")
	if err := models.SaveWeights(good, n.GP, models.Meta{Family: Family, Config: raw, Step: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNetworks(good); err != nil {
		t.Fatalf("the untouched checkpoint: %v", err)
	}
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"gen_ch 1e9", map[string]any{"gen_ch": 1_000_000_000}, "gen_ch 1000000000"},
		{"size 1e6", map[string]any{"size": 1_000_000}, "size 1000000"},
		{"classes 1e12", map[string]any{"classes": 1_000_000_000_000}, "classes 1000000000000"},
		{"z_dim 1e9", map[string]any{"z_dim": 1_000_000_000}, "z_dim"},
		{"negative z_dim", map[string]any{"z_dim": -8}, "z_dim -8"},
		{"negative size", map[string]any{"size": -28}, "size -28"},
		{"zero size", map[string]any{"size": 0}, "size 0"},
		{"negative groups", map[string]any{"groups": -2}, "groups -2"},
		{"negative classes", map[string]any{"classes": -3}, "classes -3"},
		{"size unlike the weights", map[string]any{"size": 32}, "weights do not fit"},
		{"classes unlike the weights", map[string]any{"classes": 10}, "missing tensor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".safetensors")
			if err := corpus.EditConfig(good, bad, c.set); err != nil {
				t.Fatal(err)
			}
			var err error
			alloc, took := corpus.Measure(func() { _, err = LoadNetworks(bad) })
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
	_, err = LoadNetworks(bad)
	if msg := corpus.Refusal(err, `"`+name+`" holds a non-finite value`, bad); msg != "" {
		t.Error(msg)
	}
}
