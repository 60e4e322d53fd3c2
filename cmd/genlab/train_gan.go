package main

import (
	"fmt"

	"genlab/gan"
	"genlab/models"

	"github.com/urfave/cli/v2"
)

func trainGAN(c *cli.Context) error {
	r, err := startRun(c, gan.Family)
	if err != nil {
		return err
	}
	out, steps, resume := r.out, r.steps, r.resume
	var cfg gan.Config
	if resume != "" {
		if cfg, err = gan.OpenConfig(resume); err != nil {
			return err
		}
	}
	set, dataName, err := trainData(c, gan.Family, r, cfg.Data)
	if err != nil {
		return err
	}
	if resume == "" {
		cfg = gan.DefaultConfig(set.C, set.H)
		cfg.Data = dataName
		if err := recipeFlags(c, gan.Family, &cfg.LR, &cfg.Batch, &cfg.EMA, nil, nil); err != nil {
			return err
		}
		if c.Float64("lr") > 0 {
			cfg.DLR = cfg.LR // --lr sets both players' rates
		}
		switch cond := c.String("cond"); cond {
		case "none":
		case "class":
			if set.Classes == 0 {
				return userErrorf("train gan: --cond class: %s has no labels", dataName)
			}
			cfg.Classes = set.Classes
		default:
			return userErrorf("train gan: --cond %s: a GAN takes none or class", cond)
		}
		cfg.SpectralNorm = c.Bool("spectral-norm")
	}
	if err := checkFits(gan.Family, dataName, set, cfg.InChannels, cfg.Size); err != nil {
		return err
	}
	net, err := gan.NewNetworks(cfg, c.Uint64("seed"))
	if err != nil {
		return err
	}
	tr, err := gan.NewTrainer(net)
	if err != nil {
		return err
	}
	kind := "an unconditional"
	gridN := 64
	if cfg.Classes > 0 {
		kind = "a class-conditional"
		gridN = 10 * cfg.Classes // one row per class
	}
	fmt.Fprintf(c.App.Writer, "training %s GAN (generator %d, discriminator %d parameters, %s) on %s for %d steps at batch %d; run folder %s\n",
		kind, net.GP.Count(), net.DP.Count(), models.BLASName, dataName, steps, cfg.Batch, out)
	return runTraining(c, tr, set, dataName, out, steps, cfg.Batch, gridN, resume)
}
