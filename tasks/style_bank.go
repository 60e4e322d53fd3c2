package tasks

import (
	"fmt"
	"math"
	"math/rand/v2"

	"genlab/models"
)

// The feature banks of style transfer: fixed conv layers over an image
// pyramid, random or the MNIST classifier's (see style.go).

// minLevelSide is the smallest side of the pyramid's coarsest level.
const minLevelSide = 8

// pyramidLevels is how many levels an h×w image gets (1 to 6).
func pyramidLevels(h, w int) int {
	l := 1
	for s := min(h, w); s/2 >= minLevelSide && l < 6; s /= 2 {
		l++
	}
	return l
}

// bank is a feature extractor: fixed weights fed to a graph as inputs (so
// that only the image is differentiated) and the layers built on them.
type bank struct {
	kind    string
	weights map[string][]float32
	shapes  map[string][]int
	levels  int
}

// convSpec is a conv layer of a bank: in→out channels, stride, kernel
// size (0 channels: the classifier's own).
type convSpec struct {
	name            string
	in, out, str, k int
}

// The random bank's layers at each level and the classifier's.
var (
	randomLayers     = []convSpec{{"a", 3, 32, 1, 3}, {"b", 32, 64, 1, 3}}
	classifierLayers = []convSpec{{"conv1", 1, 0, 1, 3}, {"conv2", 0, 0, 2, 3}, {"conv3", 0, 0, 2, 3}, {"conv4", 0, 0, 1, 3}}
)

// newBank makes the bank of o for images with levels pyramid levels.
func newBank(o StyleOptions, levels int) (*bank, error) {
	b := &bank{kind: o.Features, weights: map[string][]float32{}, shapes: map[string][]int{}, levels: levels}
	// The pyramid's downsampling: a 4×4 binomial blur ([1 3 3 1]/8 in each
	// direction) at stride 2, per channel, which (unlike 2×2 averaging)
	// leaves no block pattern in the gradients.
	binom := [4]float32{1, 3, 3, 1}
	pool := make([]float32, 3*3*4*4)
	for ch := range 3 {
		for i := range 4 {
			for j := range 4 {
				pool[((ch*3+ch)*4+i)*4+j] = binom[i] * binom[j] / 64
			}
		}
	}
	b.add("pool.weight", []int{3, 3, 4, 4}, pool)
	b.add("pool.bias", []int{3}, make([]float32, 3))
	switch o.Features {
	case FeaturesRandom:
		rng := rand.New(rand.NewPCG(o.Seed, 0x7374796c65))
		for l := range levels {
			for _, c := range randomLayers {
				fan := c.in * c.k * c.k
				w := make([]float32, c.out*fan)
				std := math.Sqrt(2 / float64(fan)) // He et al. 2015
				for i := range w {
					w[i] = float32(std * rng.NormFloat64())
				}
				bias := make([]float32, c.out)
				for i := range bias {
					bias[i] = float32(0.1 * rng.NormFloat64())
					if c.in == 3 {
						// Centre the pixels: w·(x − ½) + b.
						for _, v := range w[i*fan : (i+1)*fan] {
							bias[i] -= 0.5 * v
						}
					}
				}
				name := fmt.Sprintf("l%d.%s", l, c.name)
				b.add(name+".weight", []int{c.out, c.in, c.k, c.k}, w)
				b.add(name+".bias", []int{c.out}, bias)
			}
		}
	case FeaturesClassifier:
		p := o.Classifier.Params
		for _, c := range classifierLayers {
			for _, s := range []string{".weight", ".bias"} {
				t := p.Get(c.name + s)
				if t == nil {
					return nil, fmt.Errorf("tasks: the classifier has no %s%s", c.name, s)
				}
				b.add(c.name+s, t.Shape().Clone(), p.Float32s(c.name+s))
			}
		}
	}
	return b, nil
}

func (b *bank) add(name string, shape []int, v []float32) {
	b.weights[name], b.shapes[name] = v, shape
}

// features are a bank's layers over one image: those whose Gram matrices
// carry the style, and those that carry the content.
type features struct {
	style, content []*models.Node
}

// build adds the bank's layers over x (1,3,h,w) to g. Weights become
// inputs named "w:NAME", filled by feed.
func (b *bank) build(g *models.Graph, x *models.Node) features {
	in := map[string]*models.Node{}
	w := func(name string) *models.Node {
		if n, ok := in[name]; ok {
			return n
		}
		n := g.Input("w:"+name, b.shapes[name]...)
		in[name] = n
		return n
	}
	var f features
	lvl := x
	for l := range b.levels {
		if l > 0 {
			lvl = g.Conv2d(lvl, w("pool.weight"), w("pool.bias"), 2, 1)
		}
		if g.Err() != nil {
			return f
		}
		switch b.kind {
		case FeaturesRandom:
			h := lvl
			for i, c := range randomLayers {
				name := fmt.Sprintf("l%d.%s", l, c.name)
				h = g.SiLU(g.Conv2d(h, w(name+".weight"), w(name+".bias"), 1, c.k/2))
				f.style = append(f.style, h)
				if i == len(randomLayers)-1 && l == min(contentLevel, b.levels-1) {
					f.content = append(f.content, h)
				}
			}
		case FeaturesClassifier:
			s := lvl.Shape()
			h := g.Reshape(lvl, 3, 1, s[2], s[3]) // each channel a grey image
			for i, c := range classifierLayers {
				if g.Err() != nil || min(h.Shape()[2], h.Shape()[3]) < 2*c.str {
					break
				}
				h = g.SiLU(g.Conv2d(h, w(c.name+".weight"), w(c.name+".bias"), c.str, 1))
				f.style = append(f.style, h)
				if i == len(classifierLayers)-1 && l == 0 {
					f.content = append(f.content, h)
				}
			}
		}
	}
	return f
}

// feed fills the weight inputs of a machine built over build's graph.
func (b *bank) feed(m *models.Machine) error {
	for name, v := range b.weights {
		if m.Input("w:"+name) == nil {
			continue // a layer this image is too small for
		}
		if err := m.Set("w:"+name, v); err != nil {
			return err
		}
	}
	return nil
}

// contentLevel is the pyramid level whose last random layer carries the
// content: level 0 holds the fine detail too and leaves little room for
// the style, level 1 (half resolution) keeps the layout and lets the
// texture redraw the detail.
const contentLevel = 1
