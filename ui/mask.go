package ui

import (
	"image"
	"image/color"
)

// Mask is an inpainting mask painted over an image of its size: set
// pixels are the ones to fill (white in the mask PNG, as `genlab inpaint`
// takes it).
type Mask struct {
	W, H int
	Pix  []bool // row-major
}

// NewMask is an empty mask of w×h pixels.
func NewMask(w, h int) *Mask { return &Mask{W: w, H: h, Pix: make([]bool, w*h)} }

// Paint sets the pixels within radius of (x, y), in image pixels: a round
// brush of diameter 2·radius.
func (m *Mask) Paint(x, y, radius float32) {
	r := max(radius, 0.5)
	x0, x1 := int(x-r), int(x+r)+1
	y0, y1 := int(y-r), int(y+r)+1
	for py := max(0, y0); py < min(m.H, y1); py++ {
		for px := max(0, x0); px < min(m.W, x1); px++ {
			dx, dy := float32(px)+0.5-x, float32(py)+0.5-y
			if dx*dx+dy*dy <= r*r {
				m.Pix[py*m.W+px] = true
			}
		}
	}
}

// Stroke paints a line from (x0, y0) to (x1, y1), so a fast drag leaves
// no gaps.
func (m *Mask) Stroke(x0, y0, x1, y1, radius float32) {
	dx, dy := x1-x0, y1-y0
	n := int(max(abs32(dx), abs32(dy))/max(radius/2, 0.5)) + 1
	for i := 0; i <= n; i++ {
		t := float32(i) / float32(n)
		m.Paint(x0+t*dx, y0+t*dy, radius)
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// Clear unsets every pixel.
func (m *Mask) Clear() { clear(m.Pix) }

// Invert swaps what is filled and what is kept.
func (m *Mask) Invert() {
	for i, v := range m.Pix {
		m.Pix[i] = !v
	}
}

// Count is the number of pixels to fill.
func (m *Mask) Count() int {
	n := 0
	for _, v := range m.Pix {
		if v {
			n++
		}
	}
	return n
}

// Image is the mask as `genlab inpaint` reads it: white where to fill.
func (m *Mask) Image() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, m.W, m.H))
	for i, v := range m.Pix {
		if v {
			g.Pix[i] = 255
		}
	}
	return g
}

// Overlay is the mask as drawn over the image: translucent red where set.
func (m *Mask) Overlay() *image.NRGBA {
	o := image.NewNRGBA(image.Rect(0, 0, m.W, m.H))
	red := color.NRGBA{R: 255, G: 40, B: 40, A: 140}
	for i, v := range m.Pix {
		if v {
			o.SetNRGBA(i%m.W, i/m.W, red)
		}
	}
	return o
}
