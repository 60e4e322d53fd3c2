package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/models"

	"github.com/urfave/cli/v2"
)

var defaultClassifier = filepath.Join("runs", "classifier", "classifier.safetensors")

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "metrics of a checkpoint: fid_lenet beside its floor, class accuracy or coverage, bits/dim",
		Flags: append(sampleFlags(),
			&cli.IntFlag{Name: "n", Value: 1000, Usage: "samples to score"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object"},
			&cli.StringFlag{Name: "classifier", Value: defaultClassifier, Usage: "the judge (genlab train classifier)"},
			&cli.IntFlag{Name: "bpd-images", Value: 100, Usage: "MNIST test images for bits/dim (0: skip)"},
			&cli.IntFlag{Name: "bpd-terms", Value: 50, Usage: "terms of the variational bound per image (an unbiased estimate; 999: all)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the samples and the bound's noise"},
		),
		Action: evalAction,
	}
}

// evalReport is what `genlab eval --json` prints.
type evalReport struct {
	Checkpoint    string    `json:"checkpoint"`
	Family        string    `json:"family"`
	Step          int       `json:"step"`
	Samples       int       `json:"samples"`
	Sampler       string    `json:"sampler"`
	Steps         int       `json:"steps"`
	Guidance      float64   `json:"guidance,omitempty"`
	FIDLeNet      float64   `json:"fid_lenet"`
	FIDLeNetReal  float64   `json:"fid_lenet_real"`
	ClassAccuracy *float64  `json:"class_accuracy,omitempty"`
	ClassCoverage []float64 `json:"class_coverage"`
	BPD           *float64  `json:"bpd,omitempty"`
	BPDImages     int       `json:"bpd_images,omitempty"`
	BPDTerms      int       `json:"bpd_terms,omitempty"`
	SecondsPerImg float64   `json:"sample_seconds_per_image"`
}

func evalAction(c *cli.Context) error {
	if err := checkSampler(c); err != nil {
		return err
	}
	n := c.Int("n")
	if n < 10 {
		return userErrorf("eval: --n %d: want at least 10 samples", n)
	}
	ckpt := c.String("ckpt")
	net, err := diffusion.LoadNetwork(ckpt)
	if err != nil {
		return err
	}
	if u := net.Config.UNet; u.InChannels != 1 || u.Size != 28 {
		return userErrorf("eval: the judge is an MNIST classifier; %s makes %dx%dx%d images", ckpt, u.InChannels, u.Size, u.Size)
	}
	clfPath := c.String("classifier")
	if _, err := os.Stat(clfPath); err != nil {
		return userErrorf("eval: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", clfPath)
	}
	judge, err := eval.NewJudge(clfPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	meta, err := models.ReadMeta(ckpt, diffusion.Family)
	if err != nil {
		return err
	}
	rep := evalReport{Checkpoint: ckpt, Family: diffusion.Family, Step: meta.Step, Samples: n, Sampler: c.String("sampler"), Steps: c.Int("steps")}
	var want []int
	if k := net.Classes(); k > 0 {
		want = make([]int, n)
		for i := range want {
			want[i] = i % k
		}
		rep.Guidance = c.Float64("guidance")
	}
	bar := newProgress(c.App.ErrWriter, "eval: sampling", 1, 1)
	start := time.Now()
	pix, err := net.Generate(ctx, net.Params, diffusion.GenerateOptions{
		N: n, Seed: c.Uint64("seed"), Sampler: c.String("sampler"), Steps: c.Int("steps"), Eta: c.Float64("eta"),
		Guidance: c.Float64("guidance"), Classes: want, Batch: c.Int("batch"),
		Progress: func(done, total int, _ []float32) error {
			bar.total, bar.every = total, max(1, total/10)
			bar.step(done, "")
			return nil
		},
	})
	bar.done()
	if err != nil {
		return err
	}
	rep.SecondsPerImg = time.Since(start).Seconds() / float64(n)
	s, err := judge.Score(pix, n, want)
	if err != nil {
		return err
	}
	rep.FIDLeNet, rep.FIDLeNetReal, rep.ClassCoverage = s.FID, s.RealFID, s.Coverage
	if want != nil {
		rep.ClassAccuracy = &s.Accuracy
	}
	if m := c.Int("bpd-images"); m > 0 {
		test, err := datasets.LoadMNIST("test")
		if err != nil {
			return err
		}
		m = min(m, test.N)
		x := make([]float32, m*test.Dim())
		diffusion.ToModelRange(x, test.Pixels[:m*test.Dim()])
		var classes []int
		if net.Classes() > 0 {
			// The bound of the unconditional model the network also is.
			classes = make([]int, m)
			for i := range classes {
				classes[i] = net.NullClass()
			}
		}
		terms := c.Int("bpd-terms")
		fmt.Fprintf(c.App.ErrWriter, "eval: bits/dim on %d MNIST test images, %d terms each\n", m, terms)
		bpd, err := net.Sched.BitsPerDim(ctx, net.EpsModel(net.Params, classes), x, m, test.Dim(), rand.New(rand.NewPCG(c.Uint64("seed"), 99)), terms)
		if err != nil {
			return err
		}
		rep.BPD, rep.BPDImages, rep.BPDTerms = &bpd, m, terms
	}
	w := c.App.Writer
	if c.Bool("json") {
		return json.NewEncoder(w).Encode(rep)
	}
	fmt.Fprintf(w, "%s (step %d), %d samples, %s %d steps", ckpt, rep.Step, n, rep.Sampler, rep.Steps)
	if want != nil {
		fmt.Fprintf(w, ", guidance %g", rep.Guidance)
	}
	fmt.Fprintf(w, "\nfid_lenet       %.3f  (real floor %.3f)\n", rep.FIDLeNet, rep.FIDLeNetReal)
	if rep.ClassAccuracy != nil {
		fmt.Fprintf(w, "class_accuracy  %.4f\n", *rep.ClassAccuracy)
	}
	fmt.Fprintf(w, "class_coverage  ")
	for k, v := range rep.ClassCoverage {
		fmt.Fprintf(w, "%d:%.3f ", k, v)
	}
	fmt.Fprintln(w)
	if rep.BPD != nil {
		fmt.Fprintf(w, "bpd             %.4f  (variational bound, %d test images, %d-term estimate)\n", *rep.BPD, rep.BPDImages, rep.BPDTerms)
	}
	fmt.Fprintf(w, "sampling        %.3f s/image\n", rep.SecondsPerImg)
	return nil
}
