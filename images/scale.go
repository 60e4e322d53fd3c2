package images

import (
	"image"
	"image/draw"
)

// MaxUpscale is the largest factor Upscale takes.
const MaxUpscale = 16

// Upscale returns img n times wider and taller by nearest neighbour, each
// pixel an n×n block, so a 28×28 sample stays sharp on a slide. n = 1
// returns img itself; n must be from 1 to MaxUpscale. The result is an
// *image.Gray for a grey image, an *image.NRGBA otherwise.
func Upscale(img image.Image, n int) image.Image {
	if n < 1 || n > MaxUpscale {
		panic("images: Upscale by a factor out of 1 to MaxUpscale")
	}
	if n == 1 {
		return img
	}
	b := img.Bounds()
	if g, ok := img.(*image.Gray); ok { // grey stays grey
		out := image.NewGray(image.Rect(0, 0, b.Dx()*n, b.Dy()*n))
		for y := range out.Rect.Dy() {
			for x := range out.Rect.Dx() {
				out.Pix[y*out.Stride+x] = g.GrayAt(b.Min.X+x/n, b.Min.Y+y/n).Y
			}
		}
		return out
	}
	src := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx()*n, b.Dy()*n))
	for y := range out.Rect.Dy() {
		row := src.Pix[(y/n)*src.Stride:]
		o := out.Pix[y*out.Stride:]
		for x := range out.Rect.Dx() {
			copy(o[4*x:4*x+4], row[4*(x/n):4*(x/n)+4])
		}
	}
	return out
}
