package main

import (
	"context"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/eval"
	"genlab/images"
	"genlab/models"
	"genlab/tasks"

	"github.com/urfave/cli/v2"
)

func inpaintCommand() *cli.Command {
	return &cli.Command{
		Name:  "inpaint",
		Usage: "fill the white region of a mask in an image with a diffusion model (RePaint)",
		Description: "The image may be any size, PNG or JPEG; it is padded to a square, fitted to the model and the\n" +
			"result pasted back under the mask, so unmasked pixels stay the image's own. Each network\n" +
			"evaluation of --steps is repeated about --resample times (RePaint's resampling harmonises the\n" +
			"fill with its surroundings): the cost is about steps x resample evaluations. With a\n" +
			"class-conditional model and --class auto, the model first ranks the classes by how well each\n" +
			"explains the visible pixels (320 more evaluations), fills under each of the --candidates\n" +
			"likeliest with guidance, and keeps the fill whose class, with that fill in the hole, best\n" +
			"explains the visible pixels. With --class-from, a classifier of occluded images (genlab train\n" +
			"classifier --occluded) names the class instead, and the model fills under it alone.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "diffusion checkpoint", Required: true},
			&cli.StringFlag{Name: "image", Usage: "the image (PNG or JPEG)", Required: true},
			&cli.StringFlag{Name: "mask", Usage: "a PNG of the image's size, white where to fill", Required: true},
			&cli.StringFlag{Name: "out", Usage: "the result PNG", Required: true},
			&cli.IntFlag{Name: "steps", Value: 50, Usage: "respaced sampler steps"},
			&cli.IntFlag{Name: "jump", Value: 5, Usage: "RePaint's jump length: steps down before each jump back up"},
			&cli.IntFlag{Name: "resample", Value: 5, Usage: "RePaint's resampling count: times each stretch is denoised (1: plain replacement)"},
			&cli.StringFlag{Name: "sampler", Value: "ddpm", Usage: "ddpm (ancestral, as RePaint) or ddim"},
			&cli.Uint64Flag{Name: "seed", Usage: "the noise's seed"},
			&cli.StringFlag{Name: "class", Value: "auto", Usage: "with a class-conditional model: class K to fill towards, none for the unconditional model, or auto: the class the model itself infers from the visible pixels"},
			&cli.IntFlag{Name: "candidates", Value: tasks.DefaultCandidates, Usage: "with --class auto: how many of the likeliest classes to fill under (1: the likeliest only)"},
			&cli.StringFlag{Name: "class-from", Usage: "with --class auto: a classifier of occluded images (genlab train classifier --occluded) names the class, not the model"},
			&cli.StringFlag{Name: "prompt", Usage: "with a text-conditioned model: the text to fill towards"},
			&cli.Float64Flag{Name: "guidance", Value: 2, Usage: "classifier-free guidance scale under a class or prompt (1: none)"},
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNG"},
		},
		Action: inpaintAction,
	}
}

func inpaintAction(c *cli.Context) error {
	net, hash, err := loadTaskNetwork("inpaint", c.String("ckpt"))
	if err != nil {
		return err
	}
	img, err := loadUserImage("inpaint", "image", c.String("image"))
	if err != nil {
		return err
	}
	mask, err := loadUserImage("inpaint", "mask", c.String("mask"))
	if err != nil {
		return err
	}
	if mb, ib := mask.Bounds(), img.Bounds(); mb.Dx() != ib.Dx() || mb.Dy() != ib.Dy() {
		return userErrorf("inpaint: --mask %s is %dx%d but --image %s is %dx%d: draw the mask at the image's size", c.String("mask"), mb.Dx(), mb.Dy(), c.String("image"), ib.Dx(), ib.Dy())
	}
	opts := tasks.RepaintOptions{Steps: c.Int("steps"), Jump: c.Int("jump"), Resample: c.Int("resample"), Sampler: c.String("sampler"), Candidates: c.Int("candidates")}
	if err := opts.Validate(net.Sched.T); err != nil {
		return userErrorf("inpaint: %s", strings.TrimPrefix(err.Error(), "tasks: "))
	}
	if c.String("class-from") != "" && (c.String("class") != "auto" || c.String("prompt") != "" || net.Classes() == 0) {
		return userErrorf("inpaint: --class-from names the class of a class-conditional model's fill: use it with --class auto and no --prompt")
	}
	var cond tasks.Condition
	switch {
	case c.String("prompt") != "":
		if net.Config.Cond != "text" {
			return userErrorf("inpaint: --prompt: %s is conditioned on %s, not text: use --class K", c.String("ckpt"), condName(net.Config.Cond))
		}
		cond.Prompt = c.String("prompt")
	case c.String("class") == "auto":
		opts.InferClass = net.Classes() > 0
		if p := c.String("class-from"); p != "" && opts.InferClass {
			if opts.ClassFrom, err = eval.LoadClassifier(p); err != nil {
				return err
			}
		}
	default:
		if cond, err = classCondition("inpaint", c, net); err != nil {
			return err
		}
	}
	if err := checkGuidance("inpaint", c); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "inpaint", tasks.RepaintEvals(opts), max(1, tasks.RepaintEvals(opts)/10))
	out, err := tasks.Inpaint(ctx, tasks.InpaintParams{
		Net: net, Image: img, Mask: mask, RepaintOptions: opts, Cond: cond, Guidance: c.Float64("guidance"), Seed: c.Uint64("seed"),
		Progress: func(done, total int) {
			bar.total, bar.every = total, max(1, total/10)
			bar.step(done, "")
		},
	})
	bar.done()
	if err != nil {
		return taskError("inpaint", err)
	}
	p := taskParameters(c, "inpaint", hash, out, net)
	p.Sampler = samplerLabel(c.String("sampler"))
	p.Extra = append(p.Extra,
		images.Field{Key: "Jump length", Value: strconv.Itoa(opts.Jump)},
		images.Field{Key: "Resample", Value: strconv.Itoa(opts.Resample)},
		images.Field{Key: "Mask", Value: filepath.Base(c.String("mask"))})
	switch {
	case opts.ClassFrom != nil:
		p.Extra = append(p.Extra, images.Field{Key: "Class", Value: "auto"}, images.Field{Key: "Class from", Value: filepath.Base(c.String("class-from"))})
		p.CFGScale = c.Float64("guidance")
	case opts.InferClass:
		p.Extra = append(p.Extra, images.Field{Key: "Class", Value: "auto"}, images.Field{Key: "Candidates", Value: strconv.Itoa(opts.Candidates)})
		p.CFGScale = c.Float64("guidance")
	}
	if cond.Prompt != "" {
		p.Prompt, p.CFGScale = cond.Prompt, c.Float64("guidance")
	}
	return saveTaskResult(c, "inpaint", out, p)
}

// The helpers the task commands (inpaint, edit, style, eval-tasks) share.

// loadTaskNetwork opens a diffusion checkpoint for a task and returns it
// with its model hash.
func loadTaskNetwork(verb, ckpt string) (*diffusion.Network, string, error) {
	meta, err := models.ReadMeta(ckpt, "")
	if err != nil {
		return nil, "", err
	}
	if meta.Family != diffusion.Family {
		return nil, "", userErrorf("%s: --ckpt %s is a %s checkpoint; %s needs a diffusion model (genlab train diffusion)", verb, ckpt, meta.Family, verb)
	}
	net, err := diffusion.LoadNetwork(ckpt)
	if err != nil {
		return nil, "", err
	}
	hash, err := images.ModelHash(ckpt)
	if err != nil {
		return nil, "", err
	}
	return net, hash, nil
}

// loadUserImage reads a user's PNG or JPEG named by --flag.
func loadUserImage(verb, flag, path string) (image.Image, error) {
	img, err := images.Load(path)
	if err != nil {
		return nil, userErrorf("%s: --%s: %s", verb, flag, strings.TrimPrefix(err.Error(), "images: "))
	}
	return img, nil
}

// classCondition turns --class into a condition for net.
func classCondition(verb string, c *cli.Context, net *diffusion.Network) (tasks.Condition, error) {
	s := c.String("class")
	if s == "" || s == "none" {
		return tasks.Condition{}, nil
	}
	k, err := strconv.Atoi(s)
	if err != nil {
		return tasks.Condition{}, userErrorf("%s: --class %q: want a class number or none", verb, s)
	}
	if net.Classes() == 0 {
		if net.Config.Cond == "text" {
			return tasks.Condition{}, userErrorf("%s: --class %d: %s is conditioned on text: use --prompt TEXT", verb, k, c.String("ckpt"))
		}
		return tasks.Condition{}, userErrorf("%s: --class %d: %s is not class-conditional (%s)", verb, k, c.String("ckpt"), condName(net.Config.Cond))
	}
	if k < 0 || k >= net.Classes() {
		return tasks.Condition{}, userErrorf("%s: --class %d: the model knows classes 0 to %d", verb, k, net.Classes()-1)
	}
	return tasks.Class(k), nil
}

func checkGuidance(verb string, c *cli.Context) error {
	if g := c.Float64("guidance"); g < 0 || g > 50 {
		return userErrorf("%s: --guidance %g: want 0 to 50 (1: none)", verb, g)
	}
	return nil
}

// taskError reports a task's failure: the tasks package's errors are about
// the user's inputs (sizes, masks, settings), so they get one line.
func taskError(verb string, err error) error {
	if err == context.Canceled {
		return userErrorf("%s: interrupted", verb)
	}
	return userErrorf("%s: %s", verb, strings.TrimPrefix(err.Error(), "tasks: "))
}

// taskParameters are the PNG settings of a task's result.
func taskParameters(c *cli.Context, task, hash string, out image.Image, net *diffusion.Network) images.Parameters {
	b := out.Bounds()
	p := images.Parameters{Seed: int64(c.Uint64("seed")), Width: b.Dx(), Height: b.Dy(), Extra: []images.Field{{Key: "Task", Value: task}}}
	if net != nil {
		p.Steps = c.Int("steps")
		p.Model = strings.TrimSuffix(filepath.Base(c.String("ckpt")), ".safetensors")
		p.ModelHash = hash
		p.Family = diffusion.Family
		if s := c.String("class"); s != "" && s != "none" && s != "auto" {
			p.Prompt = "class " + s
			p.CFGScale = c.Float64("guidance")
			p.Extra = append(p.Extra, images.Field{Key: "Class", Value: s})
		}
	}
	return p
}

// saveTaskResult writes a task's result PNG (with its parameters unless
// --no-metadata) and says where.
func saveTaskResult(c *cli.Context, verb string, out image.Image, p images.Parameters) error {
	path := c.String("out")
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return userErrorf("%s: --out %s: %v", verb, path, err)
		}
	}
	params := ""
	if !c.Bool("no-metadata") {
		params = p.String()
	}
	if err := images.Save(path, out, params); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%dx%d)\n", path, out.Bounds().Dx(), out.Bounds().Dy())
	return nil
}
