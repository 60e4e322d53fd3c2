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
	"genlab/diffusion"
	"genlab/eval"

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
	clfPath := c.String("classifier")
	if _, err := os.Stat(clfPath); err != nil {
		return userErrorf("eval: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", clfPath)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := evaluate(ctx, c, "eval", ckpt, clfPath, nil)
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
func evaluate(ctx context.Context, c *cli.Context, verb, ckpt, clfPath string, judge *eval.Judge) (evalReport, error) {
	n := c.Int("n")
	g, err := loadGenerator(c, verb, ckpt)
	if err != nil {
		return evalReport{}, err
	}
	if g.channels != 1 || g.size != 28 {
		return evalReport{}, userErrorf("eval: the judge is an MNIST classifier; %s makes %dx%dx%d images", ckpt, g.channels, g.size, g.size)
	}
	if judge == nil {
		if judge, err = eval.NewJudge(clfPath); err != nil {
			return evalReport{}, err
		}
	}
	rep := evalReport{Checkpoint: ckpt, Family: g.family, Step: g.step, Samples: n}
	if g.family == diffusion.Family {
		rep.Sampler, rep.Steps = c.String("sampler"), c.Int("steps")
	}
	var want []int
	if g.classes > 0 {
		want = make([]int, n)
		for i := range want {
			want[i] = i % g.classes
		}
		if g.family == diffusion.Family {
			rep.Guidance = c.Float64("guidance")
		}
	}
	bar := newProgress(c.App.ErrWriter, "eval: sampling", 1, 1)
	start := time.Now()
	pix, err := g.draw(ctx, seedsFrom(c.Uint64("seed"), n), want, func(done, total int) {
		bar.total, bar.every = total, max(1, total/10)
		bar.step(done, "")
	})
	bar.done()
	if err != nil {
		return evalReport{}, err
	}
	rep.SecondsPerImg = time.Since(start).Seconds() / float64(n)
	s, err := judge.Score(pix, n, want)
	if err != nil {
		return evalReport{}, err
	}
	rep.FIDLeNet, rep.FIDLeNetReal, rep.ClassCoverage = s.FID, s.RealFID, s.Coverage
	if want != nil {
		rep.ClassAccuracy = &s.Accuracy
	}
	if m := c.Int("bpd-images"); m > 0 && g.bpd != nil {
		test, err := datasets.LoadMNIST("test")
		if err != nil {
			return evalReport{}, err
		}
		m = min(m, test.N)
		if d := c.Int("diffusion-bpd-images"); d > 0 && g.family == diffusion.Family {
			m = min(m, d) // compare: the diffusion bound costs thousands of passes an image
		}
		fmt.Fprintf(c.App.ErrWriter, "%s: bits/dim on %d MNIST test images\n", verb, m)
		bpd, how, err := g.bpd(ctx, test.Pixels[:m*test.Dim()], m, c.Uint64("seed"))
		if err != nil {
			return evalReport{}, err
		}
		rep.BPD, rep.BPDImages, rep.BPDMethod = &bpd, m, how
	}
	return rep, nil
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
