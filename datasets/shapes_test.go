package datasets

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestShapesDeterministic(t *testing.T) {
	a := Shapes(300, 5, "train")
	b := Shapes(300, 5, "train")
	if !slices.Equal(a.Pixels, b.Pixels) || !slices.Equal(a.Captions, b.Captions) {
		t.Error("same seed, different sets")
	}
	c := Shapes(300, 6, "train")
	if slices.Equal(a.Captions, c.Captions) {
		t.Error("different seeds, same captions")
	}
	// Image i depends only on (seed, i): a shorter set is a prefix.
	short := Shapes(7, 5, "train")
	if !slices.Equal(short.Pixels, a.Pixels[:len(short.Pixels)]) || !slices.Equal(short.Captions, a.Captions[:7]) {
		t.Error("image i depends on n")
	}
	if a.Name != "shapes-train" || a.N != 300 || a.C != 3 || a.H != 32 || a.W != 32 || a.Labels != nil || a.Classes != 0 {
		t.Errorf("set header %s N=%d C=%d H=%d W=%d Labels=%v Classes=%d", a.Name, a.N, a.C, a.H, a.W, a.Labels != nil, a.Classes)
	}
	if err := a.Check(); err != nil {
		t.Error(err)
	}
	if e := Shapes(0, 1, "all"); e.N != 0 || e.Check() != nil {
		t.Errorf("empty set: N=%d, Check %v", e.N, e.Check())
	}
}

func TestShapesSplits(t *testing.T) {
	colors, kinds, sizes, positions := ShapesAttributes()
	allPairs := len(colors) * len(kinds)
	held := len(ShapesHeldOut())
	tests := []struct {
		split     string
		wantHeld  bool // held-out pairs appear
		wantOther bool // other pairs appear
		pairs     int  // distinct (colour, shape) pairs expected in 3000 images
	}{
		{"train", false, true, allPairs - held},
		{"test", false, true, allPairs - held},
		{"heldout", true, false, held},
		{"all", true, true, allPairs},
	}
	for _, tc := range tests {
		t.Run(tc.split, func(t *testing.T) {
			s := Shapes(3000, 11, tc.split)
			pairs := map[[2]string]bool{}
			seenSize, seenPos := map[string]bool{}, map[string]bool{}
			sawHeld, sawOther := false, false
			for i := range s.N {
				a, err := ShapeAttrsOf(s, i)
				if err != nil {
					t.Fatal(err)
				}
				pairs[[2]string{a.Color, a.Shape}] = true
				seenSize[a.Size], seenPos[a.Position] = true, true
				if a.HeldOut() {
					sawHeld = true
				} else {
					sawOther = true
				}
			}
			if sawHeld != tc.wantHeld || sawOther != tc.wantOther {
				t.Errorf("held-out pairs present %v (want %v), others present %v (want %v)", sawHeld, tc.wantHeld, sawOther, tc.wantOther)
			}
			if len(pairs) != tc.pairs || len(seenSize) != len(sizes) || len(seenPos) != len(positions) {
				t.Errorf("%d pairs (want %d), %d sizes, %d positions", len(pairs), tc.pairs, len(seenSize), len(seenPos))
			}
		})
	}
}

func TestShapesHeldOut(t *testing.T) {
	h := ShapesHeldOut()
	colors, kinds, _, _ := ShapesAttributes()
	// One pair per shape, distinct colours, so every shape and colour still
	// appears in training; about a tenth of all pairs.
	usedColor, usedShape := map[string]bool{}, map[string]bool{}
	for _, a := range h {
		if !slices.Contains(colors, a.Color) || !slices.Contains(kinds, a.Shape) || a.Size != "" || a.Position != "" {
			t.Errorf("held-out entry %+v", a)
		}
		if usedColor[a.Color] || usedShape[a.Shape] {
			t.Errorf("held-out %+v repeats a colour or shape", a)
		}
		usedColor[a.Color], usedShape[a.Shape] = true, true
		if !(ShapeAttrs{Color: a.Color, Shape: a.Shape, Size: "large", Position: "center"}).HeldOut() {
			t.Errorf("%+v with a size and position is not HeldOut", a)
		}
	}
	if len(usedShape) != len(kinds) {
		t.Errorf("%d held-out pairs for %d shapes", len(h), len(kinds))
	}
	h[0].Color = "mutated"
	if ShapesHeldOut()[0].Color == "mutated" {
		t.Error("ShapesHeldOut returns its internal slice")
	}
}

func TestCaptionRoundTrip(t *testing.T) {
	colors, kinds, sizes, positions := ShapesAttributes()
	vocab := ShapesVocabulary()
	used := map[string]bool{}
	for _, c := range colors {
		for _, k := range kinds {
			for _, z := range sizes {
				for _, p := range positions {
					a := ShapeAttrs{Color: c, Shape: k, Size: z, Position: p}
					caption := a.Caption()
					got, err := ParseCaption(caption)
					if err != nil || got != a {
						t.Fatalf("ParseCaption(%q) = %+v, %v; want %+v", caption, got, err, a)
					}
					for _, w := range strings.Fields(caption) {
						if !slices.Contains(vocab, w) {
							t.Errorf("caption word %q not in ShapesVocabulary", w)
						}
						used[w] = true
					}
				}
			}
		}
	}
	if len(used) != len(vocab) || !slices.IsSorted(vocab) {
		t.Errorf("vocabulary %v: %d words, captions use %d; want equal and sorted", vocab, len(vocab), len(used))
	}
}

func TestParseCaption(t *testing.T) {
	tests := []struct {
		in      string
		want    ShapeAttrs
		wantErr string
	}{
		{"a small red circle at the top left", ShapeAttrs{"red", "circle", "small", "top left"}, ""},
		{"a large blue square in the center", ShapeAttrs{"blue", "square", "large", "center"}, ""},
		{"  A Large  Orange cross at the BOTTOM right. ", ShapeAttrs{"orange", "cross", "large", "bottom right"}, ""},
		{"", ShapeAttrs{}, `want "a SIZE COLOR SHAPE`},
		{"the small red circle at the top left", ShapeAttrs{}, `want "a SIZE COLOR SHAPE`},
		{"a big red circle at the top left", ShapeAttrs{}, `"big" is not a size (want small, large)`},
		{"a small brown circle at the top left", ShapeAttrs{}, `"brown" is not a colour`},
		{"a small purple star at the top left", ShapeAttrs{Size: "small", Color: "purple", Shape: "star", Position: "top left"}, ""},
		{"a small red hexagon at the top left", ShapeAttrs{}, `"hexagon" is not a shape (want circle, square, triangle, cross, star)`},
		{"a small red", ShapeAttrs{}, "missing shape"},
		{"a small red circle at the center", ShapeAttrs{}, `position "at the center" is not one of`},
		{"a small red circle in the top left", ShapeAttrs{}, `position "in the top left"`},
		{"a small red circle", ShapeAttrs{}, `position "" is not one of`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCaption(tc.in)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
				t.Errorf("error %v, want the caption and %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ShapeAttrsOf(tinySet(), 0); err == nil {
		t.Error("ShapeAttrsOf accepted a caption outside the grammar")
	}
	if _, err := ShapeAttrsOf(&Set{Name: "bare"}, 0); err == nil || !strings.Contains(err.Error(), "bare has no captions") {
		t.Errorf("ShapeAttrsOf without captions: %v", err)
	}
}

// TestShapesRendering checks each image against its caption: the pixels
// that are lit have the stated colour, lie in the stated region, and cover
// an area that matches the stated size.
func TestShapesRendering(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	s := Shapes(n, 3, "all")
	const plane = ShapesSize * ShapesSize
	for i := range s.N {
		a, err := ShapeAttrsOf(s, i)
		if err != nil {
			t.Fatal(err)
		}
		img := s.Image(i)
		var sumW, sumX, sumY float64
		brightest, bi := float32(0), 0
		minX, minY, maxX, maxY := ShapesSize, ShapesSize, -1, -1
		for p := range plane {
			v := max(img[p], img[plane+p], img[2*plane+p])
			if v == 0 {
				continue
			}
			x, y := p%ShapesSize, p/ShapesSize
			sumW += float64(v)
			sumX += float64(v) * (float64(x) + 0.5)
			sumY += float64(v) * (float64(y) + 0.5)
			minX, maxX, minY, maxY = min(minX, x), max(maxX, x), min(minY, y), max(maxY, y)
			if v > brightest {
				brightest, bi = v, p
			}
		}
		// Area: pixels at least half covered. Nominal areas are 20-43 px
		// for small shapes and 59-128 px for large ones.
		area := 0
		for p := range plane {
			if max(img[p], img[plane+p], img[2*plane+p]) >= brightest/2 {
				area++
			}
		}
		if (a.Size == "small") != (area < 52) {
			t.Errorf("image %d %q: area %d px", i, s.Captions[i], area)
		}

		// Colour: the fully covered pixel, scaled to its brightest channel,
		// is nearest the stated palette colour.
		got := [3]float32{img[bi], img[plane+bi], img[2*plane+bi]}
		if c := nearestColor(got); c != a.Color {
			t.Errorf("image %d %q: colour %v looks %s", i, s.Captions[i], got, c)
		}

		// Region: the centroid is near the stated centre (jitter 0.75 px,
		// plus 1 px for a triangle's centroid below its nominal centre),
		// and for corner positions every lit pixel is in that quadrant.
		pos := slices.Index(shapePositions, a.Position)
		cx, cy := sumX/sumW, sumY/sumW
		if d := math.Hypot(cx-shapeCenter[pos][0], cy-shapeCenter[pos][1]); d > 2.5 {
			t.Errorf("image %d %q: centroid (%.1f, %.1f), %.1f px from the stated centre", i, s.Captions[i], cx, cy, d)
		}
		if a.Position != "center" {
			left, top := strings.Contains(a.Position, "left"), strings.Contains(a.Position, "top")
			if left && maxX >= 16 || !left && minX < 16 || top && maxY >= 16 || !top && minY < 16 {
				t.Errorf("image %d %q: lit pixels span x %d..%d y %d..%d, outside the quadrant", i, s.Captions[i], minX, maxX, minY, maxY)
			}
		}
	}
}

func nearestColor(rgb [3]float32) string {
	m := max(rgb[0], rgb[1], rgb[2])
	best, bestD := "", math.Inf(1)
	for _, c := range shapeColors {
		cm := max(c.rgb[0], c.rgb[1], c.rgb[2])
		var d float64
		for k := range 3 {
			e := float64(rgb[k]/m - c.rgb[k]/cm)
			d += e * e
		}
		if d < bestD {
			best, bestD = c.name, d
		}
	}
	return best
}

func BenchmarkShapes(b *testing.B) {
	for b.Loop() {
		Shapes(1000, 1, "train")
	}
}
