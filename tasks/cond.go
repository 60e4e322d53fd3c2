package tasks

import (
	"context"
	"fmt"
	"math/rand/v2"

	"genlab/diffusion"
)

// Condition says what a conditional denoiser is asked for. Its zero value
// asks for nothing in particular: a class-conditional network then runs
// as the unconditional model it also is (its null class).
type Condition struct {
	// Class, if not nil, is the class to draw (0..Classes-1).
	Class *int
	// Prompt is the text to draw, for a text-conditioned network only.
	Prompt string
}

// Class returns a Condition asking for class k.
func Class(k int) Condition { return Condition{Class: &k} }

// denoiser is a network's ε-model for n images under a condition, with
// classifier-free guidance at scale guidance (none when the condition is
// empty or guidance is 1).
type denoiser struct {
	model diffusion.Model
	guide *diffusion.Guidance
}

// newDenoiser checks cond against the network and builds its models.
func newDenoiser(net *diffusion.Network, cond Condition, n int, guidance float64) (denoiser, error) {
	if net == nil {
		return denoiser{}, fmt.Errorf("tasks: no diffusion network")
	}
	if guidance < 0 {
		return denoiser{}, fmt.Errorf("tasks: guidance scale %g, want 0 or more (1 = none)", guidance)
	}
	kind := net.Config.Cond
	if kind == "" {
		kind = "none"
	}
	if kind == "lowres" {
		return denoiser{}, fmt.Errorf("tasks: the model is a super-resolution model (conditioned on low-resolution images); use a class-conditional, text or unconditional model")
	}
	if cond.Prompt != "" {
		if kind != "text" {
			return denoiser{}, fmt.Errorf("tasks: a prompt needs a text-conditioned model, and this one is conditioned on %s; ask for a class instead", condWord(kind))
		}
		tokens, err := net.Tokenize(cond.Prompt)
		if err != nil {
			return denoiser{}, fmt.Errorf("tasks: prompt %q: %w", cond.Prompt, err)
		}
		c := diffusion.Condition{Tokens: make([][]int, n)}
		for i := range c.Tokens {
			c.Tokens[i] = tokens
		}
		d := denoiser{model: net.CondModel(net.Params, c)}
		if null, ok := net.NullCondition(n); ok && guidance != 1 {
			d.guide = &diffusion.Guidance{Scale: guidance, Uncond: net.CondModel(net.Params, null)}
		}
		return d, nil
	}
	classes := func(k int) []int {
		cs := make([]int, n)
		for i := range cs {
			cs[i] = k
		}
		return cs
	}
	if cond.Class == nil {
		if net.Classes() == 0 {
			return denoiser{model: net.EpsModel(net.Params, nil)}, nil
		}
		return denoiser{model: net.EpsModel(net.Params, classes(net.NullClass()))}, nil
	}
	k := *cond.Class
	if net.Classes() == 0 {
		return denoiser{}, fmt.Errorf("tasks: class %d: the model is unconditional (%s), it cannot be asked for a class", k, condWord(kind))
	}
	if k < 0 || k >= net.Classes() {
		return denoiser{}, fmt.Errorf("tasks: class %d: the model knows classes 0 to %d", k, net.Classes()-1)
	}
	return classDenoiser(net, classes(k), guidance), nil
}

// classDenoiser conditions image j on classes[j] (classes the network
// knows), guided at scale guidance.
func classDenoiser(net *diffusion.Network, classes []int, guidance float64) denoiser {
	d := denoiser{model: net.EpsModel(net.Params, classes)}
	if guidance != 1 {
		null := make([]int, len(classes))
		for i := range null {
			null[i] = net.NullClass()
		}
		d.guide = &diffusion.Guidance{Scale: guidance, Uncond: net.EpsModel(net.Params, null)}
	}
	return d
}

func condWord(kind string) string {
	switch kind {
	case "none":
		return "nothing"
	case "class":
		return "classes"
	}
	return kind
}

// eps evaluates ε̂ at x_t (with guidance if any) into dst.
func (d denoiser) eps(ctx context.Context, x []float32, t []int, dst []float32) error {
	if d.guide == nil || d.guide.Scale == 1 {
		return d.model(ctx, x, t, dst)
	}
	if d.guide.Scale == 0 {
		return d.guide.Uncond(ctx, x, t, dst)
	}
	if err := d.model(ctx, x, t, dst); err != nil {
		return err
	}
	u := make([]float32, len(dst))
	if err := d.guide.Uncond(ctx, x, t, u); err != nil {
		return err
	}
	d.guide.Combine(dst, dst, u)
	return nil
}

// evals is the number of network evaluations one call of eps costs.
func (d denoiser) evals() int {
	if d.guide == nil || d.guide.Scale == 1 || d.guide.Scale == 0 {
		return 1
	}
	return 2
}

// gaussian fills dst, n images of dim values, with N(0, I) noise, image j
// from rngs[j].
func gaussian(dst []float32, rngs []*rand.Rand) {
	dim := len(dst) / len(rngs)
	for j, r := range rngs {
		for k := j * dim; k < (j+1)*dim; k++ {
			dst[k] = float32(r.NormFloat64())
		}
	}
}
