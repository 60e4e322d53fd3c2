package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// The clips dataset: short videos of one shapes-style shape on black,
// ClipFrames frames of 3x32x32, with a caption that states the motion:
//
//	caption = "a" SIZE COLOR SHAPE MOTION
//	MOTION  = "moving from left to right" | "moving from right to left"
//	        | "moving from top to bottom" | "moving from bottom to top"
//	        | "growing" | "shrinking" | "turning" COLOR
//
// e.g. "a small red circle moving from left to right" or "a large blue
// square turning green". SIZE is the size the shape starts at: a growing
// shape starts small and ends large, a shrinking one the reverse; a
// turning shape has its first colour for the first half of the clip and
// the second for the rest. Colours, shapes and sizes are those of the
// shapes set, drawn by the same rasteriser, with the same kind of jitter
// per clip (scale, rotation, brightness, the position across the motion).
// Clip i of a set depends only on (seed, i).
//
// Composition test: the (shape, motion) pairs of ClipsHeldOut never
// appear in the "train" or "test" splits, though each shape and each
// motion appears with others.

// ClipAttrs are the attributes a clips caption states. To is the colour a
// "turning" clip ends in, empty for every other motion.
type ClipAttrs struct {
	Size, Color, Shape, Motion, To string
}

// ClipFrames is the number of frames of every clip Load makes.
const ClipFrames = 8

// clipMotions are the motions, in grammar order; the first four are moves.
var clipMotions = []string{"left to right", "right to left", "top to bottom", "bottom to top", "growing", "shrinking", "turning"}

// clipsHeldOut is the fixed composition test: one motion per shape, each
// a different motion, so every shape and motion still appears in training.
var clipsHeldOut = []ClipAttrs{
	{Shape: "circle", Motion: "left to right"},
	{Shape: "square", Motion: "bottom to top"},
	{Shape: "triangle", Motion: "growing"},
	{Shape: "cross", Motion: "turning"},
}

// Clip geometry, in pixels: moves travel from clipNear to clipFar along
// their axis; growing and shrinking shapes span clipGrowFrom to clipGrowTo
// in radius.
const (
	clipNear, clipFar        = 9.0, 23.0
	clipGrowFrom, clipGrowTo = 2.5, 7.0
)

// ClipsHeldOut returns the (shape, motion) pairs kept out of the train
// and test splits; the other fields are empty.
func ClipsHeldOut() []ClipAttrs { return slices.Clone(clipsHeldOut) }

// ClipMotions returns every motion, in the fixed order that evaluation
// tables use.
func ClipMotions() []string { return slices.Clone(clipMotions) }

// HeldOut reports whether a's shape and motion form a held-out pair.
func (a ClipAttrs) HeldOut() bool {
	for _, h := range clipsHeldOut {
		if a.Shape == h.Shape && a.Motion == h.Motion {
			return true
		}
	}
	return false
}

// Move returns the direction (dx, dy) of a move, each -1, 0 or 1 with y
// pointing down, and false for a motion that is not a move.
func (a ClipAttrs) Move() (dx, dy int, ok bool) {
	switch a.Motion {
	case "left to right":
		return 1, 0, true
	case "right to left":
		return -1, 0, true
	case "top to bottom":
		return 0, 1, true
	case "bottom to top":
		return 0, -1, true
	}
	return 0, 0, false
}

// ColorAt is the colour frame f of a clip of n frames should show.
func (a ClipAttrs) ColorAt(f, n int) string {
	if a.Motion == "turning" && f >= n/2 {
		return a.To
	}
	return a.Color
}

// Caption returns a's caption, e.g. "a small red circle growing".
func (a ClipAttrs) Caption() string {
	s := "a " + a.Size + " " + a.Color + " " + a.Shape + " "
	switch {
	case a.Motion == "turning":
		return s + "turning " + a.To
	case strings.Contains(a.Motion, " to "):
		return s + "moving from " + a.Motion
	}
	return s + a.Motion
}

// ParseClipCaption parses a caption of the clips grammar, forgiving case,
// surrounding and repeated spaces and a final full stop; anything else is
// an error saying which word is wrong.
func ParseClipCaption(s string) (ClipAttrs, error) {
	words := strings.Fields(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), ".")))
	fail := func(format string, args ...any) (ClipAttrs, error) {
		return ClipAttrs{}, fmt.Errorf("datasets: clip caption %q: "+format, append([]any{s}, args...)...)
	}
	if len(words) < 5 || words[0] != "a" {
		return fail(`want "a SIZE COLOR SHAPE MOTION", e.g. "a small red circle moving from left to right"`)
	}
	var a ClipAttrs
	for _, f := range []struct {
		word, what string
		options    []string
		dst        *string
	}{
		{words[1], "size", shapeSizes, &a.Size},
		{words[2], "colour", clipColorNames(), &a.Color},
		{words[3], "shape", clipKinds, &a.Shape},
	} {
		if !slices.Contains(f.options, f.word) {
			return fail("%q is not a %s (want %s)", f.word, f.what, strings.Join(f.options, ", "))
		}
		*f.dst = f.word
	}
	motion := strings.Join(words[4:], " ")
	switch {
	case motion == "growing" || motion == "shrinking":
		a.Motion = motion
	case len(words) == 6 && words[4] == "turning":
		if !slices.Contains(clipColorNames(), words[5]) || words[5] == a.Color {
			return fail("%q is not a colour other than %s", words[5], a.Color)
		}
		a.Motion, a.To = "turning", words[5]
	case strings.HasPrefix(motion, "moving from ") && slices.Contains(clipMotions[:4], motion[len("moving from "):]):
		a.Motion = motion[len("moving from "):]
	default:
		return fail(`motion %q: want "moving from left to right" (or right to left, top to bottom, bottom to top), "growing", "shrinking" or "turning COLOR"`, motion)
	}
	return a, nil
}

// ClipAttrsOf returns the attributes of clip i of a clips set, parsed
// from its caption.
func ClipAttrsOf(s *Set, i int) (ClipAttrs, error) {
	if s.Captions == nil || i < 0 || i >= len(s.Captions) {
		return ClipAttrs{}, fmt.Errorf("datasets: %s has no caption %d", s.Name, i)
	}
	return ParseClipCaption(s.Captions[i])
}

// ClipsVocabulary returns every word the clips grammar uses, sorted.
func ClipsVocabulary() []string {
	words := []string{"a", "moving", "from", "to", "turning"}
	words = append(words, clipColorNames()...)
	words = append(words, clipKinds...)
	words = append(words, shapeSizes...)
	for _, m := range clipMotions {
		words = append(words, strings.Fields(m)...)
	}
	slices.Sort(words)
	return slices.Compact(words)
}

// Clips generates n clips of the given number of frames (2 or more),
// deterministically from seed. split chooses the (shape, motion) pairs as
// Shapes does for (colour, shape): "train" and "test" never use a held-out
// pair, "heldout" only those, "all" every pair. The Set has Frames set,
// Captions and no Labels; ClipAttrsOf recovers the attributes.
//
// It panics on an unknown split, n < 0 or frames < 2; Load checks user
// input first.
func Clips(n, frames int, seed uint64, split string) *Set {
	if n < 0 || frames < 2 {
		panic(fmt.Sprintf("datasets: Clips: n = %d, frames = %d", n, frames))
	}
	type pair struct{ shape, motion int }
	var pairs []pair
	for k, kind := range clipKinds {
		for m, motion := range clipMotions {
			held := ClipAttrs{Shape: kind, Motion: motion}.HeldOut()
			switch split {
			case "train", "test":
				if held {
					continue
				}
			case "heldout":
				if !held {
					continue
				}
			case "all":
			default:
				panic(fmt.Sprintf("datasets: Clips: unknown split %q (want train, test, heldout or all)", split))
			}
			pairs = append(pairs, pair{k, m})
		}
	}
	const d = 3 * ShapesSize * ShapesSize
	s := &Set{
		Name: "clips-" + split, N: n, Frames: frames, C: 3, H: ShapesSize, W: ShapesSize,
		Pixels:   make([]float32, n*frames*d),
		Captions: make([]string, n),
	}
	render := func(i int) {
		rng := rand.New(rand.NewPCG(seed, splitmix64(uint64(i))))
		p := pairs[rng.IntN(len(pairs))]
		color, size := rng.IntN(len(clipColors)), rng.IntN(len(shapeSizes))
		a := ClipAttrs{Color: clipColors[color].name, Shape: clipKinds[p.shape], Motion: clipMotions[p.motion], Size: shapeSizes[size]}
		to := (color + 1 + rng.IntN(len(clipColors)-1)) % len(clipColors)
		if a.Motion == "turning" {
			a.To = clipColors[to].name
		}
		switch a.Motion {
		case "growing":
			a.Size = "small"
		case "shrinking":
			a.Size = "large"
		}
		s.Captions[i] = a.Caption()
		drawClip(s.Pixels[i*frames*d:(i+1)*frames*d], frames, a, color, to, size, p.shape, rng)
	}
	renderAll(n, 64, render)
	return s
}

// drawClip draws the frames of one clip into dst (frames x 3x32x32).
func drawClip(dst []float32, frames int, a ClipAttrs, color, to, size, kind int, rng *rand.Rand) {
	jitter := func(a float64) float64 { return (2*rng.Float64() - 1) * a }
	scale := 1 + jitter(0.06)
	angle := jitter(10 * math.Pi / 180)
	bright := float32(0.85 + 0.15*rng.Float64())
	lerp := func(a, b, s float64) float64 { return a + (b-a)*s }
	// The centre: anywhere across a move's path, near the middle otherwise.
	u, v := lerp(clipNear, clipFar, rng.Float64()), lerp(clipNear, clipFar, rng.Float64())
	if _, _, move := a.Move(); !move {
		u, v = lerp(12, 20, rng.Float64()), lerp(12, 20, rng.Float64())
	}
	const d = 3 * ShapesSize * ShapesSize
	for f := range frames {
		s := float64(f) / float64(frames-1)
		cx, cy, r, rgb := u, v, shapeRadius[size], clipColors[color].rgb
		dx, dy, _ := a.Move()
		if dx != 0 {
			cx = lerp(clipNear, clipFar, (1-float64(dx))/2+float64(dx)*s)
		}
		if dy != 0 {
			cy = lerp(clipNear, clipFar, (1-float64(dy))/2+float64(dy)*s)
		}
		switch a.Motion {
		case "growing":
			r = lerp(clipGrowFrom, clipGrowTo, s)
		case "shrinking":
			r = lerp(clipGrowTo, clipGrowFrom, s)
		case "turning":
			if f >= frames/2 {
				rgb = clipColors[to].rgb
			}
		}
		rasterShape(dst[f*d:(f+1)*d], rgb, kind, r*scale, cx, cy, angle, bright)
	}
}

// Clips use the base grammar of shapes only: the new concepts (purple,
// star) stay for fine-tunes to learn, and the clips' vocabulary stays what
// video models were trained on.
var (
	clipColors = shapeColors[:baseColors]
	clipKinds  = shapeKinds[:baseKinds]
)

func clipColorNames() []string { return colorNames()[:baseColors] }
