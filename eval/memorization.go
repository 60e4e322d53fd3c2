package eval

import (
	"fmt"
	"slices"

	"genlab/datasets"
)

// Does a model copy its training images? For each sample, its nearest
// training images, in pixel space and in the judge's feature space; the
// same for held-out test images, which are not copies by construction, so
// their distances are what "new" looks like and their flagged share is the
// rule's false-alarm rate.
//
// The copy rule, after Carlini et al. 2023 ("Extracting training data from
// diffusion models", sec. 4): a generation is a copy when its distance to
// its nearest training image is far below its distance to the rest of its
// neighbourhood,
//
//	d(x̂, n₁) < Ratio · mean_{j≤K} d(x̂, n_j),
//
// n_j the j-th nearest training image. A sample that happens to sit in a
// dense region is close to many training images at once and is not
// flagged; one that sits on a single training image is.

// CopyRule is the rule's two numbers; zero fields take the defaults.
type CopyRule struct {
	K     int     `json:"k"`     // neighbours the nearest is compared with (50)
	Ratio float64 `json:"ratio"` // flag when nearest < Ratio · their mean distance (1/3)
}

func (r CopyRule) withDefaults() CopyRule {
	if r.K == 0 {
		r.K = 50
	}
	if r.Ratio == 0 {
		r.Ratio = 1.0 / 3
	}
	return r
}

// SpaceReport is one space's (pixels or features) findings.
type SpaceReport struct {
	Space string `json:"space"` // "pixels" or "features"
	// Median distances to the nearest training image, of the samples and
	// of the held-out images.
	SampleMedian, HeldOutMedian float64
	// Shares flagged as copies by the rule, of the samples and of the
	// held-out images (the rule's false alarms).
	SampleCopies, HeldOutCopies float64
	// Nearest is each sample's nearest training image and distance; Score
	// its nearest distance over the mean of its K (the rule flags below
	// Ratio).
	Nearest []datasets.Neighbor `json:"-"`
	Score   []float64           `json:"-"`
	// HeldOutNearest is each held-out image's distance to its nearest
	// training image.
	HeldOutNearest []float64 `json:"-"`
}

// MemorizationReport is the audit of n samples against a training set.
type MemorizationReport struct {
	Rule     CopyRule      `json:"rule"`
	Samples  int           `json:"samples"`
	HeldOut  int           `json:"held_out"`
	Train    int           `json:"train"`
	Spaces   []SpaceReport `json:"spaces"`
	Features bool          `json:"features"` // whether the judge's feature space was used
}

// Memorization audits n samples (pixels NCHW in [0,1], the training set's
// shape) against train, with heldOut as the reference of "new" images.
// judge, if not nil, adds its penultimate feature space to raw pixels (it
// must take the set's images: MNIST's judge for MNIST).
func Memorization(samples []float32, n int, train, heldOut *datasets.Set, judge *Classifier, rule CopyRule) (*MemorizationReport, error) {
	rule = rule.withDefaults()
	d := train.Dim()
	switch {
	case n < 1 || len(samples) != n*d:
		return nil, fmt.Errorf("eval: memorization: %d values for %d samples of %d", len(samples), n, d)
	case heldOut.Dim() != d:
		return nil, fmt.Errorf("eval: memorization: held-out images of %d values, training images of %d", heldOut.Dim(), d)
	case train.N <= rule.K:
		return nil, fmt.Errorf("eval: memorization: %d training images, need more than K = %d", train.N, rule.K)
	}
	r := &MemorizationReport{Rule: rule, Samples: n, HeldOut: heldOut.N, Train: train.N}
	r.Spaces = append(r.Spaces, spaceReport("pixels", samples, n, train.Pixels, train.N, heldOut.Pixels, heldOut.N, d, rule))
	if judge != nil {
		f := judge.Config.Features
		feats := func(pix []float32, m int) ([]float32, error) {
			out := make([]float32, m*f)
			_, err := judge.Predict(pix, m, out)
			return out, err
		}
		fs, err := feats(samples, n)
		if err != nil {
			return nil, err
		}
		ft, err := feats(train.Pixels, train.N)
		if err != nil {
			return nil, err
		}
		fh, err := feats(heldOut.Pixels, heldOut.N)
		if err != nil {
			return nil, err
		}
		r.Spaces = append(r.Spaces, spaceReport("features", fs, n, ft, train.N, fh, heldOut.N, f, rule))
		r.Features = true
	}
	return r, nil
}

func spaceReport(space string, s []float32, n int, t []float32, nt int, h []float32, nh, dim int, rule CopyRule) SpaceReport {
	sr := SpaceReport{Space: space}
	score := func(ns []datasets.Neighbor) float64 {
		var mean float64
		for _, x := range ns {
			mean += x.Dist
		}
		mean /= float64(len(ns))
		if mean == 0 {
			return 0
		}
		return ns[0].Dist / mean
	}
	flagged := func(nbs [][]datasets.Neighbor, scores []float64, nearest []float64) float64 {
		c := 0
		for i, ns := range nbs {
			scores[i] = score(ns)
			nearest[i] = ns[0].Dist
			if scores[i] < rule.Ratio {
				c++
			}
		}
		return float64(c) / float64(len(nbs))
	}
	sn := datasets.NearestK(s, n, t, nt, dim, rule.K, false)
	sr.Score = make([]float64, n)
	sampleNearest := make([]float64, n)
	sr.SampleCopies = flagged(sn, sr.Score, sampleNearest)
	sr.Nearest = make([]datasets.Neighbor, n)
	for i, ns := range sn {
		sr.Nearest[i] = ns[0]
	}
	hn := datasets.NearestK(h, nh, t, nt, dim, rule.K, false)
	sr.HeldOutNearest = make([]float64, nh)
	sr.HeldOutCopies = flagged(hn, make([]float64, nh), sr.HeldOutNearest)
	sr.SampleMedian, sr.HeldOutMedian = median(sampleNearest), median(sr.HeldOutNearest)
	return sr
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
