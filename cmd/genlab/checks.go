package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"genlab/checkpoint"
	"genlab/images"
	"genlab/internal/memory"
	"genlab/internal/pathcheck"
	"genlab/models"
	"genlab/pipeline"

	"github.com/urfave/cli/v2"
)

// Checks every command gets before its action runs, so that each command
// needs no code of its own for them: --max-memory, float flags that must
// be finite and within sense, count flags that must not be negative, seeds
// a PNG can name, outputs that would destroy a file (--overwrite), and the
// memory a request on a checkpoint needs.

// maxMemoryFlag overrides the memory genlab plans for: by default a model
// or a request whose estimate exceeds the machine's MemAvailable is refused
// before it starts.
func maxMemoryFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:  "max-memory",
		Usage: "memory genlab may plan to use, e.g. 8G (default: what the machine has available)",
	}
}

// addChecks gives every command that does work --max-memory (and
// --overwrite, if it writes outputs) and runs checkFlags, checkOutputs and
// checkRequest before it.
func addChecks(cmds []*cli.Command) {
	for _, c := range cmds {
		// A command with subcommands may do work of its own too (batch,
		// and batch verify).
		addChecks(c.Subcommands)
		if c.Action == nil {
			continue
		}
		// A command that declares either flag itself keeps its own.
		if !commandHas(c, "max-memory") {
			c.Flags = append(c.Flags, maxMemoryFlag())
		}
		if upscaleCommands[c.Name] && !commandHas(c, "upscale") {
			c.Flags = append(c.Flags, upscaleFlag(c.Name))
		}
		if writesOutputs(c) && !commandHas(c, "overwrite") {
			c.Flags = append(c.Flags, &cli.BoolFlag{Name: "overwrite",
				Usage: "replace existing outputs, even files genlab did not write and the command's own inputs"})
		}
		required := takeRequired(c)
		before := c.Before
		c.Before = func(ctx *cli.Context) error {
			if ctx.Command.Command(ctx.Args().First()) != nil {
				return nil // the subcommand checks its own flags
			}
			for _, name := range required {
				if !ctx.IsSet(name) {
					return userErrorf("%s: --%s is missing: %s (see 'genlab %s --help')", ctx.Command.Name, name, flagUsage(ctx.Command, name), ctx.Command.Name)
				}
			}
			memory.SetLimit(0)
			if s := ctx.String("max-memory"); s != "" {
				n, err := memory.ParseSize(s)
				if err != nil {
					return userErrorf("%s: --max-memory: %v", ctx.Command.Name, err)
				}
				memory.SetLimit(n)
			}
			if err := checkFlags(ctx); err != nil {
				return err
			}
			if err := checkUpscale(ctx); err != nil {
				return err
			}
			if err := checkOutputs(ctx); err != nil {
				return err
			}
			if err := checkRequest(ctx); err != nil {
				return err
			}
			if before != nil {
				return before(ctx)
			}
			return nil
		}
	}
}

// takeRequired checks c's required flags itself: urfave/cli would print
// the whole help before its error. Each one's help says "(required)"
// instead of a default (helpLine).
func takeRequired(c *cli.Command) []string {
	var names []string
	for _, f := range c.Flags {
		rf, ok := f.(cli.RequiredFlag)
		if !ok || !rf.IsRequired() {
			continue
		}
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Required, f.Usage = false, f.Usage+" (required)"
		case *cli.StringSliceFlag:
			f.Required, f.Usage = false, f.Usage+" (required)"
		case *cli.Float64Flag:
			f.Required, f.Usage = false, f.Usage+" (required)"
		case *cli.IntFlag:
			f.Required, f.Usage = false, f.Usage+" (required)"
		case *cli.Uint64Flag:
			f.Required, f.Usage = false, f.Usage+" (required)"
		default:
			panic(fmt.Sprintf("genlab: required flag %T: teach takeRequired its type", f))
		}
		names = append(names, f.Names()[0])
	}
	return names
}

// flagUsage is the help of c's flag name, without "(required)".
func flagUsage(c *cli.Command, name string) string {
	for _, f := range c.Flags {
		if df, ok := f.(cli.DocGenerationFlag); ok && f.Names()[0] == name {
			return strings.TrimSuffix(df.GetUsage(), " (required)")
		}
	}
	return ""
}

// urfaveFlagLine is urfave/cli's help line of a flag, which helpLine wraps.
var urfaveFlagLine = cli.FlagStringer

// helpLine is a flag's help line: urfave/cli's, without the default it
// appends when the flag is required or its help already says its default
// (urfave/cli would print "(default: 0)" there).
func helpLine(f cli.Flag) string {
	line := urfaveFlagLine(f)
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return line
	}
	if u := df.GetUsage(); strings.HasSuffix(u, "(required)") || strings.Contains(u, "(default:") {
		line = strings.TrimSuffix(line, fmt.Sprintf(" (default: %s)", df.GetDefaultText()))
	}
	return line
}

func init() { cli.FlagStringer = helpLine }

// floatRanges bound the float flags whose sense has limits; every other
// float flag must only be finite.
var floatRanges = map[string][2]float64{
	"guidance":         {0, 100},
	"inpaint-guidance": {0, 100},
	"lr":               {0, 10},
	"ema":              {0, 1},
	"eta":              {0, 10},
	"strength":         {0, 1},
	"subseed-strength": {0, 1},
	"temperature":      {0, 100},
}

// negativeInts are the int flags where a negative value means something
// (a recipe's default).
var negativeInts = map[string]bool{"warmup": true}

// anySeed are the commands whose number --seed names no image (a
// shuffle, a run), so it may take the whole uint64 range.
var anySeed = map[string]bool{"show": true, "check": true, "train": true}

// checkFlags refuses, before any work, a float flag that is NaN, infinite
// or out of its range, a negative count, and a --seed whose images' seeds
// (seed+i) the PNG parameters cannot record; it draws a random --seed
// (resolveSeedFlag). The commands whose --seed names no image (a shuffle,
// a training run) have a number flag, any uint64.
func checkFlags(ctx *cli.Context) error {
	verb := ctx.Command.Name
	for _, f := range ctx.Command.Flags {
		name := f.Names()[0]
		if _, seed := f.(*cli.StringFlag); !ctx.IsSet(name) && !(seed && name == "seed") {
			continue
		}
		switch f.(type) {
		case *cli.Float64Flag:
			v := ctx.Float64(name)
			r, ok := floatRanges[name]
			if math.IsNaN(v) || math.IsInf(v, 0) || ok && (v < r[0] || v > r[1]) {
				if ok {
					return userErrorf("%s: --%s %v: want a number from %g to %g", verb, name, v, r[0], r[1])
				}
				return userErrorf("%s: --%s %v: want a finite number", verb, name, v)
			}
		case *cli.IntFlag:
			if v := ctx.Int(name); v < 0 && !negativeInts[name] {
				return userErrorf("%s: --%s %d: want 0 or more", verb, name, v)
			}
		case *cli.StringFlag:
			if name == "seed" {
				if err := resolveSeedFlag(ctx, "seed"); err != nil {
					return err
				}
			}
		case *cli.Uint64Flag:
			// A number --seed: the commands whose seed names no image
			// (anySeed) take any, the others seed+i for their --n.
			if name != "seed" || anySeed[verb] {
				continue
			}
			n := 1
			if hasFlag(ctx, "n") {
				n = max(1, ctx.Int("n"))
			}
			if err := pipeline.CheckSeedRun(ctx.Uint64(name), n); err != nil {
				return userErrorf("%s: --seed %d: %v", verb, ctx.Uint64(name), err)
			}
		}
	}
	if hasFlag(ctx, "subseed") {
		return resolveSubseed(ctx)
	}
	return nil
}

func hasFlag(ctx *cli.Context, name string) bool { return commandHas(ctx.Command, name) }

func commandHas(c *cli.Command, name string) bool {
	for _, f := range c.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// checkRequest estimates the memory of what a command asks of a
// checkpoint (--ckpt): the weights, the --n images held (and
// --bpd-images test images), and one --batch in flight, and refuses it
// with one line when it exceeds the limit. A checkpoint it cannot read is
// left for the command to report.
func checkRequest(ctx *cli.Context) error {
	if !hasFlag(ctx, "ckpt") {
		return nil
	}
	for _, path := range ctx.StringSlice("ckpt") { // compare takes several
		if err := checkRequestOn(ctx, path); err != nil {
			return err
		}
	}
	if p := ctx.String("ckpt"); p != "" {
		return checkRequestOn(ctx, p)
	}
	return nil
}

func checkRequestOn(ctx *cli.Context, path string) error {
	h, err := checkpoint.ReadHeader(path)
	if err != nil {
		return nil
	}
	n, batch, bpd := int64(1), int64(16), int64(0)
	if hasFlag(ctx, "n") {
		n = int64(max(1, ctx.Int("n")))
	}
	if hasFlag(ctx, "batch") {
		batch = int64(max(1, ctx.Int("batch")))
	}
	if hasFlag(ctx, "bpd-images") {
		bpd = int64(max(0, ctx.Int("bpd-images")))
	}
	batch = min(batch, max(n, bpd))
	need := requestBytes(h, n, batch, bpd)
	what := fmt.Sprintf("%s: %d images at a batch of %d", ctx.Command.Name, n, batch)
	if bpd > 0 {
		what += fmt.Sprintf(" and bits/dim on %d", bpd)
	}
	if err := memory.Check(what+" from "+path, need); err != nil {
		return userErrorf("%v", err)
	}
	return nil
}

// requestBytes is checkRequest's estimate. Measured: sampling a diffusion
// UNet of width C on S×S images holds about 40·C·S² floats per image in
// flight (the small UNet, C 32: 3.6 MB an image at 28×28); the widest
// conv of the header (3·2C, attention's qkv) stands in for the width, so
// 8 floats per pixel and channel of it bound that from above.
func requestBytes(h *checkpoint.Header, n, batch, bpd int64) int64 {
	c, s := imageShape(h.Metadata[checkpoint.KeyConfig])
	var width int64 = 64
	for _, t := range h.Tensors {
		if len(t.Shape) == 4 {
			width = max(width, int64(t.Shape[0]))
		}
	}
	pixels := memory.Mul(s, s)
	image := memory.Mul(4, c, pixels)
	held := memory.Mul(3, memory.Add(n, bpd), image)
	inflight := memory.Mul(4*8, batch, width, pixels)
	return memory.Add(models.LoadBytes(h), held, inflight)
}

// imageShape reads the image channels and side from a config of any
// family (in_channels and size, at the top or under "unet"); 3×32 if they
// are not there.
func imageShape(config string) (channels, side int64) {
	var cfg struct {
		InChannels int64 `json:"in_channels"`
		Size       int64 `json:"size"`
		UNet       struct {
			InChannels int64 `json:"in_channels"`
			Size       int64 `json:"size"`
		} `json:"unet"`
	}
	json.Unmarshal([]byte(config), &cfg)
	channels, side = max(cfg.InChannels, cfg.UNet.InChannels), max(cfg.Size, cfg.UNet.Size)
	if channels < 1 || channels > models.MaxInChannels {
		channels = 3
	}
	if side < 1 || side > models.MaxImageSide {
		side = 32
	}
	return channels, side
}

// fileOutputs are the flags naming a file a command writes, dirOutputs
// those naming a folder it writes into, by command.
var (
	fileOutputs = map[string][]string{
		"edit": {"out"}, "inpaint": {"out"}, "superres": {"out"}, "style": {"out"}, "xy": {"out"},
		"sample": {"grid"}, "txt2img": {"grid"}, "show": {"grid"},
	}
	dirOutputs = map[string][]string{
		"sample": {"out"}, "txt2img": {"out"}, "batch": {"out"}, "compare": {"out"},
		"eval-tasks": {"out"}, "train": {"out"}, "ui": {"out"}, "audit": {"report"}, "export": {"out"},
	}
)

func writesOutputs(c *cli.Command) bool {
	return len(fileOutputs[c.Name])+len(dirOutputs[c.Name]) > 0
}

// checkOutputs refuses, before any work, an output that would destroy
// something: a file output over a directory, a device, one of the
// command's inputs or a file genlab did not write (images.CheckOutput),
// a folder output that is a file, and a sample run whose images would
// replace an earlier run's of the same names. --overwrite allows all but
// directories and devices.
func checkOutputs(ctx *cli.Context) error {
	verb := ctx.Command.Name
	if !writesOutputs(ctx.Command) {
		return nil
	}
	overwrite := ctx.Bool("overwrite")
	var inputs []string
	outs := map[string]bool{}
	for _, f := range append(fileOutputs[verb], dirOutputs[verb]...) {
		outs[f] = true
	}
	for _, f := range ctx.Command.Flags {
		name := f.Names()[0]
		if outs[name] {
			continue
		}
		switch f.(type) {
		case *cli.StringFlag:
			inputs = append(inputs, ctx.String(name))
		case *cli.StringSliceFlag:
			inputs = append(inputs, ctx.StringSlice(name)...)
		}
	}
	for _, name := range fileOutputs[verb] {
		if p := ctx.String(name); p != "" {
			if err := images.CheckOutput("--"+name, p, overwrite, inputs...); err != nil {
				return userErrorf("%s: %v", verb, err)
			}
		}
	}
	for _, name := range dirOutputs[verb] {
		if p := ctx.String(name); p != "" {
			if err := pathcheck.OutputDir("--"+name, p); err != nil {
				return userErrorf("%s: %v", verb, err)
			}
		}
	}
	if (verb == "sample" || verb == "txt2img") && !overwrite {
		clash := ""
		if s, _ := pipeline.ParseSeeds(ctx.String("seed")); s.Count() > 0 {
			clash = images.SampleClashSeeds(ctx.String("out"), seedsOf(ctx, s.Count()))
		} else {
			clash = images.SampleClash(ctx.String("out"), max(1, ctx.Int("n")), seedOf(ctx))
		}
		if clash != "" {
			return userErrorf("%s: %s is there from an earlier run with these seeds: choose another --out or --seed, or --overwrite to replace its images", verb, clash)
		}
	}
	return nil
}

// jobBytes is what one manifest image costs batch before it is drawn: its
// job in the list and in the list of those still to do, with slack.
const jobBytes = 64

// checkManifestRow refuses a manifest row whose seeds (seed to
// seed+count-1) a PNG cannot name, or that takes the manifest past what
// the machine can hold, before batch expands it.
func checkManifestRow(path string, line int, seed uint64, count, before int) error {
	if seed > math.MaxInt64 || uint64(count-1) > math.MaxInt64-seed {
		return userErrorf("batch: %s line %d: seed %d with count %d: the images' seeds must stay within 0 to %d, the seeds a PNG's parameters can record",
			path, line, seed, count, int64(math.MaxInt64))
	}
	total := int64(before) + int64(count)
	if err := memory.Check(fmt.Sprintf("batch: %s (%d images by line %d)", path, total, line), memory.Mul(jobBytes, total)); err != nil {
		return userErrorf("%v", err)
	}
	return nil
}
