package tasks

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/images"
)

// maskKind is one of the evaluation's masks over a 28×28 digit.
type maskKind struct {
	name string
	make func(rng *rand.Rand, h, w int) []float32
}

var inpaintMasks = []maskKind{
	{"square 14x14", func(rng *rand.Rand, h, w int) []float32 {
		m := make([]float32, h*w)
		s := min(14, h, w)
		y0, x0 := rng.IntN(h-s+1), rng.IntN(w-s+1)
		for y := y0; y < y0+s; y++ {
			for x := x0; x < x0+s; x++ {
				m[y*w+x] = 1
			}
		}
		return m
	}},
	{"bottom half", func(_ *rand.Rand, h, w int) []float32 {
		m := make([]float32, h*w)
		for p := h / 2 * w; p < h*w; p++ {
			m[p] = 1
		}
		return m
	}},
}

// loadMNISTModel opens the evaluation's diffusion checkpoint and checks it
// draws MNIST digits.
func loadMNISTModel(path string) (*diffusion.Network, error) {
	net, err := diffusion.LoadNetwork(path)
	if err != nil {
		return nil, err
	}
	if u := net.Config.UNet; u.InChannels != 1 || u.Size != 28 {
		return nil, fmt.Errorf("%s draws %dx%dx%d images; the MNIST evaluations need a 1x28x28 model", path, u.InChannels, u.Size, u.Size)
	}
	return net, nil
}

// heldOut picks n MNIST test digits, the same ones for a given seed.
func heldOut(n int, seed uint64) (*datasets.Set, error) {
	test, err := datasets.LoadMNIST("test")
	if err != nil {
		return nil, err
	}
	if n > test.N {
		return nil, fmt.Errorf("tasks: %d images asked for; the MNIST test set has %d", n, test.N)
	}
	idx := rand.New(rand.NewPCG(seed, 0x7465737473)).Perm(test.N)[:n]
	return test.Subset(idx), nil
}

// meanImage is the per-pixel mean of a set's images (of those of class k
// if k >= 0).
func meanImage(s *datasets.Set, k int) []float32 {
	d := s.Dim()
	sum := make([]float64, d)
	n := 0
	for i := range s.N {
		if k >= 0 && s.Labels[i] != k {
			continue
		}
		for p, v := range s.Image(i) {
			sum[p] += float64(v)
		}
		n++
	}
	out := make([]float32, d)
	for p := range out {
		out[p] = float32(sum[p] / float64(max(n, 1)))
	}
	return out
}

// scores are one method's results over a set of images.
type scores struct {
	psnr, ssim, acc float64
}

// scoreFills measures filled images against the truth on the masked region
// and asks the judge for their class.
func scoreFills(judge *eval.Classifier, filled, truth, masks []float32, labels []int, c, h, w int) (scores, error) {
	dim, plane := c*h*w, h*w
	n := len(labels)
	var s scores
	for i := range n {
		a, b, m := truth[i*dim:(i+1)*dim], filled[i*dim:(i+1)*dim], masks[i*plane:(i+1)*plane]
		s.psnr += PSNR(a, b, m)
		s.ssim += MaskedSSIM(a, b, m, c, h, w)
	}
	s.psnr /= float64(n)
	s.ssim /= float64(n)
	pred, err := judge.Predict(filled, n, nil)
	if err != nil {
		return scores{}, err
	}
	s.acc = eval.ClassAccuracy(pred, labels)
	return s, nil
}

func evalInpaint(ctx context.Context, env *EvalEnv) (*TaskResult, error) {
	start := time.Now()
	net, err := loadMNISTModel(env.Ckpts["ckpt"])
	if err != nil {
		return nil, err
	}
	judge, err := env.Judge()
	if err != nil {
		return nil, err
	}
	set, err := heldOut(env.N, env.Seed)
	if err != nil {
		return nil, err
	}
	train, err := datasets.LoadMNIST("train")
	if err != nil {
		return nil, err
	}
	mean := meanImage(train, -1)
	o := env.Repaint.withDefaults()
	if err := o.Validate(net.Sched.T); err != nil {
		return nil, err
	}
	c, h, w := set.C, set.H, set.W
	dim, plane, n := set.Dim(), h*w, set.N
	res := &TaskResult{}
	truthAcc, err := judge.Accuracy(set)
	if err != nil {
		return nil, err
	}
	// The genlab variants: the unconditional model, as RePaint has it,
	// and (for a class-conditional model) the class inferred from the
	// known pixels by the model itself, filled under guidance.
	type variant struct {
		name     string
		opts     RepaintOptions
		guidance float64
		evals    int // per image
	}
	variants := []variant{{fmt.Sprintf("genlab RePaint (%s %d steps, j=%d, r=%d)", o.Sampler, o.Steps, o.Jump, o.Resample), o, 1, RepaintEvals(o)}}
	if net.Classes() > 0 {
		oi := o
		oi.InferClass = true
		g := env.InpaintGuidance
		name := fmt.Sprintf("genlab RePaint + inferred class (guidance %g)", g)
		if oi.Candidates > 1 {
			name = fmt.Sprintf("genlab RePaint + inferred class (best of %d, guidance %g)", oi.Candidates, g)
		}
		variants = append(variants, variant{name, oi, g, InferEvals(oi, net.Classes(), g)})
		if path := env.Ckpts[InpaintClassifierKey]; path != "" {
			if SameFile(path, env.ClassifierPath) {
				return nil, fmt.Errorf("tasks: --%s is the judge itself; name classes with a classifier of occluded digits (genlab train classifier --occluded)", InpaintClassifierKey)
			}
			cl, err := eval.LoadClassifier(path)
			if err != nil {
				return nil, err
			}
			on := o
			on.InferClass, on.ClassFrom = true, cl
			variants = append(variants, variant{fmt.Sprintf("genlab RePaint + class named by an occluded-digit classifier (guidance %g)", g), on, g, InferEvals(on, net.Classes(), g)})
		}
	}
	total := 0
	for _, v := range variants {
		total += len(inpaintMasks) * n * v.evals
	}
	done := 0
	for mi, mk := range inpaintMasks {
		rng := rand.New(rand.NewPCG(env.Seed, uint64(mi)))
		masks := make([]float32, n*plane)
		for i := range n {
			copy(masks[i*plane:], mk.make(rng, h, w))
		}
		meanFilled := make([]float32, n*dim)
		blurFilled := make([]float32, n*dim)
		for i := range n {
			img, m := set.Image(i), masks[i*plane:(i+1)*plane]
			copy(meanFilled[i*dim:], MeanFill(img, mean, m))
			copy(blurFilled[i*dim:], BlurFill(img, m, c, h, w, 100))
		}
		setting := mk.name
		res.Rows = append(res.Rows, Row{Task: "inpaint", Setting: setting, Method: "ground truth (reference)", Baseline: true,
			Metrics: []Metric{{"class acc.", truthAcc, "%"}}})
		row := func(name string, pix []float32, baseline bool, perImg float64) error {
			s, err := scoreFills(judge, pix, set.Pixels, masks, set.Labels, c, h, w)
			if err != nil {
				return err
			}
			ms := []Metric{{"PSNR (dB)", s.psnr, "dB"}, {"SSIM", s.ssim, ""}, {"class acc.", s.acc, "%"}}
			if !baseline {
				ms = append(ms, Metric{"s/image", perImg, "s"})
			}
			res.Rows = append(res.Rows, Row{Task: "inpaint", Setting: setting, Method: name, Baseline: baseline, Metrics: ms})
			return nil
		}
		if err := row("mean-fill", meanFilled, true, 0); err != nil {
			return nil, err
		}
		if err := row("blur-fill", blurFilled, true, 0); err != nil {
			return nil, err
		}
		ex := Examples{Name: "inpaint-" + slug(mk.name), Columns: []string{"input", "mean-fill", "blur-fill"}}
		var fills [][]float32
		for vi, v := range variants {
			// RePaint in batches; image i's noise comes from its own seed.
			out := make([]float32, n*dim)
			t0 := time.Now()
			for lo := 0; lo < n; lo += env.Batch {
				hi := min(n, lo+env.Batch)
				known := make([]float32, (hi-lo)*dim)
				diffusion.ToModelRange(known, set.Pixels[lo*dim:hi*dim])
				rngs := diffusion.ImageRNGs(env.Seed+uint64(mi)<<32+uint64(vi)<<40, lo, hi-lo)
				base := done
				x, err := Repaint(ctx, net, Condition{}, v.guidance, known, masks[lo*plane:hi*plane], hi-lo, rngs, v.opts, func(d, _ int) {
					done = base + d*(hi-lo)
					if env.Progress != nil {
						env.Progress("inpaint", done, total)
					}
				})
				if err != nil {
					return nil, err
				}
				done = base + v.evals*(hi-lo)
				diffusion.ToPixels(out[lo*dim:hi*dim], x)
				env.logf("inpaint %s, %s: %d/%d images, %.2f s/image", mk.name, v.name, hi, n, time.Since(t0).Seconds()/float64(hi))
			}
			if err := row(v.name, out, false, time.Since(t0).Seconds()/float64(n)); err != nil {
				return nil, err
			}
			fills = append(fills, out)
			ex.Columns = append(ex.Columns, []string{"genlab", "genlab+class", "genlab+named"}[min(vi, 2)])
		}
		ex.Columns = append(ex.Columns, "truth")
		tile := func(p []float32) image.Image { return images.FromFloats(p, c, h, w) }
		for i := range min(n, 8) {
			m := masks[i*plane : (i+1)*plane]
			r := []image.Image{tile(MeanFill(set.Image(i), grey(dim, 0.5), m)), tile(meanFilled[i*dim : (i+1)*dim]), tile(blurFilled[i*dim : (i+1)*dim])}
			for _, f := range fills {
				r = append(r, tile(f[i*dim:(i+1)*dim]))
			}
			ex.Rows = append(ex.Rows, append(r, tile(set.Image(i))))
		}
		res.Examples = append(res.Examples, ex)
	}
	perImage := RepaintEvals(o)
	res.Notes = append(res.Notes, fmt.Sprintf("%d MNIST test digits per mask; PSNR and SSIM (Gaussian window, Wang et al. 2004) over the masked pixels; class acc. is the judge's accuracy on the filled digits; mean-fill uses the training set's mean image, blur-fill diffuses the known pixels into the hole; RePaint costs %d network evaluations per image with the unconditional model (the null class); inferring the class (the diffusion model's own zero-shot classification of the known pixels, %d noise levels x %d classes), filling under guidance for each of the %d likeliest classes and keeping the fill whose class best explains the known pixels costs %d", n, perImage, inferLevels, net.Classes(), min(o.Candidates, net.Classes()), InferEvals(o, net.Classes(), env.InpaintGuidance)))
	if env.Ckpts[InpaintClassifierKey] != "" {
		res.Notes = append(res.Notes, "the occluded-digit classifier is not the judge: a second classifier, trained on training digits hidden by random masks (none, a half, or a rectangle of 6 to 20 pixels a side) with the mask as a second channel; it names the class and RePaint fills under it alone")
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// InpaintClassifierKey is the eval-tasks flag of the occluded-digit
// classifier that names the class to inpaint under (a further row).
const InpaintClassifierKey = "inpaint-classifier"

// SameFile says whether two paths name one existing file.
func SameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// grey is an image of dim values all v.
func grey(dim int, v float32) []float32 {
	g := make([]float32, dim)
	for i := range g {
		g[i] = v
	}
	return g
}

// slug turns a setting into a file-name part: "square 14x14" → "square-14x14".
func slug(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '.') {
			b[i] = '-'
		}
	}
	return string(b)
}
