package diffusion

import (
	"fmt"
	"slices"
	"strings"
)

// A video model starts best from a trained image model: its spatial layers
// are the image UNet's, under the same names, and its temporal layers
// start as the identity (their output projections are zero), so at step 0
// it draws every frame as the image model would, and training spends its
// steps on motion rather than on learning to draw (VideoLDM, AnimateDiff).
// The same holds for any model whose layers another one shares.

// InitFrom copies src's weights into n's where they fit: every tensor of
// the same name and shape; the words of a text encoder's table that both
// know, by word; the positions both have; and a first conv with more
// input channels than src's (a condition src did not take, such as a
// video model's first frame), whose extra channels start at zero so the
// new input is silent until trained. Everything else keeps its
// initialisation. It returns how many of n's tensors came from src.
func (n *Network) InitFrom(src *Network) (int, error) {
	if src.Config.Schedule != n.Config.Schedule || src.Config.T != n.Config.T {
		return 0, fmt.Errorf("diffusion: cannot start from a model of the %s schedule of %d steps: this one is %s of %d", src.Config.Schedule, src.Config.T, n.Config.Schedule, n.Config.T)
	}
	from, to := src.Params.Shapes(), n.Params.Shapes()
	copied := 0
	for _, name := range n.Params.Names() {
		want, have := to[name], from[name]
		if have == nil {
			continue
		}
		dst, s := n.Params.Float32s(name), src.Params.Float32s(name)
		switch {
		case slices.Equal(want, have):
			copy(dst, s)
		case strings.HasSuffix(name, "text.tok.weight") && len(want) == 2 && want[1] == have[1]:
			// Row 0 is padding, row i+1 the vocabulary's word i.
			d := want[1]
			copy(dst[:d], s[:d])
			for i, w := range n.text.Config.Vocab {
				if k := slices.Index(src.text.Config.Vocab, w); k >= 0 {
					copy(dst[(i+1)*d:(i+2)*d], s[(k+1)*d:(k+2)*d])
				}
			}
		case strings.HasSuffix(name, "text.pos.weight") && len(want) == 2 && want[1] == have[1]:
			rows := min(want[0], have[0])
			copy(dst[:rows*want[1]], s[:rows*want[1]])
		case name == "inc.weight" && len(want) == 4 && want[0] == have[0] && want[1] > have[1] && want[2] == have[2] && want[3] == have[3]:
			// The channels src took come first in n's input (the image,
			// then its conditions); the rest start silent.
			k := want[2] * want[3]
			clear(dst)
			for o := range want[0] {
				copy(dst[o*want[1]*k:][:have[1]*k], s[o*have[1]*k:][:have[1]*k])
			}
		default:
			continue
		}
		if err := n.Params.SetFloat32s(name, dst); err != nil {
			return copied, err
		}
		copied++
	}
	if copied == 0 {
		return 0, fmt.Errorf("diffusion: the two models share no layer")
	}
	return copied, nil
}
