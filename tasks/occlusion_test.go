package tasks

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"genlab/diffusion"
	"genlab/eval"
)

// The training masks: none, a half, or a rectangle of 6 to 20 pixels a
// side, in about the shares the doc gives.
func TestRandomOcclusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	none, half, rect := 0, 0, 0
	const n = 2000
	for range n {
		m := RandomOcclusion(rng, 28, 28)
		hidden := 0
		for _, v := range m {
			if v != 0 && v != 1 {
				t.Fatalf("mask value %g", v)
			}
			hidden += int(v)
		}
		switch {
		case hidden == 0:
			none++
		case hidden == 14*28:
			half++
		case hidden >= 36 && hidden <= 400:
			rect++
		default:
			t.Fatalf("%d pixels hidden: neither a half nor a 6..20-sided rectangle", hidden)
		}
	}
	// No rectangle of sides up to 20 hides 392 pixels, so halves are told
	// apart exactly.
	if none < n/5-100 || none > n/5+100 || half < n/5-100 || half > n/5+100 || rect < 3*n/5-150 {
		t.Errorf("none %d, halves %d, rectangles %d of %d", none, half, rect, n)
	}
}

func TestOccludedInput(t *testing.T) {
	pix := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8} // 1 image, 2 channels of 4 pixels
	mask := []float32{0, 1, 0, 1}
	got := OccludedInput(pix, mask, 1, 2, 4)
	want := []float32{0.1, 0, 0.3, 0, 0.5, 0, 0.7, 0, 0, 1, 0, 1}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// With ClassFrom, RePaint fills each image under the class the classifier
// names, exactly as if that class had been asked for, and costs the fill
// alone.
func TestRepaintClassFrom(t *testing.T) {
	net := tinyNet(t, 1, 8)
	dim := 64
	known, mask := partlyKnown(2, dim, 24)
	cl, err := eval.NewClassifier(eval.ClassifierConfig{InChannels: 2, Size: 8, Classes: 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	named, err := NameClasses(cl, net, known, mask, 2)
	if err != nil {
		t.Fatal(err)
	}
	o := RepaintOptions{Steps: 4, Jump: 2, Resample: 2, InferClass: true, ClassFrom: cl}
	var done, total int
	x, err := Repaint(context.Background(), net, Condition{}, 2, known, mask, 2, diffusion.ImageRNGs(1, 0, 2), o, func(d, tot int) { done, total = d, tot })
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * RepaintEvals(o); InferEvals(o, 3, 2) != want || done != want || total != want {
		t.Errorf("progress %d of %d, InferEvals %d; want %d", done, total, InferEvals(o, 3, 2), want)
	}
	for j, k := range named {
		want, err := Repaint(context.Background(), net, Class(k), 2, known[j*dim:(j+1)*dim], mask[j*dim:(j+1)*dim], 1, diffusion.ImageRNGs(1, j, 1), RepaintOptions{Steps: 4, Jump: 2, Resample: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x[j*dim:(j+1)*dim], want) {
			t.Errorf("image %d is not its fill under class %d", j, k)
		}
	}
	// The judge's kind of classifier (no mask channel) is refused.
	judge, _ := eval.NewClassifier(eval.ClassifierConfig{InChannels: 1, Size: 8, Classes: 3}, 3)
	o.ClassFrom = judge
	if _, err := Repaint(context.Background(), net, Condition{}, 2, known, mask, 2, diffusion.ImageRNGs(1, 0, 2), o, nil); err == nil || !strings.Contains(err.Error(), "--occluded") {
		t.Errorf("a classifier without the mask channel: %v", err)
	}
}
