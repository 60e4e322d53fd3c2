package finetune

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/images"
	"genlab/internal/atomicfile"
)

// Prior preservation (DreamBooth, Ruiz et al. 2023): a fine-tune on a few
// images of a new concept drifts on everything else the base could draw.
// Training on the base model's own images of its own prompts beside the
// concept's, as many of each in a batch, holds the base's behaviour in
// place; the images are the base's, so no training data of the base is
// needed, only prompts it understands.

// PriorSeed offsets the seeds of the prior images' noise and prompts from
// the fine-tune's own seed, so the two streams never share draws.
const PriorSeed = 1 << 32

// PriorPrompts are n prompts for the prior images, drawn with seed from
// source: a text file of prompts (.txt, one per line) or a captioned
// dataset as --data names one (its train split's captions; "shapes" for
// the shapes recipe's base).
func PriorPrompts(source string, n int, seed uint64) ([]string, error) {
	if n < 1 {
		return nil, fmt.Errorf("finetune: %d prior images, want at least 1", n)
	}
	var pool []string
	if strings.HasSuffix(strings.ToLower(source), ".txt") {
		f, err := os.Open(source)
		if err != nil {
			return nil, fmt.Errorf("finetune: prior prompts: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				pool = append(pool, s)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("finetune: prior prompts %s: %w", source, err)
		}
	} else {
		set, err := datasets.Load(source, "train")
		if err != nil {
			return nil, fmt.Errorf("finetune: prior prompts: %w", err)
		}
		pool = set.Captions
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("finetune: prior prompts: %s has no prompts (want a captioned dataset or a .txt file with one prompt per line)", source)
	}
	out := make([]string, n)
	for k, i := range priorPick(len(pool), n, seed) {
		out[k] = pool[i]
	}
	return out, nil
}

// priorPick is n indices into a pool of size items, drawn with seed: a
// shuffled pass over the pool, then another, until n are drawn.
func priorPick(size, n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, PriorSeed))
	out := make([]int, 0, n)
	for len(out) < n {
		perm := rng.Perm(size)
		out = append(out, perm[:min(len(perm), n-len(out))]...)
	}
	return out
}

// PriorImages are n prior images taken from the train split of source (a
// captioned dataset or an image folder with a metadata.jsonl), drawn with
// seed, instead of drawn by the base: the regularization images of
// kohya's DreamBooth scripts. Where images of what the base already draws
// are at hand (its own training data, for one), they hold it in place
// without the drawing and without the faults of its own samples, which a
// fine-tune would otherwise learn as the base's behaviour.
func PriorImages(source string, n int, seed uint64) (*datasets.Set, error) {
	if n < 1 {
		return nil, fmt.Errorf("finetune: %d prior images, want at least 1", n)
	}
	set, err := datasets.Load(source, "train")
	if err != nil {
		return nil, fmt.Errorf("finetune: prior images: %w", err)
	}
	if set.Captions == nil || set.N == 0 {
		return nil, fmt.Errorf("finetune: prior images: %s has no captioned images (want a captioned dataset or a folder with a metadata.jsonl)", source)
	}
	prior := set.Subset(priorPick(set.N, n, seed))
	prior.Name = "prior"
	return prior, nil
}

// DrawPrior returns the base network's images of prompts, one per prompt,
// drawn with its own sampling defaults from noise seeded by seed: read
// from dir when an earlier run (or a resumed one) left the same prompts
// there, else drawn and written there first as an image folder (PNGs and
// a metadata.jsonl, written last, that marks the folder complete). The
// images are always read back from their PNGs, so a run and its resumption
// train on the same bytes. net must be the base, before any fine-tune.
func DrawPrior(ctx context.Context, net *diffusion.Network, prompts []string, seed uint64, dir string, log func(string, ...any)) (*datasets.Set, error) {
	u := net.Config.UNet
	load := func() (*datasets.Set, error) {
		set, err := datasets.LoadFolder(dir, u.Size, u.InChannels)
		if err == nil {
			set.Name = "prior"
		}
		return set, err
	}
	if set, err := load(); err == nil && slices.Equal(set.Captions, prompts) {
		return set, nil
	}
	for _, p := range prompts {
		if _, err := net.Tokenize(p); err != nil {
			return nil, fmt.Errorf("finetune: prior prompt %q: %w", p, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	// A stale folder's captions would no longer match its images.
	_ = os.Remove(filepath.Join(dir, datasets.MetadataFile))
	d := net.Config.Defaults()
	seeds := make([]uint64, len(prompts))
	for i := range seeds {
		seeds[i] = seed + PriorSeed + uint64(i)
	}
	if log != nil {
		log("drawing %d prior images with the base (%s, %d steps, guidance %g) into %s", len(prompts), d.Sampler, d.Steps, d.Guidance, dir)
	}
	pix, err := net.Generate(ctx, net.Params, diffusion.GenerateOptions{Seeds: seeds, Sampler: d.Sampler, Steps: d.Steps, Eta: d.Eta,
		Guidance: d.Guidance, Prompts: prompts, Batch: 16})
	if err != nil {
		return nil, err
	}
	dim := net.Dim()
	var meta strings.Builder
	for i, p := range prompts {
		name := fmt.Sprintf("prior-%05d.png", i)
		img := images.FromFloats(pix[i*dim:(i+1)*dim], u.InChannels, u.Size, u.Size)
		if err := images.Save(filepath.Join(dir, name), img, ""); err != nil {
			return nil, err
		}
		line, err := json.Marshal(map[string]string{"file_name": name, "text": p})
		if err != nil {
			return nil, err
		}
		meta.Write(line)
		meta.WriteByte('\n')
	}
	err = atomicfile.Write(filepath.Join(dir, datasets.MetadataFile), func(w io.Writer) error {
		_, err := io.WriteString(w, meta.String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return load()
}

// WithPrior is the training set of a prior-preserving fine-tune: the
// concept's images repeated to about as many as the prior's, then the
// prior's, so that a shuffled batch holds about as many of each (DreamBooth
// pairs every batch of concept images with one of prior images).
func WithPrior(concept, prior *datasets.Set) (*datasets.Set, error) {
	reps := max(1, (prior.N+concept.N/2)/concept.N)
	idx := make([]int, 0, reps*concept.N)
	for range reps {
		for i := range concept.N {
			idx = append(idx, i)
		}
	}
	return datasets.Concat(concept.Name+"+prior", concept.Subset(idx), prior)
}

// TrainingSet is the set a fine-tune of c trains on: concept alone, or,
// when c.Prior > 0, with c.Prior prior images (WithPrior): taken from
// c.PriorImages when it is set, else drawn by the base net (before it is
// tuned) on prompts from c.PriorPrompts and kept in dir.
func TrainingSet(ctx context.Context, net *diffusion.Network, c Config, concept *datasets.Set, seed uint64, dir string, log func(string, ...any)) (*datasets.Set, error) {
	if c.Prior == 0 {
		return concept, nil
	}
	if c.PriorImages != "" {
		prior, err := PriorImages(c.PriorImages, c.Prior, seed)
		if err != nil {
			return nil, err
		}
		return WithPrior(concept, prior)
	}
	prompts, err := PriorPrompts(c.PriorPrompts, c.Prior, seed)
	if err != nil {
		return nil, err
	}
	prior, err := DrawPrior(ctx, net, prompts, seed, dir, log)
	if err != nil {
		return nil, err
	}
	return WithPrior(concept, prior)
}
