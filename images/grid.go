package images

import (
	"image"
	"image/color"
	"image/draw"
	"math"
)

// Grid lays tiles out in rows of cols, left to right and top to bottom, with
// pad pixels of bg around and between them, as torchvision's make_grid does:
//
//	width  = cols*w + (cols+1)*pad
//	height = rows*h + (rows+1)*pad,  rows = ceil(n/cols)
//
// where w and h are the largest tile width and height; smaller tiles sit at
// the top left of their cell. cols <= 0 means ceil(sqrt(n)) (genlab's
// default, with pad 2); cols is capped at n. A nil bg is opaque black. Grid
// of no tiles is an empty image. The result is an *image.NRGBA.
func Grid(tiles []image.Image, cols int, pad int, bg color.Color) image.Image {
	n := len(tiles)
	if n == 0 {
		return image.NewNRGBA(image.Rectangle{})
	}
	if cols <= 0 {
		cols = GridColumns(n)
	}
	cols = min(cols, n)
	pad = max(pad, 0)
	if bg == nil {
		bg = color.Black
	}
	rows := (n + cols - 1) / cols
	var w, h int
	for _, t := range tiles {
		if t == nil {
			continue
		}
		w = max(w, t.Bounds().Dx())
		h = max(h, t.Bounds().Dy())
	}
	out := image.NewNRGBA(image.Rect(0, 0, cols*w+(cols+1)*pad, rows*h+(rows+1)*pad))
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	for i, t := range tiles {
		if t == nil {
			continue
		}
		at := GridCell(i, cols, w, h, pad)
		b := t.Bounds()
		draw.Draw(out, image.Rectangle{at, at.Add(b.Size())}, t, b.Min, draw.Src)
	}
	return out
}

// GridColumns returns the default number of columns for n tiles,
// ceil(sqrt(n)).
func GridColumns(n int) int {
	c := int(math.Ceil(math.Sqrt(float64(n))))
	for c*c < n { // guard against rounding for large n
		c++
	}
	return max(c, 1)
}

// GridCell returns the top-left corner of tile i in a grid of cols columns
// of w x h tiles with pad pixels of padding, so callers can find a tile
// (e.g. to label it) in a grid made by Grid.
func GridCell(i, cols, w, h, pad int) image.Point {
	return image.Pt(pad+(i%cols)*(w+pad), pad+(i/cols)*(h+pad))
}
