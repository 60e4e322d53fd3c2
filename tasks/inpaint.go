package tasks

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"

	"genlab/diffusion"
	"genlab/eval"
)

// Inpainting with an unconditionally trained diffusion model: RePaint
// (Lugmayr et al. 2022, "RePaint: Inpainting using Denoising Diffusion
// Probabilistic Models"). Every reverse step denoises the whole image, then
// overwrites the known pixels with the ground truth noised to the same
// level (eq. 8):
//
//	x_{t−1}^known   = √ᾱ_{t−1} x0 + √(1−ᾱ_{t−1}) ε        ε ~ N(0, I)
//	x_{t−1}^unknown ~ p_θ(x_{t−1} | x_t)                   (the sampler's step)
//	x_{t−1}         = m ⊙ x_{t−1}^unknown + (1−m) ⊙ x_{t−1}^known
//
// with m = 1 on the pixels to fill. Because the known half is sampled
// without looking at the generated half, the two disagree at the seams;
// resampling (§4.2) harmonises them: after every `Jump` steps down, the
// sample is diffused back up `Jump` steps with q(x_t | x_{t−j}),
//
//	x_t = √(ᾱ_t/ᾱ_{t−j}) x_{t−j} + √(1 − ᾱ_t/ᾱ_{t−j}) ε,
//
// and denoised again, `Resample` times in all for each stretch. Here the
// steps are the respaced timesteps of a DDPM (or DDIM) sampler of Steps
// steps rather than the paper's T = 250, so an image costs about
// Steps·Resample network evaluations.

// RepaintOptions set the resampling schedule; zero fields take the
// defaults.
type RepaintOptions struct {
	Steps    int     // respaced sampler steps (50)
	Jump     int     // j, steps gone down before each jump back up (5)
	Resample int     // r, times each stretch is denoised; 1 is plain replacement (5)
	Sampler  string  // the reverse step: "ddpm" (ancestral, as in the paper; default) or "ddim"
	Eta      float64 // DDIM's η
	// InferClass, with a class-conditional model and no class asked for,
	// first infers each image's class from its known pixels with the
	// diffusion model itself (InferClasses) and fills it conditioned on
	// that class, rather than with the unconditional model.
	InferClass bool
	// Candidates, with InferClass, fills under each of that many likeliest
	// classes and keeps the fill whose class best explains the known
	// pixels with the fill in the hole (DefaultCandidates; 1: the
	// likeliest class only).
	Candidates int
	// ClassFrom, with InferClass, names each image's class with this
	// classifier of occluded images (NameClasses) instead of the
	// diffusion model's own inference, and fills under that class alone.
	ClassFrom *eval.Classifier
	// Chosen, if not nil, is told each image's class when InferClass
	// picked it, so that a front end can say which class it filled under.
	Chosen func(classes []int)
}

// tell passes the classes InferClass chose to Chosen.
func (o RepaintOptions) tell(classes []int) {
	if o.Chosen != nil {
		o.Chosen(slices.Clone(classes))
	}
}

// DefaultCandidates is how many inferred classes RePaint fills under.
const DefaultCandidates = 3

// rescoreLevels is the number of noise levels each candidate's fill is
// scored at. Two draws of 32 levels disagreed often (on 100 masked digits
// the pick was right for 83 with one and 89 with the other); 64 halves
// that variance for 5% more work.
const rescoreLevels = 64

func (o RepaintOptions) withDefaults() RepaintOptions {
	if o.Steps == 0 {
		o.Steps = 50
	}
	if o.Jump == 0 {
		o.Jump = 5
	}
	if o.Resample == 0 {
		o.Resample = 5
	}
	if o.Sampler == "" {
		o.Sampler = "ddpm"
	}
	if o.Candidates == 0 {
		o.Candidates = DefaultCandidates
	}
	return o
}

// Validate says what is wrong with the options, if anything.
func (o RepaintOptions) Validate(T int) error {
	o = o.withDefaults()
	switch {
	case o.Steps < 1 || o.Steps > T:
		return fmt.Errorf("tasks: %d inpainting steps: want 1 to %d", o.Steps, T)
	case o.Jump < 1 || o.Jump >= max(o.Steps, 2):
		return fmt.Errorf("tasks: jump length %d: want 1 to %d (less than the steps)", o.Jump, max(o.Steps-1, 1))
	case o.Resample < 1 || o.Resample > 100:
		return fmt.Errorf("tasks: resampling count %d: want 1 to 100", o.Resample)
	case o.Sampler != "ddpm" && o.Sampler != "ddim":
		return fmt.Errorf("tasks: sampler %q for inpainting: use ddpm or ddim (a multistep solver cannot jump back)", o.Sampler)
	case !(o.Eta >= 0 && o.Eta <= 1):
		return fmt.Errorf("tasks: eta %g: want 0 to 1", o.Eta)
	case o.Candidates < 1 || o.Candidates > 1000:
		return fmt.Errorf("tasks: %d candidate classes: want 1 to 1000", o.Candidates)
	}
	return nil
}

// move is one leg of a RePaint schedule between positions of the
// sampler's timestep list: position p < Steps is timestep Timesteps()[p],
// position Steps is the clean image. A leg down (to = from+1) is one
// denoising step; a leg up (to < from) re-noises the sample.
type move struct{ from, to int }

// repaintPlan is the order of RePaint's legs (the paper's
// get_schedule_jump): go down one position at a time; on reaching a
// position that is a multiple of jump above the last timestep, go back up
// jump positions, at most resample−1 times per position, so that each
// stretch of jump steps is denoised resample times.
func repaintPlan(steps, jump, resample int) []move {
	left := map[int]int{}
	for p := steps - 1; p-jump >= 0; p -= jump {
		left[p] = resample - 1
	}
	var plan []move
	for p := 0; p < steps; {
		plan = append(plan, move{p, p + 1})
		p++
		if left[p] > 0 {
			left[p]--
			plan = append(plan, move{p, p - jump})
			p -= jump
		}
	}
	return plan
}

// RepaintEvals is how many network evaluations (per image, without
// guidance and class inference) one inpainting with these options costs.
func RepaintEvals(o RepaintOptions) int {
	o = o.withDefaults()
	n := 0
	for _, m := range repaintPlan(o.Steps, o.Jump, o.Resample) {
		if m.to > m.from {
			n++
		}
	}
	return n
}

// Repaint fills the masked pixels of known, n images of dim values in the
// model's range [−1, 1], with samples from the network in net conditioned
// as cond says (guidance applies to a class). mask holds n masks of dim/c
// values (one per pixel, broadcast over the c channels; 1 = fill). Image
// j's noise comes from rngs[j] alone. progress, if not nil, is told the
// network evaluations done and due. The result keeps the known pixels
// exactly.
func Repaint(ctx context.Context, net *diffusion.Network, cond Condition, guidance float64, known, mask []float32, n int, rngs []*rand.Rand, o RepaintOptions, progress func(done, total int)) ([]float32, error) {
	if net == nil {
		return nil, fmt.Errorf("tasks: repaint: no network")
	}
	if err := o.Validate(net.Sched.T); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	dim := net.Dim()
	plane := net.Config.UNet.Size * net.Config.UNet.Size
	switch {
	case n < 1 || len(known) != n*dim:
		return nil, fmt.Errorf("tasks: repaint: %d values for %d images of %d", len(known), n, dim)
	case len(mask) != n*plane:
		return nil, fmt.Errorf("tasks: repaint: mask of %d values for %d images of %d pixels", len(mask), n, plane)
	case len(rngs) != n:
		return nil, fmt.Errorf("tasks: repaint: %d rngs for %d images", len(rngs), n)
	}
	infer := o.InferClass && cond.Class == nil && cond.Prompt == "" && net.Classes() > 0
	if !infer {
		den, err := newDenoiser(net, cond, n, guidance)
		if err != nil {
			return nil, err
		}
		r, err := newRepainter(net, o, known, mask, n, rngs, progress)
		if err != nil {
			return nil, err
		}
		r.total = RepaintEvals(o) * den.evals
		return r.run(ctx, den)
	}
	if o.ClassFrom != nil {
		classes, err := NameClasses(o.ClassFrom, net, known, mask, n)
		if err != nil {
			return nil, err
		}
		r, err := newRepainter(net, o, known, mask, n, rngs, progress)
		if err != nil {
			return nil, err
		}
		r.total = InferEvals(o, net.Classes(), guidance)
		o.tell(classes)
		return r.run(ctx, classDenoiser(net, classes, guidance))
	}
	// Ask the network for the likeliest classes of the known pixels, fill
	// under each of the first o.Candidates, and keep, per image, the fill
	// whose class best explains the known pixels with that fill as the
	// context as well as with the blur fill the classes were first ranked
	// with (a poor stand-in for a digit's missing strokes).
	k := min(o.Candidates, net.Classes())
	r, err := newRepainter(net, o, known, mask, n, rngs, progress)
	if err != nil {
		return nil, err
	}
	r.total = InferEvals(o, net.Classes(), guidance)
	ranked, first, err := rankClasses(ctx, net, known, mask, n, inferLevels, rngs, func(d, _ int) { r.tell(d) })
	if err != nil {
		return nil, err
	}
	r.done = inferLevels * net.Classes()
	outs := make([][]float32, k)
	classes := make([][]int, k)
	for i := range k {
		classes[i] = make([]int, n)
		for j := range n {
			classes[i][j] = ranked[j][i]
		}
		if outs[i], err = r.run(ctx, classDenoiser(net, classes[i], guidance)); err != nil {
			return nil, err
		}
	}
	if k == 1 {
		o.tell(classes[0])
		return outs[0], nil
	}
	base := r.done
	scores, err := knownErrors(ctx, net, outs, classes, mask, n, rescoreLevels, rngs, func(d, _ int) { r.tell(base + d) })
	if err != nil {
		return nil, err
	}
	// Both scores estimate how badly class c explains the known pixels,
	// from independent noise and with different hole contents; the sum of
	// their means per level is the better estimate.
	x := make([]float32, n*dim)
	chosen := make([]int, n)
	for j := range n {
		best := 0
		score := func(i int) float64 {
			return first[ranked[j][i]][j]/inferLevels + scores[i][j]/rescoreLevels
		}
		for i := range k {
			if score(i) < score(best) {
				best = i
			}
		}
		copy(x[j*dim:(j+1)*dim], outs[best][j*dim:(j+1)*dim])
		chosen[j] = classes[best][j]
	}
	o.tell(chosen)
	return x, nil
}

// InferEvals is how many network evaluations per image Repaint costs with
// o.InferClass on a model of classes classes at this guidance scale.
func InferEvals(o RepaintOptions, classes int, guidance float64) int {
	o = o.withDefaults()
	k := min(o.Candidates, classes)
	fills := RepaintEvals(o)
	if guidance != 1 && guidance != 0 {
		fills *= 2
	}
	if o.ClassFrom != nil {
		return fills
	}
	n := inferLevels*classes + k*fills
	if k > 1 {
		n += rescoreLevels * k
	}
	return n
}

// repainter is one RePaint job over n images; run fills them under a
// denoiser, and may be called again (with the rngs where it left them).
type repainter struct {
	net      *diffusion.Network
	o        RepaintOptions
	known    []float32
	fill     []bool // per value: the mask broadcast over the channels
	n        int
	rngs     []*rand.Rand
	sampler  diffusion.Sampler
	progress func(done, total int)
	// done counts network evaluations towards total, across runs.
	done, total int
}

func newRepainter(net *diffusion.Network, o RepaintOptions, known, mask []float32, n int, rngs []*rand.Rand, progress func(done, total int)) (*repainter, error) {
	s, err := diffusion.NewSampler(o.Sampler, net.Sched, o.Steps, o.Eta)
	if err != nil {
		return nil, err
	}
	dim := net.Dim()
	plane := net.Config.UNet.Size * net.Config.UNet.Size
	fill := make([]bool, n*dim)
	for j := range n {
		for ch := range dim / plane {
			for q := range plane {
				fill[j*dim+ch*plane+q] = mask[j*plane+q] > 0.5
			}
		}
	}
	return &repainter{net: net, o: o, known: known, fill: fill, n: n, rngs: rngs, sampler: s, progress: progress}, nil
}

func (r *repainter) tell(done int) {
	if r.progress != nil {
		r.progress(done, r.total)
	}
}

func (r *repainter) run(ctx context.Context, den denoiser) ([]float32, error) {
	net, o, known, fill, n, rngs, s := r.net, r.o, r.known, r.fill, r.n, r.rngs, r.sampler
	dim := net.Dim()
	ts := s.Timesteps()
	alphaBar := func(p int) float64 { // ᾱ at position p; 1 for the clean image
		if p >= len(ts) {
			return 1
		}
		return net.Sched.AlphasCumprod[ts[p]]
	}
	plan := repaintPlan(o.Steps, o.Jump, o.Resample)

	x := make([]float32, n*dim)
	gaussian(x, rngs) // x_T
	z := make([]float32, n*dim)
	eps := make([]float32, n*dim)
	t := make([]int, n)
	for _, mv := range plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if mv.to < mv.from {
			// Back up: x_{to} ~ q(x_{to} | x_{from}).
			ratio := alphaBar(mv.to) / alphaBar(mv.from)
			a, b := math.Sqrt(ratio), math.Sqrt(1-ratio)
			gaussian(z, rngs)
			for k := range x {
				x[k] = float32(a*float64(x[k]) + b*float64(z[k]))
			}
			continue
		}
		for j := range t {
			t[j] = ts[mv.from]
		}
		if err := den.eps(ctx, x, t, eps); err != nil {
			return nil, fmt.Errorf("tasks: repaint: model at t=%d: %w", ts[mv.from], err)
		}
		r.done += den.evals
		prev, _, err := s.Step(mv.from, eps, x, rngs)
		if err != nil {
			return nil, err
		}
		// The known pixels at the new level: the truth, noised afresh.
		ab := alphaBar(mv.to)
		a, b := math.Sqrt(ab), math.Sqrt(1-ab)
		if mv.to < len(ts) {
			gaussian(z, rngs)
		}
		for k := range x {
			if fill[k] {
				x[k] = prev[k]
			} else if mv.to < len(ts) {
				x[k] = float32(a*float64(known[k]) + b*float64(z[k]))
			} else {
				x[k] = known[k]
			}
		}
		r.tell(r.done)
	}
	return x, nil
}

// InpaintParams is one inpainting job on a user's image.
type InpaintParams struct {
	Net   *diffusion.Network
	Image image.Image // any size; fitted into the model's frame
	Mask  image.Image // the image's size; white = fill
	RepaintOptions
	Cond Condition // nothing by default: the unconditional model
	// Guidance is the classifier-free guidance scale when Cond names a
	// class or a prompt: 1 is the conditional model alone, 0 the
	// unconditional one (diffusion.Guidance). Its zero value is 0.
	Guidance float64
	Seed     uint64
	Progress func(done, total int) // network evaluations done and due; may be nil
}

// Inpaint fills the white region of p.Mask in p.Image and returns the
// image at its own size: the fitted region is regenerated at the model's
// resolution, resized back, and pasted into the original under the mask,
// so every unmasked pixel is the user's own.
func Inpaint(ctx context.Context, p InpaintParams) (image.Image, error) {
	if p.Net == nil {
		return nil, fmt.Errorf("tasks: inpaint: no network")
	}
	if p.Image == nil || p.Mask == nil {
		return nil, fmt.Errorf("tasks: inpaint needs an image and a mask")
	}
	u := p.Net.Config.UNet
	pix, fr, err := FitImage(p.Image, u.Size, u.InChannels)
	if err != nil {
		return nil, err
	}
	full, small, err := fr.Mask(p.Mask)
	if err != nil {
		return nil, err
	}
	known := make([]float32, len(pix))
	diffusion.ToModelRange(known, pix)
	rngs := diffusion.ImageRNGs(p.Seed, 0, 1)
	x, err := Repaint(ctx, p.Net, p.Cond, p.Guidance, known, small, 1, rngs, p.RepaintOptions, p.Progress)
	if err != nil {
		return nil, err
	}
	diffusion.ToPixels(pix, x)
	return fr.Image(composite(fr.Pixels(p.Image), fr.Restore(pix), full)), nil
}

// composite takes fill's values where mask (one per pixel) is set and
// orig's elsewhere.
func composite(orig, fill, mask []float32) []float32 {
	plane := len(mask)
	out := make([]float32, len(orig))
	for k := range out {
		if mask[k%plane] > 0.5 {
			out[k] = fill[k]
		} else {
			out[k] = orig[k]
		}
	}
	return out
}
