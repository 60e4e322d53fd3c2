package eval

import (
	"encoding/json"
	"testing"

	"genlab/models"
)

// FuzzParseClassifierConfig feeds arbitrary genlab.config JSON to the parser a
// checkpoint goes through. It must never panic, and whatever it accepts
// must build (shape-only) with positive dimensions and survive a JSON round
// trip.
func FuzzParseClassifierConfig(f *testing.F) {
	for _, c := range []ClassifierConfig{{}, {InChannels: 2, Size: 32, Channels: 8, Features: 16, Classes: 3}} {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	for _, s := range []string{`{}`, `{"channels":1000000000}`, `{"size":-28}`, `{"groups":-8}`, `{"size":0}`, `[1]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := parseClassifierConfig(raw)
		if err != nil {
			return
		}
		if err := models.CheckBuilt(func(p *models.Params) error { return checkClassifier(c, p) }); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("%s: accepted config does not marshal: %v", raw, err)
		}
		if _, err := parseClassifierConfig(b); err != nil {
			t.Fatalf("%s: accepted config does not parse back: %v", raw, err)
		}
	})
}

// FuzzParseAttributesConfig is FuzzParseClassifierConfig for the shapes
// attribute classifier's config.
func FuzzParseAttributesConfig(f *testing.F) {
	for _, c := range []AttributesConfig{{}, {Channels: 8, Features: 16, Colors: []string{"a", "b"}, Shapes: []string{"c", "d"}, Sizes: []string{"e", "f"}, Positions: []string{"g", "h"}}} {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	for _, s := range []string{`{"channels":-1}`, `{"features":1000000000}`, `{"colors":["x"]}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := parseAttributesConfig(raw)
		if err != nil {
			return
		}
		if err := models.CheckBuilt(func(p *models.Params) error { return checkAttributes(c, p) }); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("%s: accepted config does not marshal: %v", raw, err)
		}
		if _, err := parseAttributesConfig(b); err != nil {
			t.Fatalf("%s: accepted config does not parse back: %v", raw, err)
		}
	})
}
