package eval

import (
	"fmt"

	"genlab/datasets"
)

// Judge scores generated MNIST digits with the in-project classifier:
// fid_lenet (Fréchet distance between the classifier's penultimate
// features of the samples and of the MNIST test set), its floor
// fid_lenet_real (the same distance for as many real training digits), the
// class histogram and, for conditional samples, class accuracy.
type Judge struct {
	Classifier *Classifier
	test       Gaussian
	realFloors map[int]float64 // by sample count: FID is biased by n, so floors match it
	validation *Gaussian       // the last ValidationDigits training digits' features, once fitted
}

// ValidationDigits is how many MNIST training digits, the last ones, a
// sweep of a sampling setting is scored against (ValidationFID).
const ValidationDigits = 10000

// NewJudge loads a classifier checkpoint and fits the MNIST test set's
// features.
func NewJudge(classifierPath string) (*Judge, error) {
	clf, err := LoadClassifier(classifierPath)
	if err != nil {
		return nil, err
	}
	test, err := datasets.LoadMNIST("test")
	if err != nil {
		return nil, err
	}
	j := &Judge{Classifier: clf, realFloors: map[int]float64{}}
	if j.test, err = j.fit(test.Pixels, test.N); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *Judge) fit(pix []float32, n int) (Gaussian, error) {
	d := j.Classifier.Config.Features
	f := make([]float32, n*d)
	if _, err := j.Classifier.Predict(pix, n, f); err != nil {
		return Gaussian{}, err
	}
	return FitGaussian(f, n, d)
}

// Scores of one set of samples.
type Scores struct {
	FID      float64   // fid_lenet
	RealFID  float64   // fid_lenet_real for the same n
	Coverage []float64 // share of samples per predicted class
	Accuracy float64   // share labelled as asked (conditional samples only)
	Labels   []int     // the classifier's label per sample
}

// Score judges n samples (NCHW 1×28×28 pixels in [0,1]); want, if not nil,
// holds the class each sample was asked to be.
func (j *Judge) Score(pix []float32, n int, want []int) (Scores, error) {
	c := j.Classifier.Config
	if len(pix) != n*c.InChannels*c.Size*c.Size {
		return Scores{}, fmt.Errorf("eval: the judge takes %dx%dx%d images", c.InChannels, c.Size, c.Size)
	}
	d := c.Features
	f := make([]float32, n*d)
	labels, err := j.Classifier.Predict(pix, n, f)
	if err != nil {
		return Scores{}, err
	}
	g, err := FitGaussian(f, n, d)
	if err != nil {
		return Scores{}, err
	}
	s := Scores{Labels: labels, Coverage: ClassHistogram(labels, c.Classes)}
	if s.FID, err = FrechetDistance(g, j.test); err != nil {
		return Scores{}, err
	}
	if s.RealFID, err = j.RealFloor(n); err != nil {
		return Scores{}, err
	}
	if want != nil {
		s.Accuracy = ClassAccuracy(labels, want)
	}
	return s, nil
}

// RealFloor is fid_lenet_real: the first n MNIST training digits against
// the test set, what a perfect generator of n samples would score.
func (j *Judge) RealFloor(n int) (float64, error) {
	if v, ok := j.realFloors[n]; ok {
		return v, nil
	}
	train, err := datasets.LoadMNIST("train")
	if err != nil {
		return 0, err
	}
	n = min(n, train.N)
	g, err := j.fit(train.Pixels[:n*train.Dim()], n)
	if err != nil {
		return 0, err
	}
	v, err := FrechetDistance(g, j.test)
	j.realFloors[n] = v
	return v, err
}

// ValidationFID is fid_lenet of n samples against the last
// ValidationDigits MNIST training digits instead of the test set: what a
// sampling setting is chosen by, so that the test figures reported after
// the choice stay unbiased.
func (j *Judge) ValidationFID(pix []float32, n int) (float64, error) {
	c := j.Classifier.Config
	if len(pix) != n*c.InChannels*c.Size*c.Size {
		return 0, fmt.Errorf("eval: the judge takes %dx%dx%d images", c.InChannels, c.Size, c.Size)
	}
	if j.validation == nil {
		train, err := datasets.LoadMNIST("train")
		if err != nil {
			return 0, err
		}
		lo := train.N - ValidationDigits
		g, err := j.fit(train.Pixels[lo*train.Dim():], ValidationDigits)
		if err != nil {
			return 0, err
		}
		j.validation = &g
	}
	g, err := j.fit(pix, n)
	if err != nil {
		return 0, err
	}
	return FrechetDistance(g, *j.validation)
}
