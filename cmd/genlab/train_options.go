package main

import (
	"fmt"
	"os"

	"genlab/eval"
	"genlab/gan"
	"genlab/train"

	"github.com/urfave/cli/v2"
)

// selector is the --select rule of a training run: fid_lenet keeps the
// checkpoint whose samples score best with the MNIST judge (the GAN's
// default when the judge exists), none keeps only the last checkpoints.
func selector(c *cli.Context, family string, channels, size int) (*train.Selector, error) {
	rule := c.String("select")
	if rule == "" {
		rule = "none"
		if family == gan.Family && channels == 1 && size == 28 {
			if _, err := os.Stat(c.String("classifier")); err == nil {
				rule = "fid_lenet"
			} else {
				fmt.Fprintf(c.App.ErrWriter, "train %s: no MNIST judge at %s, so the best checkpoint is not kept by fid_lenet (train one with 'genlab train classifier')\n", family, c.String("classifier"))
			}
		}
	}
	switch rule {
	case "none":
		return nil, nil
	case "fid_lenet":
	default:
		return nil, userErrorf("train %s: --select %s: use fid_lenet or none", family, rule)
	}
	if channels != 1 || size != 28 {
		return nil, userErrorf("train %s: --select fid_lenet: the judge is an MNIST classifier and this model makes %dx%dx%d images", family, channels, size, size)
	}
	n, patience := c.Int("select-n"), c.Int("patience")
	if n < 10 || patience < 0 {
		return nil, userErrorf("train %s: --select-n %d, --patience %d: want at least 10 samples and a patience of 0 or more", family, n, patience)
	}
	clf := c.String("classifier")
	if _, err := os.Stat(clf); err != nil {
		return nil, userErrorf("train %s: --select fid_lenet: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", family, clf)
	}
	judge, err := eval.NewJudge(clf)
	if err != nil {
		return nil, err
	}
	return &train.Selector{Metric: "fid_lenet", N: n, Patience: patience, Score: func(pix []float32, n int) (float64, error) {
		s, err := judge.Score(pix, n, nil)
		return s.FID, err
	}}, nil
}

// cosineLR reads --lr-schedule: whether the learning rate decays to 0 on a
// cosine after warm-up.
func cosineLR(c *cli.Context, family string) (bool, error) {
	switch s := c.String("lr-schedule"); s {
	case "constant":
		return false, nil
	case "cosine":
		return true, nil
	default:
		return false, userErrorf("train %s: --lr-schedule %s: use constant or cosine", family, s)
	}
}
