package images

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// LabeledGrid lays tiles out as Grid does, in rows of len(colLabels),
// on white, with each column's label above it and each row's label to
// its left, in a 7×13 pixel bitmap font (the X/Y plots of genlab xy):
//
//	            guidance=1   guidance=3
//	steps=10    [tile]       [tile]
//	steps=25    [tile]       [tile]
//
// A column is as wide as its widest tile or label; a tile is centred in
// its cell. len(tiles) must be len(colLabels)·len(rowLabels). The result
// is an *image.NRGBA.
func LabeledGrid(tiles []image.Image, colLabels, rowLabels []string) image.Image {
	cols, rows := len(colLabels), len(rowLabels)
	if cols*rows != len(tiles) || cols == 0 {
		panic("images: LabeledGrid of a number of tiles other than columns × rows")
	}
	const pad, gap = 4, 2 // around the labels, between the tiles
	face := basicfont.Face7x13
	lineH := face.Metrics().Height.Ceil()
	var w, h int
	for _, t := range tiles {
		w, h = max(w, t.Bounds().Dx()), max(h, t.Bounds().Dy())
	}
	colW := w
	for _, l := range colLabels {
		colW = max(colW, font.MeasureString(face, l).Ceil()+2*pad)
	}
	left := 0
	for _, l := range rowLabels {
		left = max(left, font.MeasureString(face, l).Ceil()+2*pad)
	}
	top := lineH + 2*pad
	rowH := max(h, lineH)
	out := image.NewNRGBA(image.Rect(0, 0, left+cols*(colW+gap)+gap, top+rows*(rowH+gap)+gap))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	text := func(s string, x, y int) { // y: the line's top
		d := font.Drawer{Dst: out, Src: image.NewUniform(color.Black), Face: face,
			Dot: fixed.P(x, y+face.Metrics().Ascent.Ceil())}
		d.DrawString(s)
	}
	for i, l := range colLabels {
		x := left + gap + i*(colW+gap)
		text(l, x+(colW-font.MeasureString(face, l).Ceil())/2, pad)
	}
	for j, l := range rowLabels {
		y := top + gap + j*(rowH+gap)
		text(l, pad, y+(rowH-lineH)/2)
	}
	for k, t := range tiles {
		b := t.Bounds()
		x := left + gap + (k%cols)*(colW+gap) + (colW-b.Dx())/2
		y := top + gap + (k/cols)*(rowH+gap) + (rowH-b.Dy())/2
		draw.Draw(out, image.Rect(x, y, x+b.Dx(), y+b.Dy()), t, b.Min, draw.Src)
	}
	return out
}
