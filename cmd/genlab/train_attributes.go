package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"genlab/datasets"
	"genlab/eval"

	"github.com/urfave/cli/v2"
)

// defaultAttributes is where `genlab train attributes` leaves the shapes
// judge that txt2img's evaluation reads.
var defaultAttributes = filepath.Join("runs", "attributes", "attributes.safetensors")

// defaultAttributesNew is where `genlab train attributes --new-concepts`
// leaves the judge that also knows the fine-tuning concepts (purple, star).
var defaultAttributesNew = filepath.Join("runs", "attributes-new", "attributes.safetensors")

// trainAttributes trains the shapes attribute classifier, the judge of
// text-to-image, on every (colour, shape) pair (the held-out ones too: a
// judge must know what the generator was kept from), and reports its
// accuracy on other images of every pair.
func trainAttributes(c *cli.Context) error {
	if d := c.String("data"); c.IsSet("data") && d != "shapes" {
		return userErrorf("train attributes: --data %s: the attribute classifier judges shapes images; use --data shapes", d)
	}
	opts := eval.AttributesTrainOptions{Steps: c.Int("steps"), Batch: c.Int("batch"), LR: c.Float64("lr"), Seed: c.Uint64("seed")}
	if opts.Steps < 0 || opts.Batch < 0 || opts.LR < 0 {
		return userErrorf("train attributes: --steps, --batch and --lr must be positive")
	}
	trainSet, err := datasets.Load("shapes", "all")
	if err != nil {
		return err
	}
	testSet := datasets.Shapes(datasets.ShapesTestN, 5, "all")
	var cfg eval.AttributesConfig
	out := c.String("out")
	if out == "" {
		out = filepath.Dir(defaultAttributes)
	}
	if c.Bool("new-concepts") {
		// The judge of fine-tunes: the new colour and shape too, on about
		// as many images per pair as the base pairs get.
		trainSet = datasets.ShapesWithNew(datasets.ShapesTrainN, datasets.ShapesTrainN*13/32, 4)
		testSet = datasets.ShapesWithNew(datasets.ShapesTestN, datasets.ShapesTestN*13/32, 5)
		cfg.Colors, cfg.Shapes, cfg.Sizes, cfg.Positions = datasets.ShapesAttributesWithNew()
		if !c.IsSet("out") {
			out = filepath.Dir(defaultAttributesNew)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	m, err := eval.NewAttributeClassifier(cfg, opts.Seed)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	total := opts.Steps
	if total == 0 {
		total = 1500
	}
	bar := newProgress(c.App.ErrWriter, "train attributes", total, 100)
	opts.Progress = func(step, total int, loss float64) { bar.step(step, fmt.Sprintf("loss %.4f", loss)) }
	start := time.Now()
	err = m.Train(ctx, trainSet, opts)
	bar.done()
	if err != nil {
		return err
	}
	took := time.Since(start)
	want := make([]datasets.ShapeAttrs, testSet.N)
	for i := range want {
		if want[i], err = datasets.ShapeAttrsOf(testSet, i); err != nil {
			return err
		}
	}
	s, err := m.Score(testSet.Pixels, testSet.N, want)
	if err != nil {
		return err
	}
	// The same images with grain and a tint, as generated ones may have.
	rng := rand.New(rand.NewPCG(5, 5))
	noisy := make([]float32, len(testSet.Pixels))
	plane := testSet.H * testSet.W
	for i := range testSet.N * testSet.C {
		tint, std := 0.1*rng.Float64(), 0.2*rng.Float64()
		for k := i * plane; k < (i+1)*plane; k++ {
			noisy[k] = float32(min(1, max(0, float64(testSet.Pixels[k])+tint+std*rng.NormFloat64())))
		}
	}
	sn, err := m.Score(noisy, testSet.N, want)
	if err != nil {
		return err
	}
	path := filepath.Join(out, "attributes.safetensors")
	extra := map[string]string{
		"genlab.data":           "shapes",
		"genlab.test_accuracy":  strconv.FormatFloat(s.AllFour, 'f', 4, 64),
		"genlab.noisy_accuracy": strconv.FormatFloat(sn.AllFour, 'f', 4, 64),
		"genlab.train_seconds":  strconv.FormatFloat(took.Seconds(), 'f', 1, 64),
	}
	if err := m.Save(path, total, extra); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "attributes: test accuracy colour %.2f%%, shape %.2f%%, size %.2f%%, position %.2f%%, all four %.2f%% (with grain and tint: all four %.2f%%, colour %.2f%%) after %d steps (%s); saved %s\n",
		100*s.Each[0], 100*s.Each[1], 100*s.Each[2], 100*s.Each[3], 100*s.AllFour, 100*sn.AllFour, 100*sn.Each[0], total, took.Round(time.Second), path)
	return nil
}
