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
)

// TextToImageKey is the EvalEnv.Ckpts key (the eval-tasks flag) of the
// text-to-image model.
const TextToImageKey = "txt2img-ckpt"

// TextGuidances are the guidance scales the text-to-image evaluation
// compares (1: the prompt's model alone, no guidance).
var TextGuidances = []float64{1, 3}

func init() {
	EvalTasks = append(EvalTasks, EvalTask{Name: "txt2img",
		About:     "text-to-image on captions of seen and of held-out (colour, shape) pairs, judged by the shapes attribute classifier, with and without guidance",
		Ckpt:      TextToImageKey,
		CkptUsage: "text-to-image diffusion checkpoint (genlab train diffusion --data shapes --cond text)",
		Run:       evalTextToImage})
}

func evalTextToImage(ctx context.Context, env *EvalEnv) (*TaskResult, error) {
	start := time.Now()
	path := env.Ckpts[TextToImageKey]
	net, err := diffusion.LoadNetwork(path)
	if err != nil {
		return nil, err
	}
	if net.Config.Cond != "text" {
		return nil, fmt.Errorf("tasks: %s is a %q diffusion model, not text-to-image (conditioned on text)", path, net.Config.Cond)
	}
	ap := env.Ckpts[AttributesKey]
	if ap == "" {
		return nil, fmt.Errorf("tasks: txt2img is judged by the shapes attribute classifier: train it with 'genlab train attributes' and pass it as --%s", AttributesKey)
	}
	attr, err := eval.LoadAttributeClassifier(ap)
	if err != nil {
		return nil, err
	}
	res := &TaskResult{}
	splits := []struct{ name, split string }{{"seen pairs", "test"}, {"held-out pairs", "heldout"}}
	total := len(splits) * len(TextGuidances) * env.N * 50
	done := 0
	for si, sp := range splits {
		set := datasets.Shapes(env.N, 2000+env.Seed+uint64(si), sp.split)
		r, err := TextToImageScores(ctx, net, attr, set, TextGuidances, env.TextSampler, env.Seed, env.Batch, func(d int) {
			if env.Progress != nil {
				env.Progress("txt2img", done+d, total)
			}
		})
		if err != nil {
			return nil, err
		}
		done += len(TextGuidances) * env.N * 50
		row := func(method string, baseline bool, s eval.AttributeScores, secs float64) Row {
			ms := []Metric{{"colour acc.", s.Each[0], "%"}, {"shape acc.", s.Each[1], "%"}, {"size acc.", s.Each[2], "%"},
				{"position acc.", s.Each[3], "%"}, {"attribute acc.", s.Mean, "%"}, {"all four", s.AllFour, "%"}}
			if secs > 0 {
				ms = append(ms, Metric{"s/image", secs, "s"})
			}
			return Row{Task: "txt2img", Setting: sp.name, Method: method, Baseline: baseline, Metrics: ms}
		}
		res.Rows = append(res.Rows, row("the captions' real images (reference)", true, r.Real, 0))
		for gi, g := range TextGuidances {
			m := fmt.Sprintf("genlab, guidance %g", g)
			if g == 1 {
				m = "genlab, no guidance"
			}
			res.Rows = append(res.Rows, row(m, false, r.Generated[gi], r.Seconds[gi]))
			env.logf("txt2img %s, guidance %g: attributes %.3f, all four %.3f", sp.name, g, r.Generated[gi].Mean, r.Generated[gi].AllFour)
		}
		r.Examples.Name = "txt2img-" + slug(sp.name)
		res.Examples = append(res.Examples, r.Examples)
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d captions per setting, one image each (%s, 50 steps); the held-out captions name (colour, shape) pairs never shown in training (datasets.ShapesHeldOut); the attribute classifier reads colour, shape, size and position; \"attribute acc.\" is the mean of the four, \"all four\" the share of images right on every one", env.N, strings.ToUpper(env.TextSampler)))
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// TextToImageResult is how often a text model draws what its captions say,
// at each guidance scale, beside the captions' real images.
type TextToImageResult struct {
	Real      eval.AttributeScores
	Generated []eval.AttributeScores // per guidance scale
	Seconds   []float64              // per image, per guidance scale
	Examples  Examples
}

// TextToImageScores draws one image for each caption of set (image i from
// seed+i) with sampler (50 steps) at each guidance scale and asks the attribute classifier whether
// it shows the caption's attributes. progress is told the sampler steps
// done (images times steps).
func TextToImageScores(ctx context.Context, net *diffusion.Network, attr *eval.AttributeClassifier, set *datasets.Set, guidances []float64, sampler string, seed uint64, batch int, progress func(done int)) (TextToImageResult, error) {
	if batch <= 0 {
		batch = 16
	}
	n := set.N
	want := make([]datasets.ShapeAttrs, n)
	for i := range want {
		var err error
		if want[i], err = datasets.ShapeAttrsOf(set, i); err != nil {
			return TextToImageResult{}, err
		}
	}
	var r TextToImageResult
	var err error
	if r.Real, err = attr.Score(set.Pixels, n, want); err != nil {
		return r, err
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = seed + uint64(i)
	}
	u := net.Config.UNet
	tile := func(p []float32) image.Image { return images.FromFloats(p, u.InChannels, u.Size, u.Size) }
	r.Examples.Columns = []string{"real"}
	shown := min(n, 8)
	for i := range shown {
		r.Examples.Rows = append(r.Examples.Rows, []image.Image{set.ToImage(i)})
	}
	dim := net.Dim()
	for gi, g := range guidances {
		t0 := time.Now()
		pix, err := net.Generate(ctx, net.Params, diffusion.GenerateOptions{Seeds: seeds, Sampler: sampler, Steps: 50, Guidance: g, Prompts: set.Captions, Batch: batch,
			Progress: func(d, _ int, _ []float32) error {
				if progress != nil {
					progress(gi*n*50 + d*batch)
				}
				return nil
			}})
		if err != nil {
			return r, err
		}
		r.Seconds = append(r.Seconds, time.Since(t0).Seconds()/float64(n))
		s, err := attr.Score(pix, n, want)
		if err != nil {
			return r, err
		}
		r.Generated = append(r.Generated, s)
		r.Examples.Columns = append(r.Examples.Columns, fmt.Sprintf("guidance %g", g))
		for i := range shown {
			r.Examples.Rows[i] = append(r.Examples.Rows[i], tile(pix[i*dim:(i+1)*dim]))
		}
	}
	return r, nil
}
