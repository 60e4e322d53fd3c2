package finetune

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"genlab/checkpoint"
	"genlab/images"
)

// File is a fine-tune file found for a base model.
type File struct {
	Path, Name, Method string
	NewWords           []string
}

// ForBase lists the fine-tune files trained on the base checkpoint at
// basePath (by its hash) in dir and its subfolders one level down (a
// run folder's METHOD.safetensors), sorted by path: what a front end
// offers beside the base. Training checkpoints (ckpt-*) and files that
// are not fine-tunes are left out.
func ForBase(dir, basePath string) ([]File, error) {
	hash, err := images.ModelHash(basePath)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, pattern := range []string{"*.safetensors", filepath.Join("*", "*.safetensors")} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		paths = append(paths, m...)
	}
	slices.Sort(paths)
	var out []File
	for _, p := range paths {
		name := filepath.Base(p)
		if strings.HasPrefix(name, "ckpt-") || strings.HasSuffix(name, ".state.safetensors") {
			continue
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		h, err := checkpoint.ReadHeader(p)
		if err != nil || h.Metadata[checkpoint.KeyFamily] != Family || h.Metadata[KeyBaseHash] != hash {
			continue
		}
		c, err := ParseConfig([]byte(h.Metadata[checkpoint.KeyConfig]))
		if err != nil {
			continue
		}
		out = append(out, File{Path: p, Name: baseName(p), Method: c.Method, NewWords: c.NewWords})
	}
	return out, nil
}
