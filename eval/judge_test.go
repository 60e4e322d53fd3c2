package eval

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"genlab/datasets"
)

// Even an untrained classifier's features separate real digits from
// noise; the test checks the plumbing, not the judge's quality.
func TestJudgeRanksRealDigitsAboveNoise(t *testing.T) {
	m, err := NewClassifier(ClassifierConfig{Channels: 8, Features: 16}, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clf.safetensors")
	if err := m.Save(path, 0, nil); err != nil {
		t.Fatal(err)
	}
	j, err := NewJudge(path)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := datasets.LoadMNIST("train")
	const n = 500
	real := train.Pixels[len(train.Pixels)-n*784:] // not the floor's first n
	rs, err := j.Score(real, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]float32, n*784)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range noise {
		noise[i] = r.Float32()
	}
	ns, err := j.Score(noise, n, make([]int, n))
	if err != nil {
		t.Fatal(err)
	}
	if !(rs.FID < 0.5*ns.FID) || rs.RealFID <= 0 || len(ns.Coverage) != 10 {
		t.Fatalf("real digits: fid %.3g (floor %.3g); noise: fid %.3g", rs.FID, rs.RealFID, ns.FID)
	}
	t.Logf("real digits: fid %.3g (floor %.3g); noise: fid %.3g, coverage %v", rs.FID, rs.RealFID, ns.FID, ns.Coverage)
}
