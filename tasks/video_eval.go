package tasks

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"time"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/images"
	"genlab/internal/noise"
)

// VideoKey is the EvalEnv.Ckpts key (the eval flag) of the video model.
const VideoKey = "video-ckpt"

// VideoGuidance is the guidance scale text-to-video is evaluated at.
const VideoGuidance = 3

func init() {
	EvalTasks = append(EvalTasks, EvalTask{Name: "video",
		About: "text-to-video and image-to-video on captions of seen and held-out (shape, motion) pairs: the attribute judge on every frame, " +
			"the centroid track against the caption's motion and the frame-to-frame change against real clips, beside per-frame text-to-image and a repeated first frame",
		Ckpt:      VideoKey,
		CkptUsage: "video diffusion checkpoint (genlab train diffusion --data clips --cond text)",
		Run:       evalVideo})
}

// ClipTrack is what is measured of a clip from its pixels: per frame,
// the centroid (X, Y) and the mass (Area) of the shape, each pixel
// weighted by how far its brightest channel rises above the background.
type ClipTrack struct {
	X, Y, Area []float64
}

// trackFloor is the brightness below which a pixel counts as background:
// generated backgrounds are not quite black.
const trackFloor = 0.2

// TrackClip measures a clip of frames×3×s×s pixels in [0,1].
func TrackClip(pix []float32, frames, s int) ClipTrack {
	var t ClipTrack
	plane := s * s
	for f := range frames {
		fr := pix[f*3*plane : (f+1)*3*plane]
		var x, y, m float64
		for p := range plane {
			w := float64(max(fr[p], fr[plane+p], fr[2*plane+p])) - trackFloor
			if w <= 0 {
				continue
			}
			x += w * float64(p%s)
			y += w * float64(p/s)
			m += w
		}
		if m > 0 {
			x, y = x/m, y/m
		} else {
			x, y = float64(s-1)/2, float64(s-1)/2
		}
		t.X, t.Y, t.Area = append(t.X, x), append(t.Y, y), append(t.Area, m)
	}
	return t
}

// Motion thresholds: a move must carry the centroid at least minTravel
// pixels the captioned way (real clips travel 14) and at most half as far
// across; growing or shrinking must change the mass minGrowth-fold (real
// clips: about 7-fold); a shape that grows, shrinks or turns must stay
// within maxDrift pixels.
const (
	minTravel = 7
	minGrowth = 2
	maxDrift  = 4
)

// MotionMatches says whether a clip's track (and, for turning, the
// judge's colours of its first and last frames) shows the caption's motion.
func MotionMatches(a datasets.ClipAttrs, t ClipTrack, firstColor, lastColor string) bool {
	n := len(t.X) - 1
	dx, dy := t.X[n]-t.X[0], t.Y[n]-t.Y[0]
	if mx, my, ok := a.Move(); ok {
		along := dx*float64(mx) + dy*float64(my)
		across := math.Abs(dx*float64(my)) + math.Abs(dy*float64(mx))
		return along >= minTravel && across <= along/2
	}
	if math.Hypot(dx, dy) > maxDrift {
		return false
	}
	switch a.Motion {
	case "growing":
		return t.Area[n] >= minGrowth*t.Area[0]
	case "shrinking":
		return t.Area[0] >= minGrowth*t.Area[n]
	case "turning":
		return firstColor == a.Color && lastColor == a.To
	}
	return false
}

// FrameChange is the mean absolute change of a pixel value from one
// frame to the next, over n clips.
func FrameChange(pix []float32, n, frames, d int) float64 {
	var s float64
	for i := range n {
		clip := pix[i*frames*d:]
		for f := 1; f < frames; f++ {
			for k := range d {
				s += math.Abs(float64(clip[f*d+k] - clip[(f-1)*d+k]))
			}
		}
	}
	return s / float64(n*(frames-1)*d)
}

// VideoScores are the shares of n clips judged right, and their change.
type VideoScores struct {
	EveryFrame   float64 // clips whose every frame has the right shape and colour
	FrameShape   float64 // frames of the right shape
	FrameColor   float64 // frames of the right colour (a turning clip's second colour in its second half)
	Motion       float64 // clips whose measured motion is the caption's
	Both         float64 // clips right in every frame and in motion
	Change       float64 // FrameChange
	FirstMAE     float64 // image-to-video: mean absolute error of frame 1 against the given frame
	KeepsFirst   float64 // image-to-video: clips whose every frame keeps the given frame's shape and colour
	SecondsPer   float64 // seconds per clip
	FirstCorrect bool    // FirstMAE and KeepsFirst apply
}

// ScoreClips judges n clips (frames×3×s×s each) against their captions.
func ScoreClips(attr *eval.AttributeClassifier, pix []float32, n, frames, s int, want []datasets.ClipAttrs) (VideoScores, error) {
	d := 3 * s * s
	got, err := attr.Predict(pix, n*frames)
	if err != nil {
		return VideoScores{}, err
	}
	var v VideoScores
	for i, a := range want {
		every := true
		for f := range frames {
			g := got[i*frames+f]
			shape, color := g.Shape == a.Shape, g.Color == a.ColorAt(f, frames)
			v.FrameShape += b2f(shape)
			v.FrameColor += b2f(color)
			every = every && shape && color
		}
		moves := MotionMatches(a, TrackClip(pix[i*frames*d:(i+1)*frames*d], frames, s), got[i*frames].Color, got[(i+1)*frames-1].Color)
		v.EveryFrame += b2f(every)
		v.Motion += b2f(moves)
		v.Both += b2f(every && moves)
	}
	v.EveryFrame /= float64(n)
	v.Motion /= float64(n)
	v.Both /= float64(n)
	v.FrameShape /= float64(n * frames)
	v.FrameColor /= float64(n * frames)
	v.Change = FrameChange(pix, n, frames, d)
	return v, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func evalVideo(ctx context.Context, env *EvalEnv) (*TaskResult, error) {
	path := env.Ckpts[VideoKey]
	net, err := diffusion.LoadNetwork(path)
	if err != nil {
		return nil, err
	}
	if net.Frames() == 0 || net.Config.Cond != "text" {
		return nil, fmt.Errorf("tasks: %s is not a text-to-video model (genlab train diffusion --data clips --cond text)", path)
	}
	ap := env.Ckpts[AttributesKey]
	if ap == "" {
		return nil, fmt.Errorf("tasks: video is judged by the shapes attribute classifier: train it with 'genlab train attributes' and pass it as --%s", AttributesKey)
	}
	attr, err := eval.LoadAttributeClassifier(ap)
	if err != nil {
		return nil, err
	}
	var t2i *diffusion.Network
	if p := env.Ckpts[TextToImageKey]; p != "" {
		if t2i, err = diffusion.LoadNetwork(p); err != nil {
			return nil, err
		}
		if t2i.Config.Cond != "text" || t2i.Frames() != 0 {
			return nil, fmt.Errorf("tasks: --%s %s is not a text-to-image model", TextToImageKey, p)
		}
	}
	frames, s := net.Frames(), net.Config.UNet.Size
	d := 3 * s * s
	batch := max(1, env.Batch/frames)
	sampler, steps := env.TextSampler, env.VideoSteps
	if sampler == "" {
		sampler = DefaultTextSampler
	}
	if steps == 0 {
		steps = 50
	}
	res := &TaskResult{}
	splits := []struct{ name, split string }{{"seen pairs", "test"}, {"held-out pairs", "heldout"}}
	runs := 2
	if t2i != nil {
		runs = 3
	}
	total, done := len(splits)*runs*env.N*steps, 0
	progress := func(d int) {
		if env.Progress != nil {
			env.Progress("video", done+d, total)
		}
	}
	for si, sp := range splits {
		set := datasets.Clips(env.N, frames, 3000+env.Seed+uint64(si), sp.split)
		want := make([]datasets.ClipAttrs, set.N)
		for i := range want {
			if want[i], err = datasets.ClipAttrsOf(set, i); err != nil {
				return nil, err
			}
		}
		row := func(method string, baseline bool, v VideoScores, real float64) Row {
			ms := []Metric{{"every frame right", v.EveryFrame, "%"}, {"frame shape acc.", v.FrameShape, "%"}, {"frame colour acc.", v.FrameColor, "%"},
				{"motion acc.", v.Motion, "%"}, {"frames and motion", v.Both, "%"}, {"frame change", v.Change, ""}, {"change / real", v.Change / real, ""}}
			if v.FirstCorrect {
				ms = append(ms, Metric{"frame 1 MAE", v.FirstMAE, ""}, Metric{"keeps the first frame's shape and colour", v.KeepsFirst, "%"})
			}
			if v.SecondsPer > 0 {
				ms = append(ms, Metric{"s/clip", v.SecondsPer, "s"})
			}
			return Row{Task: "video", Setting: sp.name, Method: method, Baseline: baseline, Metrics: ms}
		}
		realScores, err := ScoreClips(attr, set.Pixels, set.N, frames, s, want)
		if err != nil {
			return nil, err
		}
		real := realScores.Change
		res.Rows = append(res.Rows, row("the captions' real clips (reference)", true, realScores, real))

		seeds := noise.Seeds(env.Seed+uint64(si)*100000, set.N)
		draw := func(o diffusion.GenerateOptions) ([]float32, float64, error) {
			t0 := time.Now()
			o.Seeds, o.Sampler, o.Steps, o.Guidance, o.Prompts, o.Batch = seeds, sampler, steps, VideoGuidance, set.Captions, batch
			o.Progress = func(k, _ int, _ []float32) error { progress(k * batch); return nil }
			pix, err := net.Generate(ctx, net.Params, o)
			done += set.N * steps
			return pix, time.Since(t0).Seconds() / float64(set.N), err
		}
		t2v, secs, err := draw(diffusion.GenerateOptions{})
		if err != nil {
			return nil, err
		}
		v, err := ScoreClips(attr, t2v, set.N, frames, s, want)
		if err != nil {
			return nil, err
		}
		v.SecondsPer = secs
		res.Rows = append(res.Rows, row(fmt.Sprintf("genlab text-to-video, guidance %d", VideoGuidance), false, v, real))
		env.logf("video %s: every frame %.3f, motion %.3f, change %.4f (real %.4f)", sp.name, v.EveryFrame, v.Motion, v.Change, real)

		repeated := make([]float32, len(t2v))
		for i := range set.N {
			for f := range frames {
				copy(repeated[(i*frames+f)*d:][:d], t2v[i*frames*d:][:d])
			}
		}
		if v, err = ScoreClips(attr, repeated, set.N, frames, s, want); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, row("text-to-video's first frame repeated", true, v, real))

		var perFrame []float32
		if t2i != nil {
			if perFrame, err = perFrameBaseline(ctx, t2i, want, frames, env.Seed+uint64(si), sampler, steps, env.Batch, func(k int) { progress(k) }); err != nil {
				return nil, err
			}
			done += set.N * steps
			if v, err = ScoreClips(attr, perFrame, set.N, frames, s, want); err != nil {
				return nil, err
			}
			res.Rows = append(res.Rows, row("text-to-image per frame, independent noise", true, v, real))
		}

		first := make([][]float32, set.N)
		for i := range first {
			first[i] = set.Image(i)[:d]
		}
		i2v, secs, err := draw(diffusion.GenerateOptions{First: first})
		if err != nil {
			return nil, err
		}
		if v, err = ScoreClips(attr, i2v, set.N, frames, s, want); err != nil {
			return nil, err
		}
		v.SecondsPer, v.FirstCorrect = secs, true
		if v.FirstMAE, v.KeepsFirst, err = keepsFirst(attr, i2v, first, want, frames, d); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, row("genlab image-to-video (the real first frame)", false, v, real))
		env.logf("video %s image-to-video: keeps the first frame's shape and colour %.3f, frame 1 MAE %.4f", sp.name, v.KeepsFirst, v.FirstMAE)

		ex := Examples{Name: "video-" + sp.split, Columns: []string{"real clip", "text-to-video", "image-to-video"}}
		if perFrame != nil {
			ex.Columns = append(ex.Columns, "text-to-image per frame")
		}
		strip := func(p []float32, i int) image.Image {
			return images.FrameStrip(p[i*frames*d:(i+1)*frames*d], frames, 3, s, s)
		}
		for i := range min(set.N, 6) {
			r := []image.Image{set.ToImage(i), strip(t2v, i), strip(i2v, i)}
			if perFrame != nil {
				r = append(r, strip(perFrame, i))
			}
			ex.Rows = append(ex.Rows, r)
		}
		res.Examples = append(res.Examples, ex)
	}
	res.Notes = append(res.Notes,
		fmt.Sprintf("video: motion is measured from the pixels: a move carries the centroid >= %d px the captioned way (real clips: 14), growing and shrinking change the shape's mass %d-fold with < %d px drift, turning is the judge's first- and last-frame colours. Frame change is the mean |pixel change| between frames; change / real compares it with the real clips'.", minTravel, minGrowth, maxDrift),
		"video: the attribute judge was trained on still shapes; its score on the real clips is the ceiling the generated rows are read against.")
	if t2i == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("video: the per-frame text-to-image baseline needs --%s.", TextToImageKey))
	}
	return res, nil
}

// perFrameBaseline draws every frame of every clip with the text-to-image
// model, independently: the caption's shape, size and colour (the second
// colour in a turning clip's second half) at one random position per
// clip, the same prompt for all its frames.
func perFrameBaseline(ctx context.Context, t2i *diffusion.Network, want []datasets.ClipAttrs, frames int, seed uint64, sampler string, steps, batch int, progress func(int)) ([]float32, error) {
	_, _, _, positions := datasets.ShapesAttributes()
	rng := rand.New(rand.NewPCG(seed, 77))
	var prompts []string
	for _, a := range want {
		pos := positions[rng.IntN(len(positions))]
		for f := range frames {
			prompts = append(prompts, datasets.ShapeAttrs{Size: a.Size, Color: a.ColorAt(f, frames), Shape: a.Shape, Position: pos}.Caption())
		}
	}
	seeds := noise.Seeds(seed*7919+1, len(prompts))
	return t2i.Generate(ctx, t2i.Params, diffusion.GenerateOptions{Seeds: seeds, Sampler: sampler, Steps: steps, Guidance: VideoGuidance, Prompts: prompts, Batch: batch,
		Progress: func(k, _ int, _ []float32) error { progress(k * batch / frames); return nil }})
}

// keepsFirst measures image-to-video against the given first frames: the
// mean absolute error of frame 1, and the share of clips whose every
// frame has the given frame's shape and colour as the judge sees them (a
// turning clip's second half: the caption's second colour).
func keepsFirst(attr *eval.AttributeClassifier, pix []float32, first [][]float32, want []datasets.ClipAttrs, frames, d int) (mae, keeps float64, err error) {
	n := len(first)
	flat := make([]float32, 0, n*d)
	for _, f := range first {
		flat = append(flat, f...)
	}
	given, err := attr.Predict(flat, n)
	if err != nil {
		return 0, 0, err
	}
	got, err := attr.Predict(pix, n*frames)
	if err != nil {
		return 0, 0, err
	}
	for i := range n {
		for k := range d {
			mae += math.Abs(float64(pix[i*frames*d+k] - first[i][k]))
		}
		same := true
		for f := range frames {
			g, color := got[i*frames+f], given[i].Color
			if f >= frames/2 && want[i].Motion == "turning" {
				color = want[i].To
			}
			same = same && g.Shape == given[i].Shape && g.Color == color
		}
		keeps += b2f(same)
	}
	return mae / float64(n*d), keeps / float64(n), nil
}
