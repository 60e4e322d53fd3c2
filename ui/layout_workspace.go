package ui

import (
	"fmt"
	"image"
	"path/filepath"
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

// layoutWorkspace is the tab's progress, its images and the gallery, or
// one image zoomed to the whole space.
func (u *UI) layoutWorkspace(gtx C) D {
	return layout.UniformInset(10).Layout(gtx, func(gtx C) D {
		if u.zoom && u.sel >= 0 && u.sel < len(u.results) {
			return u.layoutZoom(gtx)
		}
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(u.layoutProgress),
			gap(8),
			layout.Flexed(0.55, u.layoutStage),
			gap(8),
			layout.Flexed(0.45, u.layoutGallery),
		)
	})
}

// layoutZoom is the selected image as large as the workspace allows.
func (u *UI) layoutZoom(gtx C) D {
	r := u.results[u.sel]
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(u.button(&u.zoomBtn, "Close zoom", true)), gap(8),
				layout.Rigid(func(gtx C) D {
					if u.shownClip() == nil {
						return D{}
					}
					txt := map[bool]string{true: "Pause", false: "Play"}[u.player.playing]
					return layout.Inset{Right: 8}.Layout(gtx, u.button(&u.player.btn, txt, true))
				}),
				layout.Flexed(1, u.muted(r.Caption()+" · Esc closes")),
			)
		}),
		gap(8),
		layout.Flexed(1, func(gtx C) D {
			return u.drawImage(gtx, u.frameShown(&r), min(gtx.Constraints.Max.X, gtx.Constraints.Max.Y))
		}),
	)
}

func (u *UI) layoutProgress(gtx C) D {
	var st JobStatus
	job := u.cur().job
	if job != nil {
		st = job.Status()
	}
	txt := "idle"
	switch {
	case st.Running:
		txt = fmt.Sprintf("%s: step %d of %d · %s", st.Name, st.Done, st.Total, etaText(st))
	case st.Cancelled:
		txt = fmt.Sprintf("%s: cancelled at step %d of %d", st.Name, st.Done, st.Total)
	case st.Err != nil:
		txt = st.Name + ": failed"
	case job != nil:
		txt = fmt.Sprintf("%s: done in %s", st.Name, st.Elapsed.Round(10*time.Millisecond))
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			pb := material.ProgressBar(u.th, st.Fraction())
			if !st.Running && !st.Cancelled && job != nil && st.Err == nil {
				pb = material.ProgressBar(u.th, 1)
			}
			return pb.Layout(gtx)
		}),
		gap(4),
		layout.Rigid(func(gtx C) D {
			l := u.label(12, txt)
			l.Color, l.MaxLines = mutedFg, 1
			return l.Layout(gtx)
		}),
	)
}

// shown is the result the PNG info tab and Reuse settings are about: the
// one read in the info tab, or else the gallery's selection.
func (u *UI) shown() *Result {
	if u.tab == TabInfo && u.info != nil {
		return u.info
	}
	if u.sel >= 0 && u.sel < len(u.results) {
		return &u.results[u.sel]
	}
	return nil
}

// layoutStage shows the tab's images side by side, each in a square pane
// that scales to the space there is: the live preview or the selected
// image (Generate), the mask canvas and the result (Inpaint), the inputs
// and the result (the other tasks), an image and its settings (PNG info).
func (u *UI) layoutStage(gtx C) D {
	st := u.cur()
	panes := 2
	switch u.tab {
	case TabGenerate, TabXY:
		panes = 1
	case TabStyle:
		panes = 3
	}
	capH := gtx.Dp(18)
	gapPx := gtx.Dp(12)
	box := min(gtx.Constraints.Max.Y-capH, (gtx.Constraints.Max.X-(panes-1)*gapPx)/panes, gtx.Dp(512))
	caption := func(txt string, w layout.Widget) layout.FlexChild {
		return layout.Rigid(func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Max.X = box
					l := u.label(12, txt)
					l.Color, l.MaxLines = mutedFg, 1
					return l.Layout(gtx)
				}),
				layout.Rigid(w))
		})
	}
	img := func(im image.Image) layout.Widget {
		return func(gtx C) D { return u.drawImage(gtx, im, box) }
	}
	result := func() layout.FlexChild {
		txt := "result"
		if st.result == nil {
			txt = "result: none yet"
		}
		return caption(txt, img(st.result))
	}
	source := func(name string) layout.FlexChild {
		if st.source == nil {
			name += ": load one, or Use as source"
		}
		return caption(name, img(st.source))
	}
	switch u.tab {
	case TabGenerate:
		var js JobStatus
		if st.job != nil {
			js = st.job.Status()
		}
		if js.Running && js.Preview != nil {
			return layout.Flex{}.Layout(gtx, caption("live preview (predicted image)", img(js.Preview)))
		}
		if u.sel >= 0 && u.sel < len(u.results) {
			r := &u.results[u.sel]
			if u.shownClip() != nil {
				return layout.Flex{}.Layout(gtx, caption(r.Caption(), img(u.frameShown(r))), gap(12), layout.Flexed(1, u.layoutPlayer))
			}
			return layout.Flex{}.Layout(gtx, caption(r.Caption(), img(r.Image)))
		}
		return layout.Flex{}.Layout(gtx, caption("Pick a model, set the knobs and press Generate (or Ctrl+Enter).", img(nil)))
	case TabXY:
		if js := st.job; js != nil && js.Status().Running && js.Status().Preview != nil {
			return layout.Flex{}.Layout(gtx, caption("live preview of the cell being drawn", img(js.Status().Preview)))
		}
		if st.result != nil {
			// A plot is as wide as the stage lets it be.
			wide := image.Pt(min(gtx.Constraints.Max.X, gtx.Dp(1024)), box)
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(u.muted("the last X/Y plot (also in the gallery)")),
				layout.Rigid(func(gtx C) D { return u.drawImageIn(gtx, st.result, wide) }))
		}
		return layout.Flex{}.Layout(gtx, caption("Pick two knobs, type their values and press Run X/Y plot.", img(nil)))
	case TabInpaint:
		canvas := caption("source: load one, or Use as source", img(nil))
		if st.source != nil {
			canvas = caption("paint the mask here", func(gtx C) D { return u.canvas.layout(gtx, u, box) })
		}
		return layout.Flex{}.Layout(gtx, canvas, gap(12), result())
	case TabStyle:
		return layout.Flex{}.Layout(gtx,
			source("content"), gap(12),
			caption("style", img(u.styleImg)), gap(12),
			result(),
		)
	case TabInfo:
		r := u.shown()
		if r == nil {
			return layout.Flex{}.Layout(gtx, caption("no image: read a PNG, or pick one in the gallery", img(nil)))
		}
		return layout.Flex{}.Layout(gtx,
			caption(r.Label(), img(r.Image)), gap(12),
			layout.Flexed(1, func(gtx C) D { return u.layoutInfoText(gtx, *r) }),
		)
	default:
		return layout.Flex{}.Layout(gtx, source("source"), gap(12), result())
	}
}

// layoutInfoText is a result's file and its parameters, in full.
func (u *UI) layoutInfoText(gtx C, r Result) D {
	txt := "no parameters: this PNG records no settings"
	if r.HasParams() {
		txt = r.Params.String()
	}
	if r.Path != "" {
		txt = "File: " + r.Path + "\n\n" + txt
	}
	b := r.Image.Bounds()
	txt += fmt.Sprintf("\n\nImage: %dx%d pixels", b.Dx(), b.Dy())
	if r.IsClip() {
		txt += fmt.Sprintf(", %d frames (an animated PNG)", len(r.Frames))
	}
	return material.List(u.th, &u.infoList).Layout(gtx, 1, func(gtx C, _ int) D {
		l := material.Label(u.th, 13, txt)
		l.State = &u.infoText
		return l.Layout(gtx)
	})
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
	return u.drawImageIn(gtx, img, image.Pt(size, size))
}

// drawImageIn is drawImage in a box of size sz (a wide X/Y plot).
func (u *UI) drawImageIn(gtx C, img image.Image, sz image.Point) D {
	sz = image.Pt(max(sz.X, 1), max(sz.Y, 1))
	paint.FillShape(gtx.Ops, imageBg, clip.Rect{Max: sz}.Op())
	if img != nil {
		b := img.Bounds()
		scale := min(float32(sz.X)/float32(b.Dx()), float32(sz.Y)/float32(b.Dy()))
		w, h := float32(b.Dx())*scale, float32(b.Dy())*scale
		off := f32.Pt((float32(sz.X)-w)/2, (float32(sz.Y)-h)/2)
		defer op.Affine(f32.AffineId().Scale(f32.Point{}, f32.Pt(scale, scale)).Offset(off)).Push(gtx.Ops).Pop()
		u.imageOp(img).Add(gtx.Ops)
		defer clip.Rect{Max: b.Size()}.Push(gtx.Ops).Pop()
		paint.PaintOp{}.Add(gtx.Ops)
	}
	return D{Size: sz}
}

func (u *UI) layoutGallery(gtx C) D {
	has := u.sel >= 0 && u.sel < len(u.results)
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			undo := layout.Rigid(u.button(&u.clearBtn, "Clear", len(u.results) > 0))
			if u.cleared != nil {
				undo = layout.Rigid(u.button(&u.undoBtn, "Undo clear", true))
			}
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(u.heading(fmt.Sprintf("Gallery (%d)", len(u.results)))),
				gap(10),
				layout.Rigid(u.button(&u.zoomBtn, "Zoom", has)), gap(4),
				layout.Rigid(u.button(&u.reuseBtn, "Reuse settings", has && u.results[u.sel].HasParams())), gap(4),
				layout.Rigid(u.button(&u.useBtn, "Use as source", has)), gap(4),
				undo,
			)
		}),
		gap(4),
		layout.Rigid(func(gtx C) D {
			var scales []layout.FlexChild
			for _, f := range []string{"1", "2", "4", "8"} {
				scales = append(scales, layout.Rigid(func(gtx C) D {
					r := material.RadioButton(u.th, &u.saveScale, f, "×"+f)
					r.TextSize, r.Size = 12, 16
					return r.Layout(gtx)
				}))
			}
			children := []layout.FlexChild{
				layout.Rigid(u.button(&u.saveBtn, "Save", has)), gap(4),
				layout.Rigid(u.button(&u.saveAllBtn, "Save all", len(u.results) > 0)), gap(6),
			}
			children = append(children, scales...)
			children = append(children, gap(6), layout.Rigid(u.muted("to")), gap(4),
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, &u.outDir, "outputs/saved") }))
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...)
		}),
		gap(4),
		layout.Rigid(func(gtx C) D {
			if !has {
				return D{}
			}
			r := u.results[u.sel]
			p := "no parameters"
			if r.HasParams() {
				p = strings.ReplaceAll(r.Params.String(), "\n", " · ")
			}
			if r.Path != "" {
				p = filepath.Base(r.Path) + " · " + p
			}
			l := u.label(12, p)
			l.Color, l.MaxLines = mutedFg, 2
			return layout.Inset{Bottom: 4}.Layout(gtx, l.Layout)
		}),
		layout.Flexed(1, u.layoutTiles),
	)
}

// layoutTiles is the gallery grid: each result with its caption.
func (u *UI) layoutTiles(gtx C) D {
	tile := gtx.Dp(112)
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
				l := u.label(11, r.Label())
				l.MaxLines = 2
				return l.Layout(gtx)
			}),
			layout.Rigid(func(gtx C) D {
				if !r.HasParams() {
					return D{}
				}
				gtx.Constraints.Max.X = size
				l := u.label(11, fmt.Sprintf("seed %d", r.Seed))
				l.Color, l.MaxLines = mutedFg, 1
				return l.Layout(gtx)
			}),
		)
	})
}
