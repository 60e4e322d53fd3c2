package torch_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/models"
	"genlab/torch"
)

// writeCheckpoint saves a freshly initialised network of cfg (weights only).
func writeCheckpoint(t *testing.T, cfg diffusion.Config, path string) {
	t.Helper()
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	if err := models.SaveWeights(path, net.Params, models.Meta{Family: diffusion.Family, Config: raw, Step: 7}); err != nil {
		t.Fatal(err)
	}
}

func set(n, c, s int, labels bool) *datasets.Set {
	d := &datasets.Set{Name: "test", N: n, C: c, H: s, W: s, Pixels: make([]float32, n*c*s*s)}
	if labels {
		d.Labels, d.Classes = make([]int, n), 10
	}
	return d
}

// Export writes the files the PyTorch package reads, and refuses what it
// cannot train, naming why, before writing anything.
func TestExport(t *testing.T) {
	dir := t.TempDir()
	class, _ := diffusion.NewConfig("tiny", 1, 28, "class", 10)
	class.Batch = 4
	lowres, _ := diffusion.NewConfig("tiny", 1, 28, "lowres", 0)
	ck, lr := filepath.Join(dir, "class.safetensors"), filepath.Join(dir, "lowres.safetensors")
	writeCheckpoint(t, class, ck)
	writeCheckpoint(t, lowres, lr)

	out := filepath.Join(dir, "export")
	s, err := torch.Export(ck, out, set(10, 1, 28, true), 6)
	if err != nil {
		t.Fatal(err)
	}
	if s.Images != 6 || s.State || s.Step != 7 {
		t.Errorf("summary %+v", s)
	}
	for _, f := range []string{torch.CheckpointFile, torch.ConfigFile, torch.ImagesFile, torch.LabelsFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// An .npy header is padded so the data starts at a multiple of 64.
	b, _ := os.ReadFile(filepath.Join(out, torch.ImagesFile))
	if want := 6 * 28 * 28 * 4; (len(b)-want)%64 != 0 || !strings.Contains(string(b[:128]), "'shape': (6, 1, 28, 28)") {
		t.Errorf("images.npy: %d bytes, header %q", len(b), b[:min(len(b), 128)])
	}

	for _, c := range []struct {
		name, ckpt string
		set        *datasets.Set
		n          int
		mention    string
	}{
		{"super-resolution", lr, set(10, 1, 28, false), 0, "super-resolution"},
		{"wrong size", ck, set(10, 3, 32, true), 0, "3x32x32"},
		{"no labels", ck, set(10, 1, 28, false), 0, "needs labels"},
		{"fewer than a batch", ck, set(10, 1, 28, true), 3, "fewer than one batch of 4"},
		{"missing checkpoint", filepath.Join(dir, "missing.safetensors"), set(10, 1, 28, true), 0, "missing.safetensors"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := filepath.Join(dir, "refused-"+strings.ReplaceAll(c.name, " ", "-"))
			_, err := torch.Export(c.ckpt, o, c.set, c.n)
			if err == nil || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("err %v, want one mentioning %q", err, c.mention)
			}
			if _, serr := os.Stat(o); serr == nil {
				t.Errorf("a refused export made %s", o)
			}
		})
	}
}
