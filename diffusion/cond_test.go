package diffusion

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/models"
)

func TestShrinkAveragesBlocks(t *testing.T) {
	// One channel, 4x4, by 2: each output pixel is its 2x2 block's mean,
	// rounded to 8 bits.
	pix := []float32{
		0, 1, 0.5, 0.5,
		1, 0, 0.5, 0.5,
		0.2, 0.2, 1, 1,
		0.2, 0.2, 1, 0,
	}
	got := Shrink(pix, 1, 4, 2)
	want := []float32{128.0 / 255, 128.0 / 255, 51.0 / 255, 191.0 / 255}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("Shrink = %v, want %v", got, want)
		}
	}
	// The bicubic condition of a flat image is that flat image.
	flat := make([]float32, 3*8*8)
	for i := range flat {
		flat[i] = 0.6
	}
	up := LowResCondition(Shrink(flat, 3, 8, 4), 3, 2, 8)
	for _, v := range up {
		if math.Abs(float64(v)-(2*153.0/255-1)) > 1e-6 {
			t.Fatalf("condition of a flat image: %v", up[:4])
		}
	}
}

func TestCoordinates(t *testing.T) {
	c := make([]float32, 2*2*3*3)
	coordinates(c, 2, 3)
	want := []float32{-1, 0, 1, -1, 0, 1, -1, 0, 1, -1, -1, -1, 0, 0, 0, 1, 1, 1}
	if !slices.Equal(c[:18], want) || !slices.Equal(c[18:], want) {
		t.Errorf("coordinates %v", c)
	}
}

func TestConfigsOfTheNewConditions(t *testing.T) {
	text, err := NewConfig("tiny", 3, 32, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := text.Validate(); err == nil {
		t.Error("a text config without a vocabulary validated")
	}
	if err := text.SetCaptions([]string{"a red circle", "a small blue square at the top"}); err != nil {
		t.Fatal(err)
	}
	if got := text.Text.Vocab; !slices.Equal(got, []string{"a", "at", "blue", "circle", "red", "small", "square", "the", "top"}) || text.Text.Length != 7 {
		t.Errorf("vocabulary %v, length %d", got, text.Text.Length)
	}
	low, err := NewConfig("tiny", 1, 28, "lowres", 0)
	if err != nil {
		t.Fatal(err)
	}
	low.Scales = []int{2, 4}
	for _, c := range []Config{text, low} {
		raw, _ := json.Marshal(c)
		back, err := ParseConfig(raw)
		if err != nil {
			t.Fatalf("%s: %v", c.Cond, err)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(raw) {
			t.Errorf("%s config changed in a round trip:\n%s\n%s", c.Cond, raw, b2)
		}
	}
	low.Scales = []int{3}
	if err := low.Validate(); err == nil {
		t.Error("scale 3 on 28-pixel images validated")
	}
	if _, err := NewConfig("tiny", 1, 28, "words", 0); err == nil || !strings.Contains(err.Error(), "lowres") {
		t.Errorf("unknown cond: %v", err)
	}
}

// trainTiny trains a tiny network for steps steps and returns the mean
// loss of the first and last ten.
func trainTiny(t *testing.T, net *Network, set *datasets.Set, steps int) (first, last float64) {
	t.Helper()
	tr, err := NewTrainer(net, steps)
	if err != nil {
		t.Fatal(err)
	}
	loader := datasets.NewLoader(set, net.Config.Batch, 1)
	var losses []float64
	for step := 1; step <= steps; step++ {
		l, err := tr.Step(context.Background(), step, loader.Next(), rand.New(rand.NewPCG(1, uint64(step))))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l["loss"])
	}
	return mean(losses[:10]), mean(losses[steps-10:])
}

func TestTextModelTrainsAndFollowsPrompts(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	set := datasets.Shapes(256, 1, "train")
	cfg, err := NewConfig("tiny", 3, 32, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetCaptions(set.Captions); err != nil {
		t.Fatal(err)
	}
	cfg.Batch, cfg.Warmup = 16, 5
	net, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if net.Params.Get("text.layers.1.fc2.weight") == nil || net.Params.Get("cross.k.weight") == nil {
		t.Fatal("a text network without its encoder or cross-attention")
	}
	if s := net.Params.Get("inc.weight").Shape(); s[1] != 5 {
		t.Fatalf("inc.weight %v: want RGB and two coordinate channels", s)
	}
	first, last := trainTiny(t, net, set, 40)
	t.Logf("loss %.3f -> %.3f", first, last)
	if !(last < 0.7*first) {
		t.Errorf("loss fell only from %.3f to %.3f", first, last)
	}

	ctx := context.Background()
	prompts := []string{"a small red circle at the top left", "", "a large blue circle in the center"}
	o := GenerateOptions{Seeds: []uint64{7, 8, 9}, Sampler: "ddim", Steps: 4, Prompts: prompts, Guidance: 2}
	all, err := net.Generate(ctx, net.Params, o)
	if err != nil {
		t.Fatal(err)
	}
	// Image 2 alone, from its own seed, is image 2 of the batch, up to
	// float rounding: OpenBLAS sums a row of a product in another order
	// when the matrix has more rows (24 token rows here, 8 alone), which
	// moves pixels by ~1e-5.
	one, err := net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{9}, Sampler: "ddim", Steps: 4, Prompts: prompts[2:], Guidance: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range one {
		if d := math.Abs(float64(v - all[2*net.Dim()+i])); d > 1e-3 {
			t.Fatalf("an image depends on the batch it was drawn in: pixel %d differs by %g", i, d)
		}
	}
	// The prompt reaches the pixels.
	other, _ := net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{9}, Sampler: "ddim", Steps: 4, Prompts: []string{"a small green cross at the top right"}, Guidance: 2})
	if slices.Equal(one, other) {
		t.Error("two prompts gave the same image")
	}
	_, err = net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{0}, Sampler: "ddim", Steps: 4, Prompts: []string{"a small purple circle"}})
	var uw *models.UnknownWordError
	if !errors.As(err, &uw) || uw.Word != "purple" || !slices.Contains(uw.Vocab, "magenta") {
		t.Errorf("unknown word: %v", err)
	}
	if _, err := net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{0}, Sampler: "ddim", Steps: 4, Classes: []int{3}}); err == nil {
		t.Error("a text model took a class")
	}
}

func TestLowResModelTrainsAndNeedsItsImage(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	mnist, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	set := mnist.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31})
	cfg, err := NewConfig("tiny", 1, 28, "lowres", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scales = []int{2, 4}
	cfg.Batch, cfg.Warmup = 16, 5
	net, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s := net.Params.Get("inc.weight").Shape(); s[1] != 2 {
		t.Fatalf("inc.weight %v: the low-resolution image is not concatenated", s)
	}
	first, last := trainTiny(t, net, set, 40)
	t.Logf("loss %.3f -> %.3f", first, last)
	if !(last < 0.7*first) {
		t.Errorf("loss fell only from %.3f to %.3f", first, last)
	}
	ctx := context.Background()
	if _, err := net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{0, 1}, Sampler: "ddim", Steps: 3}); err == nil {
		t.Error("a super-resolution model generated without its low-resolution images")
	}
	cond := append(LowResCondition(Shrink(set.Image(0), 1, 28, 4), 1, 7, 28), LowResCondition(Shrink(set.Image(1), 1, 28, 4), 1, 7, 28)...)
	a, err := net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{1, 2}, Sampler: "ddim", Steps: 3, LowRes: cond})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{1, 2}, Sampler: "ddim", Steps: 3, LowRes: slices.Concat(cond[784:], cond[:784])})
	if slices.Equal(a[:784], b[:784]) {
		t.Error("the low-resolution image does not reach the output")
	}
	if _, err := net.Generate(ctx, net.Params, GenerateOptions{Seeds: []uint64{0}, Sampler: "ddim", Steps: 3, LowRes: cond[:784], Prompts: []string{"a digit"}}); err == nil {
		t.Error("a super-resolution model took a prompt")
	}
	// The trainer's grid: bicubic, sample and truth side by side.
	tr, _ := NewTrainer(net, 1)
	tr.GridSource = set
	pix, c, h, w, err := tr.Sample(ctx, 2, 1)
	if err != nil || c != 1 || h != 28 || w != 84 || len(pix) != 2*84*28 {
		t.Fatalf("grid: %d values of %dx%dx%d, %v", len(pix), c, h, w, err)
	}
	if got, want := pix[3*28+56:3*28+84], set.Image(0)[3*28:4*28]; !slices.Equal(got, want) {
		t.Error("the third tile of a grid image is not the ground truth")
	}
}

// With EMAWarmup the average follows the first steps closely: after one
// step the shadow has moved 9/11 of the way to the new weights.
func TestEMAWarmup(t *testing.T) {
	cfg, err := NewConfig("tiny", 1, 28, "lowres", 0)
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := NewConfig("tiny", 3, 32, "text", 0); !text.EMAWarmup || cfg.EMAWarmup {
		t.Fatal("EMA warm-up is for text models (the lowres recipe was measured without)")
	}
	cfg.Batch, cfg.EMAWarmup = 2, true
	net, err := NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(net.Params.Float32s("outc.bias"))
	tr, err := NewTrainer(net, 10)
	if err != nil {
		t.Fatal(err)
	}
	mnist, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(context.Background(), 1, datasets.NewLoader(mnist, 2, 1).Next(), rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	raw, ema := net.Params.Float32s("outc.bias"), tr.Weights().Float32s("outc.bias")
	for i := range raw {
		want := before[i] + (raw[i]-before[i])*9/11
		if math.Abs(float64(ema[i]-want)) > 1e-6 || raw[i] == before[i] {
			t.Fatalf("bias %d: before %v, raw %v, EMA %v, want %v", i, before[i], raw[i], ema[i], want)
		}
	}
}

// A model's own default guidance (the app's quick model records 4)
// replaces the table's for the conditionings guidance applies to, and
// only those; a negative one is refused.
func TestConfigOwnGuidance(t *testing.T) {
	for _, c := range []struct {
		cond      string
		own, want float64
	}{
		{"class", 0, DefaultsFor("class").Guidance},
		{"class", 4, 4},
		{"text", 5, 5},
		{"none", 4, 0},
		{"lowres", 4, 0},
	} {
		cfg := Config{Cond: c.cond, Guidance: c.own}
		if g := cfg.Defaults().Guidance; g != c.want {
			t.Errorf("%s model recording guidance %g: default %g, want %g", c.cond, c.own, g, c.want)
		}
	}
	cfg, err := NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Guidance = -1
	if err := cfg.Validate(); err == nil {
		t.Error("a negative default guidance passed Validate")
	}
}
