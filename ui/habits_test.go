package ui

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"genlab/gan"
	"genlab/images"
	"genlab/pipeline/pipelinetest"
)

// readPNG is a saved result's file: its image and parameters.
func readPNG(t *testing.T, path string) (image.Image, images.Parameters) {
	t.Helper()
	img, err := images.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := images.ReadParameters(path)
	if err != nil {
		t.Fatal(err)
	}
	q, err := images.ParseParameters(txt)
	if err != nil {
		t.Fatal(err)
	}
	return img, q
}

// single is the image m draws alone with these settings.
func single(t *testing.T, m *Model, s Settings) image.Image {
	t.Helper()
	s.Count, s.Sampler = 1, "ddim"
	rs, err := m.Generate(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs[0].Image
}

// A list of seeds in the seed field makes one image per seed, each the
// image of its seed alone, recorded in its PNG; a -1 in the list is drawn
// and Reuse last brings the list drawn back.
func TestSeedListMakesOneImagePerSeed(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.set(map[string]string{"Steps": "3", "Class": "2"})
	h.set(map[string]string{"Seed": "3,7,10-11"})
	h.mustFind("Count: 4, one image per seed of the list")
	h.click("Generate")
	if st := h.waitJob(time.Minute); st[len(st)-1].Err != nil {
		t.Fatal(st[len(st)-1].Err)
	}
	rs := h.u.Results()
	want := []uint64{3, 7, 10, 11}
	if len(rs) != len(want) {
		t.Fatalf("%d images for 4 seeds", len(rs))
	}
	m := h.u.Selected()
	for i, seed := range want {
		img, q := readPNG(t, rs[i].Path)
		if rs[i].Seed != seed || q.Seed != int64(seed) {
			t.Errorf("image %d: seed %d, its PNG records %d, want %d", i, rs[i].Seed, q.Seed, seed)
		}
		if !sameImage(img, single(t, m, Settings{Seed: seed, Steps: 3, Guidance: 2, Class: 2})) {
			t.Errorf("image %d is not seed %d's image", i, seed)
		}
	}
	h.set(map[string]string{"Seed": "-1,5"})
	h.click("Generate")
	h.waitJob(time.Minute)
	rs = h.u.Results()
	if rs[0].Seed != h.u.lastSeed || rs[0].Seed == 5 || rs[1].Seed != 5 || len(rs) != 6 {
		t.Fatalf("seeds -1,5 gave %d and %d (drawn: %d), %d images in all", rs[0].Seed, rs[1].Seed, h.u.lastSeed, len(rs))
	}
	h.click("Reuse last")
	if got := h.u.seed.Text(); got != fmt.Sprintf("%d,5", rs[0].Seed) {
		t.Errorf("Reuse last typed %q", got)
	}
	// A task takes one seed: the list is an error of the seed field.
	h.clickTab(TabEdit)
	h.u.setSource(rs[0].Image, "drawn")
	h.click("Edit")
	if msg, isErr := h.u.Status(); !isErr || h.u.cur().errField != &h.u.seed {
		t.Errorf("a seed list on Edit: %q, error %v, field marked %v", msg, isErr, h.u.cur().errField == &h.u.seed)
	}
}

// Variation seeds on Generate: strength 0 draws the seed's own image,
// strength 1 (DDIM, η 0) the variation seed's, a strength between another
// image recorded in its PNG. A model that takes none has no such controls.
func TestVariationSeedControls(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.set(map[string]string{"Seed": "4", "Count": "1", "Steps": "3", "Class": "1"})
	variation := func(seed, strength string) Result {
		t.Helper()
		h.typeInto(&h.u.subseed, center(h.editorAfter("Variation seed")), seed)
		h.typeInto(&h.u.subStrength, center(h.editorAfter("Variation strength")), strength)
		h.click("Generate")
		if st := h.waitJob(time.Minute); st[len(st)-1].Err != nil {
			t.Fatal(st[len(st)-1].Err)
		}
		return h.u.Results()[0]
	}
	m := h.u.Selected()
	base := single(t, m, Settings{Seed: 4, Steps: 3, Guidance: 2, Class: 1})
	other := single(t, m, Settings{Seed: 9, Steps: 3, Guidance: 2, Class: 1})
	if r := variation("9", "0"); !sameImage(r.Image, base) || r.Params.VariationStrength != 0 {
		t.Errorf("strength 0: not the seed's image, or a variation recorded (%v)", r.Params)
	}
	if r := variation("9", "1"); !sameImage(r.Image, other) || sameImage(r.Image, base) {
		t.Error("strength 1: not the variation seed's image")
	}
	r := variation("9", "0.3")
	_, q := readPNG(t, r.Path)
	if sameImage(r.Image, base) || sameImage(r.Image, other) || q.VariationSeed != 9 || q.VariationStrength != 0.3 {
		t.Errorf("strength 0.3: the seed's or the variation seed's image, or its PNG records %d at %g", q.VariationSeed, q.VariationStrength)
	}
	if s := SettingsFrom(q, DefaultSettings()); s.Subseed != 9 || s.SubseedStrength != 0.3 {
		t.Errorf("the PNG's settings read back as variation seed %d at %g", s.Subseed, s.SubseedStrength)
	}
	h.typeInto(&h.u.subStrength, center(h.editorAfter("Variation strength")), "2")
	h.click("Generate")
	if _, isErr := h.u.Status(); !isErr || h.u.cur().errField != &h.u.subStrength {
		t.Error("a strength of 2 is not an error of its field")
	}

	// A class-conditional GAN takes no variation seed: no controls, here
	// or as an X/Y plot's axis.
	h.u.open(pipelinetest.Tiny(t, filepath.Join(dir, "gan"), "ckpt-000001.safetensors", pipelinetest.Kind{Family: gan.Family, Cond: "class"}))
	h.frame()
	if h.u.Selected().Family != gan.Family {
		t.Fatalf("selected %s", h.u.Selected().Family)
	}
	for _, tab := range []Tab{TabGenerate, TabXY} {
		h.clickTab(tab)
		h.mustFind("Seed")
		for _, name := range []string{"Variation seed", "Variation strength", "var. seed", "var. strength", "steps"} {
			if _, ok := h.find(name); ok {
				t.Errorf("%s of a GAN shows %q", tab, name)
			}
		}
	}
	h.mustFind("class") // a class-conditional GAN's one axis besides the seed
	h.clickTab(TabGenerate)
	h.click("Generate")
	if st := h.waitJob(time.Minute); st[len(st)-1].Err != nil {
		t.Errorf("a GAN with a variation strength typed for another model: %v", st[len(st)-1].Err)
	}
}

// An X/Y plot of steps × seed is one PNG: a labelled grid whose cells are
// the images each pair of values draws alone, saved with genlab xy's
// parameters, its progress the steps of all its cells; Reuse settings
// brings its axes back.
func TestXYPlotIsOneGridOfTheSingleImages(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	h := newHarness(t, Config{Dirs: []string{dir}})
	h.size = image.Pt(1280, 1200) // the whole panel on screen
	h.frame()
	h.clickTab(TabXY)
	h.set(map[string]string{"Class": "4"})
	pick := func(axis int, knob string) {
		t.Helper()
		all := h.findAll(knob) // each axis's choice, then their labels
		if len(all) < 2 {
			t.Fatalf("%d choices %q, want one per axis", len(all), knob)
		}
		h.clickAt(center(all[axis]))
		h.frame()
		if h.u.xy.knob[axis].Value != knob {
			t.Fatalf("axis %d: clicked %s, it varies %s", axis, knob, h.u.xy.knob[axis].Value)
		}
	}
	pick(1, "seed")
	if got := h.u.xy.values[1].Text(); got != "1-4" {
		t.Errorf("picking seed suggests %q", got)
	}
	pick(0, "steps")
	h.typeInto(&h.u.xy.values[0], center(h.editorAfter("X values")), "2,5000")
	h.click("Run X/Y plot")
	if msg, isErr := h.u.Status(); !isErr || h.u.cur().errField != &h.u.xy.values[0] || h.u.Job() != nil {
		t.Errorf("steps 5000: status %q, error %v, X values marked %v", msg, isErr, h.u.cur().errField == &h.u.xy.values[0])
	}
	h.typeInto(&h.u.xy.values[0], center(h.editorAfter("X values")), "2,4")
	if _, isErr := h.u.Status(); isErr || h.u.cur().errField != nil {
		t.Error("the X values' error stays once they are right")
	}
	h.typeInto(&h.u.xy.values[1], center(h.editorAfter("Y values")), "5,6")
	h.click("Run X/Y plot")
	seen := h.waitJob(time.Minute)
	if st := seen[len(seen)-1]; st.Err != nil || st.Cancelled || st.Total != 12 {
		t.Fatalf("the plot ended with %+v, want 2×(2+4) steps", st)
	}
	rs := h.u.Results()
	if len(rs) != 1 || rs[0].Task != "xy" || h.u.TaskResult() != rs[0].Image {
		t.Fatalf("%d results, the first a %q; the tab shows it: %v", len(rs), rs[0].Task, h.u.TaskResult() == rs[0].Image)
	}
	if !strings.Contains(filepath.ToSlash(rs[0].Path), "/txt2img-grids/") {
		t.Errorf("the plot is saved as %s", rs[0].Path)
	}
	img, q := readPNG(t, rs[0].Path)
	for k, v := range map[string]string{"Script": "X/Y plot", "X Type": "Steps", "X Values": "2,4", "Y Type": "Seed", "Y Values": "5,6", "Upscale": "4x nearest", "Class": "4"} {
		if got, _ := q.Lookup(k); got != v {
			t.Errorf("the plot's %s is %q, want %q", k, got, v)
		}
	}
	if q.Seed != 5 || q.Steps != 2 || q.CFGScale != 2 {
		t.Errorf("the plot's parameters are not its first cell's: %v", q)
	}
	m := h.u.Selected()
	var cells []image.Image
	for _, seed := range []uint64{5, 6} {
		for _, steps := range []int{2, 4} {
			cells = append(cells, images.Upscale(single(t, m, Settings{Seed: seed, Steps: steps, Guidance: 2, Class: 4}), XYUpscale))
		}
	}
	if b := img.Bounds(); b.Dx() < 2*28*XYUpscale || b.Dy() < 2*28*XYUpscale || b.Dx() > 2*28*XYUpscale+200 {
		t.Errorf("a 2×2 plot of 28 px images at ×%d is %v", XYUpscale, b)
	}
	if !sameImage(img, images.LabeledGrid(cells, []string{"steps=2", "steps=4"}, []string{"seed=5", "seed=6"})) {
		t.Error("the plot's cells are not the images drawn alone")
	}
	// Cancel stops a plot as it stops any job, and leaves no grid.
	h.typeInto(&h.u.xy.values[0], center(h.editorAfter("X values")), "1000")
	h.click("Run X/Y plot")
	j := h.u.Job()
	for deadline := time.Now().Add(time.Minute); j.Status().Done < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) || !j.Status().Running {
			t.Fatalf("no progress: %+v", j.Status())
		}
		h.frame()
	}
	h.click("Cancel")
	j.Wait()
	h.frame()
	if st := j.Status(); !st.Cancelled || st.Total != 2000 || len(h.u.Results()) != 1 {
		t.Errorf("after Cancel: %+v, %d results", st, len(h.u.Results()))
	}
	h.clickTab(TabGenerate)
	h.u.reuse(rs[0])
	if h.u.Tab() != TabXY || h.u.xy.knob[0].Value != "steps" || h.u.xy.values[1].Text() != "5,6" || !slices.Contains(h.u.Selected().Axes, "subseed") {
		t.Errorf("Reuse settings of the plot: tab %s, X %s, Y values %q", h.u.Tab(), h.u.xy.knob[0].Value, h.u.xy.values[1].Text())
	}
}
