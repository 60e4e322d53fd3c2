package ui

import (
	"fmt"
	"strings"

	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

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
