package datasets

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"

	"genlab/images"
)

// Set is an in-memory image dataset, the form every generator trains on.
// Images are stored NCHW as float32 in [0,1] (byte value / 255).
type Set struct {
	Name       string // e.g. "mnist-train", "shapes-heldout", a folder's path
	N, C, H, W int    // images, channels (1 or 3), height, width
	Pixels     []float32
	Labels     []int    // class index per image, or nil
	Captions   []string // text per image, or nil
	Classes    int      // number of classes (10 for MNIST), 0 without labels
	// Frames > 0 makes each item a clip of Frames images of C×H×W, stored
	// one frame after the other (the clips set); 0 means still images.
	Frames int
}

// Dim returns the number of values in one item: C*H*W for an image,
// Frames*C*H*W for a clip.
func (s *Set) Dim() int { return max(1, s.Frames) * s.C * s.H * s.W }

// Clip reports whether the set's items are clips rather than images.
func (s *Set) Clip() bool { return s.Frames > 0 }

// Image returns image i as a view into s.Pixels (CHW): writes go to the set.
func (s *Set) Image(i int) []float32 {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("datasets: image index %d out of range [0,%d)", i, s.N))
	}
	d := s.Dim()
	return s.Pixels[i*d : (i+1)*d : (i+1)*d]
}

// ToImage converts image i to an *image.Gray (C=1) or *image.NRGBA (C=3),
// rounding to the nearest byte and clamping values outside [0,1]; a clip
// becomes its frame strip (images.FrameStrip).
func (s *Set) ToImage(i int) image.Image {
	if s.Clip() {
		return images.FrameStrip(s.Image(i), s.Frames, s.C, s.H, s.W)
	}
	return images.FromFloats(s.Image(i), s.C, s.H, s.W)
}

// Subset returns a new Set holding copies of the images (and labels and
// captions) at idx, in that order; indices may repeat.
func (s *Set) Subset(idx []int) *Set {
	d := s.Dim()
	out := &Set{
		Name: s.Name, N: len(idx), C: s.C, H: s.H, W: s.W, Frames: s.Frames,
		Pixels:  make([]float32, len(idx)*d),
		Classes: s.Classes,
	}
	if s.Labels != nil {
		out.Labels = make([]int, len(idx))
	}
	if s.Captions != nil {
		out.Captions = make([]string, len(idx))
	}
	for j, i := range idx {
		copy(out.Pixels[j*d:(j+1)*d], s.Image(i))
		if s.Labels != nil {
			out.Labels[j] = s.Labels[i]
		}
		if s.Captions != nil {
			out.Captions[j] = s.Captions[i]
		}
	}
	return out
}

// Check reports the first inconsistency in s: sizes that disagree with the
// slices, labels outside [0,Classes), or a pixel that is not finite in [0,1].
func (s *Set) Check() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("datasets: %s: "+format, append([]any{s.Name}, args...)...)
	}
	if s.N < 0 || s.C <= 0 || s.H <= 0 || s.W <= 0 || s.Frames < 0 {
		return fail("bad shape N=%d C=%d H=%d W=%d Frames=%d", s.N, s.C, s.H, s.W, s.Frames)
	}
	if len(s.Pixels) != s.N*s.Dim() {
		return fail("%d pixel values, want N*C*H*W = %d*%d*%d*%d = %d", len(s.Pixels), s.N, s.C, s.H, s.W, s.N*s.Dim())
	}
	if s.Labels != nil {
		if len(s.Labels) != s.N {
			return fail("%d labels for %d images", len(s.Labels), s.N)
		}
		if s.Classes <= 0 {
			return fail("has labels but Classes = %d", s.Classes)
		}
		for i, l := range s.Labels {
			if l < 0 || l >= s.Classes {
				return fail("label %d of image %d is outside [0,%d)", l, i, s.Classes)
			}
		}
	}
	if s.Captions != nil && len(s.Captions) != s.N {
		return fail("%d captions for %d images", len(s.Captions), s.N)
	}
	for i, v := range s.Pixels {
		if !(v >= 0 && v <= 1) { // also catches NaN
			d, plane := s.Dim(), s.H*s.W
			return fail("pixel %d (image %d, channel %d, y %d, x %d) = %v, want finite in [0,1]",
				i, i/d, i%d/plane%s.C, i%plane/s.W, i%s.W, v)
		}
	}
	return nil
}

// Dequantize writes into dst the dequantized form of src, whose values are
// bytes scaled to [0,1] (k/255, as in a Set):
//
//	dst[i] = (k + u) / 256,  k = round(src[i]*255),  u ~ U[0,1).
//
// Likelihood models (flow, VAE, diffusion bits/dim) need it: a continuous
// density fitted to the 256 discrete levels could pile infinite density on
// them. Spreading level k uniformly over its own bin [k/256, (k+1)/256)
// makes E_u[-log p(y)] + D·log 256 an upper bound on the negative
// log-likelihood of the discrete image under the model's bin masses (Theis,
// van den Oord & Bethge, "A note on the evaluation of generative models",
// 2016), so bits/dim computed from it is an honest, comparable number. dst and src may be the same slice.
//
// float32 cannot hold every value just below 1, so (255+u)/256 can round up
// to 1; such values are set to the largest float32 below 1, keeping dst in
// [0,1) for models that take a logit of it.
func Dequantize(dst, src []float32, rng *rand.Rand) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("datasets: Dequantize: len(dst)=%d, len(src)=%d", len(dst), len(src)))
	}
	const belowOne = float32(1 - 1.0/(1<<24))
	for i, v := range src {
		k := math.Round(math.Min(math.Max(float64(v), 0), 1) * 255)
		y := float32((k + rng.Float64()) / 256)
		if y >= 1 {
			y = belowOne
		}
		dst[i] = y
	}
}

// Concat returns a new Set of a's items followed by b's, named name. The
// two must have the same item shape and both or neither have captions;
// labels are kept only when both have them with the same Classes.
func Concat(name string, a, b *Set) (*Set, error) {
	if a.C != b.C || a.H != b.H || a.W != b.W || a.Frames != b.Frames {
		return nil, fmt.Errorf("datasets: cannot join %s (%dx%dx%d, %d frames) and %s (%dx%dx%d, %d frames)",
			a.Name, a.C, a.H, a.W, a.Frames, b.Name, b.C, b.H, b.W, b.Frames)
	}
	if (a.Captions == nil) != (b.Captions == nil) {
		return nil, fmt.Errorf("datasets: cannot join %s and %s: only one has captions", a.Name, b.Name)
	}
	out := &Set{Name: name, N: a.N + b.N, C: a.C, H: a.H, W: a.W, Frames: a.Frames,
		Pixels: slices.Concat(a.Pixels, b.Pixels)}
	if a.Captions != nil {
		out.Captions = slices.Concat(a.Captions, b.Captions)
	}
	if a.Labels != nil && b.Labels != nil && a.Classes == b.Classes {
		out.Labels, out.Classes = slices.Concat(a.Labels, b.Labels), a.Classes
	}
	return out, nil
}
