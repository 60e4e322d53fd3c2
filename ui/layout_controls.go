package ui

import (
	"fmt"
	"strconv"
	"strings"

	"genlab/pipeline"

	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// layoutControls is the panel of the tab shown: only the controls the
// selected model has (its pipeline.Knobs) and the tab's task uses.
func (u *UI) layoutControls(gtx C) D {
	var rows []layout.Widget
	add := func(w ...layout.Widget) { rows = append(rows, w...) }
	m := u.model
	st := u.cur()
	if m != nil {
		add(u.heading(m.Name()), u.muted(m.Summary()), spacer(8))
	} else {
		add(u.heading(u.tab.String()), u.muted("no model selected"), spacer(8))
	}
	lowres := m != nil && m.LowRes
	switch u.tab {
	case TabGenerate:
		if lowres {
			add(u.muted("A super-resolution model only upscales an image: use the Super-res tab, or pick another model."), spacer(6))
		}
		add(u.seedRow(), u.countRow())
		add(u.knobs(m, true)...)
		add(u.variationRows(m)...)
		if m != nil && m.FirstFrame {
			add(u.firstFrameRow())
		}
		add(spacer(6), u.runRow(&u.goBtn, "Generate", m != nil && !lowres, true))
	case TabXY:
		add(u.muted("One image per pair of values of two knobs, as one labelled grid."), spacer(6))
		add(u.xyRows(m)...)
	case TabInpaint:
		add(u.sourceRows()...)
		add(u.sliderRow("Brush", &u.brush, fmt.Sprintf("%.1f px", u.brushRadius())))
		add(func(gtx C) D {
			n := 0
			if st.mask != nil {
				n = st.mask.Count()
			}
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Rigid(u.button(&u.clearMask, "Clear mask", st.mask != nil)), gap(6),
				layout.Rigid(u.button(&u.invertMask, "Invert", st.mask != nil)), gap(8),
				layout.Flexed(1, u.muted(fmt.Sprintf("%d px to fill", n))),
			)
		}, spacer(6), u.muted("Paint the region to fill on the image with the mouse."), spacer(6))
		add(u.seedRow())
		add(u.knobs(m, false)...)
		add(spacer(6), u.runRow(&u.taskBtn, "Inpaint", st.source != nil && !lowres, u.cfg.Tasks.Inpaint != nil))
	case TabSuperRes:
		add(u.sourceRows()...)
		if !lowres {
			add(u.muted("Upscaling takes a super-resolution model (lowres): pick one in the list."), spacer(6))
		} else {
			var scales []layout.FlexChild
			for _, f := range m.Diffusion.Config.Scales {
				v := fmt.Sprint(f)
				scales = append(scales, layout.Rigid(material.RadioButton(u.th, &u.scale, v, "×"+v).Layout))
			}
			add(func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx, append([]layout.FlexChild{layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Dp(86)
					return u.label(13, "Scale").Layout(gtx)
				})}, scales...)...)
			})
		}
		add(u.seedRow(), u.field("Steps", &u.steps, "50"))
		add(spacer(6), u.runRow(&u.taskBtn, "Upscale", st.source != nil && lowres, u.cfg.Tasks.SuperRes != nil))
	case TabStyle:
		add(u.muted("Content image:"))
		add(u.sourceRows()...)
		add(u.muted("Style image:"), func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, &u.stylePath, "style.png") }),
				gap(6), layout.Rigid(u.button(&u.loadStyle, "Load", true)),
			)
		}, spacer(6), u.field("Steps", &u.styleSteps, "100"), u.seedRow())
		add(spacer(6), u.runRow(&u.taskBtn, "Transfer style", st.source != nil, u.cfg.Tasks.Style != nil))
	case TabEdit:
		add(u.sourceRows()...)
		add(u.sliderRow("Strength", &u.strength, fmt.Sprintf("%.2f", u.strength.Value)))
		add(u.muted("0 keeps the image, 1 draws it anew."), spacer(6), u.seedRow())
		add(u.knobs(m, true)...) // editing samples with the chosen sampler and η
		add(spacer(6), u.runRow(&u.taskBtn, "Edit", st.source != nil && !lowres, u.cfg.Tasks.Edit != nil))
	case TabInfo:
		add(u.muted("The settings a PNG records (its parameters chunk). Open one, or pick one in the gallery."), spacer(6))
		add(func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, func(gtx C) D { return u.editorBox(gtx, &u.infoPath, "image.png") }),
				gap(6), layout.Rigid(u.button(&u.infoLoad, "Read", true)),
			)
		}, spacer(8))
		r := u.shown()
		txt := "Send to its tab"
		if r != nil && r.HasParams() {
			txt = "Send to " + r.tab().String()
		}
		add(u.button(&u.reuseBtn, txt, r != nil && r.HasParams()))
	}
	return material.List(u.th, &u.ctlList).Layout(gtx, len(rows), func(gtx C, i int) D { return rows[i](gtx) })
}

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
						r.TextSize, r.Size = 13, 20
						return r.Layout(gtx)
					}))
				}
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(u.label(13, "Sampler").Layout),
					layout.Rigid(func(gtx C) D { return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...) }),
				)
			})
			if u.sampler.Value == "ddim" {
				rows = append(rows, u.field("Eta", &u.eta, "0"))
			}
		}
	}
	if c.Guidance {
		rows = append(rows, u.field("Guidance", &u.guidance, "2"))
	}
	if c.Classes > 0 {
		rows = append(rows, u.classRow(c))
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

// classRow is the class as a choice: any (when the model draws images of
// no class in particular) or one of its classes, in rows that fit.
func (u *UI) classRow(c Controls) layout.Widget {
	var opts []string
	for k := range c.Classes {
		opts = append(opts, strconv.Itoa(k))
	}
	return func(gtx C) D {
		cell := gtx.Dp(44)
		cols := max(1, gtx.Constraints.Max.X/cell)
		var rows []layout.FlexChild
		title := u.label(13, "Class")
		if u.cur().errField == &u.classChoice {
			title.Color = errorFg
		}
		radio := func(v string) layout.Widget {
			return func(gtx C) D {
				r := material.RadioButton(u.th, &u.classChoice, v, v)
				r.TextSize, r.Size = 13, 18
				return r.Layout(gtx)
			}
		}
		head := []layout.FlexChild{layout.Rigid(title.Layout)}
		if c.AnyClass {
			head = append(head, gap(12), layout.Rigid(radio(anyClass)))
		}
		rows = append(rows, layout.Rigid(func(gtx C) D { return layout.Flex{Alignment: layout.Middle}.Layout(gtx, head...) }))
		for i := 0; i < len(opts); i += cols {
			var children []layout.FlexChild
			for _, v := range opts[i:min(len(opts), i+cols)] {
				children = append(children, layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X, gtx.Constraints.Max.X = cell, cell
					return radio(v)(gtx)
				}))
			}
			rows = append(rows, layout.Rigid(func(gtx C) D { return layout.Flex{}.Layout(gtx, children...) }))
		}
		return layout.Inset{Bottom: 6}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
		})
	}
}

// countRow is the number of images, or what the seed field's list of
// seeds makes it.
func (u *UI) countRow() layout.Widget {
	if s, err := pipeline.ParseSeeds(u.seed.Text()); err == nil && s.Count() > 0 {
		return func(gtx C) D {
			return layout.Inset{Bottom: 6}.Layout(gtx, u.muted(fmt.Sprintf("Count: %d, one image per seed of the list", s.Count())))
		}
	}
	return u.field("Count", &u.count, "4")
}

// seedRow is the seed, always shown: random by default, reusable.
func (u *UI) seedRow() layout.Widget {
	return func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(u.field("Seed", &u.seed, "-1: random")),
			layout.Rigid(func(gtx C) D {
				return layout.Inset{Bottom: 6}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
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
	name := "none: pick one in the gallery and press Use as source, or load a PNG"
	if st := u.cur(); st.source != nil {
		b := st.source.Bounds()
		name = fmt.Sprintf("%s (%dx%d)", st.sourceName, b.Dx(), b.Dy())
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
		running := u.cur().job != nil && u.cur().job.Status().Running
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
