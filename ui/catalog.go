package ui

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"genlab/checkpoint"
	"genlab/models"
	"genlab/pipeline"
)

// Entry is one checkpoint the app lists: what its metadata says of it.
type Entry struct {
	Path   string
	Family string // diffusion, vae, flow or gan
	Size   string // the recipe's size (tiny, small, base) when it has one
	Cond   string // none, class, text or lowres (diffusion, gan)
	Data   string // the data set it was trained on
	Step   int    // the training step it was saved at
	Params int64  // weights in the file
}

// Name is how the list shows the file: its run folder and its name.
func (e Entry) Name() string {
	dir := filepath.Base(filepath.Dir(e.Path))
	base := strings.TrimSuffix(filepath.Base(e.Path), ".safetensors")
	if dir == "." || dir == "/" {
		return base
	}
	return dir + "/" + base
}

// Summary is the line under the name: family, size, data, step, weights.
func (e Entry) Summary() string {
	parts := []string{e.Family}
	if e.Size != "" {
		parts = append(parts, e.Size)
	}
	if e.Cond != "" && e.Cond != "none" {
		parts = append(parts, e.Cond+"-cond")
	}
	if e.Data != "" {
		parts = append(parts, e.Data)
	}
	parts = append(parts, fmt.Sprintf("step %d", e.Step), humanCount(e.Params)+" params")
	return strings.Join(parts, " · ")
}

// humanCount writes 614145 as 614k and 1234567 as 1.2M.
func humanCount(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%dk", (n+500)/1000)
	}
	return fmt.Sprint(n)
}

// generatorFamilies are the families the app draws images with.
var generatorFamilies = pipeline.Families

// ReadEntry reads a checkpoint's metadata; it refuses a file that is not a
// genlab checkpoint of a family that draws images.
func ReadEntry(path string) (Entry, error) {
	h, err := checkpoint.ReadHeader(path)
	if err != nil {
		return Entry{}, err
	}
	meta, err := models.ReadMeta(path, "")
	if err != nil {
		return Entry{}, err
	}
	if !slices.Contains(generatorFamilies, meta.Family) {
		return Entry{}, fmt.Errorf("%s is a %q checkpoint, not a generator (diffusion, vae, flow or gan)", path, meta.Family)
	}
	e := Entry{Path: path, Family: meta.Family, Step: meta.Step, Params: h.NumElements(), Data: meta.Extra["genlab.data"]}
	// The families' configs share some keys: diffusion's "size" is its
	// recipe's name (GAN's and VAE's is the image side), "cond" its
	// conditioning (a GAN keeps a class count instead).
	var cfg map[string]json.RawMessage
	if json.Unmarshal(meta.Config, &cfg) == nil {
		str := func(key string) string {
			var s string
			json.Unmarshal(cfg[key], &s)
			return s
		}
		e.Size, e.Cond = str("size"), str("cond")
		if e.Data == "" {
			e.Data = str("data")
		}
		var classes int
		if e.Cond == "" && json.Unmarshal(cfg["classes"], &classes) == nil && classes > 0 {
			e.Cond = "class"
		}
	}
	return e, nil
}

// Scan lists the generator checkpoints in dirs and in their immediate
// subfolders (the run folders `genlab train` writes), by folder and then
// by step. Training state sidecars and files that are not generator
// checkpoints are left out; a folder that does not exist is no error.
func Scan(dirs ...string) []Entry {
	var out []Entry
	seen := map[string]bool{}
	for _, dir := range dirs {
		for _, pattern := range []string{"*.safetensors", "*/*.safetensors"} {
			paths, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, p := range paths {
				if strings.HasSuffix(p, ".state.safetensors") {
					continue
				}
				abs, err := filepath.Abs(p)
				if err != nil || seen[abs] {
					continue
				}
				seen[abs] = true
				if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
					continue
				}
				e, err := ReadEntry(p)
				if err != nil {
					continue
				}
				out = append(out, e)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(filepath.Dir(a.Path), filepath.Dir(b.Path)), cmp.Compare(a.Step, b.Step), cmp.Compare(a.Path, b.Path))
	})
	return out
}
