package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/models"
	"genlab/torch"
	"genlab/train"

	"github.com/urfave/cli/v2"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a diffusion checkpoint, its training state and its dataset for another engine (PyTorch: python/genlab_torch)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Value: "pytorch", Usage: "the engine: pytorch"},
			&cli.StringFlag{Name: "ckpt", Usage: "the diffusion checkpoint (.safetensors)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "the folder to write", Required: true},
			&cli.StringFlag{Name: "data", Usage: "the dataset: mnist, shapes or a folder (default: the one the checkpoint trained on)"},
			&cli.IntFlag{Name: "n", Usage: "export the first n images only (default: all, or the run's --limit)"},
		},
		Action: export,
	}
}

func export(c *cli.Context) error {
	if to := c.String("to"); to != "pytorch" {
		return userErrorf("export: --to %s: the one engine is pytorch", to)
	}
	if c.Int("n") < 0 {
		return userErrorf("export: --n %d: want 0 (all) or more", c.Int("n"))
	}
	ckpt, out := c.String("ckpt"), c.String("out")
	cfg, err := diffusion.OpenConfig(ckpt)
	if err != nil {
		return err
	}
	if p := filepath.Join(out, torch.CheckpointFile); !c.Bool("overwrite") {
		if _, err := os.Stat(p); err == nil {
			return userErrorf("export: %s holds an export already: choose another --out, or --overwrite to replace it", out)
		}
	}
	dataName := c.String("data")
	if dataName == "" {
		if dataName = cfg.Data; dataName == "" {
			return userErrorf("export: %s does not say what it trained on: give --data", ckpt)
		}
	}
	set, err := datasets.Load(dataName, "train")
	if err != nil {
		return err
	}
	n := c.Int("n")
	if !c.IsSet("n") && !c.IsSet("data") {
		// A run on the split's first images (train --limit) goes on on them.
		meta, err := models.ReadMeta(ckpt, diffusion.Family)
		if err != nil {
			return err
		}
		if v, ok := meta.Extra[train.KeyDataLimit]; ok {
			if n, err = strconv.Atoi(v); err != nil || n < 0 {
				return userErrorf("export: %s: %s is %q, not a number of images", ckpt, train.KeyDataLimit, v)
			}
		}
	}
	s, err := torch.Export(ckpt, out, set, n)
	if err != nil {
		return err
	}
	state := "without training state (the PyTorch run starts Adam afresh from the EMA weights)"
	if s.State {
		state = "with its training state"
	}
	w := c.App.Writer
	fmt.Fprintf(w, "exported %s (step %d) %s and %d images of %s to %s\n", ckpt, s.Step, state, s.Images, dataName, out)
	fmt.Fprintf(w, "train it: PYTHONPATH=python torchrun --standalone --nproc_per_node 2 -r 1 -t 1 -m genlab_torch.train --from %s --steps %d --out DIR\n", out, s.Step+1000)
	return nil
}
