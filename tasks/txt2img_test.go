package tasks

import (
	"context"
	"errors"
	"image"
	"slices"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/images"
	"genlab/models"
)

// tinyText is an untrained tiny text-to-image network over the shapes
// vocabulary.
func tinyText(t *testing.T) *diffusion.Network {
	t.Helper()
	cfg, err := diffusion.NewConfig("tiny", 3, 32, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetCaptions(datasets.Shapes(200, 1, "all").Captions); err != nil {
		t.Fatal(err)
	}
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func TestTextToImage(t *testing.T) {
	net := tinyText(t)
	ctx := context.Background()
	p := TextToImageParams{Net: net, Prompt: "a large blue circle in the center", N: 3, Steps: 3, Sampler: DefaultTextSampler, Guidance: 3, Seed: 5}
	imgs, err := TextToImage(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 3 || imgs[0].Bounds() != image.Rect(0, 0, 32, 32) {
		t.Fatalf("%d images of %v", len(imgs), imgs[0].Bounds())
	}
	// Image 1 is the first image of a run seeded one later.
	p.N, p.Seed = 1, 6
	again, _ := TextToImage(ctx, p)
	if !slices.Equal(images.ToFloats(again[0], 3), images.ToFloats(imgs[1], 3)) {
		t.Error("image 1 alone differs from image 1 of three")
	}
	p.Prompt = "a large purple circle in the center"
	_, err = TextToImage(ctx, p)
	var uw *models.UnknownWordError
	if !errors.As(err, &uw) || !strings.Contains(err.Error(), `unknown word "purple"`) || !strings.Contains(err.Error(), "magenta") {
		t.Errorf("unknown word: %v", err)
	}
	if _, err := TextToImage(ctx, TextToImageParams{Net: classNet(t), Prompt: "a digit", N: 1}); err == nil || !strings.Contains(err.Error(), "text-conditioned model") {
		t.Errorf("a class model: %v", err)
	}
}

func TestTextToImageScores(t *testing.T) {
	net := tinyText(t)
	attr, err := eval.NewAttributeClassifier(eval.AttributesConfig{Channels: 8, Features: 16}, 1)
	if err != nil {
		t.Fatal(err)
	}
	set := datasets.Shapes(4, 3, "heldout")
	r, err := TextToImageScores(context.Background(), net, attr, set, []float64{1, 3}, "ddim", 1, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Real.N != 4 || len(r.Generated) != 2 || len(r.Seconds) != 2 || len(r.Examples.Columns) != 3 || len(r.Examples.Rows) != 4 || len(r.Examples.Rows[3]) != 3 {
		t.Fatalf("result %+v", r)
	}
	for _, s := range append(r.Generated, r.Real) {
		if s.Mean < 0 || s.Mean > 1 || s.AllFour > s.Mean {
			t.Errorf("scores %+v", s)
		}
	}
}
