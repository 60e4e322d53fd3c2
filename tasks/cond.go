package tasks

import (
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

// denoiser is a network's guided ε-model for n images under a condition:
// diffusion's Network.Denoiser, the one implementation of classifier-free
// guidance (1 = the conditional model alone, 0 = the unconditional one).
type denoiser struct {
	eps   diffusion.Model
	evals int // network evaluations per call of eps
}

// newDenoiser checks cond against the network and builds its model.
func newDenoiser(net *diffusion.Network, cond Condition, n int, guidance float64) (denoiser, error) {
	if net == nil {
		return denoiser{}, fmt.Errorf("tasks: no diffusion network")
	}
	if !(guidance >= 0) {
		return denoiser{}, fmt.Errorf("tasks: guidance scale %g, want 0 or more (1: the conditional model alone, 0: the unconditional one)", guidance)
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
		return guided(net, c, guidance), nil
	}
	classes := func(k int) []int {
		cs := make([]int, n)
		for i := range cs {
			cs[i] = k
		}
		return cs
	}
	if cond.Class == nil {
		// The null condition: guidance has nothing to push away from.
		null, _ := net.NullCondition(n)
		return denoiser{eps: net.CondModel(net.Params, null), evals: 1}, nil
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
	return guided(net, diffusion.Condition{Classes: classes}, guidance)
}

func guided(net *diffusion.Network, c diffusion.Condition, guidance float64) denoiser {
	m, evals := net.Denoiser(net.Params, c, guidance)
	return denoiser{eps: m, evals: evals}
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
