package diffusion

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/models"
)

// tinyTextConfig is a text-to-image model of 32x32 images small enough for
// tests, knowing the words of captions.
func tinyTextConfig(t *testing.T, captions []string) Config {
	t.Helper()
	c, err := NewConfig("tiny", 3, 32, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	c.UNet.Channels, c.UNet.TimeDim, c.UNet.Groups, c.Batch, c.T = 8, 16, 4, 2, 100
	if err := c.SetCaptions(captions); err != nil {
		t.Fatal(err)
	}
	return c
}

// randomWeights sets every weight of p to Gaussian noise of the given std,
// so that no layer hides behind a zero initialisation.
func randomWeights(t *testing.T, p *models.Params, rng *rand.Rand, std float64) {
	t.Helper()
	for _, name := range p.Names() {
		v := p.Float32s(name)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		if err := p.SetFloat32s(name, v); err != nil {
			t.Fatal(err)
		}
	}
}

// tinyVideoConfig is a text-to-video and image-to-video model small enough
// for tests: clips of the given frames of 32x32.
func tinyVideoConfig(t *testing.T, set *datasets.Set) Config {
	t.Helper()
	c := tinyTextConfig(t, set.Captions)
	if err := c.SetVideo(set.Frames); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVideoConfigRefusals(t *testing.T) {
	set := datasets.Clips(4, 3, 1, "train")
	good := tinyVideoConfig(t, set)
	for name, mod := range map[string]func(c *Config){
		"one frame":                  func(c *Config) { c.Frames = 1 },
		"first frame without frames": func(c *Config) { c.Frames = 0 },
		"too many frames":            func(c *Config) { c.Frames = 1000 },
		"no room for the frame":      func(c *Config) { c.UNet.CondChannels = 2 },
		"first drop above 1":         func(c *Config) { c.FirstDrop = 2 },
		"a class video model": func(c *Config) {
			c.Cond, c.Text, c.UNet.ContextDim, c.UNet.Classes = "class", nil, 0, 10
		},
	} {
		c := good
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A video model trains on clips with the diffusion trainer and draws
// clips through Generate, from text alone or from a given first frame,
// reproducibly; the first frame changes what it draws.
func TestVideoTrainsAndGenerates(t *testing.T) {
	set := datasets.Clips(4, 3, 1, "train")
	net, err := NewNetwork(tinyVideoConfig(t, set), 1)
	if err != nil {
		t.Fatal(err)
	}
	if net.Dim() != 3*3*32*32 || net.Frames() != 3 {
		t.Fatalf("Dim %d, Frames %d", net.Dim(), net.Frames())
	}
	tr, err := NewTrainer(net, 3)
	if err != nil {
		t.Fatal(err)
	}
	loader := datasets.NewLoader(set, 2, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	for step := range 3 {
		m, err := tr.Step(context.Background(), step, loader.Next(), rng)
		if err != nil {
			t.Fatal(err)
		}
		if !(m["loss"] > 0 && m["loss"] < 10) {
			t.Fatalf("step %d loss %v", step, m["loss"])
		}
	}
	d := 3 * 32 * 32
	o := GenerateOptions{Seeds: []uint64{5, 6}, Sampler: "ddim", Steps: 3, Guidance: 2, Prompts: []string{set.Captions[0], set.Captions[1]}}
	a, err := net.Generate(context.Background(), tr.Weights(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2*net.Dim() || slices.ContainsFunc(a, func(v float32) bool { return !(v >= 0 && v <= 1) }) {
		t.Fatalf("%d values, want %d in [0,1]", len(a), 2*net.Dim())
	}
	b, _ := net.Generate(context.Background(), tr.Weights(), o)
	if !slices.Equal(a, b) {
		t.Error("the same seeds drew different clips")
	}
	o.First = [][]float32{nil, set.Image(1)[:d]}
	c, err := net.Generate(context.Background(), tr.Weights(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c[:net.Dim()], a[:net.Dim()]) || slices.Equal(c[net.Dim():], a[net.Dim():]) {
		t.Error("a first frame for clip 2 changed clip 1 or left clip 2 as it was")
	}
	o.First = [][]float32{set.Image(1)[:d/2], nil}
	if _, err := net.Generate(context.Background(), tr.Weights(), o); err == nil || !strings.Contains(err.Error(), "first frame") {
		t.Errorf("a half first frame: %v", err)
	}
	tr.GridSource = set
	pix, ch, h, w, err := tr.sampleClips(context.Background(), GenerateOptions{Seeds: []uint64{1, 2}, Sampler: "ddim", Steps: 2, Guidance: 1, Prompts: make([]string, 2)})
	if err != nil || ch != 3 || h != 32 || w != 96 || len(pix) != 2*net.Dim() {
		t.Errorf("grid of clips: %d values of %dx%dx%d, %v", len(pix), ch, h, w, err)
	}
}

func TestClipStrips(t *testing.T) {
	// 1 clip, 2 frames, 1 channel, 2x2: frame 0 is 0..3, frame 1 is 4..7.
	got := ClipStrips([]float32{0, 1, 2, 3, 4, 5, 6, 7}, 1, 2, 1, 2)
	if want := []float32{0, 1, 4, 5, 2, 3, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("ClipStrips = %v, want %v", got, want)
	}
}
