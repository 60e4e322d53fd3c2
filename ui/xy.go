package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"strconv"
	"strings"

	"genlab/images"
	"genlab/pipeline"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// The X/Y plot tab (AUTOMATIC1111's "X/Y/Z plot" script, as `genlab xy`
// draws it): two knobs of the model, a list of values each, and one
// labelled grid with an image per pair of values, every other setting the
// panel's. The work is pipeline.XY's; the grid is a result like any other,
// kept in outputs/txt2img-grids.

// XYUpscale is how many times larger each cell of a plot is drawn
// (nearest neighbour), as genlab xy's default --upscale: the labels stay
// readable next to the images.
const XYUpscale = 4

// xyState is the tab's two axes: the knob each varies and its values as
// typed.
type xyState struct {
	knob   [2]widget.Enum
	values [2]widget.Editor
	// suggested are the values picking a knob typed in: they give way to
	// the next knob's, values the user typed stay.
	suggested [2]string
}

// xyLabels are the knobs as the axis choices show them.
var xyLabels = map[string]string{"subseed": "var. seed", "subseed-strength": "var. strength"}

func xyLabel(knob string) string {
	if l, ok := xyLabels[knob]; ok {
		return l
	}
	return knob
}

func (x *xyState) init() {
	x.knob[0].Value, x.knob[1].Value = "guidance", "steps"
	for i := range x.knob {
		x.suggest(i, nil)
	}
}

// set shows the axes a and b (a plot's, to draw it again).
func (x *xyState) set(a, b pipeline.Axis) {
	for i, ax := range []pipeline.Axis{a, b} {
		x.knob[i].Value = ax.Knob
		x.values[i].SetText(strings.Join(ax.Values, ","))
		x.suggested[i] = ""
	}
}

// suggest types example values of axis i's knob for m, unless the user
// typed values of their own.
func (x *xyState) suggest(i int, m *Model) {
	if t := strings.TrimSpace(x.values[i].Text()); t != "" && t != x.suggested[i] {
		return
	}
	v := map[string]string{
		"seed": "1-4", "steps": "10,20,50", "sampler": strings.Join(Samplers, ","), "eta": "0,0.5,1",
		"guidance": "1,2,3", "temperature": "0.5,0.7,1", "class": "0,1,2,3",
		"subseed": "1-4", "subseed-strength": "0,0.1,0.2,0.4",
	}[x.knob[i].Value]
	if m != nil && m.Classes > 0 && x.knob[i].Value == "class" {
		var cs []string
		for k := range min(m.Classes, 10) {
			cs = append(cs, strconv.Itoa(k))
		}
		v = strings.Join(cs, ",")
	}
	x.values[i].SetText(v)
	x.suggested[i] = v
}

// update takes the frame's picks, and keeps each axis on a knob m has.
func (x *xyState) update(gtx C, m *Model) {
	for i := range x.knob {
		if x.knob[i].Update(gtx) {
			x.suggest(i, m)
		}
	}
	if m == nil {
		return
	}
	for i := range x.knob {
		if slices.Contains(m.Axes, x.knob[i].Value) {
			continue
		}
		other := x.knob[1-i].Value
		for _, k := range m.Axes {
			if k != other {
				x.knob[i].Value = k
				break
			}
		}
		x.suggest(i, m)
	}
}

// axes are the two axes as typed, each error tied to its control.
func (x *xyState) axes(m *Model) (a, b pipeline.Axis, err error) {
	var got [2]pipeline.Axis
	for i, name := range []string{"X", "Y"} {
		knob := x.knob[i].Value
		if !slices.Contains(m.Axes, knob) {
			return a, b, &fieldError{field: &x.knob[i], msg: fmt.Sprintf("%s axis: %s has no knob %s: pick one of %s", name, m.Name(), knob, strings.Join(m.Axes, ", "))}
		}
		got[i], err = pipeline.ParseAxis(knob + "=" + x.values[i].Text())
		if err != nil {
			return a, b, &fieldError{field: &x.values[i], msg: fmt.Sprintf("%s values: %v", name, err)}
		}
	}
	return got[0], got[1], nil
}

// varies reports whether the plot varies knob.
func varies(a, b pipeline.Axis, knob string) bool { return a.Knob == knob || b.Knob == knob }

// RunXY starts drawing the X/Y plot of the tab's axes over the panel's
// settings. Every cell is checked first, as genlab xy does.
func (u *UI) RunXY() {
	m, err := u.generator() // with the fine-tunes switched on
	switch {
	case err != nil:
		u.fail(err)
		return
	case m == nil:
		u.fail(errors.New("pick a model in the list first"))
		return
	case m.LowRes:
		u.fail(fmt.Errorf("%s is a super-resolution model: use the Super-res tab", m.Name()))
		return
	}
	s, err := u.checkSettings(m) // and the axes, xyPlan
	if err != nil {
		u.failSettings(err)
		return
	}
	u.drawSeed(&s)
	sub := s.Subseed
	if s.SubseedStrength == 0 && u.subseedRandom() {
		sub = u.cfg.Seed() // a plot of strengths moves towards a random seed's noise
	}
	base, x, y, err := u.xyPlan(m, s, sub)
	if err != nil {
		u.fail(err)
		return
	}
	n := len(x.Values) * len(y.Values)
	u.startJob(fmt.Sprintf("X/Y plot of %s × %s, %d images with %s", x.Knob, y.Knob, n, m.Name()), TabXY, func(ctx context.Context, r Reporter) ([]Result, error) {
		res, err := m.XY(ctx, base, x, y, throttle(r))
		if err != nil {
			return nil, err
		}
		return []Result{res}, nil
	})
}

// xyPlan is the plot the tab asks of m with settings s: its axes and the
// request of every cell but the axes' values, each cell checked;
// subseed is the variation seed of a plot of strengths that has none. An
// error names the control it is about.
func (u *UI) xyPlan(m *Model, s Settings, subseed uint64) (base pipeline.Request, x, y pipeline.Axis, err error) {
	if x, y, err = u.xy.axes(m); err != nil {
		return base, x, y, err
	}
	base = m.Request(s)
	pipeline.XYVariation(&base, x, y, subseed)
	if _, err := pipeline.XYRequests(m.p, base, x, y); err != nil {
		// "guidance=1, steps=2000: steps 2000: …" is about the Y values.
		_, why, _ := strings.Cut(err.Error(), ": ")
		for i, a := range []pipeline.Axis{x, y} {
			if strings.HasPrefix(why, a.Knob+" ") {
				return base, x, y, &fieldError{field: &u.xy.values[i], msg: err.Error()}
			}
		}
		switch {
		case strings.HasPrefix(err.Error(), "both axes"):
			err = &fieldError{field: &u.xy.knob[1], msg: err.Error()}
		case strings.Contains(why, "give a variation strength"):
			err = &fieldError{field: &u.subStrength, msg: err.Error()}
		}
		return base, x, y, err
	}
	return base, x, y, nil
}

// XY draws the plot of x and y over base (one image: base.Seeds has one
// seed) as one grid, each cell XYUpscale times larger, with the
// parameters genlab xy writes: the first cell's, the axes, the factor.
func (m *Model) XY(ctx context.Context, base pipeline.Request, x, y pipeline.Axis, progress func(Progress)) (Result, error) {
	base.Progress = m.reporter(ctx, progress)
	plot, err := pipeline.XY(ctx, m.p, base, x, y)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return Result{}, err
	}
	q := plot.Parameters()
	q.Extra = append(q.Extra, images.Field{Key: "Upscale", Value: fmt.Sprintf("%dx nearest", XYUpscale)})
	class := NoClass
	if len(base.Classes) > 0 && !varies(x, y, "class") {
		class = base.Classes[0]
	}
	return Result{Image: plot.Image(XYUpscale), Params: q, Seed: uint64(q.Seed), Class: class, Source: m.Name(), Task: "xy"}, nil
}

// xyRows are the tab's controls: the axes and the run button first, then
// the settings of every cell.
func (u *UI) xyRows(m *Model) []layout.Widget {
	knobs := slices.Clone(pipeline.XYKnobs)
	if m != nil {
		knobs = m.Axes
	}
	var rows []layout.Widget
	for i, name := range []string{"X", "Y"} {
		title := u.label(13, name+" axis ("+[]string{"columns", "rows"}[i]+")")
		rows = append(rows, func(gtx C) D {
			if u.cur().errField == &u.xy.knob[i] {
				title.Color = errorFg
			}
			return title.Layout(gtx)
		}, func(gtx C) D {
			var ws []layout.Widget
			for _, k := range knobs {
				ws = append(ws, func(gtx C) D {
					r := material.RadioButton(u.th, &u.xy.knob[i], k, xyLabel(k))
					r.TextSize, r.Size = 13, 18
					return r.Layout(gtx)
				})
			}
			return layout.Inset{Bottom: 4}.Layout(gtx, func(gtx C) D { return wrap(gtx, gtx.Dp(6), ws) })
		}, u.field(name+" values", &u.xy.values[i], "1,2,3 (seeds: 1-4, -1)"))
	}
	lowres := m != nil && m.LowRes
	rows = append(rows, spacer(2), u.runRow(&u.taskBtn, "Run X/Y plot", m != nil && !lowres, true), spacer(8),
		u.muted("Every cell's other settings:"), spacer(4), u.seedRow())
	rows = append(rows, u.knobs(m, true)...)
	return append(rows, u.variationRows(m)...)
}

// variationRows are the variation seed's controls, for a model that takes
// one (all models' controls show when none is selected).
func (u *UI) variationRows(m *Model) []layout.Widget {
	if m != nil && !m.Variation {
		return nil
	}
	return []layout.Widget{
		u.field("Variation seed", &u.subseed, "-1: random"),
		u.field("Variation strength", &u.subStrength, "0: none, to 1"),
	}
}

// wrap lays ws out in rows, left to right, as many to a row as fit.
func wrap(gtx C, gapPx int, ws []layout.Widget) D {
	maxW := gtx.Constraints.Max.X
	x, y, rowH, w := 0, 0, 0, 0
	for _, wd := range ws {
		cgtx := gtx
		cgtx.Constraints.Min = image.Point{}
		macro := op.Record(gtx.Ops)
		d := wd(cgtx)
		call := macro.Stop()
		if x > 0 && x+d.Size.X > maxW {
			x, y, rowH = 0, y+rowH, 0
		}
		off := op.Offset(image.Pt(x, y)).Push(gtx.Ops)
		call.Add(gtx.Ops)
		off.Pop()
		w = max(w, x+d.Size.X)
		x += d.Size.X + gapPx
		rowH = max(rowH, d.Size.Y)
	}
	return D{Size: image.Pt(min(w, maxW), y+rowH)}
}
