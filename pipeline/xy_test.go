package pipeline_test

import (
	"slices"
	"testing"

	"genlab/images"
	"genlab/pipeline"
)

// The knobs an axis may vary are the model's own; a plot of variation
// strengths gets a variation seed when it has none; a plot's PNG
// parameters give its axes back.
func TestXYKnobsVariationAndAxes(t *testing.T) {
	for _, c := range []struct {
		k    pipeline.Knobs
		want []string
	}{
		{pipeline.Knobs{Sampling: true, Guidance: true, Classes: 10, Variation: true}, []string{"seed", "steps", "sampler", "guidance", "eta", "class", "subseed", "subseed-strength"}},
		{pipeline.Knobs{Temperature: true}, []string{"seed", "temperature"}},
		{pipeline.Knobs{Classes: 10}, []string{"seed", "class"}},
	} {
		if got := pipeline.XYKnobsOf(c.k); !slices.Equal(got, c.want) {
			t.Errorf("%+v: knobs %v, want %v", c.k, got, c.want)
		}
	}
	x, _ := pipeline.ParseAxis("subseed-strength=0,0.5")
	y, _ := pipeline.ParseAxis("steps=2,3")
	var r pipeline.Request
	if !pipeline.XYVariation(&r, x, y, 7) || !slices.Equal(r.Subseeds, []uint64{7}) {
		t.Errorf("a plot of strengths: variation seeds %v, want [7]", r.Subseeds)
	}
	if pipeline.XYVariation(&r, x, y, 8) || r.Subseeds[0] != 7 {
		t.Error("a variation seed given was replaced")
	}
	if pipeline.XYVariation(&pipeline.Request{}, y, y, 8) {
		t.Error("a plot of steps got a variation seed")
	}
	plot := &pipeline.XYPlot{X: y, Y: x, Cells: []*pipeline.Output{{Params: []images.Parameters{{Seed: 3, Steps: 2}}}}}
	q, err := images.ParseParameters(plot.Parameters().String())
	if err != nil {
		t.Fatal(err)
	}
	gx, gy, ok := pipeline.XYAxes(q)
	if !ok || gx.String() != y.String() || gy.String() != x.String() {
		t.Errorf("axes read back %v %v (%v), want %v %v", gx, gy, ok, y, x)
	}
	if _, _, ok := pipeline.XYAxes(images.Parameters{Seed: 3}); ok {
		t.Error("an image's parameters read as a plot's")
	}
}
