package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/finetune"
	"genlab/images"
	"genlab/internal/atomicfile"
	"genlab/models"
	"genlab/pipeline"
	"genlab/tasks"
	"genlab/train"

	"github.com/urfave/cli/v2"
)

func finetuneCommand() *cli.Command {
	return &cli.Command{
		Name:  "finetune",
		Usage: "teach a text diffusion model new words with few parameters: LoRA, adapters, prefix or prompt tuning, or full fine-tuning",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "method", Value: "lora", Usage: "lora, adapter, prefix, prompt or full"},
			&cli.StringFlag{Name: "base", Usage: "the text diffusion checkpoint to fine-tune (its weights stay frozen)", Required: true},
			&cli.StringFlag{Name: "data", Value: "shapes-new", Usage: "shapes-new (64 images of the new words purple and star) or a folder of images with a metadata.jsonl (file_name, text per line)"},
			&cli.IntFlag{Name: "steps", Value: 500, Usage: "optimizer steps"},
			&cli.StringFlag{Name: "out", Usage: "run folder (default runs/finetune-METHOD); the fine-tune is OUT/METHOD.safetensors"},
			&cli.IntFlag{Name: "rank", Usage: "lora: the rank r (default 4); adapter: the bottleneck width (default 8)"},
			&cli.Float64Flag{Name: "alpha", Usage: "lora: the update is scaled by alpha/rank (default: the rank, scale 1)"},
			&cli.StringFlag{Name: "targets", Usage: "lora: comma-separated layer groups: attn (self- and cross-attention projections), conv (the UNet's other convs), text (the text encoder's attention) (default attn)"},
			&cli.IntFlag{Name: "prefix", Usage: "prefix: learned keys and values per cross-attention (default 4)"},
			&cli.Float64Flag{Name: "lr", Usage: "learning rate (default: the method's)"},
			&cli.IntFlag{Name: "batch", Usage: "batch size (default 16, at most the data's size)"},
			&cli.IntFlag{Name: "warmup", Value: -1, Usage: "learning-rate warm-up steps (default 20)"},
			&cli.IntFlag{Name: "prior", Usage: "prior preservation (DreamBooth): the base draws this many images of its own prompts, trained on beside the new concept's, as many of each per batch, so it forgets less (default 0: none; 64 to 256 is usual)"},
			&cli.StringFlag{Name: "prior-prompts", Usage: "prompts of the prior images: a captioned dataset (its train captions) or a .txt file with one prompt per line (default: the dataset the base was trained on)"},
			&cli.StringFlag{Name: "prior-images", Usage: "take the prior images from this captioned dataset or image folder (its train split; the base's own training data, for one) instead of having the base draw them"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the initialisation and the data order"},
			&cli.StringFlag{Name: "resume", Usage: "continue a run: latest (in --out) or a checkpoint file"},
			&cli.IntFlag{Name: "sample-every", Usage: "write a sample grid every N steps (default: with each checkpoint)"},
			&cli.IntFlag{Name: "save-every", Usage: "checkpoint every N steps (default: steps/4)"},
			&cli.IntFlag{Name: "keep", Value: 3, Usage: "checkpoints to keep"},
			&cli.IntFlag{Name: "samples", Value: 16, Usage: "images per sample grid"},
		},
		Action: finetuneAction,
	}
}

// finetuneConfig is the config of a run: the checkpoint's when resuming,
// else the method's defaults changed by the flags.
func finetuneConfig(c *cli.Context, resume string) (finetune.Config, error) {
	if resume != "" {
		meta, err := models.ReadMeta(resume, finetune.Family)
		if err != nil {
			return finetune.Config{}, err
		}
		return finetune.ParseConfig(meta.Config)
	}
	cfg, err := finetune.NewConfig(c.String("method"))
	if err != nil {
		return cfg, userErrorf("finetune: --method %s: use %s", c.String("method"), strings.Join(finetune.Methods, ", "))
	}
	for _, f := range []string{"rank", "alpha", "targets"} {
		if c.IsSet(f) && cfg.Method != "lora" && !(f == "rank" && cfg.Method == "adapter") {
			return cfg, userErrorf("finetune: --%s is for lora%s, not %s", f, map[bool]string{true: " and adapter", false: ""}[f == "rank"], cfg.Method)
		}
	}
	if c.IsSet("prefix") && cfg.Method != "prefix" {
		return cfg, userErrorf("finetune: --prefix is for prefix tuning, not %s", cfg.Method)
	}
	if c.IsSet("rank") {
		cfg.Rank = c.Int("rank")
		if cfg.Method == "lora" && !c.IsSet("alpha") {
			cfg.Alpha = float64(cfg.Rank)
		}
	}
	if c.IsSet("alpha") {
		cfg.Alpha = c.Float64("alpha")
	}
	if c.IsSet("targets") {
		if cfg.Targets, err = finetune.ParseTargets(c.String("targets")); err != nil {
			return cfg, userErrorf("finetune: --targets: %v", strings.TrimPrefix(err.Error(), "finetune: "))
		}
	}
	if c.IsSet("prefix") {
		cfg.Prefix = c.Int("prefix")
	}
	if c.IsSet("lr") {
		if v := c.Float64("lr"); !(v > 0 && v <= 10) {
			return cfg, userErrorf("finetune: --lr %g: want a learning rate in (0, 10]", v)
		}
		cfg.LR = c.Float64("lr")
	}
	if c.IsSet("batch") {
		if v := c.Int("batch"); v < 1 || v > models.MaxBatch {
			return cfg, userErrorf("finetune: --batch %d: want 1 to %d", v, models.MaxBatch)
		}
		cfg.Batch = c.Int("batch")
	}
	if v := c.Int("warmup"); v >= 0 {
		cfg.Warmup = v
	}
	for _, f := range []string{"prior-prompts", "prior-images"} {
		if c.IsSet(f) && c.Int("prior") == 0 {
			return cfg, userErrorf("finetune: --%s needs --prior N (the number of prior images)", f)
		}
	}
	if c.IsSet("prior-prompts") && c.IsSet("prior-images") {
		return cfg, userErrorf("finetune: --prior-prompts or --prior-images: the prior images are drawn by the base or taken from data, not both")
	}
	if v := c.Int("prior"); v < 0 || v > finetune.MaxPrior {
		return cfg, userErrorf("finetune: --prior %d: want 0 to %d images", v, finetune.MaxPrior)
	}
	cfg.Prior, cfg.PriorPrompts, cfg.PriorImages = c.Int("prior"), c.String("prior-prompts"), c.String("prior-images")
	if cfg.Prior > 0 && cfg.PriorPrompts == "" && cfg.PriorImages == "" {
		meta, err := models.ReadMeta(c.String("base"), diffusion.Family)
		if err != nil {
			return cfg, err
		}
		if cfg.PriorPrompts = meta.Extra["genlab.data"]; cfg.PriorPrompts == "" {
			return cfg, userErrorf("finetune: %s does not say what it was trained on: give the prior images' prompts with --prior-prompts", c.String("base"))
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, userErrorf("%v", err)
	}
	cfg.Data = c.String("data")
	return cfg, nil
}

func finetuneAction(c *cli.Context) error {
	steps := c.Int("steps")
	if steps < 1 || c.Int("save-every") < 0 || c.Int("sample-every") < 0 {
		return userErrorf("finetune: --steps, --save-every and --sample-every must be positive")
	}
	out := c.String("out")
	resume := c.String("resume")
	if resume == "latest" {
		if out == "" {
			return userErrorf("finetune: --resume latest needs the run's --out")
		}
		var err error
		if resume, err = train.Latest(out); err != nil {
			return err
		}
	}
	cfg, err := finetuneConfig(c, resume)
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join("runs", "finetune-"+cfg.Method)
	}
	base := c.String("base")
	net, err := diffusion.LoadNetwork(base)
	if err != nil {
		return err
	}
	set, err := datasets.Load(cfg.Data, "train")
	if err != nil {
		return userErrorf("finetune: --data %s: %v", cfg.Data, strings.TrimPrefix(err.Error(), "datasets: "))
	}
	concept := set.N
	logf := func(format string, args ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", args...) }
	set, err = finetune.TrainingSet(c.Context, net, cfg, set, c.Uint64("seed"), filepath.Join(out, "prior"), logf)
	if err != nil {
		return userErrorf("%v", err)
	}
	tr, err := finetune.NewTrainer(net, base, cfg, set, steps, c.Uint64("seed"))
	if err != nil {
		return userErrorf("%v", err)
	}
	if resume != "" && tr.Tune.Config.BaseHash != cfg.BaseHash {
		return userErrorf("finetune: %s fine-tunes a base of hash %s; --base %s has hash %s", resume, cfg.BaseHash, base, tr.Tune.Config.BaseHash)
	}
	tc := tr.Tune.Config
	seen := fmt.Sprintf("%d images", concept)
	switch {
	case tc.PriorImages != "":
		seen += fmt.Sprintf(" with %d prior images from %s", tc.Prior, tc.PriorImages)
	case tc.Prior > 0:
		seen += fmt.Sprintf(" with %d prior images of the base (prompts from %s)", tc.Prior, tc.PriorPrompts)
	}
	fmt.Fprintf(c.App.Writer, "fine-tuning %s with %s: %d trained parameters (%.2f%% of the base's %d), new words %v, %s, %d steps at batch %d; run folder %s\n",
		base, tc.Method, tr.Tune.Count(), 100*float64(tr.Tune.Count())/float64(net.Params.Count()), net.Params.Count(), tc.NewWords, seen, steps, tc.Batch, out)
	if err := runTraining(c, tr, set, tc.Data, out, steps, tc.Batch, c.Int("samples"), resume); err != nil {
		return err
	}
	file := filepath.Join(out, tc.Method+".safetensors")
	if err := tr.Tune.Save(file, steps, map[string]string{"genlab.data": tc.Data}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "fine-tune:  %s (use it with --lora %s:1)\n", file, file)
	return nil
}

// loraFlag is the --lora flag of the generating commands.
func loraFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "lora", Usage: "apply a fine-tune file (genlab finetune: LoRA or any other method) at a scale, FILE or FILE:SCALE (default scale 1); repeatable"}
}

// fineTuneOptions turns --lora into the pipeline's option.
func fineTuneOptions(c *cli.Context, verb string) ([]pipeline.Option, error) {
	var uses []finetune.Use
	for _, s := range c.StringSlice("lora") {
		u, err := finetune.ParseUse(s)
		if err != nil {
			return nil, userErrorf("%s: --lora: %v", verb, strings.TrimPrefix(err.Error(), "finetune: "))
		}
		if _, err := os.Stat(u.Path); err != nil {
			return nil, userErrorf("%s: --lora %s: no such file", verb, u.Path)
		}
		uses = append(uses, u)
	}
	if len(uses) == 0 {
		return nil, nil
	}
	return []pipeline.Option{pipeline.WithFineTunes(uses...)}, nil
}

func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:  "merge",
		Usage: "fold LoRA or full fine-tunes (and their new words) into a standalone diffusion checkpoint",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "base", Usage: "the diffusion checkpoint the fine-tunes were trained on", Required: true},
			loraFlag(),
			&cli.StringFlag{Name: "out", Usage: "the merged checkpoint (.safetensors)", Required: true},
		},
		Action: mergeAction,
	}
}

func mergeAction(c *cli.Context) error {
	base, out := c.String("base"), c.String("out")
	if len(c.StringSlice("lora")) == 0 {
		return userErrorf("merge: name the fine-tunes to fold in with --lora FILE[:SCALE]")
	}
	if !strings.HasSuffix(out, ".safetensors") {
		return userErrorf("merge: --out %s: want a .safetensors file", out)
	}
	if _, err := os.Stat(out); err == nil {
		return userErrorf("merge: %s exists; choose another --out", out)
	}
	var uses []finetune.Use
	for _, s := range c.StringSlice("lora") {
		u, err := finetune.ParseUse(s)
		if err != nil {
			return userErrorf("merge: --lora: %v", strings.TrimPrefix(err.Error(), "finetune: "))
		}
		uses = append(uses, u)
	}
	meta, err := models.ReadMeta(base, diffusion.Family)
	if err != nil {
		return err
	}
	cfg, p, err := finetune.Merge(base, uses)
	var notFoldable *finetune.NotFoldableError
	if errors.As(err, &notFoldable) {
		return userErrorf("merge: %v", err)
	}
	if err != nil {
		return err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	meta.Config = raw
	meta.Extra["genlab.merged"] = strings.Join(c.StringSlice("lora"), ",")
	if err := models.SaveWeights(out, p, meta); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "merged %d fine-tune(s) into %s\n", len(uses), out)
	return nil
}

func evalFinetuneCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval-finetune",
		Usage: "compare every fine-tuning method on the new concepts (purple, star) of one base model: parameters, file size, time, success and retention",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "base", Usage: "the text diffusion checkpoint (trained on shapes) every method fine-tunes", Required: true},
			&cli.StringFlag{Name: "judge", Value: defaultAttributesNew, Usage: "the attribute judge that knows the new concepts (genlab train attributes --new-concepts)"},
			&cli.StringFlag{Name: "methods", Value: strings.Join(finetune.Methods, ","), Usage: "comma-separated methods to compare"},
			&cli.IntFlag{Name: "steps", Value: 300, Usage: "fine-tuning steps of every method"},
			&cli.IntFlag{Name: "n", Value: 32, Usage: "prompts per setting, one image each"},
			&cli.IntFlag{Name: "batch", Value: 16, Usage: "images per forward pass when sampling"},
			&cli.IntFlag{Name: "prior", Usage: "prior preservation for every method: images the base draws of its own shapes prompts, trained on beside the new concept's (0: none)"},
			&cli.BoolFlag{Name: "prior-data", Usage: "take the prior images from the shapes train split (the base's own data) instead of having the base draw them"},
			&cli.IntFlag{Name: "train-batch", Usage: "fine-tuning batch of every method (default: the method's, 16)"},
			&cli.Float64Flag{Name: "lora-lr", Usage: "LoRA's learning rate (default: its recipe's, 1e-3)"},
			&cli.StringFlag{Name: "lora-targets", Usage: "LoRA's comma-separated layer groups: attn, conv, text (default attn)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the fine-tunes and the samples"},
			&cli.StringFlag{Name: "out", Value: "out/eval-finetune", Usage: "folder for table.md, finetune.png and the runs (a finished run is reused, a stopped one resumed)"},
		},
		Action: evalFinetune,
	}
}

func evalFinetune(c *cli.Context) error {
	o := tasks.FineTuneEvalOptions{Base: c.String("base"), Judge: c.String("judge"), Steps: c.Int("steps"), N: c.Int("n"), Batch: c.Int("batch"), Seed: c.Uint64("seed"),
		Prior: c.Int("prior"), TrainBatch: c.Int("train-batch"), PriorData: c.Bool("prior-data"), LoRALR: c.Float64("lora-lr")}
	if o.Steps < 1 || o.N < 1 || o.Batch < 1 {
		return userErrorf("eval-finetune: --steps, --n and --batch must be at least 1")
	}
	if o.PriorData && o.Prior == 0 {
		return userErrorf("eval-finetune: --prior-data needs --prior N (the number of prior images)")
	}
	if c.IsSet("lora-lr") && !(o.LoRALR > 0 && o.LoRALR <= 10) {
		return userErrorf("eval-finetune: --lora-lr %g: want a learning rate in (0, 10]", o.LoRALR)
	}
	if c.IsSet("lora-targets") {
		var err error
		if o.LoRATargets, err = finetune.ParseTargets(c.String("lora-targets")); err != nil {
			return userErrorf("eval-finetune: --lora-targets: %v", strings.TrimPrefix(err.Error(), "finetune: "))
		}
	}
	if o.Prior < 0 || o.Prior > finetune.MaxPrior || o.TrainBatch < 0 || o.TrainBatch > models.MaxBatch {
		return userErrorf("eval-finetune: --prior %d, --train-batch %d: want 0 to %d images and 0 to %d", o.Prior, o.TrainBatch, finetune.MaxPrior, models.MaxBatch)
	}
	for _, m := range strings.Split(c.String("methods"), ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(finetune.Methods, m) {
			return userErrorf("eval-finetune: --methods: unknown method %q: use %s", m, strings.Join(finetune.Methods, ", "))
		}
		o.Methods = append(o.Methods, m)
	}
	if _, err := os.Stat(o.Judge); err != nil {
		return userErrorf("eval-finetune: no judge at %s: train it with 'genlab train attributes --new-concepts'", o.Judge)
	}
	out := c.String("out")
	o.Out = filepath.Join(out, "runs")
	o.Log = func(format string, args ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", args...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	rows, ex, err := tasks.EvalFineTunes(ctx, o)
	if err != nil {
		return err
	}
	table := tasks.FineTuneTable(rows, o)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(out, "table.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, table)
		return err
	}); err != nil {
		return err
	}
	sheet := filepath.Join(out, "finetune.png")
	if err := images.Save(sheet, ex.Sheet(2), ""); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s\nwrote %s and %s (a row per model, a column per setting) in %s\n", table,
		filepath.Join(out, "table.md"), sheet, time.Since(start).Round(time.Second))
	return nil
}
