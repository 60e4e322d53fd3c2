package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"genlab/diffusion"
	"genlab/finetune"
	"genlab/images"
)

// Option changes how Open builds a pipeline.
type Option func(*options)

type options struct {
	fineTunes []finetune.Use
}

// WithFineTunes applies fine-tune files (LoRA, adapters, prefix or prompt
// tuning, full fine-tunes of this very checkpoint) at their scales, in
// order. Their new words join the vocabulary; each is recorded in the
// images' parameters with its hash.
func WithFineTunes(uses ...finetune.Use) Option {
	return func(o *options) { o.fineTunes = append(o.fineTunes, uses...) }
}

// FineTuneInfo is a fine-tune a pipeline applies.
type FineTuneInfo struct {
	Name, Path, Hash, Method string
	Scale                    float64
}

// applyFineTunes loads the fine-tunes onto a diffusion network loaded from
// path.
func applyFineTunes(net *diffusion.Network, path string, uses []finetune.Use) ([]FineTuneInfo, error) {
	tunes, err := finetune.Apply(net, path, uses)
	if err != nil {
		return nil, err
	}
	out := make([]FineTuneInfo, len(uses))
	for i, u := range uses {
		h, err := images.ModelHash(u.Path)
		if err != nil {
			return nil, err
		}
		out[i] = FineTuneInfo{Name: u.Name(), Path: u.Path, Hash: h, Method: tunes[i].Config.Method, Scale: u.Scale}
	}
	return out, nil
}

// recordFineTunes adds the fine-tunes to an image's parameters in
// AUTOMATIC1111's way: a <lora:NAME:SCALE> tag per fine-tune (its method
// for the others) after the prompt, and their hashes in "Lora hashes"
// (and "Fine-tune hashes" for the other methods).
func recordFineTunes(q *images.Parameters, fts []FineTuneInfo) {
	var tags, lora, other []string
	for _, f := range fts {
		tags = append(tags, fmt.Sprintf("<%s:%s:%s>", f.Method, f.Name, strconv.FormatFloat(f.Scale, 'g', -1, 64)))
		h := f.Name + ": " + f.Hash
		if f.Method == "lora" {
			lora = append(lora, h)
		} else {
			other = append(other, h)
		}
	}
	if len(tags) == 0 {
		return
	}
	q.Prompt = strings.TrimSpace(q.Prompt + " " + strings.Join(tags, " "))
	if len(lora) > 0 {
		q.Extra = append(q.Extra, images.Field{Key: "Lora hashes", Value: strings.Join(lora, ", ")})
	}
	if len(other) > 0 {
		q.Extra = append(q.Extra, images.Field{Key: "Fine-tune hashes", Value: strings.Join(other, ", ")})
	}
}

// FineTuneTag is a <METHOD:NAME:SCALE> tag of a prompt line.
type FineTuneTag struct {
	Method, Name string
	Scale        float64
}

// SplitFineTuneTags takes the fine-tune tags recordFineTunes wrote (and
// AUTOMATIC1111's <lora:NAME:SCALE>) off a PNG's prompt line: the prompt
// to draw again, and the fine-tunes to apply (to find by name beside the
// model and check against the recorded hashes).
func SplitFineTuneTags(prompt string) (string, []FineTuneTag) {
	var words []string
	var tags []FineTuneTag
	for _, w := range strings.Fields(prompt) {
		if inner, ok := strings.CutPrefix(w, "<"); ok {
			if inner, ok = strings.CutSuffix(inner, ">"); ok {
				parts := strings.Split(inner, ":")
				if len(parts) == 2 {
					parts = append(parts, "1")
				}
				if len(parts) == 3 && slices.Contains(finetune.Methods, parts[0]) && parts[1] != "" {
					if s, err := strconv.ParseFloat(parts[2], 64); err == nil {
						tags = append(tags, FineTuneTag{Method: parts[0], Name: parts[1], Scale: s})
						continue
					}
				}
			}
		}
		words = append(words, w)
	}
	return strings.Join(words, " "), tags
}
