package datasets

import (
	"errors"
	"slices"
	"testing"
)

func TestShapesNewSplit(t *testing.T) {
	newColors, newShapes := ShapesNewConcepts()
	if !slices.Equal(newColors, []string{"purple"}) || !slices.Equal(newShapes, []string{"star"}) {
		t.Fatalf("new concepts %v %v", newColors, newShapes)
	}
	for _, split := range []string{"train", "test", "heldout", "all"} {
		s := Shapes(2000, 3, split)
		for i := range s.N {
			a, _ := ShapeAttrsOf(s, i)
			if a.IsNew() {
				t.Fatalf("%s image %d is %q: a base split drew a new concept", split, i, s.Captions[i])
			}
		}
	}
	s := Shapes(2000, 3, "new")
	sawStar, sawPurple := false, false
	for i := range s.N {
		a, err := ShapeAttrsOf(s, i)
		if err != nil {
			t.Fatal(err)
		}
		if !a.IsNew() {
			t.Fatalf("new image %d is %q, no new concept", i, s.Captions[i])
		}
		if slices.Contains(ShapesNewHeldOut(), ShapeAttrs{Color: a.Color, Shape: a.Shape}) {
			t.Fatalf("new image %d is the held-out pair %q", i, s.Captions[i])
		}
		sawStar = sawStar || a.Shape == "star"
		sawPurple = sawPurple || a.Color == "purple"
	}
	if !sawStar || !sawPurple {
		t.Errorf("star %v, purple %v in the new split", sawStar, sawPurple)
	}
	for _, w := range ShapesVocabulary() {
		if w == "star" || w == "purple" {
			t.Errorf("the base vocabulary holds %q", w)
		}
	}
	both := ShapesWithNew(30, 20, 1)
	if both.N != 50 || len(both.Captions) != 50 || len(both.Pixels) != 50*both.Dim() || both.Check() != nil {
		t.Fatalf("ShapesWithNew: N %d, %d captions", both.N, len(both.Captions))
	}
	for i := range both.N {
		a, _ := ShapeAttrsOf(both, i)
		if a.IsNew() != (i >= 30) {
			t.Fatalf("ShapesWithNew image %d is %q", i, both.Captions[i])
		}
	}
	set, err := Load("shapes-new", "train")
	if err != nil || set.N != ShapesNewN || set.Captions == nil {
		t.Fatalf("Load shapes-new: %v", err)
	}
}

// A star is drawn: its pixels cover less than a circle of its size and
// more than nothing, and its outline has points (dents between the arms).
func TestShapesStarRendering(t *testing.T) {
	if !insideStar(0, 0) || !insideStar(0, -1.0) || insideStar(0.8, -0.8) || insideStar(0, 1.05) {
		t.Error("star point tests wrong")
	}
	c, _, _, _ := ShapesAttributesWithNew()
	if c[len(c)-1] != "purple" {
		t.Errorf("colours %v", c)
	}
}

func TestLoadFolderMetadata(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"a.png": encodePNG(t, paint(8, 8, solid(red))),
		"b.png": encodePNG(t, paint(8, 8, solid(blue))),
		MetadataFile: []byte(`{"file_name": "b.png", "text": "a blue zorb"}
{"file_name": "a.png", "text": "a red zorb"}
`),
	})
	s, err := LoadFolder(dir, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Captions, []string{"a red zorb", "a blue zorb"}) {
		t.Errorf("captions %q", s.Captions)
	}
	for name, meta := range map[string]string{
		"missing caption": `{"file_name": "a.png", "text": "x"}`,
		"unknown file":    `{"file_name": "a.png", "text": "x"}` + "\n" + `{"file_name": "b.png", "text": "y"}` + "\n" + `{"file_name": "c.png", "text": "z"}`,
		"bad json":        `{"file_name": "a.png"`,
		"no text":         `{"file_name": "a.png"}`,
	} {
		writeFiles(t, dir, map[string][]byte{MetadataFile: []byte(meta)})
		var fe *FormatError
		if _, err := LoadFolder(dir, 8, 3); !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a FormatError", name, err)
		}
	}
}
