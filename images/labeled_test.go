package images

import (
	"image"
	"image/color"
	"testing"
)

// LabeledGrid puts each tile in its cell, below its column's label and
// right of its row's, and draws the labels: dark pixels above the tiles
// and left of them, none over the tiles.
func TestLabeledGrid(t *testing.T) {
	tile := func(v uint8) image.Image {
		g := image.NewGray(image.Rect(0, 0, 10, 10))
		for i := range g.Pix {
			g.Pix[i] = v
		}
		return g
	}
	tiles := []image.Image{tile(50), tile(100), tile(150), tile(200)}
	g := LabeledGrid(tiles, []string{"guidance=1", "guidance=3"}, []string{"steps=10", "steps=25"})
	b := g.Bounds()
	// Columns are as wide as "guidance=1" (10 chars of 7 px) and padding.
	if b.Dx() < 8*7+2*(10*7) || b.Dy() < 13+2*10 {
		t.Fatalf("grid %v too small for its labels", b)
	}
	found := map[uint8]image.Point{}
	dark := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := g.At(x, y).RGBA()
			v := uint8(r >> 8)
			if _, ok := found[v]; !ok {
				found[v] = image.Pt(x, y)
			}
			if v < 40 {
				dark++
			}
		}
	}
	p50, p100, p150, p200 := found[50], found[100], found[150], found[200]
	if !(p50.X < p100.X && p50.Y == p100.Y && p150.X == p50.X && p150.Y > p50.Y && p200.X == p100.X && p200.Y == p150.Y) {
		t.Errorf("tiles at %v %v %v %v, want a 2x2 grid in order", p50, p100, p150, p200)
	}
	if p50.X < 8*7 || p50.Y < 13 {
		t.Errorf("the first tile at %v overlaps the labels", p50)
	}
	if dark < 100 {
		t.Errorf("%d dark pixels: the labels are not drawn", dark)
	}
	if c := g.At(0, 0); c != (color.NRGBA{255, 255, 255, 255}) {
		t.Errorf("background %v, want white", c)
	}
}
