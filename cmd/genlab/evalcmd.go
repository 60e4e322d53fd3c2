package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"genlab/datasets"
	"genlab/eval"
	"genlab/pipeline"

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
			&cli.IntFlag{Name: "bpd-terms", Value: 50, Usage: "diffusion: terms of the variational bound per image (an unbiased estimate; 999: all)"},
			&cli.IntFlag{Name: "bpd-k", Value: 100, Usage: "VAE: importance samples per image of the bound"},
			seedFlag("1", "seed of the samples (image i: seed+i) and the bound's noise"),
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
	Sampler       string    `json:"sampler,omitempty"`
	Steps         int       `json:"steps,omitempty"`
	Guidance      float64   `json:"guidance,omitempty"`
	FIDLeNet      float64   `json:"fid_lenet"`
	FIDLeNetReal  float64   `json:"fid_lenet_real"`
	ClassAccuracy *float64  `json:"class_accuracy,omitempty"`
	ClassCoverage []float64 `json:"class_coverage"`
	BPD           *float64  `json:"bpd,omitempty"`
	BPDImages     int       `json:"bpd_images,omitempty"`
	BPDMethod     string    `json:"bpd_method,omitempty"`
	SecondsPerImg float64   `json:"sample_seconds_per_image"`

	pixels []float32 // the samples, for compare's memorization column
}

func evalAction(c *cli.Context) error {
	n := c.Int("n")
	if n < 10 {
		return userErrorf("eval: --n %d: want at least 10 samples", n)
	}
	ckpt := c.String("ckpt")
	clfPath := c.String("classifier")
	if _, err := os.Stat(clfPath); err != nil {
		return userErrorf("eval: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", clfPath)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, _, err := evaluate(ctx, c, "eval", ckpt, clfPath, nil)
	if err != nil {
		return err
	}
	w := c.App.Writer
	if c.Bool("json") {
		return json.NewEncoder(w).Encode(rep)
	}
	rep.print(w)
	return nil
}

// evaluate (for the command verb) scores a checkpoint of any family with the judge at clfPath
// (loaded once and passed in judge when not nil): c.Int("n") samples,
// balanced over the classes of a conditional model, and bits/dim on the
// first --bpd-images MNIST test images where the family has a likelihood.
// It returns the pipeline too, for compare's grid.
func evaluate(ctx context.Context, c *cli.Context, verb, ckpt, clfPath string, judge *eval.Judge) (evalReport, pipeline.Pipeline, error) {
	n := c.Int("n")
	p, err := openPipeline(verb, ckpt)
	if err != nil {
		return evalReport{}, nil, err
	}
	k, info := p.Knobs(), p.Info()
	if k.Channels != 1 || k.Size != 28 {
		return evalReport{}, nil, userErrorf("%s: the judge is an MNIST classifier; %s makes %dx%dx%d images", verb, ckpt, k.Channels, k.Size, k.Size)
	}
	r, err := flagRequest(c, verb, p, seedsOf(c, n), verb == "compare")
	if err != nil {
		return evalReport{}, nil, err
	}
	r.Classes = nil
	if k.Classes > 0 {
		r.Classes = make([]int, n)
		for i := range r.Classes {
			r.Classes[i] = i % k.Classes
		}
	}
	if judge == nil {
		if judge, err = eval.NewJudge(clfPath); err != nil {
			return evalReport{}, nil, err
		}
	}
	rep := evalReport{Checkpoint: ckpt, Family: info.Family, Step: info.Step, Samples: n}
	if k.Sampling {
		rep.Sampler, rep.Steps = r.Sampler, r.Steps
	}
	if k.Guidance && r.Classes != nil {
		rep.Guidance = r.Guidance
	}
	bar := newProgress(c.App.ErrWriter, verb+": sampling", 0, 0)
	r.Progress = bar.report
	start := time.Now()
	out, err := p.Generate(ctx, r)
	bar.done()
	if err != nil {
		return evalReport{}, nil, err
	}
	rep.SecondsPerImg = time.Since(start).Seconds() / float64(n)
	rep.pixels = out.Pixels
	s, err := judge.Score(out.Pixels, n, r.Classes)
	if err != nil {
		return evalReport{}, nil, err
	}
	rep.FIDLeNet, rep.FIDLeNetReal, rep.ClassCoverage = s.FID, s.RealFID, s.Coverage
	if r.Classes != nil {
		rep.ClassAccuracy = &s.Accuracy
	}
	l, ok := p.(pipeline.Likelihood)
	if m := c.Int("bpd-images"); m > 0 && ok {
		test, err := datasets.LoadMNIST("test")
		if err != nil {
			return evalReport{}, nil, err
		}
		m = min(m, test.N)
		if d := c.Int("diffusion-bpd-images"); d > 0 && k.Sampling {
			m = min(m, d) // compare: the diffusion bound costs thousands of passes an image
		}
		fmt.Fprintf(c.App.ErrWriter, "%s: bits/dim on %d MNIST test images\n", verb, m)
		o := pipeline.BitsPerDimOptions{Seed: seedOf(c), Terms: c.Int("bpd-terms"), K: c.Int("bpd-k")}
		bpd, how, err := l.BitsPerDim(ctx, test.Pixels[:m*test.Dim()], m, o)
		if err != nil {
			return evalReport{}, nil, err
		}
		rep.BPD, rep.BPDImages, rep.BPDMethod = &bpd, m, how
	}
	return rep, p, nil
}

func (rep evalReport) print(w io.Writer) {
	fmt.Fprintf(w, "%s (%s, step %d), %d samples", rep.Checkpoint, rep.Family, rep.Step, rep.Samples)
	if rep.Sampler != "" {
		fmt.Fprintf(w, ", %s %d steps", rep.Sampler, rep.Steps)
	}
	if rep.Guidance != 0 {
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
		fmt.Fprintf(w, "bpd             %.4f  (%s, %d test images)\n", *rep.BPD, rep.BPDMethod, rep.BPDImages)
	}
	fmt.Fprintf(w, "sampling        %.4f s/image\n", rep.SecondsPerImg)
}
