package diffusion

import (
	"encoding/json"
	"math"
	"path/filepath"
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
	corpus.CheckRefusals(t, dir, good, []corpus.ConfigCase{
		{Name: "channels 1e9", Set: map[string]any{"unet.channels": 1_000_000_000}, Want: "channels 1000000000"},
		{Name: "size 1e6", Set: map[string]any{"unet.size": 1_000_000}, Want: "size 1000000"},
		{Name: "timesteps 1e12", Set: map[string]any{"timesteps": 1_000_000_000_000}, Want: "timesteps"},
		{Name: "classes 1e12", Set: map[string]any{"unet.classes": 1_000_000_000_000}, Want: "classes"},
		{Name: "time_dim 1e9", Set: map[string]any{"unet.time_dim": 1_000_000_000}, Want: "time_dim"},
		{Name: "negative channels", Set: map[string]any{"unet.channels": -16}, Want: "channels -16"},
		{Name: "negative size", Set: map[string]any{"unet.size": -28}, Want: "size -28"},
		{Name: "negative heads", Set: map[string]any{"unet.heads": -2}, Want: "heads -2"},
		{Name: "negative groups", Set: map[string]any{"unet.groups": -8}, Want: "groups -8"},
		{Name: "zero timesteps", Set: map[string]any{"timesteps": 0}, Want: "timesteps 0"},
		{Name: "heads do not divide", Set: map[string]any{"unet.heads": 3}, Want: "heads"},
		{Name: "groups do not divide", Set: map[string]any{"unet.groups": 5}, Want: "groups"},
		{Name: "ema NaN as a string", Set: map[string]any{"ema": "NaN"}, Want: "config"},
		{Name: "ema above 1", Set: map[string]any{"ema": 2.5}, Want: "ema 2.5"},
		{Name: "channels unlike the weights", Set: map[string]any{"unet.channels": 32}, Want: "weights do not fit"},
		{Name: "classes unlike the weights", Set: map[string]any{"unet.classes": 7}, Want: "class_emb.weight"},
		{Name: "a text model without its encoder's weights", Set: map[string]any{"cond": "text", "coords": true, "unet.cond_channels": 2,
			"unet.classes": 0, "unet.context_dim": 8, "text": map[string]any{"vocab": []string{"a"}, "length": 2, "dim": 8, "layers": 1, "heads": 2}}, Want: "missing tensor"},
	}, func(path string) error { _, err := LoadNetwork(path); return err })
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
