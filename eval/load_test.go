package eval

import (
	"math"
	"path/filepath"
	"strings"
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
	for _, c := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"channels 1e9", map[string]any{"channels": 1_000_000_000}, "channels 1000000000"},
		{"size 1e6", map[string]any{"size": 1_000_000}, "size 1000000"},
		{"classes 1e12", map[string]any{"classes": 1_000_000_000_000}, "classes 1000000000000"},
		{"negative channels", map[string]any{"channels": -4}, "channels -4"},
		{"negative features", map[string]any{"features": -8}, "features -8"},
		{"size unlike the weights", map[string]any{"size": 32}, "weights do not fit"},
		{"classes unlike the weights", map[string]any{"classes": 12}, "weights do not fit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".safetensors")
			if err := corpus.EditConfig(good, bad, c.set); err != nil {
				t.Fatal(err)
			}
			var err error
			alloc, took := corpus.Measure(func() { _, err = LoadClassifier(bad) })
			if msg := corpus.Refusal(err, c.want, bad); msg != "" {
				t.Error(msg)
			}
			if alloc > 16<<20 || took.Seconds() > 2 {
				t.Errorf("refusal allocated %d bytes in %v; want little of either", alloc, took)
			}
		})
	}
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
