package eval

import (
	"fmt"
	"math"
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

// WithDefaults is r with its zero fields set to the defaults.
func (r CopyRule) WithDefaults() CopyRule {
	if r.K == 0 {
		r.K = 50
	}
	if r.Ratio == 0 {
		r.Ratio = 1.0 / 3
	}
	return r
}

// Quantiles are where SpaceReport's distance quantiles are taken.
var Quantiles = []float64{0.01, 0.05, 0.25, 0.5, 0.75, 0.95}

// SpaceReport is one space's (pixels or features) findings.
type SpaceReport struct {
	Space string `json:"space"` // "pixels" or "features"
	// Median distances to the nearest training image, of the samples and
	// of the held-out images (0 without held-out images).
	SampleMedian  float64 `json:"sample_median"`
	HeldOutMedian float64 `json:"held_out_median"`
	// The same distances at Quantiles.
	SampleQuantiles  []float64 `json:"sample_quantiles"`
	HeldOutQuantiles []float64 `json:"held_out_quantiles,omitempty"`
	// Shares flagged as copies by the rule, of the samples and of the
	// held-out images (the rule's false alarms).
	SampleCopies  float64 `json:"sample_copies"`
	HeldOutCopies float64 `json:"held_out_copies"`
	// Nearest is each sample's nearest training image and distance; Score
	// its nearest distance over the mean of its K (the rule flags below
	// Ratio).
	Nearest []datasets.Neighbor `json:"-"`
	Score   []float64           `json:"-"`
	// HeldOutNearest is each held-out image's distance to its nearest
	// training image.
	HeldOutNearest []float64 `json:"-"`
}

// Copy says whether the rule flags sample i.
func (s *SpaceReport) Copy(i int, r CopyRule) bool { return s.Score[i] < r.Ratio }

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
	m, err := NewMemorizer(train, heldOut, judge, rule)
	if err != nil {
		return nil, err
	}
	return m.Audit(samples, n)
}

// Memorizer audits sets of samples against one training set: the training
// images' features and the held-out images' distances are computed once,
// so that auditing several models (compare) costs only their samples'
// searches.
type Memorizer struct {
	rule    CopyRule
	train   *datasets.Set
	judge   *Classifier
	feats   []float32     // the training images' features (judge not nil)
	heldOut []SpaceReport // per space: only the held-out fields
	heldN   int
}

// NewMemorizer prepares audits against train. heldOut (nil or empty: no
// baseline) holds images the model never saw; judge is as in Memorization.
func NewMemorizer(train, heldOut *datasets.Set, judge *Classifier, rule CopyRule) (*Memorizer, error) {
	rule = rule.WithDefaults()
	switch {
	case rule.K < 1 || !(rule.Ratio > 0 && rule.Ratio <= 1):
		return nil, fmt.Errorf("eval: memorization: K %d, ratio %g: want K >= 1 and a ratio in (0,1]", rule.K, rule.Ratio)
	case train.N <= rule.K:
		return nil, fmt.Errorf("eval: memorization: %d training images, need more than K = %d", train.N, rule.K)
	case heldOut != nil && heldOut.N > 0 && heldOut.Dim() != train.Dim():
		return nil, fmt.Errorf("eval: memorization: held-out images of %d values, training images of %d", heldOut.Dim(), train.Dim())
	}
	if judge != nil {
		c := judge.Config
		if c.InChannels*c.Size*c.Size != train.Dim() {
			return nil, fmt.Errorf("eval: memorization: the judge takes %dx%dx%d images, the training set's are %dx%dx%d",
				c.InChannels, c.Size, c.Size, train.C, train.H, train.W)
		}
	}
	m := &Memorizer{rule: rule, train: train, judge: judge}
	if judge != nil {
		var err error
		if m.feats, err = m.features(train.Pixels, train.N); err != nil {
			return nil, err
		}
	}
	if heldOut == nil || heldOut.N == 0 {
		return m, nil
	}
	m.heldN = heldOut.N
	for _, sp := range m.spaces() {
		h, err := sp.embed(heldOut.Pixels, heldOut.N)
		if err != nil {
			return nil, err
		}
		nbs := datasets.NearestK(h, heldOut.N, sp.base, train.N, sp.dim, rule.K, false)
		var r SpaceReport
		r.HeldOutNearest = make([]float64, heldOut.N)
		r.HeldOutCopies = flagged(nbs, make([]float64, heldOut.N), r.HeldOutNearest, rule)
		r.HeldOutMedian, r.HeldOutQuantiles = median(r.HeldOutNearest), quantiles(r.HeldOutNearest, Quantiles)
		m.heldOut = append(m.heldOut, r)
	}
	return m, nil
}

// Rule is the rule the audits apply (defaults filled in).
func (m *Memorizer) Rule() CopyRule { return m.rule }

type space struct {
	name  string
	base  []float32 // the training images in this space
	dim   int
	embed func(pix []float32, n int) ([]float32, error)
}

func (m *Memorizer) spaces() []space {
	sp := []space{{"pixels", m.train.Pixels, m.train.Dim(), func(pix []float32, n int) ([]float32, error) { return pix, nil }}}
	if m.judge != nil {
		sp = append(sp, space{"features", m.feats, m.judge.Config.Features, m.features})
	}
	return sp
}

func (m *Memorizer) features(pix []float32, n int) ([]float32, error) {
	out := make([]float32, n*m.judge.Config.Features)
	_, err := m.judge.Predict(pix, n, out)
	return out, err
}

// Audit measures n samples (pixels NCHW in [0,1], the training set's
// shape).
func (m *Memorizer) Audit(samples []float32, n int) (*MemorizationReport, error) {
	d := m.train.Dim()
	if n < 1 || len(samples) != n*d {
		return nil, fmt.Errorf("eval: memorization: %d values for %d samples of %d", len(samples), n, d)
	}
	r := &MemorizationReport{Rule: m.rule, Samples: n, HeldOut: m.heldN, Train: m.train.N, Features: m.judge != nil}
	for i, sp := range m.spaces() {
		s, err := sp.embed(samples, n)
		if err != nil {
			return nil, err
		}
		var sr SpaceReport
		if m.heldOut != nil {
			sr = m.heldOut[i]
		}
		sr.Space = sp.name
		sn := datasets.NearestK(s, n, sp.base, m.train.N, sp.dim, m.rule.K, false)
		sr.Score = make([]float64, n)
		nearest := make([]float64, n)
		sr.SampleCopies = flagged(sn, sr.Score, nearest, m.rule)
		sr.Nearest = make([]datasets.Neighbor, n)
		for j, ns := range sn {
			sr.Nearest[j] = ns[0]
		}
		sr.SampleMedian, sr.SampleQuantiles = median(nearest), quantiles(nearest, Quantiles)
		r.Spaces = append(r.Spaces, sr)
	}
	return r, nil
}

// flagged scores each query by the rule (its nearest distance over the
// mean of its K nearest) into scores, its nearest distance into nearest,
// and returns the share flagged.
func flagged(nbs [][]datasets.Neighbor, scores, nearest []float64, rule CopyRule) float64 {
	c := 0
	for i, ns := range nbs {
		var mean float64
		for _, x := range ns {
			mean += x.Dist
		}
		mean /= float64(len(ns))
		scores[i] = 0
		if mean > 0 {
			scores[i] = ns[0].Dist / mean
		}
		nearest[i] = ns[0].Dist
		if scores[i] < rule.Ratio {
			c++
		}
	}
	return float64(c) / float64(len(nbs))
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	return quantiles(x, []float64{0.5})[0]
}

// quantiles of x at qs, linearly interpolated between order statistics.
func quantiles(x []float64, qs []float64) []float64 {
	if len(x) == 0 {
		return nil
	}
	s := slices.Clone(x)
	slices.Sort(s)
	out := make([]float64, len(qs))
	for i, q := range qs {
		p := q * float64(len(s)-1)
		lo := int(math.Floor(p))
		hi := min(lo+1, len(s)-1)
		out[i] = s[lo] + (p-float64(lo))*(s[hi]-s[lo])
	}
	return out
}
