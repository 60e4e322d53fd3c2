package tasks

import (
	"bytes"
	"image"
	"math"
	"testing"
)

func TestWriteTable(t *testing.T) {
	results := []*TaskResult{
		{Task: "inpaint", Rows: []Row{
			{Task: "inpaint", Setting: "square", Method: "mean-fill", Baseline: true, Metrics: []Metric{{"PSNR (dB)", 9.5, "dB"}, {"class acc.", 0.5, "%"}}},
			{Task: "inpaint", Setting: "square", Method: "genlab", Metrics: []Metric{{"PSNR (dB)", 12.345, "dB"}, {"class acc.", 0.925, "%"}, {"s/image", 1.5, "s"}}},
		}, Notes: []string{"200 digits"}},
		{Task: "edit", Rows: []Row{
			{Task: "edit", Setting: "strength 0.5", Method: "genlab", Metrics: []Metric{{"class acc.", 0.8, "%"}, {"SSIM to input", math.NaN(), ""}}},
		}},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, results); err != nil {
		t.Fatal(err)
	}
	want := "| task | setting | method | PSNR (dB) | class acc. | s/image | SSIM to input |\n" +
		"|---|---|---|---:|---:|---:|---:|\n" +
		"| inpaint | square | *mean-fill* | 9.50 | 50.0% | – | – |\n" +
		"| inpaint | square | genlab | 12.35 | 92.5% | 1.50 | – |\n" +
		"| edit | strength 0.5 | genlab | – | 80.0% | – | – |\n" +
		"\n- inpaint: 200 digits\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestExamplesSheet(t *testing.T) {
	tile := image.NewGray(image.Rect(0, 0, 10, 8))
	ex := Examples{Name: "x", Columns: []string{"input", "genlab"}, Rows: [][]image.Image{{tile, tile}, {tile, nil}}}
	s := ex.Sheet(2).Bounds()
	// Two columns at least 20 px (the tiles) and as wide as "genlab" in
	// the 7 px font; a title row and two rows of 16 px tiles.
	if s.Dx() < 2*42+12 || s.Dy() != 4+16+2*(16+4) {
		t.Errorf("sheet is %v", s)
	}
}
