package ui

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"time"

	"gioui.org/f32"
	"gioui.org/font"
	"gioui.org/io/event"
	"gioui.org/io/pointer"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

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

// Layout handles the frame's events and draws the app.
func (u *UI) Layout(gtx C) D {
	u.update(gtx)
	paint.Fill(gtx.Ops, u.th.Bg)
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(u.layoutHeader),
		layout.Flexed(1, func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return u.column(gtx, 280, panelBg, u.layoutModels) }),
				layout.Rigid(func(gtx C) D { return u.column(gtx, 330, u.th.Bg, u.layoutControls) }),
				layout.Flexed(1, u.layoutWorkspace),
			)
		}),
		layout.Rigid(u.layoutStatus),
	)
}

// update handles the clicks and key presses of the frame.
func (u *UI) update(gtx C) {
	u.takeJob()
	u.takeTraining()
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
		u.seed.SetText(fmt.Sprint(u.lastSeed))
		u.randomSeed.Value = false
	}
	if u.goBtn.Clicked(gtx) {
		u.Generate()
	}
	if u.taskBtn.Clicked(gtx) {
		u.RunTask()
	}
	if u.cancelBtn.Clicked(gtx) {
		u.Cancel()
	}
	for i := range u.tileBtns {
		if u.tileBtns[i].Clicked(gtx) {
			u.sel = i
		}
	}
	if u.saveBtn.Clicked(gtx) {
		if p, err := u.Save(u.sel); err != nil {
			u.fail(err)
		} else {
			u.say("saved %s", p)
		}
	}
	if u.saveAllBtn.Clicked(gtx) {
		if ps, err := u.SaveAll(); err != nil {
			u.fail(err)
		} else if len(ps) > 0 {
			u.say("saved %d PNGs in %s", len(ps), strings.TrimSpace(u.outDir.Text()))
		}
	}
	if u.reuseBtn.Clicked(gtx) && u.sel >= 0 && u.sel < len(u.results) {
		u.reuse(u.results[u.sel])
	}
	if u.useBtn.Clicked(gtx) {
		u.UseSelected()
	}
	if u.clearBtn.Clicked(gtx) {
		u.results, u.tileBtns, u.sel = nil, nil, -1
		clear(u.resultCache)
	}
	if u.loadSrcBtn.Clicked(gtx) || submitted(gtx, &u.srcPath) {
		u.LoadSource(strings.TrimSpace(u.srcPath.Text()))
	}
	if u.loadStyle.Clicked(gtx) || submitted(gtx, &u.stylePath) {
		u.LoadStyle(strings.TrimSpace(u.stylePath.Text()))
	}
	if u.clearMask.Clicked(gtx) && u.mask != nil {
		u.mask.Clear()
	}
	if u.invertMask.Clicked(gtx) && u.mask != nil {
		u.mask.Invert()
	}
	u.canvas.update(gtx, u.mask, u.brushRadius())
	u.randomSeed.Update(gtx)
	u.sampler.Update(gtx)
	u.scale.Update(gtx)
	// Keep frames coming while a job runs, for the clock of its ETA.
	if (u.job != nil && u.job.Status().Running) || (u.train != nil && u.train.Status().Running) {
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

func (u *UI) column(gtx C, width unit.Dp, bg color.NRGBA, w layout.Widget) D {
	wpx := gtx.Dp(width)
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

func (u *UI) editorBox(gtx C, ed *widget.Editor, hint string) D {
	return widget.Border{Color: lineColor, Width: 1, CornerRadius: 3}.Layout(gtx, func(gtx C) D {
		return layout.UniformInset(5).Layout(gtx, func(gtx C) D {
			e := material.Editor(u.th, ed, hint)
			e.TextSize = 13
			return e.Layout(gtx)
		})
	})
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
	txt := u.status
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
		if u.statusErr {
			l.Color = errorFg
		}
		return l.Layout(gtx)
	})
}

// layoutModels is the checkpoint list, the Open field and the
// first-launch training offer.
func (u *UI) layoutModels(gtx C) D {
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, u.heading("Models")),
				layout.Rigid(u.button(&u.refreshBtn, "Refresh", true)),
			)
		}),
		layout.Flexed(1, func(gtx C) D {
			if len(u.entries) == 0 {
				return u.layoutNoModels(gtx)
			}
			return material.List(u.th, &u.modelList).Layout(gtx, len(u.entries), u.layoutEntry)
		}),
		layout.Rigid(func(gtx C) D {
			if u.train == nil || len(u.entries) == 0 {
				return D{}
			}
			return u.layoutTraining(gtx)
		}),
		gap(8),
		layout.Rigid(u.muted("Open a checkpoint or a genlab PNG:")),
		gap(4),
		layout.Rigid(func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, &u.path, "path/to/file") }),
				gap(6),
				layout.Rigid(u.button(&u.openBtn, "Open", true)),
			)
		}),
	)
}

func (u *UI) layoutEntry(gtx C, i int) D {
	e := u.entries[i]
	return layout.Inset{Bottom: 4}.Layout(gtx, func(gtx C) D {
		return u.entryBtns[i].Layout(gtx, func(gtx C) D {
			semantic.Button.Add(gtx.Ops)
			return layout.Stack{}.Layout(gtx,
				layout.Expanded(func(gtx C) D {
					bg := panelBg
					if i == u.selected {
						bg = selectBg
					} else if u.entryBtns[i].Hovered() {
						bg = color.NRGBA{R: 0xe8, G: 0xea, B: 0xf0, A: 0xff}
					}
					paint.FillShape(gtx.Ops, bg, clip.UniformRRect(image.Rectangle{Max: gtx.Constraints.Min}, gtx.Dp(4)).Op(gtx.Ops))
					return D{Size: gtx.Constraints.Min}
				}),
				layout.Stacked(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Constraints.Max.X
					return layout.UniformInset(6).Layout(gtx, func(gtx C) D {
						return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
							layout.Rigid(func(gtx C) D {
								l := u.label(14, e.Name())
								l.Font.Weight = font.SemiBold
								return l.Layout(gtx)
							}),
							layout.Rigid(u.muted(e.Summary())),
						)
					})
				}),
			)
		})
	})
}

func (u *UI) layoutNoModels(gtx C) D {
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			l := u.label(14, fmt.Sprintf("No checkpoint yet in %s.", strings.Join(u.cfg.Dirs, " or ")))
			return l.Layout(gtx)
		}),
		gap(6),
		layout.Rigid(u.muted(fmt.Sprintf("Train a quick one: a tiny class-conditional diffusion model on MNIST (%d steps, a few minutes), saved in %s. Or open a checkpoint below.", QuickSteps, u.cfg.TrainOut))),
		gap(8),
		layout.Rigid(func(gtx C) D {
			txt := "Train a quick model"
			if u.train != nil && u.train.Status().Running {
				txt = "Cancel training"
			}
			return u.button(&u.trainBtn, txt, true)(gtx)
		}),
		gap(8),
		layout.Rigid(func(gtx C) D {
			if u.train == nil {
				return D{}
			}
			return u.layoutTraining(gtx)
		}),
	)
}

func (u *UI) layoutTraining(gtx C) D {
	st := u.train.Status()
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(material.ProgressBar(u.th, st.Fraction()).Layout),
		gap(4),
		layout.Rigid(u.muted(fmt.Sprintf("step %d of %d · %s", st.Done, st.Total, etaText(st)))),
		layout.Rigid(u.muted(st.Note)),
	)
}

func etaText(st JobStatus) string {
	if st.Done == 0 {
		return "starting"
	}
	return fmt.Sprintf("%s elapsed, ETA %s", st.Elapsed.Round(time.Second), st.ETA.Round(time.Second))
}

// layoutControls is the panel of the tab shown.
func (u *UI) layoutControls(gtx C) D {
	var rows []layout.Widget
	add := func(w ...layout.Widget) { rows = append(rows, w...) }
	m := u.model
	if m != nil {
		add(u.heading(m.Name()), u.muted(m.Summary()), spacer(8))
	} else {
		add(u.heading(u.tab.String()), u.muted("no model selected"), spacer(8))
	}
	switch u.tab {
	case TabGenerate:
		add(u.seedRow(), u.field("Count", &u.count, "4"))
		add(u.knobs(m, true)...)
		add(spacer(6), u.runRow(&u.goBtn, "Generate", m != nil, true))
	case TabInpaint:
		add(u.sourceRows()...)
		add(u.sliderRow("Brush", &u.brush, fmt.Sprintf("%.1f px", u.brushRadius())))
		add(func(gtx C) D {
			n := 0
			if u.mask != nil {
				n = u.mask.Count()
			}
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(u.button(&u.clearMask, "Clear mask", u.mask != nil)), gap(6),
				layout.Rigid(u.button(&u.invertMask, "Invert", u.mask != nil)), gap(8),
				layout.Rigid(u.muted(fmt.Sprintf("%d px to fill", n))),
			)
		}, spacer(6), u.muted("Paint the region to fill on the image with the mouse."), spacer(6))
		add(u.seedRow())
		add(u.knobs(m, false)...)
		add(spacer(6), u.runRow(&u.taskBtn, "Inpaint", u.source != nil, u.cfg.Tasks.Inpaint != nil))
	case TabSuperRes:
		add(u.sourceRows()...)
		add(func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Dp(86)
					return u.label(13, "Scale").Layout(gtx)
				}),
				layout.Rigid(material.RadioButton(u.th, &u.scale, "2", "×2").Layout),
				layout.Rigid(material.RadioButton(u.th, &u.scale, "4", "×4").Layout),
			)
		})
		add(u.seedRow())
		add(u.knobs(m, false)...)
		add(spacer(6), u.runRow(&u.taskBtn, "Upscale", u.source != nil, u.cfg.Tasks.SuperRes != nil))
	case TabStyle:
		add(u.muted("Content image:"))
		add(u.sourceRows()...)
		add(u.muted("Style image:"), func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, &u.stylePath, "style.png") }),
				gap(6), layout.Rigid(u.button(&u.loadStyle, "Load", true)),
			)
		}, spacer(6), u.field("Steps", &u.styleSteps, "100"), u.seedRow())
		add(spacer(6), u.runRow(&u.taskBtn, "Transfer style", u.source != nil, u.cfg.Tasks.Style != nil))
	case TabEdit:
		add(u.sourceRows()...)
		add(u.sliderRow("Strength", &u.strength, fmt.Sprintf("%.2f", u.strength.Value)))
		add(u.muted("0 keeps the image, 1 draws it anew."), spacer(6), u.seedRow())
		add(u.knobs(m, false)...)
		add(spacer(6), u.runRow(&u.taskBtn, "Edit", u.source != nil, u.cfg.Tasks.Edit != nil))
	}
	return material.List(u.th, &u.ctlList).Layout(gtx, len(rows), func(gtx C, i int) D { return rows[i](gtx) })
}

func spacer(dp unit.Dp) layout.Widget { return layout.Spacer{Height: dp}.Layout }

// knobs are the sampling controls that fit m (all of them when no model
// is selected, so the panel shows what there is).
func (u *UI) knobs(m *Model, sampler bool) []layout.Widget {
	c := Controls{Steps: true, Guidance: true, Classes: 10, AnyClass: true}
	if m != nil {
		c = m.Controls
	}
	var rows []layout.Widget
	if c.Steps {
		rows = append(rows, u.field("Steps", &u.steps, "50"))
		if sampler {
			rows = append(rows, func(gtx C) D {
				var children []layout.FlexChild
				for _, s := range Samplers {
					children = append(children, layout.Rigid(func(gtx C) D {
						r := material.RadioButton(u.th, &u.sampler, s, SamplerLabel(s))
						r.TextSize = 13
						return r.Layout(gtx)
					}))
				}
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(u.label(13, "Sampler").Layout),
					layout.Rigid(func(gtx C) D { return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...) }),
				)
			}, u.field("Eta (DDIM)", &u.eta, "0"))
		}
	}
	if c.Guidance {
		rows = append(rows, u.field("Guidance", &u.guidance, "2"))
	}
	if c.Classes > 0 {
		hint := fmt.Sprintf("0 to %d", c.Classes-1)
		if c.AnyClass {
			hint += " or none"
		}
		rows = append(rows, u.field("Class", &u.class, hint), u.muted("Class: "+hint))
	}
	if c.Prompt {
		rows = append(rows, u.field("Prompt", &u.prompt, "a small red circle"))
		if len(c.Vocabulary) > 0 {
			rows = append(rows, u.muted("Words: "+strings.Join(c.Vocabulary, " ")))
		}
	}
	if c.Temperature {
		rows = append(rows, u.field("Temperature", &u.temperature, "0.7"))
	}
	return rows
}

// seedRow is the seed, always shown: random by default, reusable.
func (u *UI) seedRow() layout.Widget {
	return func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(u.field("Seed", &u.seed, "0")),
			layout.Rigid(func(gtx C) D {
				return layout.Inset{Bottom: 6}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Rigid(layout.Spacer{Width: 80}.Layout),
						layout.Rigid(func(gtx C) D {
							cb := material.CheckBox(u.th, &u.randomSeed, "random")
							cb.TextSize = 13
							return cb.Layout(gtx)
						}),
						gap(8),
						layout.Rigid(u.button(&u.reuseSeedBtn, "Reuse last", u.haveLastSeed)),
					)
				})
			}),
		)
	}
}

func (u *UI) sliderRow(name string, f *widget.Float, value string) layout.Widget {
	return func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Dp(86)
				gtx.Constraints.Max.X = gtx.Constraints.Min.X
				return u.label(13, name).Layout(gtx)
			}),
			layout.Flexed(1, material.Slider(u.th, f).Layout),
			gap(6),
			layout.Rigid(func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Dp(50)
				return u.label(13, value).Layout(gtx)
			}),
		)
	}
}

// sourceRows say which image the task works on and how to change it.
func (u *UI) sourceRows() []layout.Widget {
	name := "none: pick one in the gallery and press Use, or load a PNG"
	if u.source != nil {
		b := u.source.Bounds()
		name = fmt.Sprintf("%s (%dx%d)", u.sourceName, b.Dx(), b.Dy())
	}
	return []layout.Widget{
		u.muted("Source: " + name),
		spacer(4),
		func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, &u.srcPath, "image.png") }),
				gap(6), layout.Rigid(u.button(&u.loadSrcBtn, "Load", true)),
			)
		},
		spacer(8),
	}
}

// runRow is a panel's run button, greyed out unless enabled, beside
// Cancel; available is whether this build has the work at all.
func (u *UI) runRow(btn *widget.Clickable, txt string, enabled, available bool) layout.Widget {
	return func(gtx C) D {
		running := u.job != nil && u.job.Status().Running
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(u.button(btn, txt, enabled && available)),
			gap(8),
			layout.Rigid(u.button(&u.cancelBtn, "Cancel", running)),
			gap(8),
			layout.Rigid(func(gtx C) D {
				if !available {
					return u.muted("not in this build yet")(gtx)
				}
				return D{}
			}),
		)
	}
}

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
	img := u.source
	b := img.Bounds()
	c.scale = min(float32(size)/float32(b.Dx()), float32(size)/float32(b.Dy()))
	sz := image.Pt(int(float32(b.Dx())*c.scale), int(float32(b.Dy())*c.scale))
	paint.FillShape(gtx.Ops, imageBg, clip.Rect{Max: sz}.Op())
	st := op.Affine(f32.AffineId().Scale(f32.Point{}, f32.Pt(c.scale, c.scale))).Push(gtx.Ops)
	for _, im := range []image.Image{img, u.mask.Overlay()} {
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
	st.Pop()
	defer clip.Rect{Max: sz}.Push(gtx.Ops).Pop()
	event.Op(gtx.Ops, c)
	pointer.CursorCrosshair.Add(gtx.Ops)
	semantic.DescriptionOp("mask canvas").Add(gtx.Ops)
	return D{Size: sz}
}
