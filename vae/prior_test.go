package vae

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"genlab/models"

	"gonum.org/v1/gonum/mat"
)

// twoClusters draws n points in 3-D from a known mixture: weight 0.3 at
// (4,0,0) with covariance A·Aᵀ and 0.7 at (−2,1,0) with 0.25·I.
func twoClusters(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	A := [3][3]float64{{1, 0, 0}, {0.8, 0.6, 0}, {0, 0.5, 0.3}}
	z := make([]float32, 0, 3*n)
	for i := 0; i < n; i++ {
		e := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		if rng.Float64() < 0.3 {
			for r := 0; r < 3; r++ {
				s := 0.0
				for c := 0; c < 3; c++ {
					s += A[r][c] * e[c]
				}
				z = append(z, float32([]float64{4, 0, 0}[r]+s))
			}
		} else {
			z = append(z, float32(-2+0.5*e[0]), float32(1+0.5*e[1]), float32(0.5*e[2]))
		}
	}
	return z
}

func TestFitPriorRecoversAKnownMixture(t *testing.T) {
	pr, err := FitPrior(twoClusters(4000, 3), 3, FitOptions{Components: 2, Iterations: 100, Tolerance: 1e-9, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	if pr.Mean[0] < 0 {
		k = 1 // the component at x = 4
	}
	w := math.Exp(pr.LogW[k])
	if math.Abs(w-0.3) > 0.03 {
		t.Errorf("weight of the x=4 cluster %.3f, want 0.3", w)
	}
	for j, want := range []float64{4, 0, 0} {
		if got := pr.Mean[k*3+j]; math.Abs(got-want) > 0.1 {
			t.Errorf("mean[%d] = %.3f, want %g", j, got, want)
		}
	}
	// Σ = L·Lᵀ against A·Aᵀ: entry (1,0) is 0.8 and (2,1) is 0.3.
	L := pr.Tril[k*9:]
	cov := func(r, c int) float64 {
		s := 0.0
		for i := 0; i < 3; i++ {
			s += L[r*3+i] * L[c*3+i]
		}
		return s
	}
	for _, e := range []struct {
		r, c int
		want float64
	}{{0, 0, 1}, {1, 0, 0.8}, {1, 1, 1}, {2, 1, 0.3}, {2, 2, 0.34}} {
		if got := cov(e.r, e.c); math.Abs(got-e.want) > 0.1 {
			t.Errorf("Σ[%d,%d] = %.3f, want %g", e.r, e.c, got, e.want)
		}
	}
}

// LogProb against the textbook density with an explicit inverse and
// determinant.
func TestPriorLogProbMatchesTheDensity(t *testing.T) {
	const D, K = 4, 3
	rng := rand.New(rand.NewPCG(8, 2))
	logW := []float64{math.Log(0.2), math.Log(0.5), math.Log(0.3)}
	mean := make([]float64, K*D)
	tril := make([]float64, K*D*D)
	for i := range mean {
		mean[i] = rng.NormFloat64()
	}
	for k := 0; k < K; k++ {
		for r := 0; r < D; r++ {
			for c := 0; c < r; c++ {
				tril[k*D*D+r*D+c] = 0.5 * rng.NormFloat64()
			}
			tril[k*D*D+r*D+r] = 0.5 + rng.Float64()
		}
	}
	pr, err := newPrior(K, D, logW, mean, tril)
	if err != nil {
		t.Fatal(err)
	}
	z := make([]float64, 5*D)
	for i := range z {
		z[i] = 2 * rng.NormFloat64()
	}
	got := pr.LogProb(z)
	for i := 0; i < 5; i++ {
		p := 0.0
		for k := 0; k < K; k++ {
			L := mat.NewDense(D, D, tril[k*D*D:(k+1)*D*D])
			var S, Sinv mat.Dense
			S.Mul(L, L.T())
			if err := Sinv.Inverse(&S); err != nil {
				t.Fatal(err)
			}
			d := mat.NewVecDense(D, nil)
			for j := 0; j < D; j++ {
				d.SetVec(j, z[i*D+j]-mean[k*D+j])
			}
			q := mat.Inner(d, &Sinv, d)
			p += math.Exp(logW[k]) * math.Exp(-0.5*q) / math.Sqrt(math.Pow(2*math.Pi, D)*mat.Det(&S))
		}
		if want := math.Log(p); math.Abs(got[i]-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("row %d: log p = %.12f, want %.12f", i, got[i], want)
		}
	}
}

// Draws at temperature T have the component's mean and T²·Σ.
func TestPriorDrawHasTheMixturesMoments(t *testing.T) {
	tril := []float64{1, 0, 0.6, 0.8}
	pr, err := newPrior(1, 2, []float64{0}, []float64{3, -1}, tril)
	if err != nil {
		t.Fatal(err)
	}
	const n, T = 20000, 0.5
	var s0, s1, c00, c01, c11 float64
	z, eps := make([]float32, 2), make([]float64, 2)
	for i := 0; i < n; i++ {
		pr.Draw(z, rand.New(rand.NewPCG(uint64(i), 9)), T, eps)
		a, b := float64(z[0])-3, float64(z[1])+1
		s0, s1, c00, c01, c11 = s0+a, s1+b, c00+a*a, c01+a*b, c11+b*b
	}
	for _, e := range []struct {
		name      string
		got, want float64
	}{{"mean 0", s0 / n, 0}, {"mean 1", s1 / n, 0}, {"var 0", c00 / n, T * T}, {"cov", c01 / n, T * T * 0.6}, {"var 1", c11 / n, T * T}} {
		if math.Abs(e.got-e.want) > 0.02 {
			t.Errorf("%s = %.4f, want %.4f", e.name, e.got, e.want)
		}
	}
}

func tinyVAE(t *testing.T) *Network {
	t.Helper()
	c := DefaultConfig(1, 8)
	c.Channels, c.Latent, c.Groups = 4, 2, 2
	net, err := NewNetwork(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// An unfitted prior (K copies of N(0,I)) is the standard prior: the same
// importance-weighted bound, so the mixture's log-density and the
// callers' constants agree. (The ELBO differs: under a mixture its KL is
// a one-sample estimate.)
func TestUnfittedPriorGivesTheStandardBound(t *testing.T) {
	net := tinyVAE(t)
	pr, err := newPrior(3, net.LatentDim(), []float64{math.Log(1.0 / 3), math.Log(1.0 / 3), math.Log(1.0 / 3)},
		make([]float64, 3*net.LatentDim()), identities(3, net.LatentDim()))
	if err != nil {
		t.Fatal(err)
	}
	withPrior, err := net.WithPrior(pr, 1)
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]float32, 3*net.Dim())
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range pix {
		pix[i] = float32(rng.IntN(256)) / 255
	}
	for _, f := range []func(n *Network) ([]float64, error){
		func(n *Network) ([]float64, error) { return n.LogLikelihoodBound(n.Params, pix, 4, 7) },
	} {
		want, err := f(net)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f(withPrior)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-6*math.Abs(want[i]) {
				t.Errorf("image %d: %.9f under the unfitted mixture, %.9f under N(0,I)", i, got[i], want[i])
			}
		}
	}
}

func identities(K, D int) []float64 {
	v := make([]float64, K*D*D)
	for k := 0; k < K; k++ {
		for j := 0; j < D; j++ {
			v[k*D*D+j*D+j] = 1
		}
	}
	return v
}

// A fitted prior survives a checkpoint round trip, samples from it, and
// the trainer refuses to train on past it.
func TestFittedPriorRoundTrip(t *testing.T) {
	net := tinyVAE(t)
	pix := make([]float32, 64*net.Dim())
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range pix {
		pix[i] = rng.Float32()
	}
	z, err := net.PosteriorSamples(net.Params, pix, 3)
	if err != nil {
		t.Fatal(err)
	}
	again, err := net.PosteriorSamples(net.Params, pix[:10*net.Dim()], 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range again {
		if v != z[i] {
			t.Fatalf("posterior sample %d depends on how many images are encoded with it", i)
		}
	}
	pr, err := FitPrior(z, net.LatentDim(), FitOptions{Components: 2, Iterations: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	fitted, err := net.WithPrior(pr, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prior.safetensors")
	if err := models.SaveWeights(path, fitted.Params, models.Meta{Family: Family, Config: mustJSON(t, fitted.Config)}); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadNetwork(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Config.PriorComponents != 2 || loaded.Config.SampleTemperature() != 0.8 {
		t.Fatalf("loaded config %+v", loaded.Config)
	}
	a, err := fitted.Sample(fitted.Params, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loaded.Sample(loaded.Params, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Sample(net.Params, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			t.Fatalf("pixel %d: %v before saving, %v after", i, a[i], b[i])
		}
		same = same && a[i] == plain[i]
	}
	if same {
		t.Error("samples under the fitted prior are those of N(0,I)")
	}
	if _, err := NewTrainer(loaded, 10); err == nil {
		t.Error("the trainer took a VAE with a fitted prior")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
