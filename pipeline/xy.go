package pipeline

import (
	"context"
	"fmt"
	"image"
	"slices"
	"strconv"
	"strings"

	"genlab/images"
)

// An X/Y plot (AUTOMATIC1111's "X/Y/Z plot" script, ComfyUI's XY grids):
// one image per pair of values of two knobs, everything else the base
// request's, so that the effect of each knob can be seen side by side.

// Axis is one axis of an X/Y plot: a knob (one of XYKnobs) and its
// values, in order.
type Axis struct {
	Knob   string
	Values []string
}

// xyKnob is a knob an axis can vary: its name in AUTOMATIC1111's plots and
// how a value of it sets a request.
type xyKnob struct {
	name string
	set  func(r *Request, v string) error
}

var xyKnobs = map[string]xyKnob{
	"seed": {"Seed", func(r *Request, v string) error {
		s, err := strconv.ParseUint(v, 10, 64)
		r.Seeds = []uint64{s}
		return err
	}},
	"steps":   {"Steps", func(r *Request, v string) (err error) { r.Steps, err = strconv.Atoi(v); return err }},
	"sampler": {"Sampler", func(r *Request, v string) error { r.Sampler = strings.ToLower(v); return nil }},
	"guidance": {"CFG Scale", func(r *Request, v string) (err error) {
		r.Guidance, err = strconv.ParseFloat(v, 64)
		return err
	}},
	"eta": {"Eta", func(r *Request, v string) (err error) { r.Eta, err = strconv.ParseFloat(v, 64); return err }},
	"temperature": {"Temperature", func(r *Request, v string) (err error) {
		r.Temperature, err = strconv.ParseFloat(v, 64)
		return err
	}},
	"class": {"Class", func(r *Request, v string) error {
		if v == "none" {
			r.Classes = []int{NoClass}
			return nil
		}
		c, err := strconv.Atoi(v)
		r.Classes = []int{c}
		return err
	}},
	"subseed": {"Var. seed", func(r *Request, v string) error {
		s, err := strconv.ParseUint(v, 10, 64)
		r.Subseeds = []uint64{s}
		return err
	}},
	"subseed-strength": {"Var. strength", func(r *Request, v string) (err error) {
		r.SubseedStrength, err = strconv.ParseFloat(v, 64)
		return err
	}},
}

// XYKnobs are the knobs an axis may vary.
var XYKnobs = []string{"seed", "steps", "sampler", "guidance", "eta", "temperature", "class", "subseed", "subseed-strength"}

// maxAxis is the most values an axis may have.
const maxAxis = 64

// ParseAxis reads an axis as KNOB=V1,V2,…; seeds may be written as a seed
// list (10-13, -1 for a random one, drawn here).
func ParseAxis(s string) (Axis, error) {
	knob, vals, ok := strings.Cut(s, "=")
	knob = strings.ToLower(strings.TrimSpace(knob))
	if _, known := xyKnobs[knob]; !ok || !known {
		return Axis{}, fmt.Errorf("axis %q: want KNOB=V1,V2,... with KNOB one of %s", s, strings.Join(XYKnobs, ", "))
	}
	a := Axis{Knob: knob}
	if knob == "seed" || knob == "subseed" {
		seeds, err := ParseSeeds(vals)
		if err != nil {
			return Axis{}, fmt.Errorf("axis %s: %w", knob, err)
		}
		got, err := seeds.Resolve(max(1, seeds.Count()), nil)
		if err != nil {
			return Axis{}, fmt.Errorf("axis %s: %w", knob, err)
		}
		for _, v := range got {
			a.Values = append(a.Values, strconv.FormatUint(v, 10))
		}
	} else {
		for _, v := range strings.Split(vals, ",") {
			if v = strings.TrimSpace(v); v != "" {
				a.Values = append(a.Values, v)
			}
		}
	}
	switch {
	case len(a.Values) == 0:
		return Axis{}, fmt.Errorf("axis %q: no values", s)
	case len(a.Values) > maxAxis:
		return Axis{}, fmt.Errorf("axis %s: %d values, want at most %d", knob, len(a.Values), maxAxis)
	}
	return a, nil
}

// String is the axis as ParseAxis reads it.
func (a Axis) String() string { return a.Knob + "=" + strings.Join(a.Values, ",") }

// Label is the label of the axis's value i, e.g. "guidance=3".
func (a Axis) Label(i int) string { return a.Knob + "=" + a.Values[i] }

// set sets the axis's value i on r.
func (a Axis) set(r *Request, i int) error {
	if err := xyKnobs[a.Knob].set(r, a.Values[i]); err != nil {
		return fmt.Errorf("%s %q: not a value of it", a.Knob, a.Values[i])
	}
	return nil
}

// XYPlot is a drawn X/Y plot: Cells[j*len(X.Values)+i] is the image of
// X's value i and Y's value j.
type XYPlot struct {
	X, Y  Axis
	Cells []*Output
}

// XYRequests are the requests of the plot's cells, in the order of
// XYPlot.Cells: base (one image) with each pair of values set, each
// checked against p. An error names the cell.
func XYRequests(p Pipeline, base Request, x, y Axis) ([]Request, error) {
	if x.Knob == y.Knob {
		return nil, fmt.Errorf("both axes vary %s: vary two knobs", x.Knob)
	}
	if len(base.Seeds) != 1 {
		return nil, fmt.Errorf("an X/Y plot draws one image per cell: the base request has %d seeds", len(base.Seeds))
	}
	var rs []Request
	for j := range y.Values {
		for i := range x.Values {
			r := base
			r.Seeds = slices.Clone(base.Seeds)
			r.Classes = slices.Clone(base.Classes)
			r.Subseeds = slices.Clone(base.Subseeds)
			r.Batch = 1
			for _, set := range []func() error{func() error { return y.set(&r, j) }, func() error { return x.set(&r, i) }} {
				if err := set(); err != nil {
					return nil, err
				}
			}
			if err := p.Check(r); err != nil {
				return nil, fmt.Errorf("%s, %s: %w", x.Label(i), y.Label(j), err)
			}
			if (x.Knob == "subseed" || y.Knob == "subseed") && r.SubseedStrength == 0 {
				return nil, fmt.Errorf("%s, %s: a variation seed does nothing at strength 0: give a variation strength", x.Label(i), y.Label(j))
			}
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// XY draws the plot of x and y over base: every cell is checked before
// any is drawn, then drawn in turn. base.Progress, if set, hears of the
// whole plot's work (sampler steps, or images for a one-pass family).
func XY(ctx context.Context, p Pipeline, base Request, x, y Axis) (*XYPlot, error) {
	rs, err := XYRequests(p, base, x, y)
	if err != nil {
		return nil, err
	}
	cost := func(r Request) int {
		if p.Knobs().Sampling {
			return r.Steps
		}
		return 1
	}
	total := 0
	for _, r := range rs {
		total += cost(r)
	}
	plot := &XYPlot{X: x, Y: y}
	done := 0
	for _, r := range rs {
		if base.Progress != nil {
			r.Progress = func(pr Progress) error {
				pr.Done, pr.Total = done+pr.Done, total
				return base.Progress(pr)
			}
		}
		out, err := p.Generate(ctx, r)
		if err != nil {
			return nil, err
		}
		done += cost(r)
		plot.Cells = append(plot.Cells, out)
	}
	return plot, nil
}

// Image is the plot as one labelled grid (images.LabeledGrid), each
// image upscaled by the factor n first (1: as drawn).
func (pl *XYPlot) Image(n int) image.Image {
	tiles := make([]image.Image, len(pl.Cells))
	for i, c := range pl.Cells {
		tiles[i] = images.Upscale(c.Image(0), n)
	}
	cols := make([]string, len(pl.X.Values))
	for i := range cols {
		cols[i] = pl.X.Label(i)
	}
	rows := make([]string, len(pl.Y.Values))
	for j := range rows {
		rows[j] = pl.Y.Label(j)
	}
	return images.LabeledGrid(tiles, cols, rows)
}

// Parameters describe the plot as AUTOMATIC1111 does a grid's: the first
// cell's parameters, then "Script: X/Y plot" and each axis's type and
// values.
func (pl *XYPlot) Parameters() images.Parameters {
	q := pl.Cells[0].Params[0]
	q.Extra = append(slices.Clone(q.Extra),
		images.Field{Key: "Script", Value: "X/Y plot"},
		images.Field{Key: "X Type", Value: xyKnobs[pl.X.Knob].name},
		images.Field{Key: "X Values", Value: strings.Join(pl.X.Values, ",")},
		images.Field{Key: "Y Type", Value: xyKnobs[pl.Y.Knob].name},
		images.Field{Key: "Y Values", Value: strings.Join(pl.Y.Values, ",")})
	return q
}

// XYKnobsOf are the knobs an axis may vary for a model with knobs k, in
// the order of XYKnobs: the seed always, and the others only when the
// model has them (the app offers no more).
func XYKnobsOf(k Knobs) []string {
	has := map[string]bool{
		"seed": true, "steps": k.Sampling, "sampler": k.Sampling, "eta": k.Sampling,
		"guidance": k.Guidance, "temperature": k.Temperature, "class": k.Classes > 0,
		"subseed": k.Variation, "subseed-strength": k.Variation,
	}
	var out []string
	for _, name := range XYKnobs {
		if has[name] {
			out = append(out, name)
		}
	}
	return out
}

// XYVariation gives base the variation seed subseed when the plot of x
// and y varies the variation strength and base has no variation seed (a
// strength moves towards some seed's noise); it reports whether it did.
func XYVariation(base *Request, x, y Axis, subseed uint64) bool {
	if (x.Knob != "subseed-strength" && y.Knob != "subseed-strength") || base.Subseeds != nil {
		return false
	}
	base.Subseeds = []uint64{subseed}
	return true
}

// XYAxes are the axes a plot's parameters record (Parameters), if they
// record a plot.
func XYAxes(q images.Parameters) (x, y Axis, ok bool) {
	if s, _ := q.Lookup("Script"); s != "X/Y plot" {
		return x, y, false
	}
	axis := func(a string) (Axis, bool) {
		typ, _ := q.Lookup(a + " Type")
		vals, _ := q.Lookup(a + " Values")
		for knob, k := range xyKnobs {
			if k.name == typ && vals != "" {
				return Axis{Knob: knob, Values: strings.Split(vals, ",")}, true
			}
		}
		return Axis{}, false
	}
	x, okx := axis("X")
	y, oky := axis("Y")
	return x, y, okx && oky
}
