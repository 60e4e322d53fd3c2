package datasets

import (
	"math"
	"slices"
	"testing"
)

func TestClipsDeterministic(t *testing.T) {
	a := Clips(40, 8, 5, "train")
	if !slices.Equal(a.Pixels, Clips(40, 8, 5, "train").Pixels) {
		t.Error("same seed, different clips")
	}
	// Clip i depends only on (seed, i): a shorter set is a prefix.
	short := Clips(3, 8, 5, "train")
	if !slices.Equal(short.Pixels, a.Pixels[:len(short.Pixels)]) || !slices.Equal(short.Captions, a.Captions[:3]) {
		t.Error("clip i depends on n")
	}
	if slices.Equal(a.Captions, Clips(40, 8, 6, "train").Captions) {
		t.Error("different seeds, same captions")
	}
	if a.Name != "clips-train" || a.Frames != 8 || a.Dim() != 8*3*32*32 || !a.Clip() {
		t.Errorf("set header %s frames %d dim %d", a.Name, a.Frames, a.Dim())
	}
	if err := a.Check(); err != nil {
		t.Error(err)
	}
	sub := a.Subset([]int{2})
	if sub.Frames != 8 || !slices.Equal(sub.Pixels, a.Image(2)) {
		t.Error("Subset loses the clip layout")
	}
	if b := a.ToImage(0).Bounds(); b.Dx() != 8*32+9 || b.Dy() != 34 {
		t.Errorf("ToImage of a clip is %v, want its frame strip", b)
	}
}

func TestClipsSplits(t *testing.T) {
	for _, tc := range []struct {
		split               string
		wantHeld, wantOther bool
	}{
		{"train", false, true}, {"heldout", true, false}, {"all", true, true},
	} {
		s := Clips(400, 2, 9, tc.split)
		held, other := false, false
		motions := map[string]bool{}
		for i := range s.N {
			a, err := ClipAttrsOf(s, i)
			if err != nil {
				t.Fatal(err)
			}
			if a.Caption() != s.Captions[i] {
				t.Errorf("caption %q parses and prints as %q", s.Captions[i], a.Caption())
			}
			motions[a.Motion] = true
			held = held || a.HeldOut()
			other = other || !a.HeldOut()
		}
		if held != tc.wantHeld || other != tc.wantOther {
			t.Errorf("%s: held-out pairs %v (want %v), others %v (want %v)", tc.split, held, tc.wantHeld, other, tc.wantOther)
		}
		if tc.split != "heldout" && len(motions) != len(clipMotions) {
			t.Errorf("%s: %d motions in 400 clips, want %d", tc.split, len(motions), len(clipMotions))
		}
	}
}

// TestClipsMoveAsCaptioned measures each clip from its pixels: the
// centroid moves the captioned way, the area grows or shrinks, the colour
// turns, and every word of the caption is in ClipsVocabulary.
func TestClipsMoveAsCaptioned(t *testing.T) {
	s := Clips(200, 8, 3, "all")
	vocab := ClipsVocabulary()
	const d = 3 * 32 * 32
	for i := range s.N {
		a, err := ClipAttrsOf(s, i)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{a.Size, a.Color, a.Shape} {
			if !slices.Contains(vocab, w) {
				t.Errorf("%q not in the vocabulary", w)
			}
		}
		clip := s.Image(i)
		stat := func(f int) (x, y, area float64, rgb [3]float64) {
			fr := clip[f*d : (f+1)*d]
			for p := range 32 * 32 {
				m := max(fr[p], fr[1024+p], fr[2048+p])
				x += float64(m) * float64(p%32)
				y += float64(m) * float64(p/32)
				area += float64(m)
				for c := range 3 {
					rgb[c] += float64(fr[c*1024+p])
				}
			}
			return x / area, y / area, area, rgb
		}
		x0, y0, a0, c0 := stat(0)
		x1, y1, a1, c1 := stat(7)
		dx, dy, move := a.Move()
		switch {
		case move:
			if math.Abs((x1-x0)-float64(dx)*14) > 1.5 || math.Abs((y1-y0)-float64(dy)*14) > 1.5 {
				t.Errorf("%q: centroid moves (%.1f, %.1f)", s.Captions[i], x1-x0, y1-y0)
			}
		case a.Motion == "growing" && a1 < 3*a0, a.Motion == "shrinking" && a0 < 3*a1:
			t.Errorf("%q: area %.0f -> %.0f", s.Captions[i], a0, a1)
		case a.Motion == "turning" && c0 == c1:
			t.Errorf("%q: colour did not change", s.Captions[i])
		}
	}
}

func TestParseClipCaption(t *testing.T) {
	good := map[string]ClipAttrs{
		"a small red circle moving from left to right": {Size: "small", Color: "red", Shape: "circle", Motion: "left to right"},
		" A large blue cross  growing.":                {Size: "large", Color: "blue", Shape: "cross", Motion: "growing"},
		"a small cyan square turning orange":           {Size: "small", Color: "cyan", Shape: "square", Motion: "turning", To: "orange"},
	}
	for s, want := range good {
		if got, err := ParseClipCaption(s); err != nil || got != want {
			t.Errorf("%q: %+v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "a red circle growing", "a small red circle turning red", "a small red circle moving left",
		"a small red circle growing fast", "a huge red circle growing", "a small red blob growing"} {
		if _, err := ParseClipCaption(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}
