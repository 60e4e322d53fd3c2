package main

import (
	"context"
	"errors"
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
	"genlab/pipeline"
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
			&cli.IntFlag{Name: "steps", Usage: "respaced sampler steps (default: the model's, 50)"},
			&cli.IntFlag{Name: "jump", Value: 5, Usage: "RePaint's jump length: steps down before each jump back up"},
			&cli.IntFlag{Name: "resample", Value: 5, Usage: "RePaint's resampling count: times each stretch is denoised (1: plain replacement)"},
			&cli.StringFlag{Name: "sampler", Value: "ddpm", Usage: "ddpm (ancestral, as RePaint) or ddim"},
			seedFlag("0", "the noise's seed"),
			&cli.StringFlag{Name: "class", Value: "auto", Usage: "with a class-conditional model: class K to fill towards, none for the unconditional model, or auto: the class the model itself infers from the visible pixels"},
			&cli.IntFlag{Name: "candidates", Value: tasks.DefaultCandidates, Usage: "with --class auto: how many of the likeliest classes to fill under (1: the likeliest only)"},
			&cli.StringFlag{Name: "class-from", Usage: "with --class auto: a classifier of occluded images (genlab train classifier --occluded) names the class, not the model"},
			&cli.StringFlag{Name: "prompt", Usage: "with a text-conditioned model: the text to fill towards"},
			&cli.Float64Flag{Name: "guidance", Usage: guidanceUsage},
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNG"},
		},
		Action: inpaintAction,
	}
}

func inpaintAction(c *cli.Context) error {
	net, p, err := loadTaskNetwork("inpaint", c.String("ckpt"))
	if err != nil {
		return err
	}
	set, err := taskRequest(c, "inpaint", p)
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
	opts := tasks.RepaintOptions{Steps: set.Steps, Jump: c.Int("jump"), Resample: c.Int("resample"), Sampler: c.String("sampler"), Candidates: c.Int("candidates")}
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var chosen []int
	opts.Chosen = func(classes []int) { chosen = classes }
	bar := newProgress(c.App.ErrWriter, "inpaint", tasks.RepaintEvals(opts), 0)
	out, err := tasks.Inpaint(ctx, tasks.InpaintParams{
		Net: net, Image: img, Mask: mask, RepaintOptions: opts, Cond: cond, Guidance: set.Guidance, Seed: seedOf(c),
		Progress: bar.task,
	})
	bar.done()
	if err != nil {
		return taskError("inpaint", err)
	}
	set.Sampler = opts.Sampler
	if len(chosen) == 1 {
		// The PNG records the class the fill was drawn under, and how it
		// was chosen.
		cond = tasks.Class(chosen[0])
		how := fmt.Sprintf("the model's likeliest of %d candidates", opts.Candidates)
		if opts.ClassFrom != nil {
			how = "the classifier " + filepath.Base(c.String("class-from"))
		}
		fmt.Fprintf(c.App.ErrWriter, "inpaint: --class auto: filled as class %d (%s)\n", chosen[0], how)
	}
	q := taskParameters("inpaint", p, set, out, cond)
	q.Extra = append(q.Extra,
		images.Field{Key: "Jump length", Value: strconv.Itoa(opts.Jump)},
		images.Field{Key: "Resample", Value: strconv.Itoa(opts.Resample)},
		images.Field{Key: "Mask", Value: filepath.Base(c.String("mask"))})
	switch {
	case opts.ClassFrom != nil:
		q.Extra = append(q.Extra, images.Field{Key: "Class choice", Value: "auto"}, images.Field{Key: "Class from", Value: filepath.Base(c.String("class-from"))})
	case opts.InferClass:
		q.Extra = append(q.Extra, images.Field{Key: "Class choice", Value: "auto"}, images.Field{Key: "Candidates", Value: strconv.Itoa(opts.Candidates)})
	}
	return saveTaskResult(c, "inpaint", out, q)
}

// The helpers the task commands (inpaint, edit, style, eval-tasks) share.

// loadTaskNetwork opens a diffusion checkpoint for a task and returns its
// network and pipeline (for its knobs and its name).
func loadTaskNetwork(verb, ckpt string, opts ...pipeline.Option) (*diffusion.Network, pipeline.Pipeline, error) {
	p, err := pipeline.Open(ckpt, opts...)
	var ng *pipeline.NotGeneratorError
	switch {
	case errors.As(err, &ng):
		return nil, nil, userErrorf("%s: --ckpt %s is a %s checkpoint; %s needs a diffusion model (genlab train diffusion)", verb, ckpt, ng.Family, verb)
	case err != nil:
		return nil, nil, err
	}
	net, ok := pipeline.DiffusionNetwork(p)
	if !ok {
		return nil, nil, userErrorf("%s: --ckpt %s is a %s checkpoint; %s needs a diffusion model (genlab train diffusion)", verb, ckpt, p.Info().Family, verb)
	}
	if net.Frames() > 0 {
		return nil, nil, userErrorf("%s: --ckpt %s is a video model; %s works on still images", verb, ckpt, verb)
	}
	return net, p, nil
}

// guidanceUsage is the --guidance flag's help of every command that
// samples a diffusion model: one default per kind of model, from the
// pipeline's table (diffusion.DefaultsFor), in sample, txt2img, edit and
// inpaint alike.
var guidanceUsage = fmt.Sprintf("classifier-free guidance scale under a class or prompt; 1 is the conditional model alone, 0 the unconditional one (default: the model's own where it records one, else %g for a class model, %g for a text model)",
	diffusion.DefaultsFor("class").Guidance, diffusion.DefaultsFor("text").Guidance)

// taskRequest are a task's sampler settings: --sampler, --steps, --eta
// and --guidance over p's defaults (pipeline.Knobs), checked against them.
// Seeds and the condition are the task's own.
func taskRequest(c *cli.Context, verb string, p pipeline.Pipeline) (pipeline.Request, error) {
	k := p.Knobs()
	r := k.RequestSeeds([]uint64{seedOf(c)})
	if !k.Guidance {
		k.Guidance = true // an unconditional model ignores it; the flag is still checked
	}
	for _, name := range []string{"sampler", "steps", "eta", "guidance"} {
		if !c.IsSet(name) {
			continue
		}
		for _, f := range requestFlags {
			if f.name == name {
				f.set(c, &r)
			}
		}
		if err := k.Check(r); err != nil {
			return r, userErrorf("%s: --%s: %v", verb, name, err)
		}
	}
	return r, nil
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

// taskError reports a task's failure: the tasks package's errors are about
// the user's inputs (sizes, masks, settings), so they get one line.
func taskError(verb string, err error) error {
	if err == context.Canceled {
		return userErrorf("%s: interrupted", verb)
	}
	return userErrorf("%s: %s", verb, strings.TrimPrefix(err.Error(), "tasks: "))
}

// taskParameters are the PNG settings of a diffusion task's result: the
// pipeline's parameters of the settings r it ran with and the condition
// it was asked for, at the result's size, with the task named.
func taskParameters(task string, p pipeline.Pipeline, r pipeline.Request, out image.Image, cond tasks.Condition) images.Parameters {
	if cond.Class != nil {
		r.Classes = []int{*cond.Class}
	}
	r.Prompt = cond.Prompt
	q := p.Parameters(r, 0)
	b := out.Bounds()
	q.Width, q.Height = b.Dx(), b.Dy()
	q.Extra = append([]images.Field{{Key: "Task", Value: task}}, q.Extra...)
	return q
}

// saveTaskResult writes a task's result PNG (with its parameters unless
// --no-metadata) and says where.
func saveTaskResult(c *cli.Context, verb string, out image.Image, p images.Parameters) error {
	path := c.String("out")
	if err := saveImage(c, path, out, &p); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%dx%d)\n", path, upscaleOf(c)*out.Bounds().Dx(), upscaleOf(c)*out.Bounds().Dy())
	return nil
}
