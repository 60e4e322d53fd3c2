package tasks

import (
	"context"
	"image"
	"slices"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
)

func TestEditStart(t *testing.T) {
	for _, c := range []struct {
		steps    int
		strength float64
		start    int
	}{
		{50, 1, 0}, {50, 0.5, 25}, {50, 0.3, 35}, {50, 0.001, 49}, {10, 0.94, 1},
	} {
		if got := editStart(c.steps, c.strength); got != c.start {
			t.Errorf("editStart(%d, %g) = %d, want %d", c.steps, c.strength, got, c.start)
		}
	}
}

// SDEdit runs only the last strength·steps steps, gives an image the
// same result in any batch, and moves further from its input as the
// strength rises.
func TestSDEdit(t *testing.T) {
	net := tinyNet(t, 1, 8)
	dim := 64
	x0 := make([]float32, 2*dim)
	for i := range x0 {
		x0[i] = float32(i%5)/2 - 1
	}
	steps := 0
	o := EditOptions{Steps: 10}
	two, err := SDEdit(context.Background(), net, Class(1), 2, x0, 2, 0.3, diffusion.ImageRNGs(9, 0, 2), o, func(d, total int) { steps = total })
	if err != nil {
		t.Fatal(err)
	}
	if steps != 3 {
		t.Errorf("strength 0.3 of 10 steps ran %d steps, want 3", steps)
	}
	one, err := SDEdit(context.Background(), net, Class(1), 2, x0[dim:], 1, 0.3, diffusion.ImageRNGs(9, 1, 1), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one, two[dim:]) {
		t.Error("image 1 differs between a batch of 1 and a batch of 2")
	}
	dist := func(s float64) float64 {
		x, err := SDEdit(context.Background(), net, Class(1), 2, x0, 2, s, diffusion.ImageRNGs(9, 0, 2), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := 0.0
		for i := range x {
			d += float64((x[i] - x0[i]) * (x[i] - x0[i]))
		}
		return d
	}
	if lo, hi := dist(0.1), dist(1); !(lo < hi) {
		t.Errorf("distance to the input: %g at strength 0.1, %g at 1", lo, hi)
	}
	for _, c := range []struct {
		name string
		s    float64
		cond Condition
		want string
	}{
		{"strength 0", 0, Class(1), "strength 0"},
		{"strength 2", 2, Class(1), "strength 2"},
		{"prompt", 0.5, Condition{Prompt: "a red circle"}, "text-conditioned"},
		{"class", 0.5, Class(7), "classes 0 to 2"},
	} {
		_, err := SDEdit(context.Background(), net, c.cond, 2, x0, 2, c.s, diffusion.ImageRNGs(9, 0, 2), o, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func TestEditUserImage(t *testing.T) {
	net := tinyNet(t, 1, 8)
	img := image.NewNRGBA(image.Rect(0, 0, 20, 12))
	out, err := Edit(context.Background(), EditParams{Net: net, Image: img, Strength: 0.5, Cond: Class(0), EditOptions: EditOptions{Steps: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Bounds(); b.Dx() != 20 || b.Dy() != 12 {
		t.Errorf("result is %v, want the input's 20x12", b)
	}
}

// A text model edits towards a prompt; an unknown word is an error that
// lists the vocabulary.
func TestEditWithAPrompt(t *testing.T) {
	set := datasets.Shapes(8, 1, "train")
	cfg, err := diffusion.NewConfig("tiny", 3, 16, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetCaptions(set.Captions); err != nil {
		t.Fatal(err)
	}
	cfg.T = 100
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	out, err := Edit(context.Background(), EditParams{Net: net, Image: img, Strength: 0.5, Guidance: 2,
		Cond: Condition{Prompt: set.Captions[0]}, EditOptions: EditOptions{Steps: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Bounds(); b.Dx() != 16 || b.Dy() != 16 {
		t.Errorf("result is %v", b)
	}
	_, err = Edit(context.Background(), EditParams{Net: net, Image: img, Strength: 0.5, Cond: Condition{Prompt: "a purple unicorn"}, EditOptions: EditOptions{Steps: 4}})
	if err == nil || !strings.Contains(err.Error(), "unknown word") || !strings.Contains(err.Error(), "circle") {
		t.Errorf("unknown word: %v", err)
	}
	if _, err := Edit(context.Background(), EditParams{Net: net, Image: img, Strength: 0.5, Cond: Class(1), EditOptions: EditOptions{Steps: 4}}); err == nil {
		t.Error("a class was accepted by a text model")
	}
}
