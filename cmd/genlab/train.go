package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"genlab/datasets"
	"genlab/eval"
	"genlab/tasks"

	"github.com/urfave/cli/v2"
)

// families lists what `genlab train` can train in this build.
var families = []string{"diffusion", "vae", "flow", "gan", "classifier", "attributes"}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:      "train",
		Usage:     "train a model: genlab train diffusion|vae|flow|gan|classifier|attributes",
		ArgsUsage: "FAMILY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Value: "mnist", Usage: "mnist, shapes or a folder of images"},
			&cli.IntFlag{Name: "limit", Usage: "train on the first N images of the training split only (0: all); a resumed run keeps its own"},
			&cli.IntFlag{Name: "steps", Usage: "optimizer steps (default: the family's recipe)"},
			&cli.IntFlag{Name: "batch", Usage: "batch size (default: the family's recipe)"},
			&cli.Float64Flag{Name: "lr", Usage: "peak learning rate (default: the family's recipe)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the initialisation and the data order"},
			&cli.StringFlag{Name: "out", Usage: "run folder (default runs/FAMILY)"},
			&cli.StringFlag{Name: "resume", Usage: "continue a run: latest (in --out) or a checkpoint file; the architecture comes from the checkpoint"},
			&cli.Float64Flag{Name: "ema", Usage: "EMA decay of the weights samples come from (default: the recipe's)"},
			&cli.IntFlag{Name: "sample-every", Usage: "write a sample grid every N steps (default: with each checkpoint)"},
			&cli.IntFlag{Name: "save-every", Usage: "checkpoint every N steps (default: steps/4)"},
			&cli.IntFlag{Name: "keep", Value: 3, Usage: "checkpoints to keep"},
			&cli.IntFlag{Name: "samples", Usage: "images per sample grid (default 64, or 10 per class)"},
			&cli.StringFlag{Name: "size", Value: "small", Usage: "tiny, small or base"},
			&cli.StringFlag{Name: "cond", Value: "none", Usage: "none, class (diffusion and GAN), text (diffusion on captioned data) or lowres (diffusion super-resolution)"},
			&cli.StringFlag{Name: "scale", Usage: "--cond lowres: the upscaling factor, 2 or 4, or 2,4 for one model of both (default 4)"},
			&cli.StringFlag{Name: "schedule", Value: "linear", Usage: "noise schedule: linear or cosine"},
			&cli.StringFlag{Name: "init", Usage: "diffusion: start from this checkpoint's weights where they fit (a text-to-image model for a video model: its spatial layers, words and first conv; new layers keep their start)"},
			&cli.IntFlag{Name: "warmup", Value: -1, Usage: "learning-rate warm-up steps (default: the recipe's)"},
			&cli.StringFlag{Name: "lr-schedule", Value: "constant", Usage: "after warm-up: constant, or cosine (decay to 0 at the last step)"},
			&cli.BoolFlag{Name: "new-concepts", Usage: "attributes: also learn the new concepts fine-tunes are taught (purple, star); default --out runs/attributes-new"},
			&cli.BoolFlag{Name: "occluded", Usage: "classifier: train on digits hidden by random masks, with the mask as a second channel, to name the class inpainting fills under"},
			&cli.BoolFlag{Name: "spectral-norm", Usage: "GAN: spectrally normalise the discriminator"},
			&cli.StringFlag{Name: "select", Usage: "keep the best checkpoint as best.safetensors by fid_lenet, or none (default: fid_lenet for a GAN on MNIST when the judge exists)"},
			&cli.IntFlag{Name: "select-n", Value: 1000, Usage: "samples scored at each checkpoint by --select"},
			&cli.IntFlag{Name: "patience", Usage: "with --select: stop after this many checkpoints without a better score (0: never)"},
			&cli.StringFlag{Name: "classifier", Value: defaultClassifier, Usage: "the MNIST judge --select uses (genlab train classifier)"},
		},
		Action: trainAction,
	}
}

func trainAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return userErrorf("train: name the family to train: %v", families)
	}
	if fam := c.Args().First(); c.IsSet("init") && fam != "diffusion" {
		return userErrorf("train: --init is for diffusion, not %s", fam)
	}
	switch fam := c.Args().First(); fam {
	case "classifier":
		return trainClassifier(c)
	case "attributes":
		return trainAttributes(c)
	case "diffusion":
		return trainDiffusion(c)
	case "gan":
		return trainGAN(c)
	case "vae":
		return trainVAE(c)
	case "flow":
		return trainFlow(c)
	default:
		return userErrorf("train: unknown family %q: want one of %v", fam, families)
	}
}

func trainClassifier(c *cli.Context) error {
	if c.String("data") != "mnist" {
		return userErrorf("train classifier: --data %s: the classifier judges MNIST digits; use --data mnist", c.String("data"))
	}
	opts := eval.TrainOptions{Steps: c.Int("steps"), Batch: c.Int("batch"), LR: c.Float64("lr"), Seed: c.Uint64("seed")}
	if opts.Steps < 0 || opts.Batch < 0 || opts.LR < 0 {
		return userErrorf("train classifier: --steps, --batch and --lr must be positive")
	}
	trainSet, err := datasets.Load("mnist", "train")
	if err != nil {
		return err
	}
	testSet, err := datasets.Load("mnist", "test")
	if err != nil {
		return err
	}
	occluded := c.Bool("occluded")
	out := c.String("out")
	if out == "" {
		out = filepath.Join("runs", "classifier")
		if occluded {
			out = filepath.Join("runs", "occluded")
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cfg := eval.ClassifierConfig{}
	// The occluded digits' masks come from their own stream, so a run is
	// repeatable from --seed.
	var masks func(n int) []float32
	if occluded {
		cfg.InChannels = trainSet.C + 1
		rng := rand.New(rand.NewPCG(opts.Seed, 0x6f63636c))
		plane := trainSet.H * trainSet.W
		masks = func(n int) []float32 {
			m := make([]float32, n*plane)
			for i := range n {
				copy(m[i*plane:], tasks.RandomOcclusion(rng, trainSet.H, trainSet.W))
			}
			return m
		}
		opts.Input = func(x []float32, n int) []float32 { return tasks.OccludedInput(x, masks(n), n, trainSet.C, plane) }
	}
	m, err := eval.NewClassifier(cfg, opts.Seed)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	total := opts.Steps
	if total == 0 {
		total = 1400
	}
	bar := newProgress(c.App.ErrWriter, "train classifier", total, 100)
	opts.Progress = func(step, total int, loss float64) { bar.step(step, fmt.Sprintf("loss %.4f", loss)) }
	start := time.Now()
	err = m.Train(ctx, trainSet, opts)
	bar.done()
	if err != nil {
		return err
	}
	took := time.Since(start)
	what := "MNIST test accuracy"
	var acc float64
	if occluded {
		// On the test digits under masks of the same kind, drawn afresh.
		what = "accuracy on occluded MNIST test digits"
		plane := testSet.H * testSet.W
		pred, err := m.Predict(tasks.OccludedInput(testSet.Pixels, masks(testSet.N), testSet.N, testSet.C, plane), testSet.N, nil)
		if err != nil {
			return err
		}
		acc = eval.ClassAccuracy(pred, testSet.Labels)
	} else if acc, err = m.Accuracy(testSet); err != nil {
		return err
	}
	path := filepath.Join(out, "classifier.safetensors")
	extra := map[string]string{
		"genlab.data":          "mnist",
		"genlab.test_accuracy": strconv.FormatFloat(acc, 'f', 4, 64),
		"genlab.train_seconds": strconv.FormatFloat(took.Seconds(), 'f', 1, 64),
	}
	if err := m.Save(path, total, extra); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "classifier: %s %.2f%% after %d steps (%s); saved %s\n", what, 100*acc, total, took.Round(time.Second), path)
	return nil
}
