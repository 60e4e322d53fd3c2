package torch_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"genlab/checkpoint"
	"genlab/diffusion"
	"genlab/internal/atomicfile"
	"genlab/internal/torchtest"
	"genlab/models"
	"genlab/torch"
	"genlab/train"
)

// equivalenceConfigs are small models of both conditionings the PyTorch
// package trains, with a recipe that reaches every branch of the update
// at step 3: warm-up over 2 steps then a cosine learning rate, clipping
// (tight enough to clip), an EMA (with its warm-up for the text model)
// and condition dropout.
func equivalenceConfigs(t *testing.T) map[string]diffusion.Config {
	class, err := diffusion.NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	text, err := diffusion.NewConfig("tiny", 3, 16, "text", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := text.SetCaptions(captions); err != nil {
		t.Fatal(err)
	}
	out := map[string]diffusion.Config{"class": class, "text": text}
	for k, c := range out {
		c.Batch, c.Warmup, c.Cosine, c.Clip = 4, 2, true, 0.5
		out[k] = c
	}
	return out
}

var captions = []string{"a red circle", "a small blue square at the top left", "a green triangle", "a large red square"}

// One training step in PyTorch (python/genlab_torch, Trainer.step_on) and
// one in genlab (Trainer.StepOn), from the same checkpoint (weights, Adam's
// moments after two steps, EMA) on the same images, noise, timesteps and
// conditions, end at the same raw weights, EMA and moments, to float32
// rounding.
func TestOneStepMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch")
	}
	torchtest.Require(t)
	for name, cfg := range equivalenceConfigs(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			net, err := diffusion.NewNetwork(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := diffusion.NewTrainer(net, 5)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for step := 1; step <= 2; step++ {
				b := randomBatch(t, net, rng)
				if _, err := tr.StepOn(step, b.pixels, b.eps, b.t, b.cond); err != nil {
					t.Fatal(err)
				}
			}
			ckpt := filepath.Join(dir, "ckpt-000002.safetensors")
			saveTrainer(t, tr, ckpt, 2)
			b := randomBatch(t, net, rng)
			bdir := filepath.Join(dir, "batch")
			b.write(t, bdir)
			out := filepath.Join(dir, "torch")
			torchtest.Run(t, torchtest.Command(t, torchtest.Python, "-m", "genlab_torch.replay",
				"--ckpt", ckpt, "--batch", bdir, "--step", "3", "--total", "5", "--out", out))
			losses, err := tr.StepOn(3, b.pixels, b.eps, b.t, b.cond)
			if err != nil {
				t.Fatal(err)
			}
			if losses["grad_norm"] <= cfg.Clip {
				t.Errorf("gradient norm %g does not reach the clip %g: the test misses clipping", losses["grad_norm"], cfg.Clip)
			}
			weights, err := checkpoint.Load(filepath.Join(out, "ckpt-000003.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			state, err := checkpoint.Load(filepath.Join(out, "ckpt-000003.state.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if got := torch.TrainedBy(weights.Metadata); got == "genlab" {
				t.Errorf("the PyTorch checkpoint does not say who trained it: %v", weights.Metadata)
			}
			if weights.Metadata[checkpoint.KeyConfig] == "" || weights.Metadata[checkpoint.KeyStep] != "3" || state.Metadata["genlab.adam_step"] != "3" {
				t.Errorf("metadata: weights %v, state %v", weights.Metadata, state.Metadata)
			}
			ts, _ := tr.State()
			want := map[string][]float32{}
			var allM, allV []float32
			for _, x := range ts {
				want[x.Name], _ = x.Float32s()
				switch x.Name[:min(7, len(x.Name))] {
				case "adam.m.":
					allM = append(allM, want[x.Name]...)
				case "adam.v.":
					allV = append(allV, want[x.Name]...)
				}
			}
			// Moments agree to a small share of their typical size over the
			// whole model (some, like the attention keys' biases, have no
			// gradient but rounding on either side).
			tolM, tolV := 1e-3*rms(allM), 1e-3*rms(allV)
			// The update moved the weights by about the learning rate; the
			// two sides agree to a small share of that. (Measured on x86-64
			// with OpenBLAS: weights within 6e-7 at a learning rate of
			// 7.5e-4, moments within 4e-5 of their RMS.)
			lr := losses["lr"]
			for _, n := range net.Params.Names() {
				compare(t, "raw "+n, state, "model."+n, net.Params.Float32s(n), 0.01*lr)
				compare(t, "EMA "+n, weights, n, tr.Weights().Float32s(n), 0.01*lr)
				compare(t, "Adam m "+n, state, "adam.m."+n, want["adam.m."+n], tolM)
				compare(t, "Adam v "+n, state, "adam.v."+n, want["adam.v."+n], tolV)
			}
		})
	}
}

// compare checks f's tensor name against want to within tol per value.
func compare(t *testing.T, what string, f *checkpoint.File, name string, want []float32, tol float64) {
	t.Helper()
	x, ok := f.Get(name)
	if !ok {
		t.Errorf("%s: PyTorch wrote no %s", what, name)
		return
	}
	got, err := x.Float32s()
	if err != nil || len(got) != len(want) {
		t.Errorf("%s: %d values (%v), want %d", what, len(got), err, len(want))
		return
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > worst {
			worst, at = d, i
		}
	}
	if worst > tol || math.IsNaN(worst) {
		t.Errorf("%s: PyTorch %g, genlab %g at %d (|Δ| %.3g > %.3g)", what, got[at], want[at], at, worst, tol)
	}
}

func rms(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s / float64(max(1, len(v))))
}

// batch is one training step's inputs, drawn at random.
type batch struct {
	pixels, eps []float32
	t           []int
	cond        diffusion.Condition
	shape       []int
	tokens      int // tokens per prompt
}

func randomBatch(t *testing.T, net *diffusion.Network, rng *rand.Rand) batch {
	c := net.Config
	u := c.UNet
	b := batch{shape: []int{c.Batch, u.InChannels, u.Size, u.Size}, t: make([]int, c.Batch)}
	for range c.Batch * net.Dim() {
		b.pixels = append(b.pixels, rng.Float32())
		b.eps = append(b.eps, float32(rng.NormFloat64()))
	}
	for i := range b.t {
		b.t[i] = rng.IntN(c.T)
	}
	switch c.Cond {
	case "class":
		for range c.Batch {
			b.cond.Classes = append(b.cond.Classes, rng.IntN(u.Classes+1)) // the null class too
		}
	case "text":
		b.tokens = c.Text.Length
		for i := range c.Batch {
			ids, err := net.Tokenize(captions[(i+rng.IntN(2))%len(captions)])
			if i == 0 {
				ids, err = net.Tokenize("") // the null prompt
			}
			if err != nil {
				t.Fatal(err)
			}
			b.cond.Tokens = append(b.cond.Tokens, ids)
		}
	}
	return b
}

func (b batch) write(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	npy := func(name string, shape []int, data any) {
		err := atomicfile.Write(filepath.Join(dir, name), func(w io.Writer) error { return torch.WriteNPY(w, shape, data) })
		if err != nil {
			t.Fatal(err)
		}
	}
	n := len(b.t)
	npy("pixels.npy", b.shape, b.pixels)
	npy("eps.npy", b.shape, b.eps)
	npy("t.npy", []int{n}, ints64(b.t))
	if b.cond.Classes != nil {
		npy("classes.npy", []int{n}, ints64(b.cond.Classes))
	}
	if b.cond.Tokens != nil {
		var all []int
		for _, row := range b.cond.Tokens {
			all = append(all, row...)
		}
		npy("tokens.npy", []int{n, b.tokens}, ints64(all))
	}
}

func ints64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// saveTrainer writes tr's checkpoint as a training run does: the EMA
// weights, and beside them the raw weights and Adam's state.
func saveTrainer(t *testing.T, tr *diffusion.Trainer, path string, step int) {
	t.Helper()
	cfg, err := json.Marshal(tr.Config())
	if err != nil {
		t.Fatal(err)
	}
	ts, md := tr.State()
	md[checkpoint.KeyFamily] = diffusion.Family
	md[checkpoint.KeyConfig] = string(cfg)
	md[checkpoint.KeyStep] = strconv.Itoa(step)
	md[checkpoint.KeyFormat] = strconv.Itoa(checkpoint.FormatVersion)
	if err := checkpoint.Save(train.StatePath(path), &checkpoint.File{Metadata: md, Tensors: ts}); err != nil {
		t.Fatal(err)
	}
	if err := models.SaveWeights(path, tr.Weights(), models.Meta{Family: diffusion.Family, Config: cfg, Step: step}); err != nil {
		t.Fatal(fmt.Errorf("save %s: %w", path, err))
	}
}
