package tasks

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"genlab/images"
)

// evalStyle renders procedural scenes in the style of procedural
// textures with each feature bank, beside matching the content's colour
// statistics to the style's (the naive baseline) and the content as is.
// How well the style is taken is judged by the style loss under banks
// the method did not optimise: a random bank of another seed, and the
// classifier's bank; both are given relative to the content image's own
// distance (1 = no closer to the style than the content, 0 = the style's
// statistics exactly). How much content survives is the SSIM to it.
func evalStyle(ctx context.Context, env *EvalEnv) (*TaskResult, error) {
	start := time.Now()
	clf, err := env.Judge()
	if err != nil {
		return nil, err
	}
	size, n := env.StyleSize, env.StyleN
	judges := []struct {
		name string
		o    StyleOptions
	}{
		{"style dist. (random judge)", StyleOptions{Features: FeaturesRandom, Seed: env.Seed + 1000}},
		{"style dist. (classifier judge)", StyleOptions{Features: FeaturesClassifier, Classifier: clf}},
	}
	methods := []struct {
		name     string
		baseline bool
		run      func(content, style []float32) ([]float32, error)
	}{
		{"content as is (reference)", true, func(c, _ []float32) ([]float32, error) { return c, nil }},
		{"colour transfer", true, func(c, s []float32) ([]float32, error) { return ColourTransfer(c, s), nil }},
	}
	for _, f := range []string{FeaturesRandom, FeaturesClassifier} {
		o := StyleOptions{Steps: env.StyleIter, Features: f, Classifier: clf, Seed: env.Seed}
		methods = append(methods, struct {
			name     string
			baseline bool
			run      func(content, style []float32) ([]float32, error)
		}{fmt.Sprintf("genlab, %s features (%d L-BFGS steps)", f, env.StyleIter), false, func(c, s []float32) ([]float32, error) {
			return StyleTransfer(ctx, c, size, size, s, size, size, o, nil)
		}})
	}
	type acc struct {
		dist    []float64
		ssim, t float64
	}
	sums := make([]acc, len(methods))
	for i := range sums {
		sums[i].dist = make([]float64, len(judges))
	}
	ex := Examples{Name: "style", Columns: []string{"content", "style"}}
	for _, m := range methods[1:] {
		ex.Columns = append(ex.Columns, strings.TrimSuffix(strings.SplitN(m.name, " (", 2)[0], " (reference)"))
	}
	tile := func(p []float32) image.Image { return images.FromFloats(p, 3, size, size) }
	for i := range n {
		content := Scene(size, env.Seed+uint64(i))
		style := Texture(textureKinds[i%len(textureKinds)], size, env.Seed+uint64(i))
		row := []image.Image{tile(content), tile(style)}
		base := make([]float64, len(judges))
		for mi, m := range methods {
			t0 := time.Now()
			out, err := m.run(content, style)
			if err != nil {
				return nil, err
			}
			sums[mi].t += time.Since(t0).Seconds()
			for ji, j := range judges {
				d, err := styleDistance(out, style, size, j.o)
				if err != nil {
					return nil, err
				}
				if mi == 0 {
					base[ji] = d
				}
				sums[mi].dist[ji] += d / base[ji]
			}
			sums[mi].ssim += SSIM(content, out, 3, size, size)
			if mi > 0 {
				row = append(row, tile(out))
			}
			if env.Progress != nil {
				env.Progress("style", i*len(methods)+mi+1, n*len(methods))
			}
		}
		ex.Rows = append(ex.Rows, row)
	}
	res := &TaskResult{Examples: []Examples{ex}}
	setting := fmt.Sprintf("%dx%d", size, size)
	for mi, m := range methods {
		var ms []Metric
		for ji, j := range judges {
			ms = append(ms, Metric{j.name, sums[mi].dist[ji] / float64(n), ""})
		}
		ms = append(ms, Metric{"SSIM to content", sums[mi].ssim / float64(n), ""})
		if !m.baseline {
			ms = append(ms, Metric{"s/image", sums[mi].t / float64(n), "s"})
		}
		res.Rows = append(res.Rows, Row{Task: "style", Setting: setting, Method: m.name, Baseline: m.baseline, Metrics: ms})
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d procedural scene/texture pairs (%s); style dist.: the style loss (feature means and covariances) of the result under a bank it was not optimised with, relative to the content image's (lower is closer to the style; each method is also judged by the other's bank); colour transfer matches each RGB channel's mean and standard deviation to the style's", n, strings.Join(textureKinds, ", ")))
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// styleDistance is the style term alone of the loss under o's bank: how
// far img's feature statistics are from style's.
func styleDistance(img, style []float32, size int, o StyleOptions) (float64, error) {
	o.ContentWeight, o.TVWeight = -1, -1
	l, err := newStyleLoss(img, size, size, style, size, size, o.withDefaults())
	if err != nil {
		return 0, err
	}
	defer l.Close()
	x := make([]float64, len(img))
	for i, v := range img {
		x[i] = float64(v)
	}
	return l.Eval(x)
}

// ColourTransfer gives content (3×h×w) the per-channel mean and standard
// deviation of style (3×hs×ws): the naive style transfer (Reinhard et al.
// 2001 do it in a decorrelated colour space; here, plainly in RGB).
func ColourTransfer(content, style []float32) []float32 {
	stats := func(x []float32) (m, s [3]float64) {
		plane := len(x) / 3
		for c := range 3 {
			for _, v := range x[c*plane : (c+1)*plane] {
				m[c] += float64(v)
			}
			m[c] /= float64(plane)
			for _, v := range x[c*plane : (c+1)*plane] {
				s[c] += (float64(v) - m[c]) * (float64(v) - m[c])
			}
			s[c] = math.Sqrt(s[c] / float64(plane))
		}
		return m, s
	}
	mc, sc := stats(content)
	ms, ss := stats(style)
	out := make([]float32, len(content))
	plane := len(content) / 3
	for c := range 3 {
		k := ss[c] / max(sc[c], 1e-6)
		for i := c * plane; i < (c+1)*plane; i++ {
			out[i] = float32(min(1, max(0, (float64(content[i])-mc[c])*k+ms[c])))
		}
	}
	return out
}

// Procedural test images for the style evaluation: 3×size×size RGB in
// [0, 1], deterministic by seed. There are no photographs or paintings in
// the repository, so the evaluation's style images are textures of four
// kinds and its content images simple scenes.

// textureKinds are the procedural styles.
var textureKinds = []string{"stained glass", "waves", "dots", "brush strokes"}

// Texture draws a procedural texture of the given kind.
func Texture(kind string, size int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x746578))
	out := make([]float32, 3*size*size)
	plane := size * size
	set := func(x, y int, c [3]float64) {
		for ch := range 3 {
			out[ch*plane+y*size+x] = float32(min(1, max(0, c[ch])))
		}
	}
	palette := func() [3]float64 {
		return [3]float64{rng.Float64(), rng.Float64(), rng.Float64()}
	}
	s := float64(size)
	switch kind {
	case "stained glass":
		// Voronoi cells of random colours with dark leading between them.
		n := 24
		px, py := make([]float64, n), make([]float64, n)
		cols := make([][3]float64, n)
		for i := range n {
			px[i], py[i], cols[i] = rng.Float64()*s, rng.Float64()*s, palette()
		}
		for y := range size {
			for x := range size {
				d1, d2, best := math.Inf(1), math.Inf(1), 0
				for i := range n {
					d := math.Hypot(float64(x)-px[i], float64(y)-py[i])
					if d < d1 {
						d1, d2, best = d, d1, i
					} else if d < d2 {
						d2 = d
					}
				}
				c := cols[best]
				if d2-d1 < s/40+1 {
					c = [3]float64{0.05, 0.05, 0.05}
				}
				set(x, y, c)
			}
		}
	case "waves":
		a, b := palette(), palette()
		f1, f2 := (3+4*rng.Float64())*2*math.Pi/s, (2+3*rng.Float64())*2*math.Pi/s
		th := rng.Float64() * math.Pi
		for y := range size {
			for x := range size {
				u := float64(x)*math.Cos(th) + float64(y)*math.Sin(th)
				v := -float64(x)*math.Sin(th) + float64(y)*math.Cos(th)
				t := 0.5 + 0.5*math.Sin(f1*u+2*math.Sin(f2*v))
				var c [3]float64
				for ch := range 3 {
					c[ch] = a[ch]*t + b[ch]*(1-t)
				}
				set(x, y, c)
			}
		}
	case "dots":
		bg, fg := palette(), palette()
		r := s / (10 + 6*rng.Float64())
		step := 2.6 * r
		for y := range size {
			for x := range size {
				row := math.Floor(float64(y) / step)
				off := math.Mod(row, 2) * step / 2
				cx := math.Floor((float64(x)-off)/step)*step + off + step/2
				cy := row*step + step/2
				c := bg
				if math.Hypot(float64(x)-cx, float64(y)-cy) < r {
					c = fg
				}
				set(x, y, c)
			}
		}
	default: // brush strokes: short oriented dabs of a few colours
		bg := palette()
		for y := range size {
			for x := range size {
				set(x, y, bg)
			}
		}
		cols := [][3]float64{palette(), palette(), palette()}
		th0 := rng.Float64() * math.Pi
		for range size * size / 12 {
			cx, cy := rng.Float64()*s, rng.Float64()*s
			th := th0 + 0.4*rng.NormFloat64()
			l, wd := s/10, s/50+0.7
			c := cols[rng.IntN(len(cols))]
			for t := -l / 2; t <= l/2; t += 0.5 {
				for q := -wd; q <= wd; q += 0.5 {
					x := int(cx + t*math.Cos(th) - q*math.Sin(th))
					y := int(cy + t*math.Sin(th) + q*math.Cos(th))
					if x >= 0 && x < size && y >= 0 && y < size {
						set(x, y, c)
					}
				}
			}
		}
	}
	return out
}

// Scene draws a simple content image: a sky-to-ground gradient with a few
// large discs and boxes.
func Scene(size int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x7363656e65))
	out := make([]float32, 3*size*size)
	plane := size * size
	s := float64(size)
	top := [3]float64{0.4 + 0.3*rng.Float64(), 0.6 + 0.3*rng.Float64(), 0.9}
	bottom := [3]float64{0.2 + 0.3*rng.Float64(), 0.4 + 0.3*rng.Float64(), 0.1 + 0.2*rng.Float64()}
	horizon := s * (0.5 + 0.2*rng.Float64())
	for y := range size {
		for x := range size {
			c := top
			if float64(y) > horizon {
				c = bottom
			}
			t := float64(y) / s
			for ch := range 3 {
				out[ch*plane+y*size+x] = float32(c[ch] * (0.8 + 0.4*t))
			}
		}
	}
	for range 2 + rng.IntN(3) {
		col := [3]float64{rng.Float64(), rng.Float64(), rng.Float64()}
		cx, cy, r := rng.Float64()*s, rng.Float64()*s, s*(0.1+0.15*rng.Float64())
		box := rng.IntN(2) == 0
		for y := range size {
			for x := range size {
				dx, dy := float64(x)-cx, float64(y)-cy
				in := dx*dx+dy*dy < r*r
				if box {
					in = math.Abs(dx) < r && math.Abs(dy) < r*0.7
				}
				if in {
					for ch := range 3 {
						out[ch*plane+y*size+x] = float32(col[ch])
					}
				}
			}
		}
	}
	for i, v := range out {
		out[i] = min(1, max(0, v))
	}
	return out
}
