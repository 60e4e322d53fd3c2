package eval

import (
	"math"
	"path/filepath"
	"testing"

	"genlab/internal/corpus"
)

// The judges' checkpoints are checked like the generators': bounds on
// every field and the config against the tensors, before allocating.
func TestLoadClassifierRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	m, err := NewClassifier(ClassifierConfig{Channels: 4, Features: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.safetensors")
	if err := m.Save(good, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadClassifier(good); err != nil {
		t.Fatalf("the untouched checkpoint: %v", err)
	}
	corpus.CheckRefusals(t, dir, good, []corpus.ConfigCase{
		{Name: "channels 1e9", Set: map[string]any{"channels": 1_000_000_000}, Want: "channels 1000000000"},
		{Name: "size 1e6", Set: map[string]any{"size": 1_000_000}, Want: "size 1000000"},
		{Name: "classes 1e12", Set: map[string]any{"classes": 1_000_000_000_000}, Want: "classes 1000000000000"},
		{Name: "negative channels", Set: map[string]any{"channels": -4}, Want: "channels -4"},
		{Name: "negative features", Set: map[string]any{"features": -8}, Want: "features -8"},
		{Name: "size unlike the weights", Set: map[string]any{"size": 32}, Want: "weights do not fit"},
		{Name: "classes unlike the weights", Set: map[string]any{"classes": 12}, Want: "weights do not fit"},
	}, func(path string) error { _, err := LoadClassifier(path); return err })
	bad := filepath.Join(dir, "inf.safetensors")
	name, err := corpus.Poison(good, bad, "", 1, float32(math.Inf(1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadClassifier(bad)
	if msg := corpus.Refusal(err, `"`+name+`" holds a non-finite value`, bad); msg != "" {
		t.Error(msg)
	}
}
