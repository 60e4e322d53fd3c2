package tasks

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/images"
)

// evalEdit asks SDEdit to turn held-out MNIST digits into another class
// (a random one of the other nine per digit) at each strength, and
// measures how often the judge sees the requested class, how often it
// still sees the original one, and how much of the input survives (SSIM).
// The naive baseline blends the input with the requested class's mean
// training image at the same strength.
func evalEdit(ctx context.Context, env *EvalEnv) (*TaskResult, error) {
	start := time.Now()
	net, err := loadMNISTModel(env.Ckpts["ckpt"])
	if err != nil {
		return nil, err
	}
	if net.Classes() < 2 {
		return nil, fmt.Errorf("%s is not class-conditional; the edit evaluation asks for classes", env.Ckpts["ckpt"])
	}
	judge, err := env.Judge()
	if err != nil {
		return nil, err
	}
	set, err := heldOut(env.N, env.Seed+1)
	if err != nil {
		return nil, err
	}
	train, err := datasets.LoadMNIST("train")
	if err != nil {
		return nil, err
	}
	classMean := make([][]float32, net.Classes())
	for k := range classMean {
		classMean[k] = meanImage(train, k)
	}
	for _, s := range env.Strengths {
		if !(s > 0 && s <= 1) {
			return nil, fmt.Errorf("tasks: edit strength %g: want more than 0 and at most 1", s)
		}
	}
	c, h, w := set.C, set.H, set.W
	dim, n := set.Dim(), set.N
	rng := rand.New(rand.NewPCG(env.Seed, 0x65646974))
	target := make([]int, n)
	for i := range target {
		target[i] = (set.Labels[i] + 1 + rng.IntN(net.Classes()-1)) % net.Classes()
	}
	o := EditOptions{Steps: env.EditSteps}.withDefaults(net.Config.Cond)
	res := &TaskResult{}
	score := func(pix []float32) (toTarget, keepsClass, ssim float64, err error) {
		pred, err := judge.Predict(pix, n, nil)
		if err != nil {
			return 0, 0, 0, err
		}
		for i := range n {
			ssim += SSIM(set.Image(i), pix[i*dim:(i+1)*dim], c, h, w)
		}
		return eval.ClassAccuracy(pred, target), eval.ClassAccuracy(pred, set.Labels), ssim / float64(n), nil
	}
	row := func(setting, method string, baseline bool, pix []float32, perImg float64) error {
		a, k, s, err := score(pix)
		if err != nil {
			return err
		}
		ms := []Metric{{"target class", a, "%"}, {"source class", k, "%"}, {"SSIM to input", s, ""}}
		if perImg > 0 {
			ms = append(ms, Metric{"s/image", perImg, "s"})
		}
		res.Rows = append(res.Rows, Row{Task: "edit", Setting: setting, Method: method, Baseline: baseline, Metrics: ms})
		return nil
	}
	if err := row("strength 0", "input as is (reference)", true, set.Pixels, 0); err != nil {
		return nil, err
	}
	// The baseline's column shows the strength nearest one half.
	mid := env.Strengths[0]
	for _, s := range env.Strengths {
		if math.Abs(s-0.5) < math.Abs(mid-0.5) {
			mid = s
		}
	}
	ex := Examples{Name: "edit", Columns: []string{"input", "target", "blend s=" + strconv.FormatFloat(mid, 'g', -1, 64)}}
	nEx := min(n, 8)
	exRows := make([][]image.Image, nEx)
	tile := func(p []float32) image.Image { return images.FromFloats(p, c, h, w) }
	for i := range nEx {
		exRows[i] = []image.Image{tile(set.Image(i)), tile(classMean[target[i]]), tile(Blend(set.Image(i), classMean[target[i]], mid))}
	}
	totalSteps := 0
	for _, s := range env.Strengths {
		totalSteps += (o.Steps - editStart(o.Steps, s)) * n
	}
	done := 0
	for si, s := range env.Strengths {
		setting := "strength " + strconv.FormatFloat(s, 'g', -1, 64)
		blend := make([]float32, n*dim)
		for i := range n {
			copy(blend[i*dim:], Blend(set.Image(i), classMean[target[i]], s))
		}
		if err := row(setting, "blend with class mean", true, blend, 0); err != nil {
			return nil, err
		}
		out := make([]float32, n*dim)
		t0 := time.Now()
		// Images of one target class go through together: the network's
		// condition is per batch.
		for k := range net.Classes() {
			var idx []int
			for i, tk := range target {
				if tk == k {
					idx = append(idx, i)
				}
			}
			for lo := 0; lo < len(idx); lo += env.Batch {
				part := idx[lo:min(len(idx), lo+env.Batch)]
				x0 := make([]float32, len(part)*dim)
				rngs := make([]*rand.Rand, len(part))
				for j, i := range part {
					diffusion.ToModelRange(x0[j*dim:(j+1)*dim], set.Image(i))
					rngs[j] = diffusion.ImageRNG(env.Seed + uint64(si)<<32 + uint64(i))
				}
				base := done
				x, err := SDEdit(ctx, net, Class(k), env.Guidance, x0, len(part), s, rngs, o, func(d, _ int) {
					done = base + d*len(part)
					if env.Progress != nil {
						env.Progress("edit", done, totalSteps)
					}
				})
				if err != nil {
					return nil, err
				}
				for j, i := range part {
					diffusion.ToPixels(out[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim])
				}
			}
		}
		perImg := time.Since(t0).Seconds() / float64(n)
		env.logf("edit %s: %.2f s/image", setting, perImg)
		method := fmt.Sprintf("genlab SDEdit (DDIM %d steps at strength 1, guidance %g)", o.Steps, env.Guidance)
		if err := row(setting, method, false, out, perImg); err != nil {
			return nil, err
		}
		ex.Columns = append(ex.Columns, "s="+strconv.FormatFloat(s, 'g', -1, 64))
		for i := range nEx {
			exRows[i] = append(exRows[i], tile(out[i*dim:(i+1)*dim]))
		}
	}
	ex.Rows = exRows
	res.Examples = append(res.Examples, ex)
	res.Notes = append(res.Notes, fmt.Sprintf("%d MNIST test digits, each asked to become a random other class; target/source class: the judge's share seeing the requested/original class; SSIM to the input over the whole digit; the baseline blends the input with the requested class's mean training image at the same strength", n))
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
