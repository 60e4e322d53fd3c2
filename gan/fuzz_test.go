package gan

import (
	"testing"

	"genlab/internal/corpus"
)

// FuzzParseConfig feeds arbitrary genlab.config JSON to the parser a
// checkpoint goes through. It must never panic, and whatever it accepts
// must build (shape-only) with positive dimensions and survive a JSON round
// trip.
func FuzzParseConfig(f *testing.F) {
	var seeds []Config
	for _, c := range []Config{DefaultConfig(1, 28), DefaultConfig(3, 32)} {
		c.Classes = 10
		seeds = append(seeds, c)
	}
	corpus.FuzzConfig(f, seeds, []string{`{}`, `{"channels":1000000000}`, `{"size":-28}`, `{"groups":-8}`, `{"size":0}`, `[1]`, `null`}, ParseConfig, checkParams)
}
