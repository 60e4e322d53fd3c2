package diffusion

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"genlab/datasets"
)

// forwardOnce runs net's graph (for inference or for training) once on x
// at times t under c and returns its prediction.
func forwardOnce(t *testing.T, net *Network, infer bool, x []float32, ts []int, c Condition) []float32 {
	t.Helper()
	g, out := net.graph(net.Params, len(ts), infer)
	m, err := g.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.setInputs(m, x, ts, c); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out.Value().Data().([]float32)...)
}

// The sampler's graph (fused ops, no gradients) predicts what the training
// graph predicts, for a text-to-image and a text-to-video model whose
// weights are all non-zero (so no layer hides behind a zero init).
func TestInferenceGraphMatchesTraining(t *testing.T) {
	clips := datasets.Clips(2, 3, 1, "train")
	video, err := NewNetwork(tinyVideoConfig(t, clips), 1)
	if err != nil {
		t.Fatal(err)
	}
	shapes := datasets.Shapes(2, 1, "train")
	image, err := NewNetwork(tinyTextConfig(t, shapes.Captions), 1)
	if err != nil {
		t.Fatal(err)
	}
	nets := map[string]*Network{"text-to-image": image, "text-to-video": video}
	captions := map[string][]string{"text-to-image": shapes.Captions, "text-to-video": clips.Captions}
	// GENLAB_VIDEO_CKPT checks a trained video model too.
	if p := os.Getenv("GENLAB_VIDEO_CKPT"); p != "" {
		trained, err := LoadNetwork(p)
		if err != nil {
			t.Fatal(err)
		}
		nets["trained"], captions["trained"] = trained, datasets.Clips(2, trained.Frames(), 1, "test").Captions
	}
	for name, net := range nets {
		rng := rand.New(rand.NewPCG(3, 4))
		if name != "trained" {
			randomWeights(t, net.Params, rng, 0.3)
		}
		x := make([]float32, 2*net.Dim())
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		var c Condition
		for _, s := range captions[name] {
			tok, err := net.Tokenize(s)
			if err != nil {
				t.Fatal(err)
			}
			c.Tokens = append(c.Tokens, tok)
		}
		ts := []int{net.Config.T / 10, net.Config.T / 2}
		train, infer := forwardOnce(t, net, false, x, ts, c), forwardOnce(t, net, true, x, ts, c)
		var worst, scale float64
		for i := range train {
			worst = max(worst, math.Abs(float64(train[i]-infer[i])))
			scale = max(scale, math.Abs(float64(train[i])))
		}
		if worst > 1e-4*max(1, scale) {
			t.Errorf("%s: the sampler's graph differs from the training graph by up to %g (outputs up to %g)", name, worst, scale)
		}
	}
}
