package ui

import (
	"fmt"
	"image"
	"image/color"
	"strings"

	"gioui.org/font"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/widget/material"
)

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
				layout.Rigid(func(gtx C) D {
					if u.chooseFile == nil {
						return D{}
					}
					return layout.Inset{Left: 6}.Layout(gtx, u.button(&u.browseBtn, "Browse…", u.chosen == nil))
				}),
			)
		}),
	)
}

func (u *UI) layoutEntry(gtx C, i int) D {
	if i == u.selected && len(u.tunes) > 0 {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx C) D { return u.layoutEntryBox(gtx, i) }),
			layout.Rigid(u.layoutTunes))
	}
	return u.layoutEntryBox(gtx, i)
}

func (u *UI) layoutEntryBox(gtx C, i int) D {
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
