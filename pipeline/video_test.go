package pipeline_test

import (
	"context"
	"math"
	"testing"

	"genlab/pipeline"
	"genlab/pipeline/pipelinetest"
)

// A video model goes through the same Generate as images: its items are
// clips (frame strips as Image, frames as Clip), each drawn from its own
// seed whatever the batch, from text alone or from a given first frame.
func TestVideoPipelineDrawsClips(t *testing.T) {
	p := open(t, pipelinetest.Video)
	k := p.Knobs()
	if k.Frames != 4 || !k.FirstFrame || !k.Prompt {
		t.Fatalf("knobs %+v", k)
	}
	r := k.Request(7, 3)
	r.Batch, r.Steps, r.Prompt = 2, 2, "a small red circle growing"
	var previews int
	r.Progress = func(pr pipeline.Progress) error {
		if pr.Preview != nil {
			previews = pr.PreviewImages
		}
		return nil
	}
	ctx := context.Background()
	out, err := p.Generate(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if out.Frames != 4 || out.Dim() != 4*3*32*32 || len(out.Pixels) != 3*out.Dim() || previews != 4 {
		t.Fatalf("frames %d, dim %d, %d values, a preview of %d images", out.Frames, out.Dim(), len(out.Pixels), previews)
	}
	if b := out.Image(0).Bounds(); b.Dx() != 4*32+5 || len(out.Clip(2)) != 4 {
		t.Errorf("strip %v, clip of %d frames", b, len(out.Clip(2)))
	}
	if v, ok := out.Params[1].Lookup("Frames"); !ok || v != "4" {
		t.Errorf("parameters %q record no frames", out.Params[1].String())
	}
	alone := r
	alone.Seeds, alone.Batch = r.Seeds[1:2], 1
	one, err := p.Generate(ctx, alone)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range one.Pixels {
		if math.Abs(float64(v-out.Pixels[out.Dim()+i])) > 1e-4 {
			t.Fatalf("clip 1 drawn alone differs at %d: %v vs %v", i, v, out.Pixels[out.Dim()+i])
		}
	}
	alone.First = out.Pixels[:3*32*32]
	given, err := p.Generate(ctx, alone)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := given.Params[0].Lookup("First frame"); v != "given" {
		t.Errorf("parameters %q do not say the first frame was given", given.Params[0].String())
	}
	alone.First = alone.First[:10]
	if err := p.Check(alone); err == nil {
		t.Error("a first frame of 10 values was accepted")
	}
	if err := (pipeline.Knobs{Family: "diffusion", Channels: 3, Size: 32}).Check(pipeline.Request{Seeds: []uint64{1}, Batch: 1, First: make([]float32, 3*32*32)}); err == nil {
		t.Error("an image model accepted a first frame")
	}
}
