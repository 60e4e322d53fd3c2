package models

import (
	"fmt"
	"math"
)

// Generous upper bounds on the fields of every family's config. A
// checkpoint's config is read from a file that may come from anyone: a
// field beyond these is refused by Validate before anything is allocated
// for it (a width of 1e9 would ask for terabytes). They are far above any
// model genlab trains, so no real checkpoint meets them.
const (
	MaxChannels   = 4096    // any width: conv channels, hidden units, embedding and time dims
	MaxImageSide  = 2048    // pixels per side
	MaxInChannels = 4       // image channels
	MaxHeads      = 256     // attention heads
	MaxClasses    = 100_000 // class labels (and vocabulary words)
	MaxLayers     = 256     // repeated blocks or steps of one kind
	MaxTimesteps  = 100_000 // diffusion steps
	MaxBatch      = 1 << 20 // the recorded training batch
	MaxTokens     = 4096    // tokens per prompt
)

// Bounds checks a config's fields one after another and keeps the first
// problem, so that Validate reads as a list of fields and their ranges:
//
//	b := models.Bounds{Prefix: "vae"}
//	b.Int("channels", c.Channels, 1, models.MaxChannels)
//	b.Float("lr", c.LR, 0, 1)
//	return b.Err()
type Bounds struct {
	Prefix string // the family, "vae"; errors read "vae: channels -3: want 1 to 4096"
	err    error
}

// Int checks lo <= v <= hi.
func (b *Bounds) Int(field string, v, lo, hi int) {
	if b.err == nil && (v < lo || v > hi) {
		b.err = fmt.Errorf("%s: %s %d: want %d to %d", b.Prefix, field, v, lo, hi)
	}
}

// Float checks that v is finite and lo <= v <= hi.
func (b *Bounds) Float(field string, v, lo, hi float64) {
	if b.err == nil && (math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi) {
		b.err = fmt.Errorf("%s: %s %v: want a number from %g to %g", b.Prefix, field, v, lo, hi)
	}
}

// Divides checks that d (already checked positive) divides n: GroupNorm
// groups of channels, attention heads of a width.
func (b *Bounds) Divides(what string, d int, of string, n int) {
	if b.err == nil && (d <= 0 || n%d != 0) {
		b.err = fmt.Errorf("%s: %s %d do not divide %s %d", b.Prefix, what, d, of, n)
	}
}

// Fail records a problem the other checks do not cover.
func (b *Bounds) Fail(format string, a ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("%s: %s", b.Prefix, fmt.Sprintf(format, a...))
	}
}

// Err returns the first problem found, or nil.
func (b *Bounds) Err() error { return b.err }
