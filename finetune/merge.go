package finetune

import (
	"fmt"
	"slices"

	"genlab/diffusion"
	"genlab/models"
)

// NotFoldableError is a fine-tune that adds blocks to the network
// (adapters, prefixes), which no plain checkpoint of the base's
// architecture can hold.
type NotFoldableError struct {
	File, Method string
}

func (e *NotFoldableError) Error() string {
	return fmt.Sprintf("%s is a %s fine-tune: it adds blocks a checkpoint of the base's architecture has no room for; only lora, prompt and full fine-tunes merge (use it with --lora instead)", e.File, e.Method)
}

// Merge folds LoRA, prompt and full fine-tunes into the weights of the
// diffusion checkpoint basePath at their scales: the config and weights
// of a standalone model whose vocabulary has the new words.
func Merge(basePath string, uses []Use) (diffusion.Config, *models.Params, error) {
	net, err := diffusion.LoadNetwork(basePath)
	if err != nil {
		return diffusion.Config{}, nil, err
	}
	tunes, err := Apply(net, basePath, uses)
	if err != nil {
		return diffusion.Config{}, nil, err
	}
	cfg := net.Config
	var words []string
	var rows []float32
	for i, t := range tunes {
		if m := t.Config.Method; m == "adapter" || m == "prefix" {
			return cfg, nil, &NotFoldableError{File: uses[i].Path, Method: m}
		}
		words = append(words, t.Config.NewWords...)
		if len(t.Config.NewWords) > 0 {
			rows = append(rows, t.Store.Float32s(t.Prefix+tokNew)...)
		}
	}
	if len(words) == 0 {
		return cfg, net.Params, nil
	}
	text := *cfg.Text
	text.Vocab = append(slices.Clone(text.Vocab), words...)
	cfg.Text = &text
	merged, err := diffusion.NewNetwork(cfg, 0)
	if err != nil {
		return cfg, nil, err
	}
	for _, n := range merged.Params.Names() {
		v := net.Params.Float32s(n)
		if n == tokTable {
			v = append(slices.Clone(v), rows...)
		}
		if err := merged.Params.SetFloat32s(n, v); err != nil {
			return cfg, nil, err
		}
	}
	return cfg, merged.Params, nil
}
