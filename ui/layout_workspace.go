package ui

import (
	"fmt"
	"image"
	"strings"
	"time"

	"gioui.org/f32"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// layoutWorkspace is the progress, the image being worked on and the
// gallery.
func (u *UI) layoutWorkspace(gtx C) D {
	return layout.UniformInset(10).Layout(gtx, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(u.layoutProgress),
			gap(8),
			layout.Flexed(0.55, u.layoutStage),
			gap(8),
			layout.Flexed(0.45, u.layoutGallery),
		)
	})
}

func (u *UI) layoutProgress(gtx C) D {
	var st JobStatus
	if u.job != nil {
		st = u.job.Status()
	}
	txt := "idle"
	switch {
	case st.Running:
		txt = fmt.Sprintf("%s: step %d of %d · %s", st.Name, st.Done, st.Total, etaText(st))
	case st.Cancelled:
		txt = fmt.Sprintf("%s: cancelled at step %d of %d", st.Name, st.Done, st.Total)
	case st.Err != nil:
		txt = st.Name + ": failed"
	case u.job != nil:
		txt = fmt.Sprintf("%s: done in %s", st.Name, st.Elapsed.Round(10*time.Millisecond))
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			pb := material.ProgressBar(u.th, st.Fraction())
			if !st.Running && !st.Cancelled && u.job != nil && st.Err == nil {
				pb = material.ProgressBar(u.th, 1)
			}
			return pb.Layout(gtx)
		}),
		gap(4),
		layout.Rigid(u.muted(txt)),
	)
}

// layoutStage shows the live preview or the selected image (Generate),
// the mask canvas (Inpaint) or a task's input and output.
func (u *UI) layoutStage(gtx C) D {
	box := min(gtx.Constraints.Max.Y-gtx.Dp(20), gtx.Dp(400))
	caption := func(txt string, w layout.Widget) layout.FlexChild {
		return layout.Rigid(func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx, layout.Rigid(u.muted(txt)), layout.Rigid(w))
		})
	}
	img := func(im image.Image) layout.Widget {
		return func(gtx C) D { return u.drawImage(gtx, im, box) }
	}
	switch u.tab {
	case TabGenerate:
		var st JobStatus
		if u.job != nil {
			st = u.job.Status()
		}
		if st.Running && st.Preview != nil {
			return layout.Flex{}.Layout(gtx, caption("live preview (predicted image)", img(st.Preview)))
		}
		if u.sel >= 0 && u.sel < len(u.results) {
			return layout.Flex{}.Layout(gtx, caption(u.results[u.sel].Caption(), img(u.results[u.sel].Image)))
		}
		return u.muted("Pick a model, set the knobs and press Generate.")(gtx)
	case TabInpaint:
		if u.source == nil {
			return u.muted("Load an image, or pick one in the gallery and press Use, then paint the region to fill.")(gtx)
		}
		return layout.Flex{}.Layout(gtx,
			caption("paint the mask here", func(gtx C) D { return u.canvas.layout(gtx, u, box) }),
			gap(12),
			caption("result", img(u.taskResult)),
		)
	case TabStyle:
		return layout.Flex{}.Layout(gtx,
			caption("content", img(u.source)), gap(12),
			caption("style", img(u.styleImg)), gap(12),
			caption("result", img(u.taskResult)),
		)
	default:
		return layout.Flex{}.Layout(gtx,
			caption("source", img(u.source)), gap(12),
			caption("result", img(u.taskResult)),
		)
	}
}

// imageOp caches the GPU image of img.
func (u *UI) imageOp(img image.Image) paint.ImageOp {
	if op, ok := u.resultCache[img]; ok {
		return op
	}
	op := paint.NewImageOp(img)
	op.Filter = paint.FilterNearest
	if len(u.resultCache) > 512 {
		clear(u.resultCache)
	}
	u.resultCache[img] = op
	return op
}

// drawImage draws img scaled to fit a size×size box, pixels sharp, on a
// dark ground (an empty box when img is nil).
func (u *UI) drawImage(gtx C, img image.Image, size int) D {
	size = max(size, 1)
	sz := image.Pt(size, size)
	paint.FillShape(gtx.Ops, imageBg, clip.Rect{Max: sz}.Op())
	if img != nil {
		b := img.Bounds()
		scale := min(float32(size)/float32(b.Dx()), float32(size)/float32(b.Dy()))
		w, h := float32(b.Dx())*scale, float32(b.Dy())*scale
		off := f32.Pt((float32(size)-w)/2, (float32(size)-h)/2)
		defer op.Affine(f32.AffineId().Scale(f32.Point{}, f32.Pt(scale, scale)).Offset(off)).Push(gtx.Ops).Pop()
		u.imageOp(img).Add(gtx.Ops)
		defer clip.Rect{Max: b.Size()}.Push(gtx.Ops).Pop()
		paint.PaintOp{}.Add(gtx.Ops)
	}
	return D{Size: sz}
}

func (u *UI) layoutGallery(gtx C) D {
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			has := u.sel >= 0 && u.sel < len(u.results)
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(u.heading(fmt.Sprintf("Gallery (%d)", len(u.results)))),
				gap(12),
				layout.Rigid(u.button(&u.saveBtn, "Save", has)), gap(4),
				layout.Rigid(u.button(&u.saveAllBtn, "Save all", len(u.results) > 0)), gap(4),
				layout.Rigid(u.button(&u.reuseBtn, "Reuse settings", has)), gap(4),
				layout.Rigid(u.button(&u.useBtn, "Use as source", has)), gap(4),
				layout.Rigid(u.button(&u.clearBtn, "Clear", len(u.results) > 0)), gap(8),
				layout.Rigid(u.muted("to")), gap(4),
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, &u.outDir, "out/ui") }),
			)
		}),
		gap(6),
		layout.Rigid(func(gtx C) D {
			if u.sel < 0 || u.sel >= len(u.results) {
				return D{}
			}
			p := u.results[u.sel].Params.String()
			l := u.label(12, strings.ReplaceAll(p, "\n", " · "))
			l.Color, l.MaxLines = mutedFg, 2
			return layout.Inset{Bottom: 6}.Layout(gtx, l.Layout)
		}),
		layout.Flexed(1, u.layoutTiles),
	)
}

// layoutTiles is the gallery grid: each result with its caption.
func (u *UI) layoutTiles(gtx C) D {
	tile := gtx.Dp(104)
	cols := max(1, gtx.Constraints.Max.X/(tile+gtx.Dp(8)))
	rows := (len(u.results) + cols - 1) / cols
	return material.List(u.th, &u.galleryList).Layout(gtx, rows, func(gtx C, row int) D {
		var children []layout.FlexChild
		for i := row * cols; i < min(len(u.results), (row+1)*cols); i++ {
			children = append(children, layout.Rigid(func(gtx C) D {
				return layout.Inset{Right: 8, Bottom: 8}.Layout(gtx, func(gtx C) D { return u.layoutTile(gtx, i, tile) })
			}))
		}
		return layout.Flex{}.Layout(gtx, children...)
	})
}

func (u *UI) layoutTile(gtx C, i, size int) D {
	r := u.results[i]
	return u.tileBtns[i].Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp(fmt.Sprintf("result %d", i)).Add(gtx.Ops)
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx C) D {
				border := lineColor
				if i == u.sel {
					border = u.th.ContrastBg
				}
				return widget.Border{Color: border, Width: 2}.Layout(gtx, func(gtx C) D {
					return layout.UniformInset(2).Layout(gtx, func(gtx C) D { return u.drawImage(gtx, r.Image, size-gtx.Dp(8)) })
				})
			}),
			layout.Rigid(func(gtx C) D {
				gtx.Constraints.Max.X = size
				l := u.label(11, r.Caption())
				l.MaxLines = 1
				return l.Layout(gtx)
			}),
		)
	})
}
