package train

import (
	"encoding/csv"
	"fmt"
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
	alpha := 2 / (1 + max(10, float64(len(raw))/20))
	for i, p := range raw {
		smooth[i] = p
		if i > 0 {
			smooth[i].Y = smooth[i-1].Y + alpha*(p.Y-smooth[i-1].Y)
		}
	}
	p := plot.New()
	p.Title.Text = family + " training loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = recs[0][1]
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
	return p.Save(6*vg.Inch, 3.5*vg.Inch, pngPath)
}
