package tasks

import (
	"context"
	"image"
	"math"
	"slices"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/images"
)

func TestTileStarts(t *testing.T) {
	for _, c := range []struct {
		n, s int
		want []int
	}{
		{28, 28, []int{0}},
		{40, 28, []int{0, 12}},
		{56, 28, []int{0, 14, 28}},
		{60, 28, []int{0, 14, 28, 32}},
	} {
		if got := tileStarts(c.n, c.s); !slices.Equal(got, c.want) {
			t.Errorf("tileStarts(%d, %d) = %v, want %v", c.n, c.s, got, c.want)
		}
	}
}

// tinyLowRes is an untrained tiny super-resolution network: enough for
// shapes, seeds and plumbing.
func tinyLowRes(t *testing.T, c, s int, scales ...int) *diffusion.Network {
	t.Helper()
	cfg, err := diffusion.NewConfig("tiny", c, s, "lowres", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scales = scales
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func TestSuperRes(t *testing.T) {
	net := tinyLowRes(t, 1, 28, 2, 4)
	ctx := context.Background()
	mnist, err := datasets.LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	low := diffusion.Shrink(mnist.Image(0), 1, 28, 4)
	small := images.FromFloats(low, 1, 7, 7)

	// A 7x7 image at 4x is one tile: the model's own sample of it.
	out, err := SuperRes(ctx, SuperResParams{Net: net, Image: small, Scale: 4, Steps: 5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want, err := net.Generate(ctx, net.Params, diffusion.GenerateOptions{Seeds: []uint64{3}, Steps: 5, Sampler: DefaultSuperResSampler,
		LowRes: diffusion.LowResCondition(low, 1, 7, 28)})
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Bounds(); b.Dx() != 28 || b.Dy() != 28 {
		t.Fatalf("7x7 at 4x gave %v", b)
	}
	if got := images.ToFloats(out, 1); !slices.Equal(got, images.ToFloats(images.FromFloats(want, 1, 28, 28), 1)) {
		t.Error("one tile differs from the model's sample")
	}

	// Any size, any colour model: 4x the input, in the model's channels,
	// the same for the same seed.
	rgb := image.NewNRGBA(image.Rect(0, 0, 10, 6))
	for i := range rgb.Pix {
		rgb.Pix[i] = uint8(i * 7)
	}
	a, err := SuperRes(ctx, SuperResParams{Net: net, Image: rgb, Scale: 4, Steps: 3, Seed: 1, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(*image.Gray); !ok || a.Bounds().Dx() != 40 || a.Bounds().Dy() != 24 {
		t.Fatalf("10x6 RGB at 4x gave a %T of %v", a, a.Bounds())
	}
	b, _ := SuperRes(ctx, SuperResParams{Net: net, Image: rgb, Scale: 4, Steps: 3, Seed: 1, Batch: 5})
	if !slices.Equal(images.ToFloats(a, 1), images.ToFloats(b, 1)) {
		t.Error("the result depends on how many tiles go through the network at once")
	}
	d, _ := SuperRes(ctx, SuperResParams{Net: net, Image: rgb, Scale: 2, Steps: 3, Seed: 1})
	if d.Bounds().Dx() != 20 {
		t.Errorf("2x of 10x6 is %v", d.Bounds())
	}

	for _, c := range []struct {
		name string
		p    SuperResParams
		err  string
	}{
		{"scale the model lacks", SuperResParams{Net: net, Image: small, Scale: 3}, "trained to upscale by 2 or 4"},
		{"too large", SuperResParams{Net: net, Image: image.NewGray(image.Rect(0, 0, 300, 20)), Scale: 4}, "largest output"},
		{"empty", SuperResParams{Net: net, Image: image.NewGray(image.Rect(0, 0, 0, 5)), Scale: 4}, "empty"},
		{"not a super-resolution model", SuperResParams{Net: classNet(t), Image: small, Scale: 4}, "conditioned on low-resolution images"},
	} {
		if _, err := SuperRes(ctx, c.p); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.err)
		}
	}
}

func classNet(t *testing.T) *diffusion.Network {
	cfg, _ := diffusion.NewConfig("tiny", 1, 28, "class", 10)
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func TestSuperResScores(t *testing.T) {
	net := tinyLowRes(t, 3, 32, 2)
	set := datasets.Shapes(3, 1, "test")
	judged := 0
	judge := func(pix []float32, n int) (float64, error) {
		judged++
		return 0.5, nil
	}
	r, err := SuperResScores(context.Background(), net, set, 2, "ddpm", 1, 2, judge, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Bicubic's PSNR, by hand.
	want := 0.0
	for i := range set.N {
		up := diffusion.LowResCondition(diffusion.Shrink(set.Image(i), 3, 32, 2), 3, 16, 32)
		diffusion.ToPixels(up, up)
		want += PSNR(set.Image(i), up, nil) / 3
	}
	if math.Abs(r.Bicubic.PSNR-want) > 1e-9 || r.Bicubic.PSNR < 15 {
		t.Errorf("bicubic PSNR %.3f, want %.3f", r.Bicubic.PSNR, want)
	}
	if judged != 2 || r.Genlab.Accuracy != 0.5 || !(r.Genlab.SSIM < r.Bicubic.SSIM) || len(r.Examples.Rows) != 3 {
		t.Errorf("an untrained model scored %+v beside bicubic %+v (%d judged, %d example rows)", r.Genlab, r.Bicubic, judged, len(r.Examples.Rows))
	}
	if _, err := SuperResScores(context.Background(), tinyLowRes(t, 1, 28, 4), set, 4, "ddpm", 1, 2, nil, nil); err == nil {
		t.Error("scored shapes images with an MNIST model")
	}
}
