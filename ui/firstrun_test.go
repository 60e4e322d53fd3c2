package ui

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"genlab/eval/evaltest"
	"genlab/images"
)

// The first run as a newcomer does it: an empty folder, Train a quick
// model, the model appears in the list and is selected, and Generate
// draws digits that the judge (a classifier trained on MNIST here) reads
// as the class asked, at least 80% of them. It trains for real, about 5
// minutes on two quiet cores: `make test-first-run` runs it
// (GENLAB_FIRST_RUN=1). `make test` does the same first run once, in the
// real window under Xvfb (cmd/genlab's
// TestFirstRunInTheWindowDrawsDigitsTheJudgeReads), not here as well.
func TestFirstRunDrawsDigitsTheJudgeReads(t *testing.T) {
	if os.Getenv("GENLAB_FIRST_RUN") == "" {
		t.Skip("trains the quick model for real, minutes: make test-first-run")
	}
	start := time.Now()
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	if err := os.Mkdir(models, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "outputs")
	h := newHarness(t, Config{Dirs: []string{models}, OutDir: out})
	h.mustFind("Train a quick model")
	h.click("Train a quick model")
	tj := h.u.TrainJob()
	if tj == nil {
		t.Fatal("no training started")
	}

	judge := evaltest.MNISTJudge(t, 150) // learns meanwhile

	deadline := time.Now().Add(20 * time.Minute)
	for tj.Status().Running {
		if time.Now().After(deadline) {
			t.Fatalf("training still runs after 20 minutes: %+v", tj.Status())
		}
		h.frame()
		time.Sleep(200 * time.Millisecond)
	}
	tj.Wait()
	h.frame()
	trained := time.Since(start)
	if st := tj.Status(); st.Err != nil || st.Cancelled {
		t.Fatalf("training ended with %+v", st)
	}
	// The model is in the folder the app lists, listed and selected.
	m := h.u.Selected()
	if m == nil || filepath.Dir(filepath.Dir(m.Path)) != models {
		t.Fatalf("after training the selected model is %v, want one in %s", m, models)
	}
	h.mustFind("quick/" + filepath.Base(m.Path[:len(m.Path)-len(".safetensors")]))

	// Five digits of each class, at the app's settings for this model: its
	// Guidance field shows the quick model's own default, 4.
	if g := h.u.guidance.Text(); g != "4" {
		t.Errorf("the Guidance field shows %q for the quick model, want its own default 4", g)
	}
	h.set(map[string]string{"Count": "5"})
	var want []int
	for k := range 10 {
		h.set(map[string]string{"Class": strconv.Itoa(k)})
		h.click("Generate")
		if st := h.waitJob(5 * time.Minute); st[len(st)-1].Err != nil {
			t.Fatalf("class %d: %v", k, st[len(st)-1].Err)
		}
		for range 5 {
			want = append(want, k)
		}
	}
	rs := h.u.Results()
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d", len(rs), len(want))
	}
	pix := make([]float32, 0, len(rs)*28*28)
	for i := range rs {
		r := rs[len(rs)-1-i] // oldest first, as asked
		if r.Class != want[i] || r.Path == "" {
			t.Fatalf("result %d: class %d, file %q", i, r.Class, r.Path)
		}
		pix = append(pix, images.ToFloats(r.Image, 1)...)
	}
	labels, acc := evaltest.ReadAs(t, judge, pix, want)
	t.Logf("trained in %s, all in %s; the judge reads %.0f%% of %d digits as the class asked", trained.Round(time.Second), time.Since(start).Round(time.Second), 100*acc, len(want))
	if acc < 0.8 {
		t.Errorf("the judge reads %.0f%% of the quick model's digits as the class asked, want at least 80%% (labels %v)", 100*acc, labels)
	}
}

// The quick model goes where the app looks: into the first --models
// folder, or runs/ by default; one trained elsewhere adds its folder to
// the list's.
func TestQuickModelGoesWhereTheAppLooks(t *testing.T) {
	for _, c := range []struct {
		cfg      Config
		out      string
		listsOut bool
	}{
		{Config{}, filepath.Join("runs", "quick"), true},
		{Config{Dirs: []string{"mine"}}, filepath.Join("mine", "quick"), true},
		{Config{Dirs: []string{"a", "b"}}, filepath.Join("a", "quick"), true},
		{Config{Dirs: []string{"a"}, TrainOut: filepath.Join("elsewhere", "q")}, filepath.Join("elsewhere", "q"), true},
	} {
		got := c.cfg.withDefaults()
		if got.TrainOut != c.out {
			t.Errorf("%v: the quick model goes to %s, want %s", c.cfg.Dirs, got.TrainOut, c.out)
		}
		listed := false
		for _, d := range got.Dirs {
			listed = listed || samePath(d, filepath.Dir(got.TrainOut))
		}
		if !listed {
			t.Errorf("%v: the list looks in %v, not in the quick model's %s", c.cfg.Dirs, got.Dirs, got.TrainOut)
		}
	}
}
