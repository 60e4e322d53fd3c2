package pipeline_test

import (
	"context"
	"math"
	"testing"

	"genlab/diffusion"
	"genlab/images"
	"genlab/pipeline/pipelinetest"
)

// Variation seeds as AUTOMATIC1111's: at strength 0 the image is its
// seed's, at strength 1 (DDIM with η 0, whose only noise is x_T) the
// variation seed's own image, and in between another image, nearer its
// seed's at a small strength; the PNG parameters record and give back
// both.
func TestVariationSeeds(t *testing.T) {
	p := open(t, pipelinetest.Kind{Family: diffusion.Family, Cond: "class"})
	draw := func(seed uint64, subseed uint64, strength float64) ([]float32, images.Parameters) {
		r := p.Knobs().RequestSeeds([]uint64{seed})
		r.Steps, r.Classes = 3, []int{4}
		if strength > 0 {
			r.Subseeds, r.SubseedStrength = []uint64{subseed}, strength
		}
		out, err := p.Generate(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return out.Pixels, out.Params[0]
	}
	a, _ := draw(5, 0, 0)
	b, _ := draw(9, 0, 0)
	one, _ := draw(5, 9, 1)
	small, q := draw(5, 9, 0.1)
	if d := maxDiff(one, b); d > 1e-4 {
		t.Errorf("strength 1: %g from the variation seed's own image", d)
	}
	if da, db := meanDiff(small, a), meanDiff(small, b); da == 0 || da >= db {
		t.Errorf("strength 0.1: %g from the seed's image and %g from the variation seed's, want nearer the seed's and not equal", da, db)
	}
	back, err := images.ParseParameters(q.String())
	if err != nil || q.VariationSeed != 9 || q.VariationStrength != 0.1 || back.VariationSeed != 9 || back.VariationStrength != 0.1 {
		t.Errorf("parameters %q parse back as %+v (%v)", q.String(), back, err)
	}
	gan := open(t, pipelinetest.Kind{Family: "gan", Cond: "none"})
	r := gan.Knobs().RequestSeeds([]uint64{1})
	r.Subseeds, r.SubseedStrength = []uint64{2}, 0.5
	if err := gan.Check(r); err == nil {
		t.Error("a GAN took variation seeds")
	}
	r = p.Knobs().RequestSeeds([]uint64{1})
	r.Classes, r.Subseeds, r.SubseedStrength = []int{1}, []uint64{2}, 1.5
	if err := p.Check(r); err == nil {
		t.Error("strength 1.5 was taken")
	}
}

func meanDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d += math.Abs(float64(a[i] - b[i]))
	}
	return d / float64(len(a))
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
