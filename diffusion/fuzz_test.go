package diffusion

import (
	"testing"

	"genlab/internal/corpus"
)

// FuzzParseConfig feeds arbitrary genlab.config JSON to the parser a
// checkpoint goes through. It must never panic, and whatever it accepts
// must build (shape-only) with positive dimensions and survive a JSON round
// trip. The seeds are every recipe and the bad configs of load_test.go.
func FuzzParseConfig(f *testing.F) {
	var seeds []Config
	for _, size := range []string{"tiny", "small", "base"} {
		for _, cond := range Conds {
			c, err := NewConfig(size, 1, 28, cond, 10)
			if err != nil {
				f.Fatal(err)
			}
			if cond == "text" {
				c.SetCaptions([]string{"a red circle", "a blue square at the top"})
			}
			seeds = append(seeds, c)
		}
	}
	corpus.FuzzConfig(f, seeds, []string{`{}`, `{"unet":{"channels":1000000000}}`, `{"unet":{"size":-28},"timesteps":1000}`,
		`{"unet":{"groups":-8},"timesteps":10,"schedule":"cosine"}`, `{"timesteps":1e12}`, `{"unet":{"heads":0,"channels":-1}}`, `[1]`, `null`}, ParseConfig, checkParams)
}
