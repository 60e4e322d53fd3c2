package gan

import (
	"encoding/json"
	"testing"

	"genlab/models"
)

// FuzzParseConfig feeds arbitrary genlab.config JSON to the parser a
// checkpoint goes through. It must never panic, and whatever it accepts
// must build (shape-only) with positive dimensions and survive a JSON round
// trip.
func FuzzParseConfig(f *testing.F) {
	for _, c := range []Config{DefaultConfig(1, 28), DefaultConfig(3, 32)} {
		c.Classes = 10
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	for _, s := range []string{`{}`, `{"channels":1000000000}`, `{"size":-28}`, `{"groups":-8}`, `{"size":0}`, `[1]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil {
			return
		}
		if err := models.CheckBuilt(func(p *models.Params) error { return checkParams(c, p) }); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("%s: accepted config does not marshal: %v", raw, err)
		}
		if _, err := ParseConfig(b); err != nil {
			t.Fatalf("%s: accepted config does not parse back: %v", raw, err)
		}
	})
}
