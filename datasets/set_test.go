package datasets

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// tinySet returns 3 images of 2x2x2 with pixel values i/255 for i = 0..23.
func tinySet() *Set {
	s := &Set{Name: "tiny", N: 3, C: 2, H: 2, W: 2, Classes: 4,
		Labels: []int{3, 0, 2}, Captions: []string{"zero", "one", "two"}}
	for i := range 24 {
		s.Pixels = append(s.Pixels, float32(i)/255)
	}
	return s
}

func TestSetCheck(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(s *Set)
		wantErr string
	}{
		{"valid", func(*Set) {}, ""},
		{"no labels or captions", func(s *Set) { s.Labels, s.Captions, s.Classes = nil, nil, 0 }, ""},
		{"empty", func(s *Set) { s.N, s.Pixels, s.Labels, s.Captions = 0, nil, nil, nil }, ""},
		{"bad shape", func(s *Set) { s.C = 0 }, "bad shape N=3 C=0 H=2 W=2"},
		{"short pixels", func(s *Set) { s.Pixels = s.Pixels[:23] }, "23 pixel values, want N*C*H*W = 3*2*2*2 = 24"},
		{"NaN", func(s *Set) { s.Pixels[13] = float32(math.NaN()) }, "pixel 13 (image 1, channel 1, y 0, x 1) = NaN"},
		{"above one", func(s *Set) { s.Pixels[0] = 1.5 }, "pixel 0 (image 0, channel 0, y 0, x 0) = 1.5"},
		{"negative", func(s *Set) { s.Pixels[23] = -0.1 }, "pixel 23 (image 2, channel 1, y 1, x 1) = -0.1"},
		{"infinite", func(s *Set) { s.Pixels[5] = float32(math.Inf(1)) }, "= +Inf"},
		{"labels length", func(s *Set) { s.Labels = s.Labels[:2] }, "2 labels for 3 images"},
		{"label range", func(s *Set) { s.Labels[1] = 4 }, "label 4 of image 1 is outside [0,4)"},
		{"labels without classes", func(s *Set) { s.Classes = 0 }, "has labels but Classes = 0"},
		{"captions length", func(s *Set) { s.Captions = append(s.Captions, "three") }, "4 captions for 3 images"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tinySet()
			tc.edit(s)
			err := s.Check()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "datasets: tiny: ") {
				t.Errorf("Check() = %v, want datasets: tiny: ...%s", err, tc.wantErr)
			}
		})
	}
}

func TestImageAndSubset(t *testing.T) {
	s := tinySet()
	img := s.Image(1)
	if len(img) != 8 || cap(img) != 8 || img[0] != 8.0/255 {
		t.Fatalf("Image(1) = %v (cap %d)", img, cap(img))
	}
	img[0] = 0.5 // a view: the write lands in the set
	if s.Pixels[8] != 0.5 {
		t.Error("Image is not a view into Pixels")
	}

	sub := s.Subset([]int{2, 0, 2})
	if sub.N != 3 || sub.C != 2 || sub.Classes != 4 || sub.Name != "tiny" {
		t.Errorf("Subset header %+v", sub)
	}
	if !slices.Equal(sub.Labels, []int{2, 3, 2}) || !slices.Equal(sub.Captions, []string{"two", "zero", "two"}) {
		t.Errorf("Subset labels %v captions %v", sub.Labels, sub.Captions)
	}
	if !slices.Equal(sub.Image(0), s.Image(2)) || !slices.Equal(sub.Image(1), s.Image(0)) {
		t.Error("Subset pixels are not the chosen images")
	}
	sub.Pixels[0] = 1
	if s.Pixels[16] == 1 {
		t.Error("Subset shares pixels with its source")
	}
	if err := sub.Check(); err != nil {
		t.Error(err)
	}

	plain := &Set{Name: "plain", N: 2, C: 1, H: 1, W: 1, Pixels: []float32{0, 1}}
	if ps := plain.Subset([]int{1}); ps.Labels != nil || ps.Captions != nil || ps.Pixels[0] != 1 {
		t.Errorf("Subset of unlabelled set = %+v", ps)
	}
}

func TestToImage(t *testing.T) {
	// Values pick out rounding (0.5/255 rounds up), clamping and NaN.
	gray := &Set{N: 1, C: 1, H: 1, W: 4, Pixels: []float32{0, 0.5 / 255, 2, float32(math.NaN())}}
	g, ok := gray.ToImage(0).(*image.Gray)
	if !ok {
		t.Fatalf("C=1 gives %T, want *image.Gray", gray.ToImage(0))
	}
	if !slices.Equal(g.Pix, []uint8{0, 1, 255, 0}) || g.Bounds() != image.Rect(0, 0, 4, 1) {
		t.Errorf("gray pixels %v bounds %v", g.Pix, g.Bounds())
	}

	// 2x1 RGB: red then a dark cyan, planes R, G, B.
	rgb := &Set{N: 1, C: 3, H: 1, W: 2, Pixels: []float32{1, 0, 0, 128.0 / 255, -1, 64.0 / 255}}
	m, ok := rgb.ToImage(0).(*image.NRGBA)
	if !ok {
		t.Fatalf("C=3 gives %T, want *image.NRGBA", rgb.ToImage(0))
	}
	if want := []uint8{255, 0, 0, 255, 0, 128, 64, 255}; !slices.Equal(m.Pix, want) {
		t.Errorf("rgb pixels %v, want %v", m.Pix, want)
	}
}

func TestDequantize(t *testing.T) {
	const perLevel = 200
	src := make([]float32, 256*perLevel)
	for i := range src {
		src[i] = float32(i/perLevel) / 255
	}
	dst := make([]float32, len(src))
	Dequantize(dst, src, rand.New(rand.NewPCG(1, 2)))

	// Each level k fills its own bin [k/256, (k+1)/256), with mean (k+0.5)/256.
	for k := range 256 {
		var sum float64
		for _, y := range dst[k*perLevel : (k+1)*perLevel] {
			if int(y*256) != k || y >= 1 {
				t.Fatalf("level %d dequantized to %v, outside [%d/256, %d/256)", k, y, k, k+1)
			}
			sum += float64(y)
		}
		// U[0,1) has sd 0.289; the mean of 200 draws is within 4 sd = 0.082 bins.
		if mean := sum / perLevel * 256; math.Abs(mean-(float64(k)+0.5)) > 0.082 {
			t.Errorf("level %d: mean %.3f bins, want %.1f±0.082", k, mean, float64(k)+0.5)
		}
	}

	// Same seed, same values; in place works.
	again := slices.Clone(src)
	Dequantize(again, again, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(again, dst) {
		t.Error("Dequantize is not deterministic by seed, or fails in place")
	}

	// (255+u)/256 rounds to 1 in float32 for u within 2^-17 of 1; 2^20
	// draws hit that about 8 times, and all must stay below 1.
	top := make([]float32, 1<<20)
	for i := range top {
		top[i] = 1
	}
	Dequantize(top, top, rand.New(rand.NewPCG(3, 4)))
	if m := slices.Max(top); m >= 1 {
		t.Errorf("max dequantized value %v, want < 1", m)
	}
}

// Concat keeps both sets' items and captions in order, and refuses sets
// whose items differ in shape or of which only one is captioned.
func TestConcat(t *testing.T) {
	a, b := Shapes(3, 1, "train"), Shapes(2, 2, "new")
	c, err := Concat("both", a, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.N != 5 || c.Check() != nil || c.Captions[3] != b.Captions[0] || c.Captions[2] != a.Captions[2] {
		t.Fatalf("joined set: N %d, captions %q, check %v", c.N, c.Captions, c.Check())
	}
	if !slices.Equal(c.Image(4), b.Image(1)) || !slices.Equal(c.Image(0), a.Image(0)) {
		t.Error("the joined images are not the parts' images in order")
	}
	if _, err := Concat("x", a, Clips(1, 4, 1, "train")); err == nil {
		t.Error("joined images and clips")
	}
	bare := a.Subset([]int{0})
	bare.Captions = nil
	if _, err := Concat("x", a, bare); err == nil {
		t.Error("joined a captioned set and one without captions")
	}
}
