package eval

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"genlab/checkpoint"
	"genlab/datasets"
)

func TestClassifierLearnsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST for ~20 s")
	}
	train, err := datasets.LoadMNIST("train")
	if err != nil {
		t.Fatal(err)
	}
	test, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewClassifier(ClassifierConfig{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	err = m.Train(context.Background(), train, TrainOptions{Steps: 150, Batch: 64, Seed: 1,
		Progress: func(step, total int, loss float64) { losses = append(losses, loss) }})
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(losses[:10]), mean(losses[len(losses)-10:])
	if !(last < 0.5*first) {
		t.Fatalf("loss fell only from %.3f to %.3f", first, last)
	}
	idx := make([]int, 2000)
	for i := range idx {
		idx[i] = i
	}
	acc, err := m.Accuracy(test.Subset(idx))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.3f -> %.3f; test accuracy after 150 steps: %.3f", first, last, acc)
	if acc < 0.85 {
		t.Fatalf("test accuracy %.3f after 150 steps, want at least 0.85", acc)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func TestClassifierCheckpointRoundTrip(t *testing.T) {
	m, err := NewClassifier(ClassifierConfig{Channels: 8, Features: 16}, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clf.safetensors")
	if err := m.Save(path, 42, map[string]string{"genlab.test_accuracy": "0.5"}); err != nil {
		t.Fatal(err)
	}
	back, err := LoadClassifier(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config != m.Config {
		t.Fatalf("config %+v, want %+v", back.Config, m.Config)
	}
	for _, n := range m.Params.Names() {
		if !slices.Equal(back.Params.Float32s(n), m.Params.Float32s(n)) {
			t.Fatalf("tensor %s differs after the round trip", n)
		}
	}
	// Same predictions from the reloaded weights.
	x := make([]float32, 3*28*28)
	for i := range x {
		x[i] = float32(i%29) / 29
	}
	a, _ := m.Predict(x, 3, nil)
	b, _ := back.Predict(x, 3, nil)
	if !slices.Equal(a, b) {
		t.Fatalf("predictions %v before, %v after", a, b)
	}

	// A truncated file is refused with an error naming it.
	data, _ := os.ReadFile(path)
	bad := filepath.Join(t.TempDir(), "truncated.safetensors")
	os.WriteFile(bad, data[:len(data)/2], 0o644)
	_, err = LoadClassifier(bad)
	var fe *checkpoint.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("truncated checkpoint: got %v, want a checkpoint.FormatError", err)
	}
}
