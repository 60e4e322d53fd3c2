package diffusion

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
// the size of the model is allocated.
func TestLoadRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	good := saveTiny(t, dir, cfg)
	if _, err := LoadNetwork(good); err != nil {
		t.Fatalf("the untouched checkpoint: %v", err)
	}
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"channels 1e9", map[string]any{"unet.channels": 1_000_000_000}, "channels 1000000000"},
		{"size 1e6", map[string]any{"unet.size": 1_000_000}, "size 1000000"},
		{"timesteps 1e12", map[string]any{"timesteps": 1_000_000_000_000}, "timesteps"},
		{"classes 1e12", map[string]any{"unet.classes": 1_000_000_000_000}, "classes"},
		{"time_dim 1e9", map[string]any{"unet.time_dim": 1_000_000_000}, "time_dim"},
		{"negative channels", map[string]any{"unet.channels": -16}, "channels -16"},
		{"negative size", map[string]any{"unet.size": -28}, "size -28"},
		{"negative heads", map[string]any{"unet.heads": -2}, "heads -2"},
		{"negative groups", map[string]any{"unet.groups": -8}, "groups -8"},
		{"zero timesteps", map[string]any{"timesteps": 0}, "timesteps 0"},
		{"heads do not divide", map[string]any{"unet.heads": 3}, "heads"},
		{"groups do not divide", map[string]any{"unet.groups": 5}, "groups"},
		{"ema NaN as a string", map[string]any{"ema": "NaN"}, "config"},
		{"ema above 1", map[string]any{"ema": 2.5}, "ema 2.5"},
		{"channels unlike the weights", map[string]any{"unet.channels": 32}, "weights do not fit"},
		{"classes unlike the weights", map[string]any{"unet.classes": 7}, "class_emb.weight"},
		{"a text model without its encoder's weights", map[string]any{"cond": "text", "coords": true, "unet.cond_channels": 2,
			"unet.classes": 0, "unet.context_dim": 8, "text": map[string]any{"vocab": []string{"a"}, "length": 2, "dim": 8, "layers": 1, "heads": 2}}, "missing tensor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".safetensors")
			if err := corpus.EditConfig(good, bad, c.set); err != nil {
				t.Fatal(err)
			}
			var err error
			alloc, took := corpus.Measure(func() { _, err = LoadNetwork(bad) })
			checkRefusal(t, err, c.want, bad)
			t.Log(err)
			if alloc > 16<<20 || took.Seconds() > 2 {
				t.Errorf("refusal allocated %d bytes in %v; want little of either", alloc, took)
			}
		})
	}
}

// Non-finite weights are found at load, the tensor named.
func TestLoadRefusesNonFiniteWeights(t *testing.T) {
	dir := t.TempDir()
	cfg, err := NewConfig("tiny", 1, 28, "none", 0)
	if err != nil {
		t.Fatal(err)
	}
	good := saveTiny(t, dir, cfg)
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		bad := filepath.Join(dir, "bad.safetensors")
		name, err := corpus.Poison(good, bad, "", 3, v)
		if err != nil {
			t.Fatal(err)
		}
		_, err = LoadNetwork(bad)
		checkRefusal(t, err, `"`+name+`" holds a non-finite value`, bad)
	}
}

func saveTiny(t *testing.T, dir string, cfg Config) string {
	t.Helper()
	n, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "good.safetensors")
	if err := models.SaveWeights(path, n.Params, models.Meta{Family: Family, Config: raw, Step: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkRefusal(t *testing.T, err error, want, file string) {
	t.Helper()
	if msg := corpus.Refusal(err, want, file); msg != "" {
		t.Error(msg)
	}
}
