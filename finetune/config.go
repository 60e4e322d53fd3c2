package finetune

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"genlab/models"
)

// Family is the checkpoint family of fine-tune files.
const Family = "finetune"

// Methods are the fine-tuning methods.
var Methods = []string{"lora", "adapter", "prefix", "prompt", "full"}

// Targets are the layer groups a LoRA may adapt: the UNet's attention
// projections (self- and cross-attention: qkv, q, k, v, out), every other
// conv of the UNet, and the text encoder's attention projections.
var Targets = []string{"attn", "conv", "text"}

// Config is a fine-tune's method and sizes, saved in its file.
type Config struct {
	Method string `json:"method"`
	// Rank is LoRA's rank r (4) or an adapter's bottleneck width (8).
	Rank int `json:"rank,omitempty"`
	// Alpha scales LoRA's update by Alpha/Rank (default Rank: scale 1).
	Alpha float64 `json:"alpha,omitempty"`
	// Targets are LoRA's layer groups (attn).
	Targets []string `json:"targets,omitempty"`
	// Prefix is prefix tuning's number of learned keys and values (4).
	Prefix int `json:"prefix,omitempty"`
	// NewWords are the words added to the base vocabulary, in token order.
	NewWords []string `json:"new_words,omitempty"`
	// BaseHash is the base checkpoint's images.ModelHash; Base its name.
	BaseHash string `json:"base_hash"`
	Base     string `json:"base"`
	// Prior is the number of images of what the base already draws that
	// are trained on beside the concept's (prior preservation; 0: none):
	// drawn by the base on prompts from PriorPrompts (a captioned dataset
	// or a .txt file of prompts), or taken from the captioned images of
	// PriorImages (a dataset or folder).
	Prior        int    `json:"prior,omitempty"`
	PriorPrompts string `json:"prior_prompts,omitempty"`
	PriorImages  string `json:"prior_images,omitempty"`
	// The training recipe.
	Data   string  `json:"data"`
	LR     float64 `json:"lr"`
	Batch  int     `json:"batch"`
	Warmup int     `json:"warmup"`
}

// MaxPrior bounds the number of prior images a fine-tune draws.
const MaxPrior = 100000

// NewConfig is the default recipe of a method.
func NewConfig(method string) (Config, error) {
	c := Config{Method: method, Batch: 16, Warmup: 20}
	switch method {
	case "lora":
		c.Rank, c.Alpha, c.Targets, c.LR = 4, 4, []string{"attn"}, 1e-3
	case "adapter":
		c.Rank, c.LR = 8, 1e-3
	case "prefix":
		c.Prefix, c.LR = 4, 1e-2
	case "prompt":
		c.LR = 1e-2
	case "full":
		c.LR = 2e-4
	default:
		return c, fmt.Errorf("finetune: method %q: use %s", method, strings.Join(Methods, ", "))
	}
	return c, nil
}

// Validate says what is wrong with a configuration, if anything.
func (c Config) Validate() error {
	b := models.Bounds{Prefix: "finetune"}
	b.Int("rank", c.Rank, 0, models.MaxChannels)
	b.Float("alpha", c.Alpha, 0, 1e6)
	b.Int("prefix", c.Prefix, 0, models.MaxTokens)
	b.Float("lr", c.LR, 0, 10)
	b.Int("batch", c.Batch, 0, models.MaxBatch)
	b.Int("warmup", c.Warmup, 0, 1<<40)
	b.Int("prior", c.Prior, 0, MaxPrior)
	if err := b.Err(); err != nil {
		return err
	}
	if !slices.Contains(Methods, c.Method) {
		return fmt.Errorf("finetune: method %q: use %s", c.Method, strings.Join(Methods, ", "))
	}
	switch {
	case (c.Method == "lora" || c.Method == "adapter") && c.Rank < 1:
		return fmt.Errorf("finetune: %s needs a rank of at least 1", c.Method)
	case c.Method == "lora" && len(c.Targets) == 0:
		return fmt.Errorf("finetune: lora needs target layers (%s)", strings.Join(Targets, ", "))
	case c.Method == "prefix" && c.Prefix < 1:
		return fmt.Errorf("finetune: prefix tuning needs at least 1 prefix vector")
	case c.Prior > 0 && c.PriorPrompts == "" && c.PriorImages == "":
		return fmt.Errorf("finetune: prior images need prompts (a captioned dataset such as shapes, or a .txt file) or images to take")
	case c.PriorPrompts != "" && c.PriorImages != "":
		return fmt.Errorf("finetune: prior images are drawn on prompts or taken from a dataset, not both")
	case c.Prior == 0 && (c.PriorPrompts != "" || c.PriorImages != ""):
		return fmt.Errorf("finetune: prior prompts or images need a number of prior images")
	}
	for _, t := range c.Targets {
		if !slices.Contains(Targets, t) {
			return fmt.Errorf("finetune: target %q: use %s", t, strings.Join(Targets, ", "))
		}
	}
	if c.Method != "lora" && len(c.Targets) > 0 {
		return fmt.Errorf("finetune: targets are for lora, not %s", c.Method)
	}
	return nil
}

// Recipe is what makes c's fine-tune what it is, as a short hash: two
// configs of one recipe on whatever base (and whatever new words that base
// lacked) have the same Recipe.
func (c Config) Recipe() string {
	c.Base, c.BaseHash, c.NewWords = "", "", nil
	j, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:4])
}

// SameRecipe reports whether a and b train the same fine-tune, whatever
// base they were made on.
func SameRecipe(a, b Config) bool { return a.Recipe() == b.Recipe() }

// ParseConfig reads a fine-tune file's genlab.config.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("finetune: config: %w", err)
	}
	return c, c.Validate()
}

// ParseTargets reads a comma-separated --targets list.
func ParseTargets(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains(Targets, t) {
			return nil, fmt.Errorf("finetune: target %q: use a comma-separated list of %s", t, strings.Join(Targets, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// NewWords are the words of captions missing from vocab, in order of
// first appearance.
func NewWords(vocab, captions []string) []string {
	var out []string
	for _, s := range captions {
		for _, w := range models.Words(s) {
			if !slices.Contains(vocab, w) && !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}
