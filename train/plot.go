package train

import (
	"io"

	"encoding/csv"
	"fmt"
	"genlab/internal/atomicfile"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plotLoss draws loss.csv's first loss against the step: the raw values
// faint, an exponential moving average over them bold (raw minibatch losses
// are too noisy to read a trend from).
func plotLoss(csvPath, pngPath, family string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("train: %s: %w", csvPath, err)
	}
	if len(recs) < 2 {
		return nil
	}
	raw := make(plotter.XYs, 0, len(recs)-1)
	for _, r := range recs[1:] {
		s, err1 := strconv.ParseFloat(r[0], 64)
		v, err2 := strconv.ParseFloat(r[1], 64)
		if err1 == nil && err2 == nil {
			raw = append(raw, plotter.XY{X: s, Y: v})
		}
	}
	smooth := make(plotter.XYs, len(raw))
	alpha := 2 / (1 + max(5, float64(len(raw))/100))
	for i, p := range raw {
		smooth[i] = p
		if i > 0 {
			smooth[i].Y = smooth[i-1].Y + alpha*(p.Y-smooth[i-1].Y)
		}
	}
	p := plot.New()
	p.Title.Text = family + " training loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = recs[0][1] + " (log scale)"
	positive := true
	for _, q := range raw {
		positive = positive && q.Y > 0
	}
	if positive {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Label.Text = recs[0][1]
	}
	p.Add(plotter.NewGrid())
	lr, err := plotter.NewLine(raw)
	if err != nil {
		return err
	}
	lr.Color = color.RGBA{R: 120, G: 160, B: 220, A: 255}
	ls, err := plotter.NewLine(smooth)
	if err != nil {
		return err
	}
	ls.Color = color.RGBA{R: 20, G: 60, B: 160, A: 255}
	ls.Width = vg.Points(2)
	p.Add(lr, ls)
	p.Legend.Add("per step", lr)
	p.Legend.Add("moving average", ls)
	p.Legend.Top = true
	wt, err := p.WriterTo(6*vg.Inch, 3.5*vg.Inch, "png")
	if err != nil {
		return err
	}
	return atomicfile.Write(pngPath, func(w io.Writer) error { _, err := wt.WriteTo(w); return err })
}
