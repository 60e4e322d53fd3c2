package tasks

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"genlab/images"

	"gorgonia.org/tensor"
)

// The style loss's gradient with respect to the image matches central
// finite differences, for both feature banks (the classifier's on a
// freshly initialised classifier), with and without the content term.
func TestStyleLossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const h, w, hs, ws = 10, 9, 12, 12
	content := make([]float32, 3*h*w)
	style := make([]float32, 3*hs*ws)
	for i := range content {
		content[i] = 0.2 + 0.6*rng.Float32()
	}
	for i := range style {
		style[i] = rng.Float32()
	}
	for _, c := range []struct {
		name string
		o    StyleOptions
	}{
		{"random", StyleOptions{Features: FeaturesRandom, Seed: 3}},
		{"random, style only", StyleOptions{Features: FeaturesRandom, ContentWeight: -1, TVWeight: -1, Seed: 4}},
		{"classifier", StyleOptions{Features: FeaturesClassifier, Classifier: tinyClassifier(t)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := newStyleLossOf(tensor.Float64, content, h, w, style, hs, ws, c.o.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			x := make([]float64, len(content))
			for i := range x {
				x[i] = 0.25 + 0.5*rng.Float64()
			}
			if _, err := l.Eval(x); err != nil {
				t.Fatal(err)
			}
			grad := append([]float64(nil), l.grad...)
			gmax := 0.0
			for _, g := range grad {
				gmax = max(gmax, math.Abs(g))
			}
			const eps = 1e-5
			for k := 0; k < 30; k++ {
				i := rng.IntN(len(x))
				x0 := x[i]
				x[i] = x0 + eps
				fp, _ := l.Eval(x)
				x[i] = x0 - eps
				fm, _ := l.Eval(x)
				x[i] = x0
				fd := (fp - fm) / (2 * eps)
				// float64 loss: agreement to 1e-4 of the largest gradient.
				if math.Abs(fd-grad[i]) > 1e-4*gmax {
					t.Errorf("d loss/d x[%d]: backprop %.6g, finite difference %.6g (largest |grad| %.3g)", i, grad[i], fd, gmax)
				}
			}
		})
	}
}

// A short optimisation lowers the loss with either optimiser, and Style
// returns an RGB image of the content's size (shrunk to MaxSide).
func TestStyleTransferLowersTheLoss(t *testing.T) {
	const s = 24
	content, style := Scene(s, 1), Texture("waves", s, 2)
	for _, opt := range []string{"lbfgs", "adam"} {
		var first, last float64
		_, err := StyleTransfer(context.Background(), content, s, s, style, s, s, StyleOptions{Steps: 15, Optimizer: opt},
			func(step, _ int, loss float64) {
				if step == 1 {
					first = loss
				}
				last = loss
			})
		if err != nil {
			t.Fatal(err)
		}
		if !(last < 0.8*first) {
			t.Errorf("%s: loss %g after the first step, %g after the last", opt, first, last)
		}
	}
	out, err := Style(context.Background(), StyleParams{
		Content: images.FromFloats(Scene(40, 3), 3, 40, 40), Style: images.FromFloats(Texture("dots", 30, 1), 3, 30, 30),
		MaxSide: 20, StyleOptions: StyleOptions{Steps: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Bounds(); b.Dx() != 20 || b.Dy() != 20 {
		t.Errorf("result is %v, want 20x20", b)
	}
}

func TestStyleOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    StyleOptions
		want string
	}{
		{StyleOptions{Steps: -1}, "steps"},
		{StyleOptions{Features: "vgg"}, "features"},
		{StyleOptions{Features: FeaturesClassifier}, "classifier"},
		{StyleOptions{StyleWeight: -1}, "style weight"},
		{StyleOptions{LR: 2}, "learning rate"},
	} {
		if err := c.o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one about %q", c.o, err, c.want)
		}
	}
	if err := (StyleOptions{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestProceduralImages(t *testing.T) {
	for _, k := range textureKinds {
		a, b := Texture(k, 16, 1), Texture(k, 16, 1)
		if !slices.Equal(a, b) {
			t.Errorf("%s: not deterministic", k)
		}
		if slices.Equal(a, Texture(k, 16, 2)) {
			t.Errorf("%s: the seed changes nothing", k)
		}
		for _, v := range a {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%s: value %g", k, v)
			}
		}
	}
}
