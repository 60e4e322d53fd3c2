package ui

import (
	"context"
	"fmt"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/train"
)

// QuickSteps is the length of the first-launch model: a tiny
// class-conditional diffusion model on MNIST, a few minutes on two cores.
// Its digits are blurry; `genlab train diffusion` makes better ones.
const QuickSteps = 300

// QuickTrain trains the first-launch model into the run folder out, as
// `genlab train diffusion --size tiny --cond class --steps N --out out`
// would, and returns its checkpoint.
func QuickTrain(ctx context.Context, out string, steps int, r Reporter) (string, error) {
	set, err := datasets.Load("mnist", "train")
	if err != nil {
		return "", err
	}
	cfg, err := diffusion.NewConfig("tiny", set.C, set.H, "class", set.Classes)
	if err != nil {
		return "", err
	}
	cfg.Data = "mnist"
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		return "", err
	}
	tr, err := diffusion.NewTrainer(net, steps)
	if err != nil {
		return "", err
	}
	r.Say(fmt.Sprintf("training a tiny diffusion model on MNIST into %s", out))
	res, err := train.Run(ctx, tr, train.Options{
		Out: out, Data: set, DataName: "mnist", Batch: cfg.Batch, Steps: steps,
		SaveEvery: steps, Keep: 1, SampleEvery: steps, GridN: 10 * set.Classes, Seed: 1,
		Progress: func(p train.Progress) {
			if p.Event != "" {
				r.Say(p.Event)
				return
			}
			r.Report(Progress{Done: p.Step, Total: p.Total})
		},
	})
	if err != nil {
		return "", err
	}
	return res.Checkpoint, nil
}
