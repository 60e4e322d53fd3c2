package finetune

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"genlab/checkpoint"
	"genlab/diffusion"
	"genlab/images"
	"genlab/models"
)

// Metadata keys of a fine-tune file besides the checkpoint's own.
const (
	KeyMethod    = "genlab.method"
	KeyRank      = "genlab.rank"
	KeyAlpha     = "genlab.alpha"
	KeyTargets   = "genlab.targets"
	KeyNewTokens = "genlab.new_tokens"
	KeyBaseHash  = "genlab.base_hash"
)

// Save writes t's tensors alone, under their file names, with its config
// and the genlab.* keys that name its method, sizes, new words and base,
// and any extra metadata.
func (t *Tune) Save(path string, step int, extra map[string]string) error {
	cfg, err := json.Marshal(t.Config)
	if err != nil {
		return err
	}
	words, _ := json.Marshal(t.Config.NewWords)
	md := map[string]string{
		checkpoint.KeyFamily: Family, checkpoint.KeyConfig: string(cfg),
		checkpoint.KeyStep: strconv.Itoa(step), checkpoint.KeyFormat: strconv.Itoa(checkpoint.FormatVersion),
		KeyMethod: t.Config.Method, KeyNewTokens: string(words), KeyBaseHash: t.Config.BaseHash,
	}
	for k, v := range extra {
		if _, own := md[k]; !own {
			md[k] = v
		}
	}
	switch t.Config.Method {
	case "lora":
		md[KeyRank] = strconv.Itoa(t.Config.Rank)
		md[KeyAlpha] = strconv.FormatFloat(t.Config.Alpha, 'g', -1, 64)
		md[KeyTargets] = strings.Join(t.Config.Targets, ",")
	case "adapter":
		md[KeyRank] = strconv.Itoa(t.Config.Rank)
	case "prefix":
		md[KeyRank] = strconv.Itoa(t.Config.Prefix)
	}
	ts := t.Store.Tensors("")
	for i := range ts {
		ts[i].Name = strings.TrimPrefix(ts[i].Name, t.Prefix)
	}
	return checkpoint.Save(path, &checkpoint.File{Metadata: md, Tensors: ts})
}

// BaseMismatchError is loading a fine-tune on a base it was not trained on.
type BaseMismatchError struct {
	File, Base         string
	WantHash, BaseHash string
	WantBase           string
}

func (e *BaseMismatchError) Error() string {
	return fmt.Sprintf("%s is a fine-tune of %s (hash %s), not of %s (hash %s): load it on its own base model",
		e.File, e.WantBase, e.WantHash, e.Base, e.BaseHash)
}

// Load reads the fine-tune file at path for the base checkpoint basePath
// whose weights are base, its parameters named prefix + their file names.
// A file of another base is a *BaseMismatchError.
func Load(path, basePath string, base *models.Params, prefix string) (*Tune, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	meta, err := models.ReadMeta(path, Family)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(meta.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	hash, err := images.ModelHash(basePath)
	if err != nil {
		return nil, err
	}
	if c.BaseHash != hash {
		return nil, &BaseMismatchError{File: path, Base: basePath, WantHash: c.BaseHash, BaseHash: hash, WantBase: c.Base}
	}
	t, err := New(base, c, prefix, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	want := map[string][]int{}
	for n, s := range t.Store.Shapes() {
		want[strings.TrimPrefix(n, prefix)] = s
	}
	if err := f.CheckShapes(want); err != nil {
		return nil, err
	}
	for _, n := range t.Store.Names() {
		ft, _ := f.Get(strings.TrimPrefix(n, prefix))
		v, err := ft.Float32s()
		if err != nil {
			return nil, &checkpoint.FormatError{File: path, Reason: fmt.Sprintf("tensor %s: %v", ft.Name, err)}
		}
		if err := t.Store.SetFloat32s(n, v); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Use is a fine-tune file to apply at a scale (--lora FILE[:SCALE]).
type Use struct {
	Path  string
	Scale float64
}

// ParseUse reads FILE or FILE:SCALE.
func ParseUse(s string) (Use, error) {
	u := Use{Path: s, Scale: 1}
	if i := strings.LastIndex(s, ":"); i > 0 {
		if v, err := strconv.ParseFloat(s[i+1:], 64); err == nil {
			u.Path, u.Scale = s[:i], v
		}
	}
	if u.Path == "" {
		return u, fmt.Errorf("finetune: %q: want FILE or FILE:SCALE", s)
	}
	if !(u.Scale >= -10 && u.Scale <= 10) {
		return u, fmt.Errorf("finetune: %q: scale %g outside [-10, 10]", s, u.Scale)
	}
	return u, nil
}

// Name is a fine-tune file's name without .safetensors.
func (u Use) Name() string { return strings.TrimSuffix(filepath.Base(u.Path), ".safetensors") }

// Apply loads the fine-tunes on net, the network of the base checkpoint
// basePath: LoRA and full fine-tunes are folded into net's weights at
// their scale; adapters (scaled), prefixes and new words enter through
// the hooks. Prefix and prompt tuning take scale 1 only.
func Apply(net *diffusion.Network, basePath string, uses []Use) ([]*Tune, error) {
	var tunes Stack
	var stores []*models.Params
	var words []string
	for i, u := range uses {
		t, err := Load(u.Path, basePath, net.Params, fmt.Sprintf("ft%d.", i))
		if err != nil {
			return nil, err
		}
		if (t.Config.Method == "prefix" || t.Config.Method == "prompt") && u.Scale != 1 {
			return nil, fmt.Errorf("%s: a %s fine-tune takes no scale (only lora, adapter and full do)", u.Path, t.Config.Method)
		}
		for _, w := range t.Config.NewWords {
			for _, o := range words {
				if o == w {
					return nil, fmt.Errorf("%s: adds the word %q that another fine-tune adds too", u.Path, w)
				}
			}
		}
		t.Scale = u.Scale
		if err := t.Fold(net.Params); err != nil {
			return nil, err
		}
		words = append(words, t.Config.NewWords...)
		tunes = append(tunes, t)
		stores = append(stores, t.Store)
	}
	if len(tunes) == 0 {
		return nil, nil
	}
	return tunes, net.SetTuning(tunes, stores, words)
}

func baseName(path string) string { return strings.TrimSuffix(filepath.Base(path), ".safetensors") }
