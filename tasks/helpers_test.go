package tasks

import (
	"testing"

	"genlab/diffusion"
	"genlab/eval"
)

// tinyClassifier is an untrained MNIST-shaped classifier: the style bank
// and the gradient checks only need its shapes.
func tinyClassifier(t *testing.T) *eval.Classifier {
	t.Helper()
	c, err := eval.NewClassifier(eval.ClassifierConfig{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tinyNet is an untrained class-conditional diffusion network (3 classes)
// on c×size×size images with a schedule of T=100 steps: the tasks'
// mechanics do not need a trained one.
func tinyNet(t *testing.T, c, size int) *diffusion.Network {
	t.Helper()
	cfg, err := diffusion.NewConfig("tiny", c, size, "class", 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg.T = 100
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net
}
