package tasks

import (
	"context"
	"image"
	"slices"
	"testing"

	"genlab/diffusion"
)

// The RePaint schedule goes down one step at a time, jumps back up
// exactly jump steps at most resample−1 times from each jump point, and
// costs Steps + (resample−1)·jump·(jump points) evaluations.
func TestRepaintPlan(t *testing.T) {
	for _, c := range []struct{ steps, jump, resample, evals int }{
		{10, 2, 1, 10},
		{10, 2, 3, 10 + 2*2*4}, // jump points at positions 9, 7, 5, 3 (each reached from 2 above)
		{50, 5, 5, 50 + 4*5*9},
		{50, 10, 10, 50 + 9*10*4},
		{3, 5, 4, 3}, // a jump longer than the run never happens
	} {
		plan := repaintPlan(c.steps, c.jump, c.resample)
		evals, pos := 0, 0
		for _, m := range plan {
			if m.from != pos {
				t.Fatalf("%+v: a move starts at %d, the walk is at %d", c, m.from, pos)
			}
			switch {
			case m.to == m.from+1:
				evals++
			case m.to == m.from-c.jump && m.to >= 0:
			default:
				t.Fatalf("%+v: move %+v", c, m)
			}
			pos = m.to
		}
		if pos != c.steps || evals != c.evals {
			t.Errorf("%+v: ends at %d after %d evaluations, want %d and %d", c, pos, evals, c.steps, c.evals)
		}
		o := RepaintOptions{Steps: c.steps, Jump: c.jump, Resample: c.resample}
		if c.jump < c.steps && RepaintEvals(o) != c.evals {
			t.Errorf("%+v: RepaintEvals = %d", c, RepaintEvals(o))
		}
	}
}

// Repaint keeps the known pixels exactly, fills the others, gives each
// image the same result whatever batch it is in, and checks its inputs.
func TestRepaintKeepsKnownPixels(t *testing.T) {
	net := tinyNet(t, 1, 8)
	dim := 64
	known := make([]float32, 2*dim)
	mask := make([]float32, 2*dim)
	for i := range known {
		known[i] = float32(i%7)/3 - 1
		if i%dim >= 32 {
			mask[i] = 1 // bottom half
		}
	}
	o := RepaintOptions{Steps: 6, Jump: 2, Resample: 2}
	x, err := Repaint(context.Background(), net, Condition{}, 1, known, mask, 2, diffusion.ImageRNGs(5, 0, 2), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i := range x {
		if mask[i] == 0 && x[i] != known[i] {
			t.Fatalf("known value %d changed: %g -> %g", i, known[i], x[i])
		}
		if mask[i] == 1 && x[i] != known[i] {
			changed++
		}
	}
	if changed < 60 {
		t.Errorf("only %d of 64 masked values were filled", changed)
	}
	// Image 1 alone, with its own generator (seed 5+1), is the same.
	one, err := Repaint(context.Background(), net, Class(2), 1, known[dim:], mask[dim:], 1, diffusion.ImageRNGs(5, 1, 1), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Repaint(context.Background(), net, Class(2), 1, known, mask, 2, diffusion.ImageRNGs(5, 0, 2), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one, two[dim:]) {
		t.Error("image 1 differs between a batch of 1 and a batch of 2")
	}
	// Bad inputs are errors, not panics.
	for name, err := range map[string]error{
		"jump": func() error {
			_, err := Repaint(context.Background(), net, Condition{}, 1, known, mask, 2, diffusion.ImageRNGs(5, 0, 2), RepaintOptions{Steps: 6, Jump: 6}, nil)
			return err
		}(),
		"mask": func() error {
			_, err := Repaint(context.Background(), net, Condition{}, 1, known, mask[:10], 2, diffusion.ImageRNGs(5, 0, 2), o, nil)
			return err
		}(),
		"class": func() error {
			_, err := Repaint(context.Background(), net, Class(3), 1, known, mask, 2, diffusion.ImageRNGs(5, 0, 2), o, nil)
			return err
		}(),
		"dpm": func() error {
			_, err := Repaint(context.Background(), net, Condition{}, 1, known, mask, 2, diffusion.ImageRNGs(5, 0, 2), RepaintOptions{Sampler: "dpmpp2m"}, nil)
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Repaint(ctx, net, Condition{}, 1, known, mask, 2, diffusion.ImageRNGs(5, 0, 2), o, nil); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}

// Inpaint on a user's image of another size keeps every unmasked pixel.
func TestInpaintUserImage(t *testing.T) {
	net := tinyNet(t, 1, 8)
	img := image.NewGray(image.Rect(0, 0, 13, 9))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 2)
	}
	mask := image.NewGray(image.Rect(0, 0, 13, 9))
	for y := 2; y < 6; y++ {
		for x := 3; x < 9; x++ {
			mask.Pix[y*13+x] = 255
		}
	}
	done := 0
	out, err := Inpaint(context.Background(), InpaintParams{Net: net, Image: img, Mask: mask,
		RepaintOptions: RepaintOptions{Steps: 4, Jump: 2, Resample: 2}, Progress: func(d, _ int) { done = d }})
	if err != nil {
		t.Fatal(err)
	}
	g, ok := out.(*image.Gray)
	if !ok || g.Bounds().Dx() != 13 || g.Bounds().Dy() != 9 {
		t.Fatalf("result %T %v, want a 13x9 grey image", out, out.Bounds())
	}
	for i, v := range g.Pix {
		if mask.Pix[i] == 0 && v != img.Pix[i] {
			t.Fatalf("unmasked pixel %d changed: %d -> %d", i, img.Pix[i], v)
		}
	}
	if done != RepaintEvals(RepaintOptions{Steps: 4, Jump: 2, Resample: 2}) {
		t.Errorf("progress ended at %d", done)
	}
}

func TestBaselines(t *testing.T) {
	const h, w = 6, 7
	img := make([]float32, h*w)
	mask := make([]float32, h*w)
	for i := range img {
		img[i] = 0.4
	}
	for y := 2; y < 4; y++ {
		for x := 2; x < 5; x++ {
			mask[y*w+x] = 1
			img[y*w+x] = 0.9 // what the hole hides
		}
	}
	// A hole in a flat image is filled flat.
	for i, v := range BlurFill(img, mask, 1, h, w, 50) {
		if abs32(v-0.4) > 1e-6 {
			t.Fatalf("BlurFill value %d = %g, want 0.4", i, v)
		}
	}
	mean := make([]float32, h*w)
	for i := range mean {
		mean[i] = 0.1
	}
	for i, v := range MeanFill(img, mean, mask) {
		want := img[i]
		if mask[i] == 1 {
			want = 0.1
		}
		if v != want {
			t.Fatalf("MeanFill value %d = %g, want %g", i, v, want)
		}
	}
	if b := Blend([]float32{0, 1}, []float32{1, 1}, 0.25); b[0] != 0.25 || b[1] != 1 {
		t.Errorf("Blend = %v", b)
	}
}

// InferClasses gives each image a class the network knows, the same one
// whatever batch the image is in, and RePaint with InferClass fills under it.
func TestInferClasses(t *testing.T) {
	net := tinyNet(t, 1, 8)
	dim := 64
	known, mask := partlyKnown(3, dim, 16)
	calls := 0
	all, err := InferClasses(context.Background(), net, known, mask, 3, 4, diffusion.ImageRNGs(1, 0, 3), func(d, total int) {
		calls = d
		if total != 4*3 {
			t.Errorf("total %d, want 4 levels x 3 classes", total)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 12 {
		t.Errorf("%d progress reports, want 12", calls)
	}
	one, err := InferClasses(context.Background(), net, known[2*dim:], mask[2*dim:], 1, 4, diffusion.ImageRNGs(1, 2, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all {
		if k < 0 || k >= 3 {
			t.Fatalf("class %d", k)
		}
	}
	if one[0] != all[2] {
		t.Errorf("image 2: class %d alone, %d in a batch", one[0], all[2])
	}
	x, err := Repaint(context.Background(), net, Condition{}, 2, known, mask, 3, diffusion.ImageRNGs(1, 0, 3),
		RepaintOptions{Steps: 4, Jump: 2, Resample: 2, InferClass: true}, nil)
	if err != nil || len(x) != len(known) {
		t.Fatalf("repaint with an inferred class: %v", err)
	}
}

// With several candidate classes RePaint fills under each of the likeliest
// and returns, per image, one of those fills: the known pixels exactly, and
// progress that ends at the cost InferEvals gives.
func TestRepaintCandidates(t *testing.T) {
	net := tinyNet(t, 1, 8)
	dim := 64
	known, mask := partlyKnown(3, dim, 24)
	o := RepaintOptions{Steps: 4, Jump: 2, Resample: 2, InferClass: true, Candidates: 1}
	first, err := Repaint(context.Background(), net, Condition{}, 2, known, mask, 3, diffusion.ImageRNGs(1, 0, 3), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Candidates = 3
	var done, total int
	x, err := Repaint(context.Background(), net, Condition{}, 2, known, mask, 3, diffusion.ImageRNGs(1, 0, 3), o, func(d, tot int) { done, total = d, tot })
	if err != nil {
		t.Fatal(err)
	}
	if want := InferEvals(o, 3, 2); total != want || done != want {
		t.Errorf("progress ended at %d of %d, want %d of %d", done, total, want, want)
	}
	// Ranking 3 classes, 3 guided fills, rescoring 3 fills.
	if got, want := InferEvals(o, 3, 2), inferLevels*3+3*2*RepaintEvals(o)+rescoreLevels*3; got != want {
		t.Errorf("InferEvals = %d, want %d", got, want)
	}
	for k := range x {
		if mask[k] <= 0.5 && x[k] != known[k] {
			t.Fatalf("known value %d changed: %g, was %g", k, x[k], known[k])
		}
	}
	if slices.Equal(x, first) {
		t.Log("every image kept the likeliest class's fill")
	}
	if err := (RepaintOptions{Candidates: -1}).Validate(1000); err == nil {
		t.Error("-1 candidates accepted")
	}
}

// partlyKnown is n one-channel images of dim values in the model's range
// with masks (one value per pixel) whose first hole pixels are unknown.
func partlyKnown(n, dim, hole int) (known, mask []float32) {
	known = make([]float32, n*dim)
	mask = make([]float32, n*dim)
	for i := range known {
		known[i] = float32(i%9)/4 - 1
		if i%dim < hole {
			mask[i] = 1
		}
	}
	return known, mask
}
