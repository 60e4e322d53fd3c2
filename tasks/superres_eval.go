package tasks

import (
	"context"
	"fmt"
	"image"
	"strings"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/images"

	"github.com/disintegration/imaging"
)

// The super-resolution and text-to-image evaluations read their models
// from these EvalEnv.Ckpts keys (the eval-tasks flags), and the shapes
// attribute classifier from AttributesKey.
const (
	SuperResKey       = "sr-ckpt"
	SuperResShapesKey = "sr-shapes-ckpt"
	AttributesKey     = "attributes"
)

func init() {
	EvalTasks = append(EvalTasks,
		EvalTask{Name: "superres",
			About:     "SR3 super-resolution of held-out MNIST digits at each of the model's scales (7->28 and 14->28), beside bicubic upscaling",
			Ckpt:      SuperResKey,
			CkptUsage: "super-resolution diffusion checkpoint (genlab train diffusion --cond lowres)",
			Run: func(ctx context.Context, env *EvalEnv) (*TaskResult, error) {
				return evalSuperRes(ctx, env, SuperResKey)
			}},
		EvalTask{Name: "superres-shapes",
			About:     "SR3 super-resolution of held-out shapes (16->32), beside bicubic upscaling, judged by the attribute classifier",
			Ckpt:      SuperResShapesKey,
			CkptUsage: "shapes super-resolution diffusion checkpoint (genlab train diffusion --data shapes --cond lowres)",
			Run: func(ctx context.Context, env *EvalEnv) (*TaskResult, error) {
				return evalSuperRes(ctx, env, SuperResShapesKey)
			}})
}

// srJudge says how many of n images show what the truth shows: the MNIST
// classifier's accuracy against the labels, or for shapes the share whose
// four attributes the attribute classifier reads as the caption says.
type srJudge func(pix []float32, n int) (float64, error)

// evalSuperRes evaluates the checkpoint under env.Ckpts[key], on MNIST or
// shapes as the model's image size says.
func evalSuperRes(ctx context.Context, env *EvalEnv, key string) (*TaskResult, error) {
	start := time.Now()
	path := env.Ckpts[key]
	net, err := diffusion.LoadNetwork(path)
	if err != nil {
		return nil, err
	}
	if net.Config.Cond != "lowres" {
		return nil, fmt.Errorf("tasks: %s is a %q diffusion model, not super-resolution (conditioned on low-resolution images)", path, net.Config.Cond)
	}
	u := net.Config.UNet
	var set *datasets.Set
	var judge srJudge
	var judgeName string
	switch {
	case u.InChannels == 1 && u.Size == 28:
		if set, err = heldOut(env.N, env.Seed); err != nil {
			return nil, err
		}
		cls, err := env.Judge()
		if err != nil {
			return nil, err
		}
		judgeName = "class acc."
		judge = func(pix []float32, n int) (float64, error) {
			pred, err := cls.Predict(pix, n, nil)
			return eval.ClassAccuracy(pred, set.Labels), err
		}
	case u.InChannels == 3 && u.Size == datasets.ShapesSize:
		set = datasets.Shapes(env.N, 1000+env.Seed, "test")
		judgeName = "attribute acc."
		if p := env.Ckpts[AttributesKey]; p != "" {
			attr, err := eval.LoadAttributeClassifier(p)
			if err != nil {
				return nil, err
			}
			judge = attributeJudge(attr, set)
		}
	default:
		return nil, fmt.Errorf("tasks: %s upscales %dx%dx%d images; the evaluation has MNIST (1x28x28) and shapes (3x32x32) test images", path, u.InChannels, u.Size, u.Size)
	}
	res := &TaskResult{}
	if judge != nil {
		acc, err := judge(set.Pixels, set.N)
		if err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, Row{Task: "superres", Setting: setName(set), Method: "ground truth (reference)", Baseline: true,
			Metrics: []Metric{{judgeName, acc, "%"}}})
	}
	total := len(net.Config.Scales) * set.N * 50
	for si, scale := range net.Config.Scales {
		r, err := SuperResScores(ctx, net, set, scale, env.SRSampler, env.Seed, env.Batch, judge, func(done int) {
			if env.Progress != nil {
				env.Progress("superres", si*set.N*50+done, total)
			}
		})
		if err != nil {
			return nil, err
		}
		setting := fmt.Sprintf("%s %d->%d (%dx)", setName(set), u.Size/scale, u.Size, scale)
		for _, m := range []struct {
			name     string
			s        srScores
			baseline bool
		}{{"bicubic (imaging)", r.Bicubic, true}, {fmt.Sprintf("genlab SR3 (%s 50)", strings.ToUpper(env.SRSampler)), r.Genlab, false}} {
			ms := []Metric{{"PSNR (dB)", m.s.PSNR, "dB"}, {"SSIM", m.s.SSIM, ""}}
			if judge != nil {
				ms = append(ms, Metric{judgeName, m.s.Accuracy, "%"})
			}
			if !m.baseline {
				ms = append(ms, Metric{"s/image", r.Seconds, "s"})
			}
			res.Rows = append(res.Rows, Row{Task: "superres", Setting: setting, Method: m.name, Baseline: m.baseline, Metrics: ms})
		}
		env.logf("superres %dx: bicubic PSNR %.2f SSIM %.3f acc %.3f; genlab PSNR %.2f SSIM %.3f acc %.3f; %.2f s/image",
			scale, r.Bicubic.PSNR, r.Bicubic.SSIM, r.Bicubic.Accuracy, r.Genlab.PSNR, r.Genlab.SSIM, r.Genlab.Accuracy, r.Seconds)
		res.Examples = append(res.Examples, r.Examples)
	}
	note := fmt.Sprintf("%d held-out %s images per scale; the low-resolution input is each image's block means (8-bit), bicubic is imaging's Catmull-Rom, genlab samples p(x | bicubic) with %s, 50 steps, no guidance; PSNR and SSIM over the whole image", set.N, setName(set), strings.ToUpper(env.SRSampler))
	if judge == nil {
		note += fmt.Sprintf("; no %s: pass the attribute classifier (genlab train attributes) as --%s", judgeName, AttributesKey)
	}
	res.Notes = append(res.Notes, note)
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func setName(s *datasets.Set) string {
	if s.C == 1 {
		return "MNIST"
	}
	return "shapes"
}

// attributeJudge scores shapes images by their captions' attributes.
func attributeJudge(attr *eval.AttributeClassifier, set *datasets.Set) srJudge {
	return func(pix []float32, n int) (float64, error) {
		want := make([]datasets.ShapeAttrs, n)
		for i := range want {
			var err error
			if want[i], err = datasets.ShapeAttrsOf(set, i); err != nil {
				return 0, err
			}
		}
		s, err := attr.Score(pix, n, want)
		return s.AllFour, err
	}
}

// srScores are one method's means over a set.
type srScores struct {
	PSNR, SSIM, Accuracy float64
}

// SuperResResult compares genlab's super-resolution with bicubic
// upscaling on one set at one scale.
type SuperResResult struct {
	Bicubic, Genlab srScores
	Seconds         float64 // genlab's time per image
	Examples        Examples
}

// SuperResScores shrinks every image of set by scale (block means, 8-bit),
// brings it back by bicubic interpolation and by the model (sampler, 50
// steps; image i's noise from seed+i), and measures both against the truth; judge, if not
// nil, gives the accuracy. progress is told the sampler steps done.
func SuperResScores(ctx context.Context, net *diffusion.Network, set *datasets.Set, scale int, sampler string, seed uint64, batch int, judge srJudge, progress func(done int)) (SuperResResult, error) {
	u := net.Config.UNet
	c, s, l := u.InChannels, u.Size, u.Size/scale
	if set.C != c || set.H != s || set.W != s {
		return SuperResResult{}, fmt.Errorf("tasks: %s images are %dx%dx%d, the model's %dx%dx%d", set.Name, set.C, set.H, set.W, c, s, s)
	}
	if batch <= 0 {
		batch = 16
	}
	n, dim := set.N, set.Dim()
	low := make([][]float32, n)
	cond := make([]float32, n*dim)
	bicubic := make([]float32, n*dim)
	for i := range n {
		low[i] = diffusion.Shrink(set.Image(i), c, s, scale)
		copy(cond[i*dim:], diffusion.LowResCondition(low[i], c, l, s))
	}
	diffusion.ToPixels(bicubic, cond)
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = seed + uint64(i)
	}
	t0 := time.Now()
	done := 0
	genlab, err := net.Generate(ctx, net.Params, diffusion.GenerateOptions{Seeds: seeds, Sampler: sampler, Steps: 50, Guidance: 1, LowRes: cond, Batch: batch,
		Progress: func(d, _ int, _ []float32) error {
			done = d
			if progress != nil {
				progress(done * batch)
			}
			return nil
		}})
	if err != nil {
		return SuperResResult{}, err
	}
	r := SuperResResult{Seconds: time.Since(t0).Seconds() / float64(n)}
	for _, m := range []struct {
		pix []float32
		out *srScores
	}{{bicubic, &r.Bicubic}, {genlab, &r.Genlab}} {
		for i := range n {
			a, b := set.Image(i), m.pix[i*dim:(i+1)*dim]
			m.out.PSNR += PSNR(a, b, nil) / float64(n)
			m.out.SSIM += SSIM(a, b, c, s, s) / float64(n)
		}
		if judge != nil {
			if m.out.Accuracy, err = judge(m.pix, n); err != nil {
				return SuperResResult{}, err
			}
		}
	}
	name := fmt.Sprintf("superres-%dx", scale)
	if c == 3 {
		name = fmt.Sprintf("superres-shapes-%dx", scale)
	}
	r.Examples = Examples{Name: name, Columns: []string{"input", "bicubic", "genlab", "truth"}}
	tile := func(p []float32) image.Image { return images.FromFloats(p, c, s, s) }
	for i := range min(n, 8) {
		in := imaging.Resize(images.FromFloats(low[i], c, l, l), s, s, imaging.NearestNeighbor)
		r.Examples.Rows = append(r.Examples.Rows, []image.Image{in, tile(bicubic[i*dim : (i+1)*dim]), tile(genlab[i*dim : (i+1)*dim]), tile(set.Image(i))})
	}
	return r, nil
}
