package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// The shapes dataset: one coloured shape on black, 3x32x32, with a caption
// from a fixed grammar:
//
//	caption  = "a" SIZE COLOR SHAPE WHERE
//	SIZE     = "small" | "large"
//	COLOR    = "red" | "green" | "blue" | "yellow" | "magenta" | "cyan" | "white" | "orange"
//	SHAPE    = "circle" | "square" | "triangle" | "cross"
//	WHERE    = "at the top left" | "at the top right" | "at the bottom left"
//	         | "at the bottom right" | "in the center"
//
// e.g. "a small red circle at the top left". Attributes are drawn uniformly;
// each image also gets a little jitter (position ±0.75 px, scale ±6%,
// rotation ±10°, brightness 85-100%) so a generator sees a continuum, not
// 320 fixed pictures. Image i of a set depends only on (seed, i).
//
// Composition test: the (colour, shape) pairs of ShapesHeldOut never appear
// in the "train" or "test" splits, though each of their colours and shapes
// appears with others. A text-to-image model that draws "a large blue
// circle" well has composed "blue" and "circle" rather than recalled them.

// ShapeAttrs are the attributes a shapes caption states. In ShapesHeldOut,
// an empty Size or Position means "any".
type ShapeAttrs struct {
	Color, Shape, Size, Position string
}

// Shape image geometry.
const (
	ShapesSize = 32 // images are ShapesSize x ShapesSize, 3 channels

	supersample = 4 // samples per pixel side when rasterising
)

// shapeColors are the palette, in grammar order, as linear [0,1] RGB, chosen
// to stay apart in hue and brightness at 32x32.
var shapeColors = []struct {
	name string
	rgb  [3]float32
}{
	{"red", [3]float32{1.00, 0.12, 0.10}},
	{"green", [3]float32{0.10, 0.85, 0.20}},
	{"blue", [3]float32{0.15, 0.35, 1.00}},
	{"yellow", [3]float32{1.00, 0.92, 0.10}},
	{"magenta", [3]float32{0.95, 0.20, 0.95}},
	{"cyan", [3]float32{0.10, 0.90, 0.95}},
	{"white", [3]float32{0.95, 0.95, 0.95}},
	{"orange", [3]float32{1.00, 0.55, 0.05}},
	// New concepts, never in the base splits (see ShapesNewConcepts).
	{"purple", [3]float32{0.55, 0.10, 0.85}},
}

var (
	shapeKinds     = []string{"circle", "square", "triangle", "cross", "star"}
	shapeSizes     = []string{"small", "large"}
	shapePositions = []string{"top left", "top right", "bottom left", "bottom right", "center"}

	// shapeRadius is the nominal radius in pixels of each size.
	shapeRadius = []float64{3.5, 6}
	// shapeCenter is the nominal centre (x, y) of each position: the middle
	// of a quadrant, or of the image.
	shapeCenter = [][2]float64{{8, 8}, {24, 8}, {8, 24}, {24, 24}, {16, 16}}
)

// The base grammar uses the first baseColors colours and baseKinds shapes;
// the rest (purple, star) are the new concepts a fine-tune learns: the
// "new" split draws them, every other split never does.
const (
	baseColors = 8
	baseKinds  = 4
)

// shapesNewHeldOut are new-concept pairs the "new" split never draws either,
// to test whether a fine-tune composed a new word with the old ones.
var shapesNewHeldOut = []ShapeAttrs{
	{Color: "blue", Shape: "star"},
	{Color: "purple", Shape: "square"},
	{Color: "purple", Shape: "star"},
}

// ShapesNewConcepts returns the words outside the base grammar: the new
// colour and the new shape.
func ShapesNewConcepts() (colors, shapes []string) {
	return colorNames()[baseColors:], slices.Clone(shapeKinds[baseKinds:])
}

// ShapesNewHeldOut returns the new-concept (colour, shape) pairs kept out
// of the "new" split.
func ShapesNewHeldOut() []ShapeAttrs { return slices.Clone(shapesNewHeldOut) }

// IsNew reports whether a has a new colour or a new shape.
func (a ShapeAttrs) IsNew() bool {
	return slices.Index(colorNames(), a.Color) >= baseColors || slices.Index(shapeKinds, a.Shape) >= baseKinds
}

// shapesHeldOut is the fixed composition test: 4 of the 32 (colour, shape)
// pairs (12.5%), one per shape and each with a different colour, so every
// colour and shape still appears in training.
var shapesHeldOut = []ShapeAttrs{
	{Color: "red", Shape: "triangle"},
	{Color: "green", Shape: "cross"},
	{Color: "blue", Shape: "circle"},
	{Color: "yellow", Shape: "square"},
}

// ShapesHeldOut returns the (colour, shape) pairs kept out of the train and
// test splits, with Size and Position empty (any size, any position).
func ShapesHeldOut() []ShapeAttrs { return slices.Clone(shapesHeldOut) }

// HeldOut reports whether a's colour and shape form a held-out pair.
func (a ShapeAttrs) HeldOut() bool {
	for _, h := range shapesHeldOut {
		if a.Color == h.Color && a.Shape == h.Shape {
			return true
		}
	}
	return false
}

// Caption returns a's caption, e.g. "a small red circle at the top left".
func (a ShapeAttrs) Caption() string {
	where := "at the " + a.Position
	if a.Position == "center" {
		where = "in the center"
	}
	return "a " + a.Size + " " + a.Color + " " + a.Shape + " " + where
}

// ParseCaption parses a caption of the shapes grammar. Case, surrounding
// space, repeated spaces and a final full stop are forgiven; anything else
// outside the grammar is an error saying which word is wrong.
func ParseCaption(s string) (ShapeAttrs, error) {
	words := strings.Fields(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), ".")))
	fail := func(format string, args ...any) (ShapeAttrs, error) {
		return ShapeAttrs{}, fmt.Errorf("datasets: caption %q: "+format, append([]any{s}, args...)...)
	}
	pick := func(i int, what string, options []string) (string, error) {
		if i >= len(words) {
			return "", fmt.Errorf("missing %s", what)
		}
		if !slices.Contains(options, words[i]) {
			return "", fmt.Errorf("%q is not a %s (want %s)", words[i], what, strings.Join(options, ", "))
		}
		return words[i], nil
	}
	if len(words) == 0 || words[0] != "a" {
		return fail(`want "a SIZE COLOR SHAPE at the POSITION", e.g. "a small red circle at the top left"`)
	}
	var a ShapeAttrs
	var err error
	if a.Size, err = pick(1, "size", shapeSizes); err != nil {
		return fail("%v", err)
	}
	if a.Color, err = pick(2, "colour", colorNames()); err != nil {
		return fail("%v", err)
	}
	if a.Shape, err = pick(3, "shape", shapeKinds); err != nil {
		return fail("%v", err)
	}
	where := strings.Join(words[4:], " ")
	switch {
	case where == "in the center":
		a.Position = "center"
	case strings.HasPrefix(where, "at the ") && slices.Contains(shapePositions[:4], where[len("at the "):]):
		a.Position = where[len("at the "):]
	default:
		return fail(`position %q is not one of "at the top left", "at the top right", "at the bottom left", "at the bottom right", "in the center"`, where)
	}
	return a, nil
}

// ShapeAttrsOf returns the attributes of image i of a shapes set, parsed
// from its caption. Shapes sets carry their attributes only in Captions, so
// they survive Subset and the Loader like any caption.
func ShapeAttrsOf(s *Set, i int) (ShapeAttrs, error) {
	if s.Captions == nil {
		return ShapeAttrs{}, fmt.Errorf("datasets: %s has no captions", s.Name)
	}
	if i < 0 || i >= len(s.Captions) {
		return ShapeAttrs{}, fmt.Errorf("datasets: %s: image %d out of range [0,%d)", s.Name, i, len(s.Captions))
	}
	return ParseCaption(s.Captions[i])
}

// ShapesAttributes returns every value of each attribute of the base
// grammar, in a fixed order that classifiers may use as class indices.
func ShapesAttributes() (colors, shapes, sizes, positions []string) {
	return colorNames()[:baseColors], slices.Clone(shapeKinds[:baseKinds]), slices.Clone(shapeSizes), slices.Clone(shapePositions)
}

// ShapesAttributesWithNew is ShapesAttributes with the new concepts
// (ShapesNewConcepts) after the base values: the classes of a judge that
// scores fine-tunes.
func ShapesAttributesWithNew() (colors, shapes, sizes, positions []string) {
	return colorNames(), slices.Clone(shapeKinds), slices.Clone(shapeSizes), slices.Clone(shapePositions)
}

// ShapesVocabulary returns every word the base caption grammar uses, sorted
// (the new concepts are not in it).
func ShapesVocabulary() []string {
	words := []string{"a", "at", "the", "in"}
	words = append(words, colorNames()[:baseColors]...)
	words = append(words, shapeKinds[:baseKinds]...)
	words = append(words, shapeSizes...)
	for _, p := range shapePositions {
		words = append(words, strings.Fields(p)...)
	}
	slices.Sort(words)
	return slices.Compact(words)
}

func colorNames() []string {
	names := make([]string, len(shapeColors))
	for i, c := range shapeColors {
		names[i] = c.name
	}
	return names
}

// Shapes generates n shapes images, deterministically from seed. split
// chooses the (colour, shape) pairs drawn from: "train" and "test" never
// use a held-out pair (they differ only in the seed a caller passes),
// "heldout" uses only held-out pairs, "all" uses every pair of the base
// grammar, and "new" only pairs with a new colour or shape
// (ShapesNewConcepts) except ShapesNewHeldOut, "newall" every such pair. The Set has
// Captions and no Labels; ShapeAttrsOf recovers the attributes.
//
// It panics on an unknown split or n < 0; Load checks user input first.
func Shapes(n int, seed uint64, split string) *Set {
	if n < 0 {
		panic(fmt.Sprintf("datasets: Shapes: n = %d", n))
	}
	type pair struct{ color, shape int }
	var pairs []pair
	for c, col := range shapeColors {
		for k, kind := range shapeKinds {
			a := ShapeAttrs{Color: col.name, Shape: kind}
			if split == "new" || split == "newall" {
				if a.IsNew() && (split == "newall" || !slices.Contains(shapesNewHeldOut, a)) {
					pairs = append(pairs, pair{c, k})
				}
				continue
			}
			if a.IsNew() {
				continue // the base splits never draw a new concept
			}
			held := a.HeldOut()
			switch split {
			case "train", "test":
				if !held {
					pairs = append(pairs, pair{c, k})
				}
			case "heldout":
				if held {
					pairs = append(pairs, pair{c, k})
				}
			case "all":
				pairs = append(pairs, pair{c, k})
			default:
				panic(fmt.Sprintf("datasets: Shapes: unknown split %q (want train, test, heldout, all, new or newall)", split))
			}
		}
	}

	const d = 3 * ShapesSize * ShapesSize
	s := &Set{
		Name: "shapes-" + split, N: n, C: 3, H: ShapesSize, W: ShapesSize,
		Pixels:   make([]float32, n*d),
		Captions: make([]string, n),
	}
	// Each image has its own RNG, so the result does not depend on how the
	// work is split across goroutines, and image i can be regenerated alone.
	render := func(i int) {
		rng := rand.New(rand.NewPCG(seed, splitmix64(uint64(i))))
		p := pairs[rng.IntN(len(pairs))]
		size, pos := rng.IntN(len(shapeSizes)), rng.IntN(len(shapePositions))
		s.Captions[i] = ShapeAttrs{
			Color: shapeColors[p.color].name, Shape: shapeKinds[p.shape],
			Size: shapeSizes[size], Position: shapePositions[pos],
		}.Caption()
		drawShape(s.Pixels[i*d:(i+1)*d], p.color, p.shape, size, pos, rng)
	}
	renderAll(n, 256, render)
	return s
}

// renderAll calls render(i) for i in [0,n) on up to GOMAXPROCS workers,
// one per perWorker items at least: image i depends on i alone, so the
// split does not change the set.
func renderAll(n, perWorker int, render func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/perWorker))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				render(i)
			}
		})
	}
	wg.Wait()
}

// ShapesWithNew is n images of every (colour, shape) pair of the base
// grammar followed by m images of every new-concept pair ("all" then
// "newall"): what a judge of fine-tunes trains on.
func ShapesWithNew(n, m int, seed uint64) *Set {
	a, b := Shapes(n, seed, "all"), Shapes(m, seed+1, "newall")
	a.Name = "shapes-all+new"
	a.N += b.N
	a.Pixels = append(a.Pixels, b.Pixels...)
	a.Captions = append(a.Captions, b.Captions...)
	return a
}

// drawShape rasterises one jittered shape into a black 3x32x32 CHW image,
// with supersample^2 point samples per pixel for anti-aliased edges.
func drawShape(dst []float32, color, kind, size, pos int, rng *rand.Rand) {
	jitter := func(a float64) float64 { return (2*rng.Float64() - 1) * a }
	r := shapeRadius[size] * (1 + jitter(0.06))
	cx := shapeCenter[pos][0] + jitter(0.75)
	cy := shapeCenter[pos][1] + jitter(0.75)
	angle := jitter(10 * math.Pi / 180)
	bright := float32(0.85 + 0.15*rng.Float64())
	rasterShape(dst, shapeColors[color].rgb, kind, r, cx, cy, angle, bright)
}

// rasterShape draws shape kind of radius r centred at (cx, cy), turned by
// angle (radians) and scaled in brightness, into a black 3x32x32 CHW image.
func rasterShape(dst []float32, rgb [3]float32, kind int, r, cx, cy, angle float64, bright float32) {
	sin, cos := math.Sincos(angle)
	inside := shapeTests[kind]
	ext := 1.4*r + 1 // covers every shape at any rotation, with a margin
	x0, x1 := max(0, int(cx-ext)), min(ShapesSize-1, int(cx+ext))
	y0, y1 := max(0, int(cy-ext)), min(ShapesSize-1, int(cy+ext))
	const plane = ShapesSize * ShapesSize
	for py := y0; py <= y1; py++ {
		for px := x0; px <= x1; px++ {
			hits := 0
			for sy := 0; sy < supersample; sy++ {
				for sx := 0; sx < supersample; sx++ {
					// Sample point relative to the centre, rotated into the
					// shape's frame and scaled to unit radius.
					dx := float64(px) + (float64(sx)+0.5)/supersample - cx
					dy := float64(py) + (float64(sy)+0.5)/supersample - cy
					u := (cos*dx + sin*dy) / r
					v := (-sin*dx + cos*dy) / r
					if inside(u, v) {
						hits++
					}
				}
			}
			if hits == 0 {
				continue
			}
			cover := bright * float32(hits) / (supersample * supersample)
			o := py*ShapesSize + px
			dst[o] = rgb[0] * cover
			dst[plane+o] = rgb[1] * cover
			dst[2*plane+o] = rgb[2] * cover
		}
	}
}

// shapeTests tell whether a point (u, v), in units of the radius with v
// pointing down, lies inside each shape. Sizes are set so the shapes have
// similar areas (circle 3.1, square 2.9, triangle 1.9, cross 2.4 r^2).
var shapeTests = []func(u, v float64) bool{
	func(u, v float64) bool { return u*u+v*v <= 1 },
	func(u, v float64) bool { return math.Abs(u) <= 0.85 && math.Abs(v) <= 0.85 },
	insideTriangle,
	func(u, v float64) bool {
		const arm = 0.36 // half-width of each bar
		u, v = math.Abs(u), math.Abs(v)
		return (u <= 1 && v <= arm) || (v <= 1 && u <= arm)
	},
	insideStar,
}

// starVertices is a five-pointed star pointing up, outer radius 1.1 and
// inner radius 0.45, alternating outer and inner vertices.
var starVertices = func() [10][2]float64 {
	var v [10][2]float64
	for i := range v {
		r := 1.1
		if i%2 == 1 {
			r = 0.45
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		v[i] = [2]float64{r * math.Cos(a), r * math.Sin(a)}
	}
	return v
}()

// insideStar is the even-odd ray test against starVertices.
func insideStar(u, v float64) bool {
	in := false
	for i, j := 0, len(starVertices)-1; i < len(starVertices); j, i = i, i+1 {
		a, b := starVertices[i], starVertices[j]
		if (a[1] > v) != (b[1] > v) && u < (b[0]-a[0])*(v-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// insideTriangle tests an upward equilateral triangle of circumradius R.
// Its centroid sits R/8 below the origin, halfway between centring the
// centroid (the top vertex would reach far up) and centring the bounding
// box (the visible mass would sit low). The inradius is R/2, so a point is
// inside when its projection on each outward edge normal is at most R/2.
func insideTriangle(u, v float64) bool {
	const R = 1.2
	const s3 = 0.8660254037844386 // sqrt(3)/2
	v -= R / 8
	return v <= R/2 && s3*u-0.5*v <= R/2 && -s3*u-0.5*v <= R/2
}
