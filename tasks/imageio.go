package tasks

import (
	"fmt"
	"image"
	"image/color"

	"genlab/images"

	"github.com/disintegration/imaging"
)

// Users bring images of any size, shape and colour model; the networks
// take c×size×size. Frame records how one image was fitted into the
// model's square, so that a result can be put back at the image's own
// size: the image is padded to a square with the mean colour of its
// border (black around an MNIST-like digit), resized with a Lanczos
// filter, and converted to the model's channels (grey is ITU-R 601 luma).

// MaxSide is the largest width or height a task accepts for a user's
// image; larger ones are refused rather than ground through slowly.
const MaxSide = 4096

// Frame is the placement of a W×H image in a Side×Side square (at X0, Y0)
// that is resized to the model's Size×Size.
type Frame struct {
	W, H   int // the image's size
	Side   int // the square it is padded to, max(W, H)
	X0, Y0 int // the image's top-left corner in the square
	Size   int // the model's side
	C      int // the model's channels, 1 or 3
}

// FitImage fits img into the model's frame: c×size×size values in [0, 1].
// It returns an error for an empty or oversized image.
func FitImage(img image.Image, size, c int) ([]float32, Frame, error) {
	b := img.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return nil, Frame{}, fmt.Errorf("tasks: the image is empty (%dx%d)", b.Dx(), b.Dy())
	}
	if b.Dx() > MaxSide || b.Dy() > MaxSide {
		return nil, Frame{}, fmt.Errorf("tasks: the image is %dx%d; the largest accepted is %dx%d, shrink it first", b.Dx(), b.Dy(), MaxSide, MaxSide)
	}
	if c != 1 && c != 3 {
		panic(fmt.Sprintf("tasks: FitImage: %d channels, want 1 or 3", c))
	}
	f := Frame{W: b.Dx(), H: b.Dy(), Side: max(b.Dx(), b.Dy()), Size: size, C: c}
	f.X0, f.Y0 = (f.Side-f.W)/2, (f.Side-f.H)/2
	src := imaging.Clone(img) // *image.NRGBA at the origin
	sq := src
	if f.W != f.H {
		sq = imaging.New(f.Side, f.Side, borderColor(src))
		sq = imaging.Paste(sq, src, image.Pt(f.X0, f.Y0))
	}
	if f.Side != size {
		sq = imaging.Resize(sq, size, size, imaging.Lanczos)
	}
	return images.ToFloats(sq, c), f, nil
}

// borderColor is the mean colour of an image's outermost pixels.
func borderColor(m *image.NRGBA) color.NRGBA {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	var sum [4]float64
	n := 0.0
	add := func(x, y int) {
		p := m.Pix[y*m.Stride+4*x:]
		for i := range sum {
			sum[i] += float64(p[i])
		}
		n++
	}
	for x := range w {
		add(x, 0)
		add(x, h-1)
	}
	for y := 1; y < h-1; y++ {
		add(0, y)
		add(w-1, y)
	}
	return color.NRGBA{uint8(sum[0]/n + 0.5), uint8(sum[1]/n + 0.5), uint8(sum[2]/n + 0.5), uint8(sum[3]/n + 0.5)}
}

// Pixels returns the image itself at its own size as the model's channels
// (c×H×W values in [0, 1]), to composite results with.
func (f Frame) Pixels(img image.Image) []float32 {
	return images.ToFloats(imaging.Clone(img), f.C)
}

// Restore puts a model-sized result (C×Size×Size values in [0, 1]) back
// at the image's own size: resized to the square (Catmull-Rom) and cropped
// to the image. The result has C×H×W values.
func (f Frame) Restore(pix []float32) []float32 {
	if len(pix) != f.C*f.Size*f.Size {
		panic(fmt.Sprintf("tasks: Frame.Restore: %d values for %dx%dx%d", len(pix), f.C, f.Size, f.Size))
	}
	if f.Side == f.Size && f.W == f.H {
		return append([]float32(nil), pix...)
	}
	m := images.FromFloats(pix, f.C, f.Size, f.Size)
	if f.Side != f.Size {
		m = imaging.Resize(m, f.Side, f.Side, imaging.CatmullRom)
	}
	m = imaging.Crop(m, image.Rect(f.X0, f.Y0, f.X0+f.W, f.Y0+f.H))
	return images.ToFloats(m, f.C)
}

// Image turns C×H×W values at the image's size into an image.
func (f Frame) Image(pix []float32) image.Image {
	return images.FromFloats(pix, f.C, f.H, f.W)
}

// Mask reads a mask image for the framed image, white meaning "fill":
// a pixel is to be filled when its luminance is at least one half and it
// is not transparent. It must have the image's size exactly. It returns
// the mask at the image's size (H·W values, 1 = fill) and in the model's
// frame (Size·Size values): a model pixel is filled when any noticeable
// share of it (2%) is, and the padding is never filled.
func (f Frame) Mask(mask image.Image) (full, model []float32, err error) {
	b := mask.Bounds()
	if b.Dx() != f.W || b.Dy() != f.H {
		return nil, nil, fmt.Errorf("tasks: the mask is %dx%d but the image is %dx%d; draw the mask over the image itself", b.Dx(), b.Dy(), f.W, f.H)
	}
	m := imaging.Clone(mask)
	full = make([]float32, f.W*f.H)
	any := false
	for y := range f.H {
		for x := range f.W {
			p := m.Pix[y*m.Stride+4*x:]
			lum := 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
			if lum >= 127.5 && p[3] >= 128 {
				full[y*f.W+x] = 1
				any = true
			}
		}
	}
	if !any {
		return nil, nil, fmt.Errorf("tasks: the mask has no white pixels, so there is nothing to fill (white marks the region to fill)")
	}
	sq := image.NewGray(image.Rect(0, 0, f.Side, f.Side))
	for y := range f.H {
		for x := range f.W {
			if full[y*f.W+x] > 0 {
				sq.Pix[(y+f.Y0)*sq.Stride+x+f.X0] = 255
			}
		}
	}
	var small image.Image = sq
	if f.Side != f.Size {
		small = imaging.Resize(sq, f.Size, f.Size, imaging.Box)
	}
	cover := images.ToFloats(small, 1)
	model = make([]float32, len(cover))
	for i, v := range cover {
		if v > 0.02 {
			model[i] = 1
		}
	}
	return full, model, nil
}
