package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"image"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/images"
	"genlab/models"
)

// Trainee is one generator as the loop sees it.
type Trainee interface {
	// Family names the generator: "diffusion", "vae", "flow", "gan".
	Family() string
	// Config is the architecture and training configuration, saved as JSON
	// in every checkpoint; loading rebuilds the model from it.
	Config() any
	// Step trains on one batch and returns its losses; "loss" is the one
	// logged first and watched for NaN. rng is this step's own stream.
	Step(ctx context.Context, step int, b datasets.Batch, rng *rand.Rand) (map[string]float64, error)
	// Weights are what sampling uses (for diffusion, the EMA).
	Weights() *models.Params
	// State is everything else a resume needs (raw weights, optimizer
	// moments), as tensors and metadata strings.
	State() ([]checkpoint.Tensor, map[string]string)
	// Restore loads a checkpoint's weights and state files back.
	Restore(weights, state *checkpoint.File) error
	// Sample draws n images from fixed seeds (image i from seed+i), NCHW
	// pixels in [0,1], for the progress grids.
	Sample(ctx context.Context, n int, seed uint64) (pix []float32, c, h, w int, err error)
}

// Options configures Run; zero fields take the defaults.
type Options struct {
	Out         string // run folder (created)
	Data        *datasets.Set
	DataName    string // recorded in checkpoints ("mnist")
	DataLimit   int    // Data is the split's first DataLimit images (0: all of it), recorded too
	Batch       int
	Steps       int    // the step the run ends at
	SaveEvery   int    // checkpoint every N steps (default Steps/4), and at the end
	Keep        int    // checkpoints kept (default 3)
	SampleEvery int    // a grid every N steps (default: at each checkpoint)
	GridN       int    // images per grid (default 64)
	Seed        uint64 // data order, per-step randomness, grid noise
	Resume      string // "", "latest" or a checkpoint file
	Progress    func(Progress)
	// Select, if not nil, scores every checkpoint's samples, keeps the
	// best as best.safetensors and may stop the run early.
	Select *Selector
}

// Progress is what the loop reports after every step.
type Progress struct {
	Step, Total int
	Losses      map[string]float64
	Elapsed     time.Duration
	Event       string // "" or e.g. "saved runs/x/ckpt-000500.safetensors"
}

// ErrNaN is returned (wrapped) when a loss stops being finite.
var ErrNaN = errors.New("loss is not finite")

// Result says where a run left its outputs.
type Result struct {
	Checkpoint string // the last checkpoint written (or resumed from)
	Grid       string // the last sample grid
	LossCSV    string
	LossPlot   string
	Step       int
	Best       string // best.safetensors, with a Selector
	Stopped    string // why the run stopped before Steps, with a Selector
}

// Run trains t from step 1 (or from a checkpoint) to o.Steps.
//
// Per-step randomness comes from a PCG seeded (Seed, step), and the data
// order from the loader's (Seed, epoch) shuffles, so a resumed run replays
// exactly what an uninterrupted one would have done.
func Run(ctx context.Context, t Trainee, o Options) (Result, error) {
	o = o.withDefaults()
	res := Result{LossCSV: filepath.Join(o.Out, "loss.csv"), LossPlot: filepath.Join(o.Out, "loss.png")}
	if o.Data == nil || o.Data.N < o.Batch {
		return res, fmt.Errorf("train: the dataset has fewer images than one batch of %d", o.Batch)
	}
	if err := checkMemory(t, o); err != nil {
		return res, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return res, err
	}
	loader := datasets.NewLoader(o.Data, o.Batch, o.Seed)
	start := 0
	if o.Resume != "" {
		path, err := resolveResume(o.Out, o.Resume)
		if err != nil {
			return res, err
		}
		start, err = restore(t, loader, path)
		if err != nil {
			return res, err
		}
		res.Checkpoint = path
		if start >= o.Steps {
			return res, fmt.Errorf("train: %s is at step %d already; ask for more --steps than that", path, start)
		}
	}
	if o.Resume == "" {
		// A fresh run would interleave its checkpoints with, and prune,
		// another run's.
		if last, err := Latest(o.Out); err == nil {
			return res, fmt.Errorf("train: %s already holds a run (%s): resume it with --resume latest, or choose another --out", o.Out, filepath.Base(last))
		}
	}
	var sel *selection
	if o.Select != nil {
		if o.Resume == "" {
			if err := removeStaleBest(o.Out); err != nil {
				return res, err
			}
		}
		sel = newSelection(o.Select, o, start)
	}
	log, err := openLossLog(res.LossCSV, start)
	if err != nil {
		return res, err
	}
	res.Step = start
	began := time.Now()
	report := func(step int, losses map[string]float64, event string) {
		if o.Progress != nil {
			o.Progress(Progress{Step: step, Total: o.Steps, Losses: losses, Elapsed: time.Since(began), Event: event})
		}
	}
	save := func(step int) error {
		// The log first: it always reaches the newest checkpoint, and a
		// resume cuts back whatever runs past it.
		if err := log.flush(); err != nil {
			return err
		}
		path, err := saveCheckpoint(t, loader, o, step)
		if err != nil {
			return err
		}
		res.Checkpoint = path
		report(step, nil, "saved "+path)
		return prune(o.Out, o.Keep)
	}
	// selectStop scores a checkpoint and says whether to stop the run.
	selectStop := func(step int) (bool, error) {
		if sel == nil {
			return false, nil
		}
		meta, err := models.ReadMeta(res.Checkpoint, t.Family())
		if err != nil {
			return false, err
		}
		stop, event, err := sel.score(ctx, t, o, step, meta)
		if err != nil {
			return false, err
		}
		if sel.bestStep > 0 {
			res.Best = filepath.Join(o.Out, BestName)
		}
		report(step, nil, event)
		if stop {
			res.Stopped = event
		}
		return stop, nil
	}
	for step := start + 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			// Keep what was done: the next resume starts here.
			if step-1 > start {
				if serr := save(step - 1); serr != nil {
					return res, serr
				}
			}
			return res, err
		}
		rng := rand.New(rand.NewPCG(o.Seed, uint64(step)))
		losses, err := t.Step(ctx, step, loader.Next(), rng)
		if err != nil {
			return res, fmt.Errorf("train: step %d: %w", step, err)
		}
		if l := losses["loss"]; math.IsNaN(l) || math.IsInf(l, 0) {
			msg := "no checkpoint was written yet"
			if res.Checkpoint != "" {
				msg = "the last good checkpoint is " + res.Checkpoint + " (resume it with --resume latest, perhaps with a lower --lr)"
			}
			return res, fmt.Errorf("train: %w at step %d (%v); %s", ErrNaN, step, l, msg)
		}
		res.Step = step
		log.add(step, losses, time.Since(began))
		report(step, losses, "")
		if step%o.SampleEvery == 0 || step == o.Steps {
			grid, err := writeGrid(ctx, t, o, step)
			if err != nil {
				return res, err
			}
			res.Grid = grid
			report(step, nil, "grid "+grid)
		}
		if step%o.SaveEvery == 0 || step == o.Steps {
			if err := save(step); err != nil {
				return res, err
			}
			stop, err := selectStop(step)
			if err != nil {
				return res, err
			}
			if stop {
				break
			}
		}
	}
	if err := log.flush(); err != nil {
		return res, err
	}
	if err := plotLoss(res.LossCSV, res.LossPlot, t.Family()); err != nil {
		return res, err
	}
	return res, nil
}

func (o Options) withDefaults() Options {
	if o.Batch == 0 {
		o.Batch = 64
	}
	if o.Steps <= 0 {
		o.Steps = 1000
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = max(1, o.Steps/4)
	}
	if o.Keep <= 0 {
		o.Keep = 3
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = o.SaveEvery
	}
	if o.GridN <= 0 {
		o.GridN = 64
	}
	return o
}

// ckptName is the weights file of a step; its state file sits beside it.
// KeyDataLimit is the checkpoint entry of Options.DataLimit.
const KeyDataLimit = "genlab.data_limit"

func ckptName(step int) string { return fmt.Sprintf("ckpt-%06d.safetensors", step) }

// StatePath is the training-state file that goes with a weights file.
func StatePath(weights string) string {
	return weights[:len(weights)-len(".safetensors")] + ".state.safetensors"
}

func saveCheckpoint(t Trainee, loader *datasets.Loader, o Options, step int) (string, error) {
	cfg, err := json.Marshal(t.Config())
	if err != nil {
		return "", err
	}
	path := filepath.Join(o.Out, ckptName(step))
	extra := map[string]string{"genlab.data": o.DataName, "genlab.seed": strconv.FormatUint(o.Seed, 10), "genlab.batch": strconv.Itoa(o.Batch)}
	if o.DataLimit > 0 {
		extra[KeyDataLimit] = strconv.Itoa(o.DataLimit)
	}
	// State first: a weights file without its state would look resumable.
	ts, md := t.State()
	md[checkpoint.KeyFamily] = t.Family()
	md[checkpoint.KeyConfig] = string(cfg)
	md[checkpoint.KeyStep] = strconv.Itoa(step)
	md[checkpoint.KeyFormat] = strconv.Itoa(checkpoint.FormatVersion)
	md["genlab.loader_epoch"] = strconv.Itoa(loader.Epoch())
	md["genlab.loader_step"] = strconv.Itoa(loader.Step())
	for k, v := range extra {
		md[k] = v
	}
	if err := checkpoint.Save(StatePath(path), &checkpoint.File{Metadata: md, Tensors: ts}); err != nil {
		return "", err
	}
	meta := models.Meta{Family: t.Family(), Config: cfg, Step: step, Extra: extra}
	return path, models.SaveWeights(path, t.Weights(), meta)
}

func restore(t Trainee, loader *datasets.Loader, path string) (int, error) {
	weights, err := checkpoint.Load(path)
	if err != nil {
		return 0, err
	}
	if err := weights.CheckFormat(); err != nil {
		return 0, err
	}
	if fam := weights.Metadata[checkpoint.KeyFamily]; fam != t.Family() {
		return 0, &checkpoint.FormatError{File: path, Reason: fmt.Sprintf("a %q checkpoint; this run trains %q", fam, t.Family())}
	}
	state, err := checkpoint.Load(StatePath(path))
	if err != nil {
		return 0, fmt.Errorf("%w (the training state beside the weights; without it the run cannot resume)", err)
	}
	step, err1 := strconv.Atoi(state.Metadata[checkpoint.KeyStep])
	epoch, err2 := strconv.Atoi(state.Metadata["genlab.loader_epoch"])
	lstep, err3 := strconv.Atoi(state.Metadata["genlab.loader_step"])
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, &checkpoint.FormatError{File: state.Path, Reason: "step or data position missing: " + err.Error()}
	}
	if err := t.Restore(weights, state); err != nil {
		return 0, err
	}
	if err := loader.SetState(epoch, lstep); err != nil {
		return 0, &checkpoint.FormatError{File: state.Path, Reason: err.Error()}
	}
	return step, nil
}

func writeGrid(ctx context.Context, t Trainee, o Options, step int) (string, error) {
	pix, c, h, w, err := t.Sample(ctx, o.GridN, o.Seed)
	if err != nil {
		return "", fmt.Errorf("train: sample grid at step %d: %w", step, err)
	}
	tiles := make([]image.Image, 0, o.GridN)
	for i := 0; i < o.GridN; i++ {
		tiles = append(tiles, images.FromFloats(pix[i*c*h*w:(i+1)*c*h*w], c, h, w))
	}
	path := filepath.Join(o.Out, fmt.Sprintf("grid-%06d.png", step))
	params := fmt.Sprintf("Step: %d, Seed: %d, Size: %dx%d, Family: %s, Images: %d", step, o.Seed, w, h, t.Family(), o.GridN)
	return path, images.Save(path, images.Grid(tiles, 0, 2, nil), params)
}
