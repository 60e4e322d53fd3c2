package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"genlab/datasets"
	"genlab/internal/pathcheck"
	"genlab/models"
	"genlab/vae"

	"github.com/urfave/cli/v2"
)

func fitPriorCommand() *cli.Command {
	return &cli.Command{
		Name:  "fit-prior",
		Usage: "fit a VAE's latent prior to its training data's codes: samples that look like the data",
		Description: "A VAE trained against N(0,I) draws from parts of the latent space its encoder never uses. " +
			"fit-prior encodes the training images, fits a mixture of full-covariance Gaussians to their codes by EM " +
			"and writes a copy of the checkpoint that samples from it and reports its likelihood under it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "the VAE checkpoint", Required: true},
			&cli.StringFlag{Name: "out", Usage: "the checkpoint to write (.safetensors)", Required: true},
			&cli.StringFlag{Name: "data", Usage: "the training data (default: the checkpoint's)"},
			&cli.IntFlag{Name: "components", Value: 10, Usage: fmt.Sprintf("Gaussians in the mixture (1 to %d)", vae.MaxPriorComponents)},
			&cli.IntFlag{Name: "images", Usage: "fit to the first N training images (default: all)"},
			&cli.IntFlag{Name: "iterations", Value: 50, Usage: "EM iterations at most"},
			&cli.Float64Flag{Name: "temperature", Value: 1, Usage: "the checkpoint's default sampling temperature (0 to 2)"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the posterior samples and of EM's start"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace --out if it is there"},
		},
		Action: fitPrior,
	}
}

func fitPrior(c *cli.Context) error {
	in, out := c.String("ckpt"), c.String("out")
	K, T := c.Int("components"), c.Float64("temperature")
	if K < 1 || K > vae.MaxPriorComponents {
		return userErrorf("fit-prior: --components %d: want 1 to %d", K, vae.MaxPriorComponents)
	}
	if !(T >= 0 && T <= 2) {
		return userErrorf("fit-prior: --temperature %g: want 0 to 2", T)
	}
	if c.Int("images") < 0 || c.Int("iterations") < 1 {
		return userErrorf("fit-prior: --images must be 0 or more and --iterations at least 1")
	}
	if err := pathcheck.Output("--out", out, c.Bool("overwrite"), isCheckpoint, in); err != nil {
		return userErrorf("fit-prior: %v", err)
	}
	net, err := vae.LoadNetwork(in)
	if err != nil {
		return err
	}
	meta, err := models.ReadMeta(in, vae.Family)
	if err != nil {
		return err
	}
	dataName := c.String("data")
	if dataName == "" {
		dataName = net.Config.Data
	}
	set, err := datasets.Load(dataName, "train")
	if err != nil {
		return err
	}
	if err := checkFits(vae.Family, dataName, set, net.Config.InChannels, net.Config.Size); err != nil {
		return err
	}
	n := set.N
	if m := c.Int("images"); m > 0 {
		n = min(n, m)
	}
	w := c.App.ErrWriter
	start := time.Now()
	z, err := net.PosteriorSamples(net.Params, set.Pixels[:n*set.Dim()], c.Uint64("seed"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "encoded %d %s images to latents of %d values in %s\n", n, dataName, net.LatentDim(), time.Since(start).Round(time.Second))
	var last float64
	pr, err := vae.FitPrior(z, net.LatentDim(), vae.FitOptions{Components: K, Iterations: c.Int("iterations"), Tolerance: 1e-4,
		Seed: c.Uint64("seed"), Progress: func(it int, ll float64) {
			last = ll
			fmt.Fprintf(w, "EM iteration %d: log-likelihood %.4f nats per latent value (%s)\n", it, ll, time.Since(start).Round(time.Second))
		}})
	if err != nil {
		return err
	}
	fitted, err := net.WithPrior(pr, T)
	if err != nil {
		return err
	}
	cfg, err := json.Marshal(fitted.Config)
	if err != nil {
		return err
	}
	extra := maps.Clone(meta.Extra)
	extra["genlab.prior"] = fmt.Sprintf("Gaussian mixture of %d components fitted by EM to posterior samples of %d %s training images (log-likelihood %.4f nats per latent value)",
		K, n, dataName, last)
	extra["genlab.prior_of"] = in
	if err := models.SaveWeights(out, fitted.Params, models.Meta{Family: vae.Family, Config: cfg, Step: meta.Step, Extra: extra}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: a %d-component prior, sampled at temperature %g by default (%s)\n", out, K, T, time.Since(start).Round(time.Second))
	return nil
}

// isCheckpoint says whether path is a genlab checkpoint, which --overwrite
// may replace.
func isCheckpoint(path string) bool {
	_, err := models.ReadMeta(path, "")
	return err == nil
}
