package eval

import (
	"math/rand/v2"
	"testing"

	"genlab/datasets"
)

// Samples that are training images with a little noise are flagged as
// copies in both spaces; new digits (from the test split) and the
// held-out reference are not.
func TestMemorizationFlagsCopiesNotNewImages(t *testing.T) {
	trainAll, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	testAll, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	idx := func(lo, n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = lo + i
		}
		return s
	}
	train := trainAll.Subset(idx(0, 2000))
	heldOut := testAll.Subset(idx(0, 300))
	d := train.Dim()
	rng := rand.New(rand.NewPCG(1, 2))
	const copies, fresh = 30, 30
	samples := make([]float32, 0, (copies+fresh)*d)
	for i := 0; i < copies; i++ {
		for _, v := range train.Image(i * 50) {
			samples = append(samples, min(1, max(0, v+float32(0.02*rng.NormFloat64()))))
		}
	}
	samples = append(samples, testAll.Subset(idx(5000, fresh)).Pixels...)
	judge, err := NewClassifier(ClassifierConfig{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Memorization(samples, copies+fresh, train, heldOut, judge, CopyRule{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Spaces) != 2 {
		t.Fatalf("%d spaces", len(r.Spaces))
	}
	for _, s := range r.Spaces {
		flagged := 0
		for i, sc := range s.Score {
			isCopy := sc < r.Rule.Ratio
			if i < copies && (!isCopy || s.Nearest[i].Index != i*50) {
				t.Errorf("%s: copy of training image %d: nearest %+v, score %.3f", s.Space, i*50, s.Nearest[i], sc)
			}
			if isCopy {
				flagged++
			}
		}
		if flagged != copies {
			t.Errorf("%s: %d flagged, want the %d copies", s.Space, flagged, copies)
		}
		if s.HeldOutCopies > 0.02 {
			t.Errorf("%s: %.1f%% of held-out digits flagged", s.Space, 100*s.HeldOutCopies)
		}
		if !(s.SampleMedian < s.HeldOutMedian) {
			t.Errorf("%s: median nearest distance of samples %.3f, held-out %.3f", s.Space, s.SampleMedian, s.HeldOutMedian)
		}
		t.Logf("%s: samples flagged %.1f%%, held-out %.1f%%; median nearest %.3f vs held-out %.3f",
			s.Space, 100*s.SampleCopies, 100*s.HeldOutCopies, s.SampleMedian, s.HeldOutMedian)
	}
}

func TestQuantilesInterpolate(t *testing.T) {
	got := quantiles([]float64{5, 1, 4, 2, 3}, []float64{0, 0.25, 0.5, 0.9, 1})
	want := []float64{1, 2, 3, 4.6, 5}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("quantiles %v, want %v", got, want)
		}
	}
}

// Without held-out images (compare's column) the samples are measured
// alone; a rule the training set cannot satisfy is refused.
func TestMemorizerWithoutBaseline(t *testing.T) {
	all, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, 200)
	for i := range idx {
		idx[i] = i
	}
	train := all.Subset(idx)
	m, err := NewMemorizer(train, nil, nil, CopyRule{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Audit(train.Pixels[:3*train.Dim()], 3)
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Spaces[0]; len(r.Spaces) != 1 || r.HeldOut != 0 || s.SampleCopies != 1 || s.HeldOutQuantiles != nil || s.Nearest[2].Index != 2 {
		t.Errorf("report %+v, space %+v", r, r.Spaces[0])
	}
	if _, err := NewMemorizer(train, nil, nil, CopyRule{K: 200}); err == nil {
		t.Error("K = 200 of 200 training images accepted")
	}
	if _, err := m.Audit(train.Pixels[:5], 1); err == nil {
		t.Error("5 values accepted as one image")
	}
}
