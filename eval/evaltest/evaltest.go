// Package evaltest gives tests a judge of MNIST digits: eval's classifier,
// trained briefly in the background while the test does its slow part
// (training a model to judge), as the first-run tests of the app do.
package evaltest

import (
	"testing"

	"genlab/datasets"
	"genlab/eval"
)

// MNISTJudge starts training the classifier (default config, seed 1,
// batch 64) for steps steps on MNIST's training split and returns where it
// arrives: nil after t.Error when it could not be trained. The training
// stops when the test ends.
func MNISTJudge(t testing.TB, steps int) <-chan *eval.Classifier {
	judge := make(chan *eval.Classifier, 1)
	go func() {
		set, err := datasets.LoadMNIST("train")
		var clf *eval.Classifier
		if err == nil {
			clf, err = eval.NewClassifier(eval.ClassifierConfig{}, 1)
		}
		if err == nil {
			err = clf.Train(t.Context(), set, eval.TrainOptions{Steps: steps, Batch: 64, Seed: 1})
		}
		if err != nil {
			t.Error(err)
			clf = nil
		}
		judge <- clf
	}()
	return judge
}

// ReadAs waits for the judge MNISTJudge trains and returns what it reads
// the images in pixels as (one 28x28 grey image per class in want) and the
// share it reads as want. The test stops when there is no judge.
func ReadAs(t testing.TB, judge <-chan *eval.Classifier, pixels []float32, want []int) ([]int, float64) {
	t.Helper()
	clf := <-judge
	if clf == nil {
		t.FailNow()
	}
	labels, err := clf.Predict(pixels, len(want), nil)
	if err != nil {
		t.Fatal(err)
	}
	return labels, eval.ClassAccuracy(labels, want)
}
