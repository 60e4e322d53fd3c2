package torch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/diffusion"
	"genlab/internal/atomicfile"
	"genlab/models"
	"genlab/train"
)

// KeyTrainedBy is the metadata key in which the PyTorch side records that
// it trained a checkpoint last (and how: its version, processes, device).
// genlab's own checkpoints leave it out.
const KeyTrainedBy = "genlab.trained_by"

// TrainedBy says who trained a checkpoint last, from its metadata:
// "genlab", or what the PyTorch side wrote ("pytorch 1.13, 2 process(es), cpu").
func TrainedBy(md map[string]string) string {
	if v := md[KeyTrainedBy]; v != "" {
		return v
	}
	return "genlab"
}

// The files of an export folder.
const (
	CheckpointFile = "ckpt.safetensors"
	ConfigFile     = "config.json"
	ImagesFile     = "images.npy"
	LabelsFile     = "labels.npy"
	TokensFile     = "tokens.npy"
)

// Summary is what Export wrote.
type Summary struct {
	Files  []string // paths, in the order written
	Images int
	State  bool // the training state came along (Adam's moments, raw weights)
	Step   int
}

// Export writes into dir what python/genlab_torch trains from: the
// diffusion checkpoint at ckpt (and its training state, when it is
// there), its config, and the first n images of set (all when n is 0)
// with the labels or caption tokens the model's conditioning takes.
// Super-resolution models are refused: their conditioning is made in
// genlab only.
func Export(ckpt, dir string, set *datasets.Set, n int) (Summary, error) {
	var s Summary
	cfg, err := diffusion.OpenConfig(ckpt)
	if err != nil {
		return s, err
	}
	meta, err := models.ReadMeta(ckpt, diffusion.Family)
	if err != nil {
		return s, err
	}
	s.Step = meta.Step
	u := cfg.UNet
	switch {
	case cfg.Cond == "lowres":
		return s, fmt.Errorf("torch: %s is a super-resolution model; the PyTorch package trains unconditional, class and text models", ckpt)
	case set.C != u.InChannels || set.H != u.Size || set.W != u.Size:
		return s, fmt.Errorf("torch: %s holds %dx%dx%d images; the model takes %dx%dx%d", set.Name, set.C, set.H, set.W, u.InChannels, u.Size, u.Size)
	case cfg.Cond == "class" && set.Labels == nil:
		return s, fmt.Errorf("torch: a class-conditional model needs labels; %s has none", set.Name)
	case cfg.Cond == "text" && set.Captions == nil:
		return s, fmt.Errorf("torch: a text model needs captions; %s has none", set.Name)
	}
	if n <= 0 || n > set.N {
		n = set.N
	}
	if n < cfg.Batch {
		return s, fmt.Errorf("torch: %d images are fewer than one batch of %d", n, cfg.Batch)
	}
	s.Images = n
	var labels, tokens []int64
	switch cfg.Cond {
	case "class":
		labels = make([]int64, n)
		for i := range labels {
			if set.Labels[i] < 0 || set.Labels[i] >= u.Classes {
				return s, fmt.Errorf("torch: image %d of %s has label %d; the model knows %d classes", i, set.Name, set.Labels[i], u.Classes)
			}
			labels[i] = int64(set.Labels[i])
		}
	case "text":
		for i := range n {
			ids, err := cfg.Text.Tokenize(set.Captions[i])
			if err != nil {
				return s, fmt.Errorf("torch: caption %d of %s: %w", i, set.Name, err)
			}
			for _, id := range ids {
				tokens = append(tokens, int64(id))
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, fmt.Errorf("torch: %w", err)
	}
	write := func(name string, f func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		if err := atomicfile.Write(p, f); err != nil {
			return fmt.Errorf("torch: write %s: %w", p, err)
		}
		s.Files = append(s.Files, p)
		return nil
	}
	copyFile := func(src, name string) error {
		return write(name, func(w io.Writer) error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
	}
	if err := copyFile(ckpt, CheckpointFile); err != nil {
		return s, err
	}
	if st := train.StatePath(ckpt); fileExists(st) {
		if _, err := checkpoint.ReadHeader(st); err != nil {
			return s, err
		}
		if err := copyFile(st, train.StatePath(CheckpointFile)); err != nil {
			return s, err
		}
		s.State = true
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, meta.Config, "", "  "); err != nil {
		return s, fmt.Errorf("torch: %s: config: %w", ckpt, err)
	}
	pretty.WriteByte('\n')
	if err := write(ConfigFile, func(w io.Writer) error { _, err := w.Write(pretty.Bytes()); return err }); err != nil {
		return s, err
	}
	d := set.Dim()
	if err := write(ImagesFile, func(w io.Writer) error {
		return WriteNPY(w, []int{n, set.C, set.H, set.W}, set.Pixels[:n*d])
	}); err != nil {
		return s, err
	}
	if labels != nil {
		if err := write(LabelsFile, func(w io.Writer) error { return WriteNPY(w, []int{n}, labels) }); err != nil {
			return s, err
		}
	}
	if tokens != nil {
		if err := write(TokensFile, func(w io.Writer) error { return WriteNPY(w, []int{n, cfg.Text.Length}, tokens) }); err != nil {
			return s, err
		}
	}
	return s, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
