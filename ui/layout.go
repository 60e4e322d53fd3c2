package ui

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"time"

	"gioui.org/font"
	"gioui.org/io/event"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// The window is three columns under a header of tabs: the checkpoints
// (layout_models.go), the controls of the tab shown (layout_controls.go)
// and the workspace with its progress, stage and gallery
// (layout_workspace.go); the inpainting mask is painted on the canvas of
// canvas.go. This file has the frame, its events and the small widgets
// the columns share.

type (
	C = layout.Context
	D = layout.Dimensions
)

// Colours beyond the theme's.
var (
	panelBg   = color.NRGBA{R: 0xf4, G: 0xf5, B: 0xf8, A: 0xff}
	headerBg  = color.NRGBA{R: 0x26, G: 0x2b, B: 0x3a, A: 0xff}
	headerFg  = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	mutedFg   = color.NRGBA{R: 0x5f, G: 0x63, B: 0x6e, A: 0xff}
	errorFg   = color.NRGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
	selectBg  = color.NRGBA{R: 0xdc, G: 0xe3, B: 0xfb, A: 0xff}
	lineColor = color.NRGBA{R: 0xd0, G: 0xd3, B: 0xda, A: 0xff}
	imageBg   = color.NRGBA{R: 0x30, G: 0x30, B: 0x34, A: 0xff}
)

// Layout handles the frame's events and draws the app. The side columns
// take a share of the width between a floor and a ceiling, so that the
// workspace keeps most of it at any window size from 1024×680 up.
func (u *UI) Layout(gtx C) D {
	u.update(gtx)
	paint.Fill(gtx.Ops, u.th.Bg)
	// The window's own key events: Ctrl+Enter runs, Escape leaves the
	// zoomed view, whatever has the focus.
	area := clip.Rect{Max: gtx.Constraints.Max}.Push(gtx.Ops)
	event.Op(gtx.Ops, u)
	area.Pop()
	w := gtx.Constraints.Max.X
	left := max(gtx.Dp(190), min(gtx.Dp(280), w*20/100))
	mid := max(gtx.Dp(250), min(gtx.Dp(330), w*24/100))
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(u.layoutHeader),
		layout.Flexed(1, func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return u.column(gtx, left, panelBg, u.layoutModels) }),
				layout.Rigid(func(gtx C) D { return u.column(gtx, mid, u.th.Bg, u.layoutControls) }),
				layout.Flexed(1, u.layoutWorkspace),
			)
		}),
		layout.Rigid(u.layoutStatus),
	)
}

// run is what Enter in a knob's field and Ctrl+Enter do: the tab's run
// button.
func (u *UI) run() {
	switch u.tab {
	case TabGenerate:
		u.Generate()
	case TabXY:
		u.RunXY()
	case TabInfo:
	default:
		u.RunTask()
	}
}

// update handles the clicks and key presses of the frame.
func (u *UI) update(gtx C) {
	u.takeJobs()
	u.takeTraining()
	// The choices first: a run button pressed in this frame runs with them.
	u.sampler.Update(gtx)
	u.scale.Update(gtx)
	u.classChoice.Update(gtx)
	u.saveScale.Update(gtx)
	u.xy.update(gtx, u.model)
	for {
		ev, ok := gtx.Event(key.Filter{Name: key.NameReturn, Required: key.ModShortcut}, key.Filter{Name: key.NameEnter, Required: key.ModShortcut}, key.Filter{Name: key.NameEscape})
		if !ok {
			break
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			if e.Name == key.NameEscape {
				u.zoom = false
			} else {
				u.run()
			}
		}
	}
	for i := range u.entryBtns {
		if u.entryBtns[i].Clicked(gtx) && i != u.selected {
			u.selectEntry(i)
		}
	}
	if u.refreshBtn.Clicked(gtx) {
		u.Refresh()
		u.say("found %d checkpoint(s) in %s", len(u.entries), strings.Join(u.cfg.Dirs, ", "))
	}
	if u.openBtn.Clicked(gtx) || submitted(gtx, &u.path) {
		u.open(u.path.Text())
	}
	if u.browseBtn.Clicked(gtx) {
		u.browse()
	}
	u.takeChosen()
	if u.trainBtn.Clicked(gtx) {
		if u.train != nil && u.train.Status().Running {
			u.train.Cancel()
		} else {
			u.StartTraining()
		}
	}
	for t := range u.tabBtns {
		if u.tabBtns[t].Clicked(gtx) {
			u.tab = Tab(t)
		}
	}
	if u.reuseSeedBtn.Clicked(gtx) && u.haveLastSeed {
		u.reuseLastSeed()
	}
	if u.randomSeed.Update(gtx) {
		switch {
		case u.randomSeed.Value:
			u.seed.SetText(RandomSeed)
		case u.haveLastSeed:
			u.reuseLastSeed()
		default:
			u.seed.SetText("0")
		}
	}
	run := u.goBtn.Clicked(gtx) || u.taskBtn.Clicked(gtx)
	for _, e := range []*widget.Editor{&u.seed, &u.count, &u.steps, &u.guidance, &u.eta, &u.temperature, &u.prompt, &u.styleSteps, &u.subseed, &u.subStrength, &u.xy.values[0], &u.xy.values[1]} {
		if submitted(gtx, e) {
			run = true
		}
	}
	if run {
		u.run()
	}
	if u.cancelBtn.Clicked(gtx) {
		u.Cancel()
	}
	for i := range u.tileBtns {
		for {
			c, ok := u.tileBtns[i].Update(gtx)
			if !ok {
				break
			}
			u.sel, u.info = i, nil
			if c.NumClicks >= 2 { // a double click zooms in
				u.zoom = true
			}
		}
	}
	if u.saveBtn.Clicked(gtx) || submitted(gtx, &u.outDir) {
		if p, wrote, err := u.save(u.sel); err != nil {
			u.fail(err)
		} else if wrote {
			u.say("saved %s", p)
		} else {
			u.say("already saved as %s", p)
		}
	}
	if u.saveAllBtn.Clicked(gtx) {
		if ps, err := u.SaveAll(); err != nil {
			u.fail(err)
		} else {
			u.say("saved %d PNG(s) in %s (the others were saved there before)", len(ps), strings.TrimSpace(u.outDir.Text()))
		}
	}
	if u.reuseBtn.Clicked(gtx) {
		if r := u.shown(); r != nil {
			u.reuse(*r)
		}
	}
	if u.useBtn.Clicked(gtx) {
		u.UseSelected()
	}
	if u.clearBtn.Clicked(gtx) {
		u.Clear()
	}
	if u.undoBtn.Clicked(gtx) {
		u.Undo()
	}
	if u.zoomBtn.Clicked(gtx) {
		u.zoom = !u.zoom && u.sel >= 0 && u.sel < len(u.results)
	}
	if u.loadSrcBtn.Clicked(gtx) || submitted(gtx, &u.srcPath) {
		u.LoadSource(strings.TrimSpace(u.srcPath.Text()))
	}
	if u.loadStyle.Clicked(gtx) || submitted(gtx, &u.stylePath) {
		u.LoadStyle(strings.TrimSpace(u.stylePath.Text()))
	}
	if u.infoLoad.Clicked(gtx) || submitted(gtx, &u.infoPath) {
		u.LoadInfo(strings.TrimSpace(u.infoPath.Text()))
	}
	if m := u.Mask(); m != nil {
		if u.clearMask.Clicked(gtx) {
			m.Clear()
		}
		if u.invertMask.Clicked(gtx) {
			m.Invert()
		}
	}
	u.canvas.update(gtx, u.Mask(), u.brushRadius())
	u.updatePlayer(gtx)
	// The fine-tunes' switches before they are drawn: one switched on
	// shows its slider in this very frame.
	for i := range u.tunes {
		u.tunes[i].on.Update(gtx)
	}
	u.randomSeed.Value = u.seedRandom()
	u.recheckSettings()
	// Keep frames coming while a job runs, for the clock of its ETA.
	running := u.train != nil && u.train.Status().Running
	for _, st := range u.tabs {
		running = running || (st.job != nil && st.job.Status().Running)
	}
	if running {
		gtx.Execute(op.InvalidateCmd{At: gtx.Now.Add(500 * time.Millisecond)})
	}
}

// submitted reports whether Return was pressed in a single-line editor.
func submitted(gtx C, e *widget.Editor) bool {
	sub := false
	for {
		ev, ok := e.Update(gtx)
		if !ok {
			return sub
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			sub = true
		}
	}
}

// brushRadius is the brush slider's radius in image pixels (1 to 8).
func (u *UI) brushRadius() float32 { return 1 + 7*u.brush.Value }

func (u *UI) column(gtx C, wpx int, bg color.NRGBA, w layout.Widget) D {
	gtx.Constraints = layout.Exact(image.Pt(wpx, gtx.Constraints.Max.Y))
	paint.FillShape(gtx.Ops, bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	paint.FillShape(gtx.Ops, lineColor, clip.Rect{Min: image.Pt(wpx-1, 0), Max: gtx.Constraints.Max}.Op())
	return layout.UniformInset(10).Layout(gtx, w)
}

func (u *UI) label(size unit.Sp, txt string) material.LabelStyle {
	l := material.Label(u.th, size, txt)
	return l
}

func (u *UI) heading(txt string) layout.Widget {
	return func(gtx C) D {
		l := u.label(16, txt)
		l.Font.Weight = font.Bold
		return layout.Inset{Bottom: 6}.Layout(gtx, l.Layout)
	}
}

func (u *UI) muted(txt string) layout.Widget {
	return func(gtx C) D {
		l := u.label(12, txt)
		l.Color = mutedFg
		return l.Layout(gtx)
	}
}

func gap(dp unit.Dp) layout.FlexChild {
	return layout.Rigid(layout.Spacer{Width: dp, Height: dp}.Layout)
}

// button is a material button, greyed out and inert unless enabled.
func (u *UI) button(btn *widget.Clickable, txt string, enabled bool) layout.Widget {
	return func(gtx C) D {
		if !enabled {
			gtx = gtx.Disabled()
		}
		b := material.Button(u.th, btn, txt)
		b.TextSize = 13
		b.Inset = layout.Inset{Top: 6, Bottom: 6, Left: 10, Right: 10}
		return b.Layout(gtx)
	}
}

// field is a labelled single-line editor.
func (u *UI) field(name string, ed *widget.Editor, hint string) layout.Widget {
	return func(gtx C) D {
		return layout.Inset{Bottom: 6}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Dp(86)
					gtx.Constraints.Max.X = gtx.Constraints.Min.X
					return u.label(13, name).Layout(gtx)
				}),
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, ed, hint) }),
			)
		})
	}
}

// editorBoxTag is the pointer target of an editor's whole box, so that a
// click on its padding focuses it too.
type editorBoxTag struct{ ed *widget.Editor }

// editorBox is an editor in a bordered box, red when its value is the
// tab's error.
func (u *UI) editorBox(gtx C, ed *widget.Editor, hint string) D {
	tag := u.boxes[ed]
	if tag == nil {
		tag = &editorBoxTag{ed}
		u.boxes[ed] = tag
	}
	for {
		ev, ok := gtx.Event(pointer.Filter{Target: tag, Kinds: pointer.Press})
		if !ok {
			break
		}
		if e, ok := ev.(pointer.Event); ok && e.Kind == pointer.Press {
			gtx.Execute(key.FocusCmd{Tag: ed})
		}
	}
	border := widget.Border{Color: lineColor, Width: 1, CornerRadius: 3}
	if u.cur().errField == ed {
		border.Color, border.Width = errorFg, 2
	}
	return layout.Stack{}.Layout(gtx,
		layout.Expanded(func(gtx C) D {
			defer clip.Rect{Max: gtx.Constraints.Min}.Push(gtx.Ops).Pop()
			event.Op(gtx.Ops, tag)
			pointer.CursorText.Add(gtx.Ops)
			return D{Size: gtx.Constraints.Min}
		}),
		layout.Stacked(func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X // the box spans its space
			return border.Layout(gtx, func(gtx C) D {
				return layout.UniformInset(5).Layout(gtx, func(gtx C) D {
					e := material.Editor(u.th, ed, hint)
					e.TextSize = 13
					return e.Layout(gtx)
				})
			})
		}),
	)
}

func (u *UI) layoutHeader(gtx C) D {
	h := gtx.Dp(46)
	paint.FillShape(gtx.Ops, headerBg, clip.Rect{Max: image.Pt(gtx.Constraints.Max.X, h)}.Op())
	gtx.Constraints = layout.Exact(image.Pt(gtx.Constraints.Max.X, h))
	return layout.Inset{Left: 12, Right: 12}.Layout(gtx, func(gtx C) D {
		children := []layout.FlexChild{
			layout.Rigid(func(gtx C) D {
				l := u.label(20, "genlab")
				l.Color, l.Font.Weight = headerFg, font.Bold
				return l.Layout(gtx)
			}),
			gap(24),
		}
		for t := range numTabs {
			children = append(children, layout.Rigid(func(gtx C) D {
				return layout.Inset{Right: 4}.Layout(gtx, func(gtx C) D {
					b := material.Button(u.th, &u.tabBtns[t], t.String())
					b.TextSize, b.CornerRadius = 14, 3
					b.Inset = layout.Inset{Top: 7, Bottom: 7, Left: 14, Right: 14}
					if t != u.tab {
						b.Background = headerBg
					}
					return b.Layout(gtx)
				})
			}))
		}
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...)
	})
}

func (u *UI) layoutStatus(gtx C) D {
	st := u.cur()
	txt := st.status
	if txt == "" {
		txt = "ready"
	}
	h := gtx.Dp(26)
	paint.FillShape(gtx.Ops, panelBg, clip.Rect{Max: image.Pt(gtx.Constraints.Max.X, h)}.Op())
	paint.FillShape(gtx.Ops, lineColor, clip.Rect{Max: image.Pt(gtx.Constraints.Max.X, 1)}.Op())
	gtx.Constraints = layout.Exact(image.Pt(gtx.Constraints.Max.X, h))
	return layout.Inset{Left: 10, Top: 5}.Layout(gtx, func(gtx C) D {
		l := u.label(13, txt)
		l.MaxLines = 1
		if st.statusErr {
			l.Color = errorFg
		}
		return l.Layout(gtx)
	})
}

func etaText(st JobStatus) string {
	if st.Done == 0 {
		return "starting"
	}
	return fmt.Sprintf("%s elapsed, ETA %s", st.Elapsed.Round(time.Second), st.ETA.Round(time.Second))
}

func spacer(dp unit.Dp) layout.Widget { return layout.Spacer{Height: dp}.Layout }
