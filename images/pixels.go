package images

import (
	"fmt"
	"image"
	"image/color"
)

// FromFloats turns one CHW image with values in [0, 1] into an image:
// c=1 gives an *image.Gray, c=3 an *image.NRGBA (opaque) and c=4 an
// *image.NRGBA with the fourth channel as alpha. Values are clamped to
// [0, 1] (NaN counts as 0) and rounded to the nearest of 256 levels,
// like torchvision's save_image. It panics if len(pix) != c*h*w or c is not
// 1, 3 or 4.
func FromFloats(pix []float32, c, h, w int) image.Image {
	if c != 1 && c != 3 && c != 4 {
		panic(fmt.Sprintf("images: FromFloats: %d channels, want 1, 3 or 4", c))
	}
	if h < 0 || w < 0 || len(pix) != c*h*w {
		panic(fmt.Sprintf("images: FromFloats: %d values for %dx%dx%d", len(pix), c, h, w))
	}
	plane := h * w
	if c == 1 {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := range plane {
			img.Pix[i] = toByte(pix[i])
		}
		return img
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range plane {
		img.Pix[4*i] = toByte(pix[i])
		img.Pix[4*i+1] = toByte(pix[plane+i])
		img.Pix[4*i+2] = toByte(pix[2*plane+i])
		img.Pix[4*i+3] = 255
		if c == 4 {
			img.Pix[4*i+3] = toByte(pix[3*plane+i])
		}
	}
	return img
}

func toByte(v float32) uint8 {
	if !(v > 0) { // also NaN
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + 0.5)
}

// ToFloats returns img as c*h*w values in [0, 1], CHW order, the inverse of
// FromFloats. c=1 gives luminance (ITU-R 601 weights, 0.299 R + 0.587 G +
// 0.114 B, as PIL's convert("L")); c=3 gives RGB and c=4 RGBA, both with
// colour not premultiplied by alpha (a gray image gives equal channels).
// Alpha is dropped for c=1 and c=3. It panics if c is not 1, 3 or 4.
func ToFloats(img image.Image, c int) []float32 {
	if c != 1 && c != 3 && c != 4 {
		panic(fmt.Sprintf("images: ToFloats: %d channels, want 1, 3 or 4", c))
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	plane := w * h
	out := make([]float32, c*plane)
	if g, ok := img.(*image.Gray); ok && c == 1 {
		for y := range h {
			row := g.Pix[y*g.Stride : y*g.Stride+w]
			for x, v := range row {
				out[y*w+x] = float32(v) / 255
			}
		}
		return out
	}
	n, isNRGBA := img.(*image.NRGBA)
	for y := range h {
		for x := range w {
			i := y*w + x
			var r, g, bl, a float64
			if isNRGBA {
				// Read the bytes: going through color.Color would premultiply
				// and lose the colour of transparent pixels.
				px := n.Pix[y*n.Stride+4*x:]
				r, g, bl, a = 257*float64(px[0]), 257*float64(px[1]), 257*float64(px[2]), 257*float64(px[3])
			} else {
				r, g, bl, a = nrgba(img.At(b.Min.X+x, b.Min.Y+y))
			}
			if c == 1 {
				out[i] = float32((0.299*r + 0.587*g + 0.114*bl) / 65535)
				continue
			}
			out[i] = float32(r / 65535)
			out[plane+i] = float32(g / 65535)
			out[2*plane+i] = float32(bl / 65535)
			if c == 4 {
				out[3*plane+i] = float32(a / 65535)
			}
		}
	}
	return out
}

// nrgba returns a colour's non-premultiplied 16-bit channels.
func nrgba(c color.Color) (r, g, b, a float64) {
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return float64(n.R), float64(n.G), float64(n.B), float64(n.A)
}
