package main

import (
	"fmt"

	"genlab/flow"
	"genlab/models"

	"github.com/urfave/cli/v2"
)

func trainFlow(c *cli.Context) error {
	r, err := startRun(c, flow.Family)
	if err != nil {
		return err
	}
	out, steps, resume := r.out, r.steps, r.resume
	var cfg flow.Config
	if resume != "" {
		if cfg, err = flow.OpenConfig(resume); err != nil {
			return err
		}
	} else if cond := c.String("cond"); cond != "none" {
		return userErrorf("train flow: --cond %s: the flow is unconditional; use --cond none", cond)
	}
	set, dataName, err := trainData(c, flow.Family, r, cfg.Data)
	if err != nil {
		return err
	}
	if resume == "" {
		if cfg, err = flow.NewConfig(c.String("size"), set.C, set.H); err != nil {
			return userErrorf("train flow: --size %s: use tiny, small or base", c.String("size"))
		}
		cfg.Data = dataName
		if err := recipeFlags(c, flow.Family, &cfg.LR, &cfg.Batch, &cfg.EMA, &cfg.Warmup, &cfg.Cosine); err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return userErrorf("train %v", err)
		}
	}
	if err := checkFits(flow.Family, dataName, set, cfg.InChannels, cfg.Size); err != nil {
		return err
	}
	net, err := flow.NewNetwork(cfg, c.Uint64("seed"))
	if err != nil {
		return err
	}
	tr, err := flow.NewTrainer(net, steps)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "training a flow (%d levels of %d steps, %d parameters, %s) on %s for %d steps at batch %d; run folder %s\n",
		cfg.Levels, cfg.Depth, net.Params.Count(), models.BLASName, dataName, steps, cfg.Batch, out)
	return runTraining(c, tr, set, dataName, out, steps, cfg.Batch, 64, resume)
}
