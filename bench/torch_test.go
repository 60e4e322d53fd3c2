package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"genlab/diffusion"
	"genlab/models"
)

const python = "/usr/bin/python3"

// requireTorch skips the test where Debian's PyTorch is not installed.
func requireTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch is not installed for %s (apt-get install -y python3-torch): %v", python, err)
	}
}

func writeF32(t *testing.T, path string, vals []float32) {
	t.Helper()
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]float32, len(b)/4)
	for i := range vals {
		vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return vals
}

// scriptValue is the number after "key " on a line of the script's output.
func scriptValue(t *testing.T, out, key string) int {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no %q line in the script's output:\n%s", key, out)
	return 0
}

// genlab's initial reference UNet, written in the raw format of
// unet_step.py --check, loads into the PyTorch network by name (same keys,
// same shapes, 612,737 values), and both give the same output for one
// batch, and the same gradients of the MSE against a target.
func TestPyTorchTwinMatchesGenlab(t *testing.T) {
	requireTorch(t)
	p := models.NewParams(tensor.Float32, 7)
	u, err := models.NewUNet(p, models.ReferenceUNet())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var manifest strings.Builder
	var flat []float32
	names := p.Names()
	for _, n := range names {
		dims := make([]string, 0, 4)
		for _, d := range p.Get(n).Shape() {
			dims = append(dims, strconv.Itoa(d))
		}
		fmt.Fprintf(&manifest, "%s\t%s\n", n, strings.Join(dims, ","))
		flat = append(flat, p.Float32s(n)...)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.tsv"), []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	writeF32(t, filepath.Join(dir, "params.f32"), flat)

	const n = 3
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*28*28)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	ts := []float64{0, 417, 999}
	t32 := make([]float32, n)
	for i, v := range ts {
		t32[i] = float32(v)
	}
	target := make([]float32, len(x))
	for i := range target {
		target[i] = float32(rng.NormFloat64())
	}
	writeF32(t, filepath.Join(dir, "x.f32"), x)
	writeF32(t, filepath.Join(dir, "t.f32"), t32)
	writeF32(t, filepath.Join(dir, "target.f32"), target)

	out, err := exec.Command(python, "unet_step.py", "--threads", "1", "--check", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("unet_step.py --check: %v\n%s", err, out)
	}
	if got := scriptValue(t, string(out), "params"); got != p.Count() || got != 612737 {
		t.Fatalf("PyTorch network has %d parameters, genlab's %d (want 612737)", got, p.Count())
	}
	if got := scriptValue(t, string(out), "loaded"); got != len(names) {
		t.Fatalf("PyTorch loaded %d tensors, genlab has %d", got, len(names))
	}

	// A forward graph for the output (a training graph's may overwrite
	// its output's value in place) and a training graph for the gradients.
	run := func(train bool) (*models.Machine, *models.Node) {
		g := models.NewGraph(p)
		y := u.Fwd(g, g.Input("x", n, 1, 28, 28), g.Input("temb", n, 128), nil)
		in := map[string][]float32{"x": x, "temb": models.SinusoidalEmbedding(ts, 128)}
		var loss *models.Node
		if train {
			loss = g.MSE(y, g.Input("target", n, 1, 28, 28))
			in["target"] = target
		}
		m, err := g.Compile(loss)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		for name, v := range in {
			if err := m.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		return m, y
	}
	_, y := run(false)
	m, _ := run(true)
	// Relative to the largest magnitude: float32 in two orders of summation.
	relDiff := func(got, want []float32) (float64, float64) {
		var d, s float64
		for i := range got {
			d = math.Max(d, math.Abs(float64(got[i]-want[i])))
			s = math.Max(s, math.Abs(float64(want[i])))
		}
		return d / math.Max(s, 1e-12), s
	}
	got := y.Value().Data().([]float32)
	want := readF32(t, filepath.Join(dir, "out.f32"))
	if len(got) != len(want) {
		t.Fatalf("genlab gives %d values, PyTorch %d", len(got), len(want))
	}
	if d, s := relDiff(got, want); d > 1e-4 {
		t.Fatalf("outputs differ by %.3g relative (largest output %.3g)", d, s)
	}
	grads, err := m.Grads()
	if err != nil {
		t.Fatal(err)
	}
	all := readF32(t, filepath.Join(dir, "grads.f32"))
	if len(all) != p.Count() {
		t.Fatalf("PyTorch wrote %d gradient values, want %d", len(all), p.Count())
	}
	worst, worstName := 0.0, ""
	for _, name := range names {
		g := grads[name].Data().([]float32)
		d, _ := relDiff(g, all[:len(g)])
		all = all[len(g):]
		if d > worst {
			worst, worstName = d, name
		}
	}
	if worst > 1e-3 {
		t.Fatalf("gradient of %s differs by %.3g relative", worstName, worst)
	}
	t.Logf("%d tensors, %d parameters; output and gradients agree (worst gradient %s, %.2g relative)", len(names), p.Count(), worstName, worst)
}

// bench/ddim_sample.py's DDIM loop is genlab's: from the same initial
// noise, a tiny class-conditional checkpoint sampled for a few DDIM steps
// under guidance 2 (two classes and the null class) gives the same pixels
// in PyTorch as in genlab's Generate, so the end-to-end benchmark times the
// same work on both sides.
func TestPyTorchDDIMMatchesGenlab(t *testing.T) {
	requireTorch(t)
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "tiny.safetensors")
	net, err := ClassCheckpoint(ckpt, "tiny", 5)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{11, 12, 13}
	classes := []int{3, 7, Classes} // the last: the null class
	const steps, guidance = 4, 2.0
	dim := net.Dim()
	x := make([]float32, len(seeds)*dim)
	diffusion.InitialNoise(x, diffusion.ImageRNGs(seeds[0], 0, len(seeds)), dim)
	writeF32(t, filepath.Join(dir, "x.f32"), x)
	var cls strings.Builder
	for _, k := range classes {
		fmt.Fprintln(&cls, k)
	}
	if err := os.WriteFile(filepath.Join(dir, "classes.txt"), []byte(cls.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := net.Generate(context.Background(), net.Params, diffusion.GenerateOptions{
		Seeds: seeds, Classes: classes, Sampler: "ddim", Steps: steps, Guidance: guidance, Batch: len(seeds)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "ddim_sample.py", "--threads", "1", "--ckpt", ckpt, "--check", dir,
		"--batch", "2", "--steps", strconv.Itoa(steps), "--guidance", strconv.FormatFloat(guidance, 'g', -1, 64)).CombinedOutput()
	if err != nil {
		t.Fatalf("ddim_sample.py --check: %v\n%s", err, out)
	}
	got := readF32(t, filepath.Join(dir, "out.f32"))
	if len(got) != len(want) {
		t.Fatalf("PyTorch gives %d pixels, genlab %d", len(got), len(want))
	}
	worst, moved := 0.0, 0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		if math.Abs(float64(want[i])-min(1, max(0, (float64(x[i])+1)/2))) > 0.01 {
			moved++
		}
	}
	if moved < len(want)/2 {
		t.Fatalf("only %d of %d pixels moved from the initial noise: the check would not see a wrong update", moved, len(want))
	}
	if worst > 1e-4 {
		t.Fatalf("PyTorch's DDIM pixels differ from genlab's by up to %.3g", worst)
	}
	t.Logf("%d images, %d DDIM steps at guidance %g: pixels agree within %.2g", len(seeds), steps, guidance, worst)
}
