package eval

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"genlab/datasets"
	"genlab/models"

	"gorgonia.org/tensor"
)

// A short training already tells colours apart and beats chance on every
// attribute; a saved classifier predicts as the trained one did, and Score
// counts matches as asked.
func TestAttributeClassifierLearnsAndRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for ~10 s")
	}
	train := datasets.Shapes(2048, 11, "all")
	test := datasets.Shapes(300, 12, "all")
	m, err := NewAttributeClassifier(AttributesConfig{Channels: 16, Features: 64}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Train(context.Background(), train, AttributesTrainOptions{Steps: 200, Batch: 64, LR: 3e-3, Seed: 1, Noise: 0.05, Tint: 0.02}); err != nil {
		t.Fatal(err)
	}
	want := make([]datasets.ShapeAttrs, test.N)
	for i := range want {
		want[i], _ = datasets.ShapeAttrsOf(test, i)
	}
	s, err := m.Score(test.Pixels, test.N, want)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after 200 steps: colour %.2f shape %.2f size %.2f position %.2f, all four %.2f", s.Each[0], s.Each[1], s.Each[2], s.Each[3], s.AllFour)
	chance := [4]float64{1.0 / 8, 1.0 / 4, 1.0 / 2, 1.0 / 5}
	for a, v := range s.Each {
		if v < chance[a]+0.25 {
			t.Errorf("%s accuracy %.2f, chance is %.2f", AttributeNames[a], v, chance[a])
		}
	}
	if s.Each[0] < 0.85 || s.Each[3] < 0.85 {
		t.Errorf("colour %.2f and position %.2f: want both above 0.85", s.Each[0], s.Each[3])
	}
	if s.AllFour > s.Mean || s.AllFour > s.Each[1] {
		t.Errorf("all four (%.2f) cannot beat the mean (%.2f) or one attribute (%.2f)", s.AllFour, s.Mean, s.Each[1])
	}

	path := filepath.Join(t.TempDir(), "attributes.safetensors")
	if err := m.Save(path, 200, nil); err != nil {
		t.Fatal(err)
	}
	back, err := LoadAttributeClassifier(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.Predict(test.Pixels, test.N)
	b, err := back.Predict(test.Pixels, test.N)
	if err != nil || !slices.Equal(a, b) {
		t.Fatalf("the loaded classifier predicts otherwise (%v)", err)
	}
	// Asking for the opposite size of every image scores 0 on size.
	flipped := slices.Clone(want)
	for i := range flipped {
		if flipped[i].Size == "small" {
			flipped[i].Size = "large"
		} else {
			flipped[i].Size = "small"
		}
	}
	f, _ := m.Score(test.Pixels, test.N, flipped)
	if math.Abs(f.Each[2]-(1-s.Each[2])) > 1e-9 || f.Each[0] != s.Each[0] {
		t.Errorf("flipped sizes: %+v against %+v", f, s)
	}
	if _, err := LoadAttributeClassifier(filepath.Join(t.TempDir(), "missing.safetensors")); err == nil {
		t.Error("loaded a missing file")
	}
}

// Logits whose first value in a later row is far above the first row's
// first value: gorgonia's LogSoftMax alone gives NaN, the padded loss the
// right value.
func TestPaddedCrossEntropyIsFinite(t *testing.T) {
	p := models.NewParams(tensor.Float32, 1)
	g := models.NewGraph(p)
	logits := g.Input("logits", 2, 2)
	plain := g.CrossEntropy(logits, g.Input("onehot", 2, 2))
	pad := g.Input("pad", 2, 1, 1)
	padded := paddedCrossEntropy(g, logits, g.Input("onehot+", 2, 3), pad)
	m, err := g.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Set("logits", []float32{-100, 100, 100, -100})
	m.Set("onehot", []float32{0, 1, 1, 0})
	m.Set("onehot+", []float32{0, 0, 1, 0, 1, 0})
	m.Set("pad", []float32{logitPad, logitPad})
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	v := func(n *models.Node) float64 { return float64(n.Value().Data().(float32)) }
	t.Logf("plain %v, padded %v", v(plain), v(padded))
	if math.IsNaN(v(padded)) || math.Abs(v(padded)) > 1e-6 {
		t.Errorf("padded cross-entropy %v, want 0", v(padded))
	}
}
