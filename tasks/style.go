package tasks

import (
	"context"
	"fmt"
	"image"
	"math"
	"strings"

	"genlab/eval"
	"genlab/images"

	"github.com/disintegration/imaging"
)

// Neural style transfer (Gatys, Ecker and Bethge 2016, "Image Style
// Transfer Using Convolutional Neural Networks"): the output image x is
// optimised so that the statistics of its conv features match the style
// image's and its deeper features match the content image's. Gatys et al.
// match Gram matrices G = F Fᵀ/M; here G is split into the mean of the
// features and their covariance, matched as two terms (random features
// have large mean activations that would otherwise drown the
// correlations that carry the texture), each relative to its target's
// size so that the default weights suit any image and either bank:
//
//	F_l            C_l×M_l features of layer l (M_l positions)
//	μ_l, Σ_l       F_l 1/M_l and F_l F_lᵀ/M_l − μ_l μ_lᵀ
//	L_style        mean_l ( ‖Σ_l(x) − Σ_l(s)‖²/‖Σ_l(s)‖² + ‖μ_l(x) − μ_l(s)‖²/‖μ_l(s)‖² ) / 2
//	L_content      mean_l ‖F_l(x) − F_l(c)‖² / ‖F_l(c)‖²
//	L              w_style L_style + w_content L_content + w_tv L_tv
//
// with L_tv a total-variation smoothness term against high-frequency
// artefacts. No pretrained VGG is to be had here; the features come from
// one of two banks, both applied to an image pyramid (the image and its
// halvings by a 4×4 binomial blur at stride 2, down to about 8 px), so
// that a small receptive field sees structure at every scale:
//
//   - "random": at each level, two 3×3 conv layers of random Gaussian
//     weights (3→32→64) with a SiLU after each; the content is the second
//     layer at level 1. Ustyuzhaninov, Brendel, Gatys and Bethge (2017,
//     "What does it take to generate natural textures?") showed that one
//     layer of random multi-scale filters with a non-linearity already
//     synthesises good textures; the pyramid stands in for their large
//     kernels.
//   - "classifier": the four conv layers of genlab's own MNIST classifier,
//     trained on grey digits, applied to each colour channel alone (so
//     the statistics still see colour correlations across channels); the
//     content is its last conv at level 0.
//
// The loss is minimised over the pixels, starting from the content image,
// by L-BFGS (Gatys et al.'s choice; the default) or Adam, the pixels kept
// in [0, 1]. Random features keep the content's layout and take the
// style's colours and strokes; the classifier's digit-stroke filters reach
// lower style losses but wash the content out into a grid of strokes (see
// the eval-tasks table).
//
// This file holds the options and the entry points (StyleTransfer over
// pixel arrays, Style over images); the feature banks are in
// style_bank.go, the loss in style_loss.go and the optimisers in
// style_optim.go.

// Feature banks.
const (
	FeaturesRandom     = "random"
	FeaturesClassifier = "classifier"
)

// StyleOptions are a style transfer's settings; zero fields take the
// defaults.
type StyleOptions struct {
	Steps         int              // optimisation steps (200)
	StyleWeight   float64          // w_style (1)
	ContentWeight float64          // w_content (0.2); negative means 0, pure texture synthesis from the content image
	LR            float64          // Adam's step on pixels in [0, 1], and L-BFGS's first (0.02)
	Features      string           // FeaturesRandom (default) or FeaturesClassifier
	Classifier    *eval.Classifier // the network of FeaturesClassifier
	Seed          uint64           // the random bank's weights
	Optimizer     string           // "lbfgs" (default) or "adam"
	TVWeight      float64          // weight of the total-variation smoothness term (0.1); negative means 0
}

func (o StyleOptions) withDefaults() StyleOptions {
	if o.Steps == 0 {
		o.Steps = 200
	}
	if o.StyleWeight == 0 {
		o.StyleWeight = 1
	}
	if o.ContentWeight == 0 {
		o.ContentWeight = 0.2
	}
	if o.ContentWeight < 0 {
		o.ContentWeight = 0
	}
	if o.LR == 0 {
		o.LR = 0.02
	}
	if o.Features == "" {
		o.Features = FeaturesRandom
	}
	if o.TVWeight == 0 {
		o.TVWeight = 0.1
	}
	if o.TVWeight < 0 {
		o.TVWeight = 0
	}
	return o
}

// Validate says what is wrong with the options, if anything.
func (o StyleOptions) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Steps < 1 || o.Steps > 100000:
		return fmt.Errorf("tasks: %d style steps: want 1 to 100000", o.Steps)
	case !(o.StyleWeight > 0) || math.IsInf(o.StyleWeight, 0):
		return fmt.Errorf("tasks: style weight %g: want more than 0", o.StyleWeight)
	case math.IsNaN(o.ContentWeight) || math.IsInf(o.ContentWeight, 0):
		return fmt.Errorf("tasks: content weight %g: want 0 or more", o.ContentWeight)
	case !(o.LR > 0 && o.LR <= 1):
		return fmt.Errorf("tasks: style learning rate %g: want more than 0, at most 1", o.LR)
	case o.Optimizer != "" && o.Optimizer != "lbfgs" && o.Optimizer != "adam":
		return fmt.Errorf("tasks: optimizer %q: use lbfgs or adam", o.Optimizer)
	case !(o.TVWeight >= 0 || o.TVWeight < 0) || math.IsInf(o.TVWeight, 0):
		return fmt.Errorf("tasks: total-variation weight %g: want 0 or more", o.TVWeight)
	case o.Features != FeaturesRandom && o.Features != FeaturesClassifier:
		return fmt.Errorf("tasks: features %q: use %s or %s", o.Features, FeaturesRandom, FeaturesClassifier)
	case o.Features == FeaturesClassifier && o.Classifier == nil:
		return fmt.Errorf("tasks: features %s need the classifier (genlab train classifier)", FeaturesClassifier)
	case o.Features == FeaturesClassifier && o.Classifier.Config.InChannels != 1:
		return fmt.Errorf("tasks: features %s need a 1-channel classifier, this one takes %d", FeaturesClassifier, o.Classifier.Config.InChannels)
	}
	return nil
}

// StyleTransfer renders content (3×h×w, values in [0, 1]) in the style of
// style (3×hs×ws) and returns the 3×h×w result. progress, if not nil, is
// told the loss after each evaluation.
func StyleTransfer(ctx context.Context, content []float32, h, w int, style []float32, hs, ws int, o StyleOptions, progress func(step, total int, loss float64)) ([]float32, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if h < 3 || w < 3 || len(content) != 3*h*w || hs < 3 || ws < 3 || len(style) != 3*hs*ws {
		return nil, fmt.Errorf("tasks: style transfer of %d values as 3x%dx%d with a style of %d as 3x%dx%d", len(content), h, w, len(style), hs, ws)
	}
	l, err := newStyleLoss(content, h, w, style, hs, ws, o)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	x := make([]float64, len(content))
	for i, v := range content {
		x[i] = float64(v)
	}
	switch o.Optimizer {
	case "adam":
		err = adam(ctx, x, l.grad, l.Eval, o, progress)
	default:
		err = lbfgs(ctx, x, l.grad, l.Eval, o, progress)
	}
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(min(1, max(0, v)))
	}
	return out, nil
}

// StyleParams is one style transfer of a user's images.
type StyleParams struct {
	Content, Style image.Image
	MaxSide        int // the result's longest side (256); a larger content image is shrunk to it
	StyleOptions
	Progress func(step, total int, loss float64) // may be nil
}

// DefaultStyleSide is the longest side of a style transfer's result unless
// asked otherwise.
const DefaultStyleSide = 256

// Style renders p.Content in the style of p.Style, in RGB. The content is
// shrunk so its longest side is at most p.MaxSide (kept if smaller); the
// style image is resized so its longest side matches the result's, so the
// texture keeps its scale relative to the picture.
func Style(ctx context.Context, p StyleParams) (image.Image, error) {
	if p.Content == nil || p.Style == nil {
		return nil, fmt.Errorf("tasks: style transfer needs a content and a style image")
	}
	side := p.MaxSide
	if side == 0 {
		side = DefaultStyleSide
	}
	if side < 8 || side > 1024 {
		return nil, fmt.Errorf("tasks: result size %d: want 8 to 1024 pixels", side)
	}
	c := imaging.Clone(p.Content)
	s := imaging.Clone(p.Style)
	for _, im := range []struct {
		what string
		m    image.Image
	}{{"content", c}, {"style", s}} {
		if b := im.m.Bounds(); b.Dx() < 8 || b.Dy() < 8 || b.Dx() > MaxSide || b.Dy() > MaxSide {
			return nil, fmt.Errorf("tasks: the %s image is %dx%d: want 8 to %d pixels a side", im.what, b.Dx(), b.Dy(), MaxSide)
		}
	}
	cw, ch := fitSide(c.Bounds().Dx(), c.Bounds().Dy(), side)
	if cw != c.Bounds().Dx() || ch != c.Bounds().Dy() {
		c = imaging.Resize(c, cw, ch, imaging.Lanczos)
	}
	sw, sh := fitSide(s.Bounds().Dx(), s.Bounds().Dy(), max(cw, ch))
	s = imaging.Resize(s, max(sw, 8), max(sh, 8), imaging.Lanczos)
	out, err := StyleTransfer(ctx, images.ToFloats(c, 3), ch, cw, images.ToFloats(s, 3), s.Bounds().Dy(), s.Bounds().Dx(), p.StyleOptions, p.Progress)
	if err != nil {
		return nil, err
	}
	return images.FromFloats(out, 3, ch, cw), nil
}

// fitSide scales w×h so that its longest side is at most side.
func fitSide(w, h, side int) (int, int) {
	if max(w, h) <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, int(math.Round(float64(h)*float64(side)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(side)/float64(h)))), side
}

// FeatureNames lists the feature banks for messages.
func FeatureNames() string { return strings.Join([]string{FeaturesRandom, FeaturesClassifier}, ", ") }
