package train

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"genlab/checkpoint"
	"genlab/models"
)

// Selector keeps the best checkpoint of a run by a sample metric, lower
// better (fid_lenet for a GAN, whose losses say little about its samples
// and whose last checkpoint is often not its best), and stops the run when
// the metric has not improved for Patience checkpoints.
type Selector struct {
	Metric   string // its name, e.g. "fid_lenet"
	N        int    // images scored, from the grid's fixed seeds
	Patience int    // scored checkpoints without improvement before stopping; 0: never stop
	// Score rates n images (NCHW pixels in [0,1]).
	Score func(pix []float32, n int) (float64, error)
}

// BestName is the file of the best checkpoint's weights in a run folder.
const BestName = "best.safetensors"

// Metadata of the best checkpoint: the metric and its score.
const (
	KeySelectMetric = "genlab.select.metric"
	KeySelectScore  = "genlab.select.score"
)

// selection is a Selector's progress through a run.
type selection struct {
	*Selector
	best     float64
	bestStep int
	stale    int // scored checkpoints since the best
}

// newSelection picks up where a resumed run's best.safetensors left off
// (if it is from before the resumed step; scores come every SaveEvery
// steps, so the checkpoints since it are counted from the steps).
func newSelection(s *Selector, o Options, start int) *selection {
	sel := &selection{Selector: s, best: math.Inf(1)}
	h, err := checkpoint.ReadHeader(filepath.Join(o.Out, BestName))
	if err != nil || h.Metadata[KeySelectMetric] != s.Metric {
		return sel
	}
	score, err1 := strconv.ParseFloat(h.Metadata[KeySelectScore], 64)
	step, err2 := strconv.Atoi(h.Metadata[checkpoint.KeyStep])
	if err1 != nil || err2 != nil || step > start {
		return sel
	}
	sel.best, sel.bestStep, sel.stale = score, step, (start-step)/o.SaveEvery
	return sel
}

// score rates the trainee's weights at a checkpoint step, saves them as
// best.safetensors if they beat the best so far, and says whether the run
// should stop, with a line for the log.
func (s *selection) score(ctx context.Context, t Trainee, o Options, step int, meta models.Meta) (stop bool, event string, err error) {
	pix, _, _, _, err := t.Sample(ctx, s.N, o.Seed)
	if err != nil {
		return false, "", fmt.Errorf("train: %s at step %d: %w", s.Metric, step, err)
	}
	v, err := s.Score(pix, s.N)
	if err != nil {
		return false, "", fmt.Errorf("train: %s at step %d: %w", s.Metric, step, err)
	}
	if v < s.best {
		s.best, s.bestStep, s.stale = v, step, 0
		meta.Extra[KeySelectMetric] = s.Metric
		meta.Extra[KeySelectScore] = strconv.FormatFloat(v, 'g', -1, 64)
		path := filepath.Join(o.Out, BestName)
		if err := models.SaveWeights(path, t.Weights(), meta); err != nil {
			return false, "", err
		}
		return false, fmt.Sprintf("%s %.3f, the best so far: %s", s.Metric, v, path), nil
	}
	s.stale++
	event = fmt.Sprintf("%s %.3f (best %.3f at step %d)", s.Metric, v, s.best, s.bestStep)
	if s.Patience > 0 && s.stale >= s.Patience {
		return true, event + fmt.Sprintf("; no better in %d checkpoints: stopping", s.stale), nil
	}
	return false, event, nil
}

// removeStaleBest deletes a best.safetensors that a fresh run (not a
// resume) would otherwise mistake for its own.
func removeStaleBest(out string) error {
	if err := os.Remove(filepath.Join(out, BestName)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
