package main

import (
	"fmt"

	"genlab/models"
	"genlab/vae"

	"github.com/urfave/cli/v2"
)

func trainVAE(c *cli.Context) error {
	r, err := startRun(c, vae.Family)
	if err != nil {
		return err
	}
	out, steps, resume := r.out, r.steps, r.resume
	var cfg vae.Config
	if resume != "" {
		if cfg, err = vae.OpenConfig(resume); err != nil {
			return err
		}
	}
	set, dataName, err := trainData(c, vae.Family, r, cfg.Data)
	if err != nil {
		return err
	}
	if resume == "" {
		cfg = vae.DefaultConfig(set.C, set.H)
		cfg.Data = dataName
		if err := recipeFlags(c, vae.Family, &cfg.LR, &cfg.Batch, &cfg.EMA, &cfg.Warmup, &cfg.Cosine); err != nil {
			return err
		}
	}
	if err := checkFits(vae.Family, dataName, set, cfg.InChannels, cfg.Size); err != nil {
		return err
	}
	net, err := vae.NewNetwork(cfg, c.Uint64("seed"))
	if err != nil {
		return err
	}
	tr, err := vae.NewTrainer(net, steps)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "training a VAE (%d parameters, %s) on %s for %d steps at batch %d; run folder %s\n",
		net.Params.Count(), models.BLASName, dataName, steps, cfg.Batch, out)
	return runTraining(c, tr, set, dataName, out, steps, cfg.Batch, 64, resume)
}
