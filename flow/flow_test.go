package flow

import (
	"math"
	"math/rand/v2"
	"testing"

	"genlab/models"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// testNet is a small float64 flow whose weights are all perturbed, so that
// no coupling is the fixed scaling its zero-initialised last conv starts as
// and the actnorms are not the identity.
func testNet(t *testing.T, c Config) *Network {
	t.Helper()
	n, err := newNetwork(c, 3, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	bufs := map[string]bool{}
	for _, b := range n.buffers() {
		bufs[b] = true
	}
	for _, name := range n.Params.Names() {
		if bufs[name] {
			continue
		}
		d := n.Params.Get(name).Data().([]float64)
		for i := range d {
			d[i] += 0.1 * rng.NormFloat64()
		}
	}
	return n
}

func tinyConfig(size int) Config {
	c, _ := NewConfig("tiny", 1, size)
	c.Hidden, c.Groups, c.Depth = 8, 2, 2
	return c
}

// randomImages are y in (0.02, 0.98)^D for count images.
func randomImages(n *Network, count int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	y := make([]float64, count*n.Dim())
	for i := range y {
		y[i] = 0.02 + 0.96*rng.Float64()
	}
	return y
}

// TestRoundTrip: images to latents and back, in float64 through the host
// flow, and in float32 through the public Encode and Decode, each for
// configs with one to three levels and with residual coupling networks.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name   string
		levels int
		blocks int
		size   int
	}{
		{"one level", 1, 0, 4},
		{"two levels", 2, 0, 8},
		{"three levels, residual blocks", 3, 1, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(c.size)
			cfg.Levels, cfg.Blocks = c.levels, c.blocks
			net := testNet(t, cfg)
			y := randomImages(net, 3, 1)
			x, _ := net.toLogit64(y)
			eps, _, err := net.encode(net.Params, x, 3, false)
			if err != nil {
				t.Fatal(err)
			}
			back, err := net.decode(net.Params, eps, 3)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(x, back); d > 1e-9 {
				t.Errorf("float64: x → z → x differs by %g", d)
			}
			moved := maxDiff(x, eps)
			if moved < 0.1 {
				t.Errorf("latents are within %g of the input: the flow is near the identity", moved)
			}

			// float32 weights, pixels in [0,1) through the public API.
			n32, err := NewNetwork(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range net.Params.Names() {
				setVals(n32.Params, name, vals(net.Params, name))
			}
			y32 := make([]float32, len(y))
			for i, v := range y {
				y32[i] = float32(v)
			}
			z, err := n32.Encode(n32.Params, y32)
			if err != nil {
				t.Fatal(err)
			}
			img, err := n32.Decode(n32.Params, z)
			if err != nil {
				t.Fatal(err)
			}
			var d float64
			for i := range img {
				d = max(d, math.Abs(float64(img[i]-y32[i])))
			}
			if d > 1e-4 {
				t.Errorf("float32: y → z → y differs by %g", d)
			}
		})
	}
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// TestLogDetMatchesNumericalJacobian differentiates the whole map from y
// (1×4×4 and 2×4×4 images, logit included) to the standardised latents by
// central differences and compares log|det J| with the flow's; then
// log N(z; 0, I) + log|det J| must be the graph's log-likelihood.
func TestLogDetMatchesNumericalJacobian(t *testing.T) {
	for _, ch := range []int{1, 2} {
		cfg := tinyConfig(4)
		cfg.InChannels = ch
		net := testNet(t, cfg)
		D := net.Dim()
		y := randomImages(net, 1, uint64(ch))
		f := func(y []float64) ([]float64, float64) {
			x, ldLogit := net.toLogit64(y)
			eps, ld, err := net.encode(net.Params, x, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			return eps, ld[0] + ldLogit[0]
		}
		eps, logdet := f(y)
		const h = 1e-6
		J := mat.NewDense(D, D, nil)
		for j := 0; j < D; j++ {
			yp := append([]float64(nil), y...)
			ym := append([]float64(nil), y...)
			yp[j] += h
			ym[j] -= h
			ep, _ := f(yp)
			em, _ := f(ym)
			for i := 0; i < D; i++ {
				J.Set(i, j, (ep[i]-em[i])/(2*h))
			}
		}
		num, sign := mat.LogDet(J)
		if sign == 0 || math.Abs(num-logdet) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("%d×4×4: log|det J| numerically %.9f, the flow's %.9f", ch, num, logdet)
		}
		lp, err := net.logLikelihood(net.Params, y)
		if err != nil {
			t.Fatal(err)
		}
		want := logdet
		for _, e := range eps {
			want += -0.5*e*e - 0.5*math.Log(2*math.Pi)
		}
		if math.Abs(lp[0]-want) > 1e-8*math.Max(1, math.Abs(want)) {
			t.Errorf("%d×4×4: graph log p(y) = %.10f, log N(z) + log|det J| = %.10f", ch, lp[0], want)
		}
		t.Logf("%d×4×4: log|det J| %.6f (numerical %.6f), log p(y) %.6f", ch, logdet, num, lp[0])
	}
}

// TestGraphMatchesHost: the training graph's per-sample log-density equals
// the host flow's on a batch of bigger images, for two and three levels.
func TestGraphMatchesHost(t *testing.T) {
	for _, levels := range []int{2, 3} {
		cfg := tinyConfig(8)
		cfg.Levels, cfg.Blocks = levels, 1
		net := testNet(t, cfg)
		y := randomImages(net, 5, 4)
		lp, err := net.logLikelihood(net.Params, y)
		if err != nil {
			t.Fatal(err)
		}
		x, ldLogit := net.toLogit64(y)
		eps, ld, err := net.encode(net.Params, x, 5, false)
		if err != nil {
			t.Fatal(err)
		}
		D := net.Dim()
		for i := range lp {
			want := ld[i] + ldLogit[i]
			for _, e := range eps[i*D : (i+1)*D] {
				want += -0.5*e*e - 0.5*math.Log(2*math.Pi)
			}
			if math.Abs(lp[i]-want) > 1e-8*math.Max(1, math.Abs(want)) {
				t.Errorf("%d levels, image %d: graph %.10f, host %.10f", levels, i, lp[i], want)
			}
		}
	}
}

// TestInvConvInit: the 1×1 convolutions start as rotations (|det W| = 1,
// WᵀW = I) and LU-compose back to what was drawn.
func TestInvConvInit(t *testing.T) {
	net, err := newNetwork(tinyConfig(8), 5, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	for _, lv := range net.levels {
		for _, st := range lv.steps {
			c := lv.channels
			w := mat.NewDense(c, c, invConv(net.Params, st.name))
			var wtw mat.Dense
			wtw.Mul(w.T(), w)
			for i := 0; i < c; i++ {
				for j := 0; j < c; j++ {
					want := 0.0
					if i == j {
						want = 1
					}
					if math.Abs(wtw.At(i, j)-want) > 1e-9 {
						t.Fatalf("%s: WᵀW[%d][%d] = %g", st.name, i, j, wtw.At(i, j))
					}
				}
			}
		}
	}
	if err := net.checkBuffers(net.Params); err != nil {
		t.Fatal(err)
	}
	setVals(net.Params, net.levels[0].steps[0].name+".invconv.perm", make([]float64, 4))
	if err := net.checkBuffers(net.Params); err == nil {
		t.Error("a permutation of zeros passed the check")
	}
}

func TestSampleIsPerImageAndInRange(t *testing.T) {
	cfg := tinyConfig(8)
	net := testNet(t, cfg)
	n32, err := NewNetwork(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range net.Params.Names() {
		setVals(n32.Params, name, vals(net.Params, name))
	}
	all, err := n32.Sample(n32.Params, 3, 10, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	one, err := n32.Sample(n32.Params, 1, 12, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	D := n32.Dim()
	for i, v := range one {
		if all[2*D+i] != v {
			t.Fatalf("image 2 of a batch from seed 10 differs from the image of seed 12 alone at %d", i)
		}
	}
	for _, v := range all {
		if math.IsNaN(float64(v)) || v < 0 || v > 1 {
			t.Fatalf("pixel %v outside [0,1]", v)
		}
	}
	cold, err := n32.Sample(n32.Params, 1, 12, 0)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range cold {
		same = same && cold[i] == one[i]
	}
	if same {
		t.Error("temperature 0 and 0.7 gave the same image")
	}
	if _, err := n32.Sample(n32.Params, 1, 0, math.NaN()); err == nil {
		t.Error("a NaN temperature was accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	good := tinyConfig(28)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
	}{
		{"size not divisible", func(c *Config) { c.Size = 30 }},
		{"no levels", func(c *Config) { c.Levels = 0 }},
		{"alpha out of range", func(c *Config) { c.Alpha = 0.5 }},
		{"hidden not a multiple of groups", func(c *Config) { c.Hidden = 10; c.Groups = 4 }},
		{"zero depth", func(c *Config) { c.Depth = 0 }},
	} {
		bad := good
		c.edit(&bad)
		if bad.Validate() == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := NewConfig("huge", 1, 28); err == nil {
		t.Error("size huge accepted")
	}
}

// TestGradientOfTheWholeFlow checks the gradients autodiff gives the flow's
// log-likelihood (every op and block composed, both levels, the learned
// prior) against central differences, in float64, for a few entries of
// every parameter.
func TestGradientOfTheWholeFlow(t *testing.T) {
	cfg := tinyConfig(4)
	cfg.Blocks = 1
	net := testNet(t, cfg)
	y := randomImages(net, 2, 5)
	x, _ := net.toLogit64(y)
	g := models.NewGraph(net.Params)
	in := g.Input("x", 2, 1, 4, 4)
	logp := net.logDensity(g, in)
	b := &builder{g: g}
	loss := b.do(func() (*gorgonia.Node, error) { return gorgonia.Sum(logp) })
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	m, err := g.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	setInput(m, "x", x)
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	grads, err := m.Grads()
	if err != nil {
		t.Fatal(err)
	}
	ana := map[string][]float64{}
	for name, gt := range grads {
		ana[name] = append([]float64(nil), gt.Data().([]float64)...)
	}
	eval := func() float64 {
		lp, err := net.logLikelihood(net.Params, y)
		if err != nil {
			t.Fatal(err)
		}
		return lp[0] + lp[1]
	}
	rng := rand.New(rand.NewPCG(1, 1))
	const h = 1e-6
	checked := 0
	for _, name := range net.Params.Names() {
		d := net.Params.Get(name).Data().([]float64)
		a, ok := ana[name]
		if !ok {
			continue
		}
		for _, j := range rng.Perm(len(d))[:min(3, len(d))] {
			old := d[j]
			d[j] = old + h
			fp := eval()
			d[j] = old - h
			fm := eval()
			d[j] = old
			num := (fp - fm) / (2 * h)
			if diff := math.Abs(num-a[j]) / math.Max(1, math.Max(math.Abs(num), math.Abs(a[j]))); diff > 1e-5 {
				t.Errorf("%s[%d]: autodiff %.9g, numerical %.9g", name, j, a[j], num)
			}
			checked++
		}
	}
	if len(ana) != len(net.Params.Names())-len(net.buffers()) {
		t.Errorf("gradients for %d parameters; the flow has %d learned ones", len(ana), len(net.Params.Names())-len(net.buffers()))
	}
	t.Logf("%d entries of %d parameters checked", checked, len(ana))
}
