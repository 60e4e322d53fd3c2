package eval

import (
	"testing"

	"genlab/internal/corpus"
)

// FuzzParseClassifierConfig feeds arbitrary genlab.config JSON to the parser a
// checkpoint goes through. It must never panic, and whatever it accepts
// must build (shape-only) with positive dimensions and survive a JSON round
// trip.
func FuzzParseClassifierConfig(f *testing.F) {
	corpus.FuzzConfig(f, []ClassifierConfig{{}, {InChannels: 2, Size: 32, Channels: 8, Features: 16, Classes: 3}}, []string{`{}`, `{"channels":1000000000}`, `{"size":-28}`, `{"groups":-8}`, `{"size":0}`, `[1]`, `null`}, parseClassifierConfig, checkClassifier)
}

// FuzzParseAttributesConfig is FuzzParseClassifierConfig for the shapes
// attribute classifier's config.
func FuzzParseAttributesConfig(f *testing.F) {
	corpus.FuzzConfig(f, []AttributesConfig{{}, {Channels: 8, Features: 16, Colors: []string{"a", "b"}, Shapes: []string{"c", "d"}, Sizes: []string{"e", "f"}, Positions: []string{"g", "h"}}}, []string{`{"channels":-1}`, `{"features":1000000000}`, `{"colors":["x"]}`, `null`}, parseAttributesConfig, checkAttributes)
}
