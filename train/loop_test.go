package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/internal/memory"
	"genlab/models"

	"gorgonia.org/tensor"
)

// autoencoder is a tiny Trainee: 16 random pixels -> 8 -> 16, trained with
// MSE; nanAt makes its loss NaN from that step on.
type autoencoder struct {
	p     *models.Params
	opt   *Optimizer
	m     *models.Machine
	enc   models.Dense
	dec   models.Dense
	nanAt int
}

func newAutoencoder(t *testing.T, batch int) *autoencoder {
	p := models.NewParams(tensor.Float32, 7)
	a := &autoencoder{p: p, enc: models.NewDense(p, "enc", 16, 8), dec: models.NewDense(p, "dec", 8, 16)}
	a.opt = &Optimizer{Adam: models.NewAdamW(1e-2, 0), BaseLR: 1e-2, Warmup: 3, Clip: 1, EMA: models.NewEMA(p, 0.9)}
	g := models.NewGraph(p)
	x := g.Input("x", batch, 16)
	y := a.dec.Fwd(g, g.SiLU(a.enc.Fwd(g, x)))
	m, err := g.Compile(g.MSE(y, x))
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	return a
}

func (a *autoencoder) Family() string          { return "autoencoder" }
func (a *autoencoder) Config() any             { return map[string]int{"hidden": 8} }
func (a *autoencoder) Weights() *models.Params { return a.opt.EMA.Shadow }
func (a *autoencoder) State() ([]checkpoint.Tensor, map[string]string) {
	return a.opt.State(a.p)
}
func (a *autoencoder) Restore(w, s *checkpoint.File) error { return a.opt.Restore(a.p, w, s) }
func (a *autoencoder) Step(ctx context.Context, step int, b datasets.Batch, rng *rand.Rand) (map[string]float64, error) {
	// Per-step randomness: noise on the input, from the step's own stream.
	x := slices.Clone(b.X)
	for i := range x {
		x[i] += 0.01 * float32(rng.NormFloat64())
	}
	if err := a.m.Set("x", x); err != nil {
		return nil, err
	}
	if err := a.m.Run(); err != nil {
		return nil, err
	}
	grads, err := a.m.Grads()
	if err != nil {
		return nil, err
	}
	if err := a.opt.Apply(step, a.p, grads); err != nil {
		return nil, err
	}
	a.m.ZeroGrads()
	loss := a.m.Loss()
	if a.nanAt > 0 && step >= a.nanAt {
		loss = math.NaN()
	}
	return map[string]float64{"loss": loss, "grad_norm": a.opt.GradNorm}, nil
}
func (a *autoencoder) Sample(ctx context.Context, n int, seed uint64) ([]float32, int, int, int, error) {
	pix := make([]float32, n*16)
	for i := 0; i < n; i++ {
		r := rand.New(rand.NewPCG(seed+uint64(i), 0))
		for j := 0; j < 16; j++ {
			pix[i*16+j] = r.Float32()
		}
	}
	return pix, 1, 4, 4, nil
}

func toyData() *datasets.Set {
	r := rand.New(rand.NewPCG(1, 1))
	s := &datasets.Set{Name: "toy", N: 40, C: 1, H: 4, W: 4, Pixels: make([]float32, 40*16)}
	for i := range s.Pixels {
		s.Pixels[i] = r.Float32()
	}
	return s
}

func opts(dir string, steps int) Options {
	return Options{Out: dir, Data: toyData(), DataName: "toy", Batch: 8, Steps: steps, SaveEvery: 5, Keep: 2, GridN: 4, Seed: 3}
}

func weightsOf(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, ts := range f.Tensors {
		v, err := ts.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out[ts.Name] = v
	}
	return out
}

func TestResumeIsExact(t *testing.T) {
	straight, split := t.TempDir(), t.TempDir()
	if _, err := Run(context.Background(), newAutoencoder(t, 8), opts(straight, 20)); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), newAutoencoder(t, 8), opts(split, 10)); err != nil {
		t.Fatal(err)
	}
	o := opts(split, 20)
	o.Resume = "latest"
	res, err := Run(context.Background(), newAutoencoder(t, 8), o) // a fresh process's worth of state
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 20 || filepath.Base(res.Checkpoint) != ckptName(20) {
		t.Fatalf("resumed run ended at %d with %s", res.Step, res.Checkpoint)
	}
	for _, file := range []string{ckptName(20), "ckpt-000020.state.safetensors"} {
		a, b := weightsOf(t, filepath.Join(straight, file)), weightsOf(t, filepath.Join(split, file))
		for name, v := range a {
			if !slices.Equal(v, b[name]) {
				t.Errorf("%s: tensor %s differs between 20 straight steps and 10 + 10 resumed", file, name)
			}
		}
	}
	// The loss log is the same too, but for the timing column.
	strip := func(dir string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "loss.csv"))
		var rows []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			rows = append(rows, l[:strings.LastIndex(l, ",")])
		}
		return strings.Join(rows, "\n")
	}
	if a, b := strip(straight), strip(split); a != b {
		t.Errorf("loss.csv differs:\n%s\n---\n%s", a, b)
	}
	// Keep 2: steps 15 and 20 remain, with their state files.
	cs, _ := checkpoints(split)
	if len(cs) != 2 || filepath.Base(cs[0]) != ckptName(15) {
		t.Errorf("checkpoints kept: %v", cs)
	}
	for _, f := range []string{"loss.png", "grid-000020.png"} {
		if _, err := os.Stat(filepath.Join(split, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestNaNStopsAndKeepsTheLastGoodCheckpoint(t *testing.T) {
	dir := t.TempDir()
	a := newAutoencoder(t, 8)
	a.nanAt = 13
	_, err := Run(context.Background(), a, opts(dir, 20))
	if !errors.Is(err, ErrNaN) || !strings.Contains(err.Error(), "ckpt-000010") {
		t.Fatalf("err = %v, want ErrNaN naming ckpt-000010", err)
	}
	if latest, _ := Latest(dir); filepath.Base(latest) != ckptName(10) {
		t.Fatalf("latest checkpoint %s, want step 10", latest)
	}
	// And the run resumes from it.
	o := opts(dir, 20)
	o.Resume = "latest"
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err != nil {
		t.Fatal(err)
	}
}

func TestCancelSavesWhereItStopped(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	o := opts(dir, 20)
	o.Progress = func(p Progress) {
		if p.Step == 7 && p.Event == "" {
			cancel()
		}
	}
	if _, err := Run(ctx, newAutoencoder(t, 8), o); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if latest, _ := Latest(dir); filepath.Base(latest) != ckptName(7) {
		t.Fatalf("latest checkpoint %s, want step 7", latest)
	}
}

func TestResumeRefusals(t *testing.T) {
	dir := t.TempDir()
	o := opts(dir, 5)
	o.Resume = "latest"
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Fatalf("resume in an empty folder: %v", err)
	}
	o.Resume = ""
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err != nil {
		t.Fatal(err)
	}
	o.Resume = "latest"
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err == nil || !strings.Contains(err.Error(), "more --steps") {
		t.Fatalf("resume at the end: %v", err)
	}
	os.Remove(filepath.Join(dir, "ckpt-000005.state.safetensors"))
	o.Steps = 10
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err == nil || !strings.Contains(err.Error(), "state") {
		t.Fatalf("resume without a state file: %v", err)
	}
}

func TestFreshRunRefusesAFolderWithARun(t *testing.T) {
	dir := t.TempDir()
	if _, err := Run(context.Background(), newAutoencoder(t, 8), opts(dir, 10)); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), newAutoencoder(t, 8), opts(dir, 5))
	if err == nil || !strings.Contains(err.Error(), "--resume latest") {
		t.Fatalf("a fresh run over another: err = %v, want a refusal naming --resume latest", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ckpt-000010.safetensors")); err != nil {
		t.Fatalf("the old run's checkpoint is gone: %v", err)
	}
}

func TestTrainingTimeAddsResumedSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.csv")
	os.WriteFile(path, []byte("step,loss,seconds\n1,0.5,1.5\n2,0.4,3\n3,0.3,0.5\n4,0.2,2\n5,0.1,4\n"), 0o644)
	for step, want := range map[int]float64{2: 3, 4: 5, 9: 7} {
		got, err := TrainingTime(path, step)
		if err != nil || got.Seconds() != want {
			t.Errorf("TrainingTime to step %d = %v, %v; want %gs", step, got, err, want)
		}
	}
}

// TestLossLogSurvivesACrash simulates a kill -9 after the checkpoint of
// step 10, while rows of steps 11-14 were being appended (the last one
// torn), with a temporary file of an older genlab's rewrite left beside:
// the resumed run's loss.csv is the uninterrupted run's, row for row, and
// no temporary file remains.
func TestLossLogSurvivesACrash(t *testing.T) {
	straight, crashed := t.TempDir(), t.TempDir()
	if _, err := Run(context.Background(), newAutoencoder(t, 8), opts(straight, 20)); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), newAutoencoder(t, 8), opts(crashed, 10)); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(crashed, "loss.csv")
	f, err := os.OpenFile(csvPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("11,0.5,1.00\n12,0.5,1.10\n13,0.5,1.20\n14,0.4")
	f.Close()
	stale := filepath.Join(crashed, ".loss.csv.tmp-1234")
	os.WriteFile(stale, []byte("step,loss,seconds\n"), 0o644)
	if _, err := TrainingTime(csvPath, 20); err != nil {
		t.Errorf("TrainingTime on a torn log: %v", err)
	}

	o := opts(crashed, 20)
	o.Resume = "latest"
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err != nil {
		t.Fatal(err)
	}
	strip := func(dir string) []string {
		b, _ := os.ReadFile(filepath.Join(dir, "loss.csv"))
		var rows []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			rows = append(rows, l[:strings.LastIndex(l, ",")])
		}
		return rows
	}
	a, b := strip(straight), strip(crashed)
	if !slices.Equal(a, b) || len(a) != 21 {
		t.Errorf("loss.csv after the crash and resume:\n%s\nwant:\n%s", strings.Join(b, "\n"), strings.Join(a, "\n"))
	}
	if m, _ := filepath.Glob(filepath.Join(crashed, ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestLossLogRunsAheadOfCheckpoints: the log is appended before each
// checkpoint is written, so a crash between the two never leaves the log
// behind the newest checkpoint (which lost rows for good on resume).
func TestLossLogRunsAheadOfCheckpoints(t *testing.T) {
	dir := t.TempDir()
	o := opts(dir, 10)
	var rowsAtSave []int
	o.Progress = func(p Progress) {
		if strings.HasPrefix(p.Event, "saved ") {
			b, _ := os.ReadFile(filepath.Join(dir, "loss.csv"))
			rowsAtSave = append(rowsAtSave, strings.Count(string(b), "\n")-1)
		}
	}
	if _, err := Run(context.Background(), newAutoencoder(t, 8), o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rowsAtSave, []int{5, 10}) {
		t.Errorf("rows of loss.csv when each checkpoint was saved: %v; want [5 10]", rowsAtSave)
	}
}

// TestRunRefusesWhatMemoryCannotHold: a batch whose estimate exceeds the
// limit is refused in one line before the first step and before the run
// folder is made.
func TestRunRefusesWhatMemoryCannotHold(t *testing.T) {
	defer memory.SetLimit(0)
	memory.SetLimit(1000)
	dir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), newAutoencoder(t, 8), opts(dir, 10))
	if err == nil || !strings.Contains(err.Error(), "needs about") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v; want one line saying what it needs", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the refused run made its folder: %v", err)
	}
}
