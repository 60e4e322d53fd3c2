package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/images"
	"genlab/models"

	"github.com/urfave/cli/v2"
)

func trainDiffusion(c *cli.Context) error {
	r, err := startRun(c, diffusion.Family)
	if err != nil {
		return err
	}
	out, steps, resume := r.out, r.steps, r.resume
	var cfg diffusion.Config
	if resume != "" {
		if cfg, err = diffusion.OpenConfig(resume); err != nil {
			return err
		}
	}
	set, dataName, err := trainData(c, diffusion.Family, r, cfg.Data)
	if err != nil {
		return err
	}
	if resume == "" {
		if cfg, err = diffusion.NewConfig(c.String("size"), set.C, set.H, c.String("cond"), set.Classes); err != nil {
			return userErrorf("train diffusion: %v", strings.TrimPrefix(err.Error(), "diffusion: "))
		}
		if err := condFlags(c, &cfg, set, dataName); err != nil {
			return err
		}
		if set.Clip() {
			// Clips make a video model, text-to-video and image-to-video in one.
			if err := cfg.SetVideo(set.Frames); err != nil {
				return userErrorf("train diffusion: %s: %v", dataName, strings.TrimPrefix(err.Error(), "diffusion: "))
			}
		}
		cfg.Data = dataName
		if cfg.Schedule = c.String("schedule"); cfg.Schedule != "linear" && cfg.Schedule != "cosine" {
			return userErrorf("train diffusion: --schedule %s: use linear or cosine", cfg.Schedule)
		}
		if err := recipeFlags(c, diffusion.Family, &cfg.LR, &cfg.Batch, &cfg.EMA, &cfg.Warmup, &cfg.Cosine); err != nil {
			return err
		}
	}
	var from *diffusion.Network
	if p := c.String("init"); p != "" {
		if resume != "" {
			return userErrorf("train diffusion: --init starts a new run; a resumed run keeps its own weights")
		}
		if from, err = diffusion.LoadNetwork(p); err != nil {
			return userErrorf("train diffusion: --init %s: %v", p, err)
		}
		hash, err := images.ModelHash(p)
		if err != nil {
			return err
		}
		cfg.Init = filepath.Base(p) + " " + hash
	}
	net, err := diffusion.NewNetwork(cfg, c.Uint64("seed"))
	if err != nil {
		return err
	}
	if from != nil {
		n, err := net.InitFrom(from)
		if err != nil {
			return userErrorf("train diffusion: --init %s: %v", c.String("init"), strings.TrimPrefix(err.Error(), "diffusion: "))
		}
		fmt.Fprintf(c.App.Writer, "starting from %s: %d of the model's %d tensors\n", c.String("init"), n, len(net.Params.Names()))
	}
	if err := checkFits(diffusion.Family, dataName, set, cfg.UNet.InChannels, cfg.UNet.Size); err != nil {
		return err
	}
	if cfg.Cond == "class" && set.Labels == nil {
		return userErrorf("train diffusion: --cond class needs labels; %s has none", dataName)
	}
	tr, err := diffusion.NewTrainer(net, steps)
	if err != nil {
		return err
	}
	if (cfg.Frames > 0) != set.Clip() || set.Frames != cfg.Frames {
		return userErrorf("train diffusion: a model of %d-frame clips cannot train on %s (%d frames)", cfg.Frames, dataName, set.Frames)
	}
	gridN := 64
	if cfg.Frames > 0 {
		gridN = 8 // frame strips, half from text, half from a first frame
	}
	switch cfg.Cond {
	case "class":
		gridN = 10 * net.Classes() // one row per class
	case "text":
		tr.GridSource = set // a row per caption
	case "lowres":
		gridN = 16 // bicubic, sample and truth side by side
		tr.GridSource = set
		if test, err := datasets.Load(dataName, "test"); err == nil && test.Dim() == set.Dim() {
			tr.GridSource = test
		}
	}
	fmt.Fprintf(c.App.Writer, "training a %s %s diffusion model (%d parameters, %s) on %s for %d steps at batch %d; run folder %s\n",
		cfg.Size, cfg.Cond, net.Params.Count(), models.BLASName, dataName, steps, cfg.Batch, out)
	return runTraining(c, tr, set, dataName, out, steps, cfg.Batch, gridN, resume)
}

// condFlags completes a fresh run's config for its conditioning: a text
// model's vocabulary comes from the dataset's captions, a super-resolution
// model's factors from --scale (2, 4, or 2,4 for a model of both).
func condFlags(c *cli.Context, cfg *diffusion.Config, set *datasets.Set, dataName string) error {
	if c.IsSet("scale") && cfg.Cond != "lowres" {
		return userErrorf("train diffusion: --scale is for super-resolution models (--cond lowres)")
	}
	switch cfg.Cond {
	case "text":
		if set.Captions == nil {
			return userErrorf("train diffusion: --cond text needs captions; %s has none (use --data shapes)", dataName)
		}
		if err := cfg.SetCaptions(set.Captions); err != nil {
			return err
		}
	case "lowres":
		if v := c.String("scale"); v != "" {
			cfg.Scales = nil
			for _, f := range strings.Split(v, ",") {
				k, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || k < 2 || set.H%k != 0 || slices.Contains(cfg.Scales, k) {
					return userErrorf("train diffusion: --scale %s: want factors such as 2, 4 or 2,4 that divide the %d-pixel image side", v, set.H)
				}
				cfg.Scales = append(cfg.Scales, k)
			}
		}
	}
	return nil
}
