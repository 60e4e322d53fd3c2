package ui

import (
	"image"

	"gioui.org/f32"
	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
)

// canvasState is the inpainting canvas: the source image with its mask,
// painted by dragging the mouse.
type canvasState struct {
	scale    float32 // screen px per image px, from the last frame
	last     f32.Point
	painting bool
}

func (c *canvasState) update(gtx C, m *Mask, radius float32) {
	for {
		ev, ok := gtx.Event(pointer.Filter{Target: c, Kinds: pointer.Press | pointer.Drag | pointer.Release | pointer.Cancel})
		if !ok {
			return
		}
		e, ok := ev.(pointer.Event)
		if !ok || m == nil || c.scale <= 0 {
			continue
		}
		p := e.Position.Div(c.scale)
		switch e.Kind {
		case pointer.Press:
			c.painting = true
			m.Paint(p.X, p.Y, radius)
		case pointer.Drag:
			if c.painting {
				m.Stroke(c.last.X, c.last.Y, p.X, p.Y, radius)
			}
		case pointer.Release, pointer.Cancel:
			c.painting = false
		}
		c.last = p
	}
}

func (c *canvasState) layout(gtx C, u *UI, size int) D {
	st := &u.tabs[TabInpaint]
	img := st.source
	b := img.Bounds()
	c.scale = min(float32(size)/float32(b.Dx()), float32(size)/float32(b.Dy()))
	sz := image.Pt(int(float32(b.Dx())*c.scale), int(float32(b.Dy())*c.scale))
	paint.FillShape(gtx.Ops, imageBg, clip.Rect{Max: sz}.Op())
	tr := op.Affine(f32.AffineId().Scale(f32.Point{}, f32.Pt(c.scale, c.scale))).Push(gtx.Ops)
	for _, im := range []image.Image{img, st.mask.Overlay()} {
		io := paint.NewImageOp(im)
		if im == img {
			io = u.imageOp(img)
		}
		io.Filter = paint.FilterNearest
		io.Add(gtx.Ops)
		cl := clip.Rect{Min: b.Min, Max: b.Max}.Push(gtx.Ops)
		paint.PaintOp{}.Add(gtx.Ops)
		cl.Pop()
	}
	tr.Pop()
	defer clip.Rect{Max: sz}.Push(gtx.Ops).Pop()
	event.Op(gtx.Ops, c)
	pointer.CursorCrosshair.Add(gtx.Ops)
	semantic.DescriptionOp("mask canvas").Add(gtx.Ops)
	return D{Size: sz}
}
