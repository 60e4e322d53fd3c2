package finetune

import (
	"fmt"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/images"
	"genlab/models"
	"genlab/train"
)

// Trainer trains a fine-tune of a text diffusion model with the diffusion
// loss on a captioned set; it is the train.Trainee of the "finetune"
// family, so the shared loop gives it progress, checkpoints (the
// fine-tune's tensors, with Adam's moments beside them) and exact resume.
type Trainer struct {
	*diffusion.Trainer
	Tune *Tune
}

var _ train.Trainee = (*Trainer)(nil)

func (t *Trainer) Family() string { return Family }
func (t *Trainer) Config() any    { return t.Tune.Config }

// NewTrainer prepares a fine-tune of c on net, the network loaded from the
// base checkpoint basePath, for steps steps on set: the captions' words
// the base lacks become c.NewWords, the base's hash goes into c, and the
// fine-tune's parameters are initialised from seed. net's weights stay
// untouched (full fine-tuning trains a copy).
func NewTrainer(net *diffusion.Network, basePath string, c Config, set *datasets.Set, steps int, seed uint64) (*Trainer, error) {
	if net.Config.Cond != "text" {
		return nil, fmt.Errorf("finetune: %s is a %q diffusion model; fine-tuning teaches a text model new words (train one with --cond text)", basePath, net.Config.Cond)
	}
	if set.Captions == nil {
		return nil, fmt.Errorf("finetune: %s has no captions (a folder needs a metadata.jsonl with file_name and text)", set.Name)
	}
	u := net.Config.UNet
	if set.C != u.InChannels || set.H != u.Size || set.W != u.Size {
		return nil, fmt.Errorf("finetune: %s images are %dx%dx%d; the base model takes %dx%dx%d", set.Name, set.C, set.H, set.W, u.InChannels, u.Size, u.Size)
	}
	if c.Batch > set.N {
		c.Batch = set.N
	}
	c.NewWords = NewWords(net.Vocabulary(), set.Captions)
	hash, err := images.ModelHash(basePath)
	if err != nil {
		return nil, err
	}
	c.BaseHash, c.Base = hash, baseName(basePath)
	t, err := New(net.Params, c, "", seed)
	if err != nil {
		return nil, err
	}
	for _, s := range set.Captions {
		if n := len(models.Words(s)); n > net.Config.Text.Length {
			return nil, fmt.Errorf("finetune: caption %q has %d words; the base model reads at most %d", s, n, net.Config.Text.Length)
		}
	}
	if c.Method == "full" {
		// Train a copy; the base's own weights stay as they were.
		net.Params = t.Store
	}
	if err := net.SetTuning(t, []*models.Params{t.Store}, c.NewWords); err != nil {
		return nil, err
	}
	dt, err := diffusion.NewTunedTrainer(net, t.Store, c.Batch, steps, c.LR, c.Warmup)
	if err != nil {
		return nil, err
	}
	dt.GridSource = set
	return &Trainer{Trainer: dt, Tune: t}, nil
}
