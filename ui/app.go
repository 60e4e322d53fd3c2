package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"genlab/images"
	"genlab/pipeline"
	"genlab/tasks"

	"gioui.org/font/gofont"
	"gioui.org/layout"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// Config is what the app starts from; zero fields take the defaults.
type Config struct {
	Dirs []string // folders of checkpoints and run folders (default: models, runs)
	Open string   // a checkpoint or a genlab PNG to open at start
	// OutDir is the outputs folder: every image made is saved on its own
	// in OutDir/<kind>/<date>/ (AUTOMATIC1111's habit), and the gallery
	// reloads them at start; Save writes copies to OutDir/saved (default
	// outputs).
	OutDir string
	// TrainOut is the run folder of the first-launch model (default
	// quick in the first of Dirs, so that the list finds it).
	TrainOut string
	// Load opens a checkpoint (default Load).
	Load func(path string) (*Model, error)
	// Tasks are the task panels' functions (default DefaultTasks()).
	Tasks *Tasks
	// Train trains the first-launch model (default QuickTrain for
	// QuickSteps steps).
	Train func(ctx context.Context, out string, r Reporter) (string, error)
	// Seed draws a random seed (default math/rand/v2's generator).
	Seed func() uint64
}

func (c Config) withDefaults() Config {
	if c.Dirs == nil {
		c.Dirs = []string{"models", "runs"}
	}
	if c.OutDir == "" {
		c.OutDir = "outputs"
	}
	if c.TrainOut == "" {
		first := c.Dirs[0]
		if len(c.Dirs) == 2 && c.Dirs[0] == "models" && c.Dirs[1] == "runs" {
			first = "runs" // where `genlab train` puts run folders
		}
		c.TrainOut = filepath.Join(first, "quick")
	}
	// The quick model is listed wherever it is trained.
	if parent := filepath.Dir(c.TrainOut); !slices.ContainsFunc(c.Dirs, func(d string) bool { return samePath(d, parent) }) {
		c.Dirs = append(slices.Clone(c.Dirs), parent)
	}
	if c.Load == nil {
		c.Load = Load
	}
	if c.Tasks == nil {
		t := DefaultTasks()
		c.Tasks = &t
	}
	if c.Train == nil {
		c.Train = func(ctx context.Context, out string, r Reporter) (string, error) {
			return QuickTrain(ctx, out, QuickSteps, r)
		}
	}
	if c.Seed == nil {
		// A fresh seed each time is the point: shown, and reusable.
		c.Seed = func() uint64 { return uint64(rand.Uint32()) }
	}
	return c
}

// samePath reports whether two paths name the same place, whether or not
// it exists yet.
func samePath(a, b string) bool {
	a, err1 := filepath.Abs(a)
	b, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && a == b
}

// tabState is what each tab keeps of its own: its source image (and the
// inpainting mask), its last result, its job, and its status line with
// the control an error is about.
type tabState struct {
	source     image.Image
	sourceName string
	mask       *Mask
	result     image.Image
	job        *Job
	jobTaken   bool
	status     string
	statusErr  bool
	// errField is the control an error is about (nil for none); the error
	// goes when the settings are right again.
	errField    any
	settingsErr bool
}

// UI is the app: its theme, its state and its widgets. Layout handles the
// frame's events and draws; the work runs in Jobs.
type UI struct {
	cfg        Config
	th         *material.Theme
	invalidate func()

	// models
	entries   []Entry
	entryBtns []widget.Clickable
	modelList widget.List
	selected  int // index in entries, -1 for none
	model     *Model
	path      widget.Editor
	openBtn   widget.Clickable
	browseBtn widget.Clickable
	// chooseFile is the desktop's file dialog (Run sets it; nil where
	// there is none, as in tests): it blocks until the user picks a file.
	chooseFile func(extensions ...string) (string, error)
	chosen     chan chosenFile // the dialog's answer, taken by the next frame
	refreshBtn widget.Clickable
	trainBtn   widget.Clickable
	train      *Job

	// panels
	tab     Tab
	tabBtns [numTabs]widget.Clickable
	ctlList widget.List

	// sampling
	seed, count, steps, guidance, prompt, temperature, eta widget.Editor
	classChoice                                            widget.Enum // anyClass or a class number
	randomSeed                                             widget.Bool // mirrors the seed field's -1
	reuseSeedBtn                                           widget.Clickable
	sampler                                                widget.Enum
	autoSampler                                            string // the sampler set by selecting a model, not by the user
	autoGuidance                                           string // the guidance so set ("" once the user's or a PNG's)
	autoTemperature                                        string // likewise the temperature (a flow's 0.7, a VAE's 1, a tuned checkpoint's)
	goBtn, cancelBtn                                       widget.Clickable
	lastSeed                                               uint64
	haveLastSeed                                           bool
	lastSeedText                                           string        // the last run's seeds as Reuse last types them
	subseed, subStrength                                   widget.Editor // the variation seed (-1: random) and its strength
	xy                                                     xyState
	boxes                                                  map[*widget.Editor]*editorBoxTag

	// each tab's own source, result, job and status
	tabs [numTabs]tabState

	// gallery
	results     []Result
	tileBtns    []widget.Clickable
	sel         int
	galleryList widget.List
	outDir      widget.Editor
	saveBtn     widget.Clickable
	saveAllBtn  widget.Clickable
	reuseBtn    widget.Clickable
	useBtn      widget.Clickable
	clearBtn    widget.Clickable
	undoBtn     widget.Clickable
	zoomBtn     widget.Clickable
	zoom        bool
	saveScale   widget.Enum // the factor Save enlarges by (nearest neighbour)
	cleared     []Result    // what Clear took away, until Undo or a new result
	infoPath    widget.Editor
	infoLoad    widget.Clickable
	info        *Result // the image the PNG info tab shows (nil: the gallery's)
	infoList    widget.List
	infoText    widget.Selectable
	player      player // the clip shown

	// fine-tunes of the selected model
	tunes    []tuneRow
	tuned    *Model // the selected model with the fine-tunes switched on
	tunedKey string // which model and fine-tunes tuned is
	// firstFromSel starts an image-to-video model's clips from the
	// gallery's selected image.
	firstFromSel widget.Bool

	// tasks
	srcPath     widget.Editor
	loadSrcBtn  widget.Clickable
	brush       widget.Float
	clearMask   widget.Clickable
	invertMask  widget.Clickable
	canvas      canvasState
	strength    widget.Float
	scale       widget.Enum
	stylePath   widget.Editor
	loadStyle   widget.Clickable
	styleImg    image.Image
	styleName   string
	styleSteps  widget.Editor
	taskBtn     widget.Clickable
	resultCache map[image.Image]paint.ImageOp
}

// New builds the app over cfg and scans its folders. invalidate asks the
// window for a new frame; it is called from any goroutine (nil: never).
func New(cfg Config, invalidate func()) *UI {
	cfg = cfg.withDefaults()
	th := material.NewTheme()
	th.Shaper = text.NewShaper(text.WithCollection(gofont.Collection()))
	th.TextSize = 14
	if invalidate == nil {
		invalidate = func() {}
	}
	u := &UI{cfg: cfg, th: th, invalidate: invalidate, selected: -1, sel: -1, resultCache: map[image.Image]paint.ImageOp{}, boxes: map[*widget.Editor]*editorBoxTag{}}
	u.modelList.Axis = layout.Vertical
	u.ctlList.Axis = layout.Vertical
	u.galleryList.Axis = layout.Vertical
	u.infoList.Axis = layout.Vertical
	for _, e := range []*widget.Editor{&u.path, &u.seed, &u.count, &u.steps, &u.guidance, &u.prompt, &u.temperature, &u.eta, &u.outDir, &u.srcPath, &u.stylePath, &u.styleSteps, &u.infoPath, &u.subseed, &u.subStrength, &u.xy.values[0], &u.xy.values[1]} {
		e.SingleLine = true
		e.Submit = true
	}
	u.setSettings(DefaultSettings())
	u.seed.SetText(RandomSeed)
	u.xy.init()
	u.autoSampler = u.sampler.Value
	u.autoGuidance = u.guidance.Text()
	u.autoTemperature = u.temperature.Text()
	u.outDir.SetText(filepath.Join(cfg.OutDir, "saved"))
	u.saveScale.Value = "1"
	u.loadHistory()
	u.styleSteps.SetText("100")
	u.brush.Value = 0.25
	u.strength.Value = 0.6
	u.scale.Value = "2"
	u.Refresh()
	if i := defaultEntry(u.entries); i >= 0 {
		u.selectEntry(i)
	}
	if cfg.Open != "" {
		u.path.SetText(cfg.Open)
		u.open(cfg.Open)
	}
	return u
}

// defaultEntry is the model selected at start: the latest diffusion
// checkpoint, the family that has every knob and every task, or else the
// last one listed.
func defaultEntry(es []Entry) int {
	best := -1
	for i, e := range es {
		if e.Family == "diffusion" && (e.Cond == "none" || e.Cond == "class" || e.Cond == "") && (best < 0 || e.Step >= es[best].Step) {
			best = i
		}
	}
	if best < 0 {
		best = len(es) - 1
	}
	return best
}

// Refresh scans the model folders again, keeping the selection.
func (u *UI) Refresh() {
	var keep string
	if u.selected >= 0 {
		keep = u.entries[u.selected].Path
	}
	found := Scan(u.cfg.Dirs...)
	// Files opened by hand stay listed.
	for _, e := range u.entries {
		if !slices.ContainsFunc(found, func(f Entry) bool { return f.Path == e.Path }) {
			if _, err := os.Stat(e.Path); err == nil {
				found = append(found, e)
			}
		}
	}
	u.entries = found
	u.entryBtns = make([]widget.Clickable, len(found))
	u.selected = slices.IndexFunc(found, func(e Entry) bool { return e.Path == keep })
	u.listTunes()
}

// Entries are the checkpoints the list shows.
func (u *UI) Entries() []Entry { return u.entries }

// Selected is the loaded model (nil for none).
func (u *UI) Selected() *Model { return u.model }

// Results are the gallery's images, newest first.
func (u *UI) Results() []Result { return u.results }

// Status is the tab's status line and whether it reports an error.
func (u *UI) Status() (string, bool) { return u.cur().status, u.cur().statusErr }

// Job is the tab's running or last generation or task job (nil for none).
func (u *UI) Job() *Job { return u.cur().job }

// cur is the state of the tab shown.
func (u *UI) cur() *tabState { return &u.tabs[u.tab] }

// TrainJob is the first-launch training job (nil for none).
func (u *UI) TrainJob() *Job { return u.train }

// Mask is the inpainting mask (nil until there is an image to paint on).
func (u *UI) Mask() *Mask { return u.tabs[TabInpaint].mask }

// Source is the input image of the tab shown.
func (u *UI) Source() image.Image { return u.cur().source }

// TaskResult is the last output of the tab shown.
func (u *UI) TaskResult() image.Image { return u.cur().result }

// CurrentSettings are the sampling panel's settings as typed.
func (u *UI) CurrentSettings() (Settings, error) { return u.readSettings() }

// SetTab shows a panel.
func (u *UI) SetTab(t Tab) { u.tab = t }

// Tab is the panel shown.
func (u *UI) Tab() Tab { return u.tab }

func (u *UI) say(format string, a ...any) { u.sayIn(u.tab, format, a...) }

func (u *UI) sayIn(t Tab, format string, a ...any) {
	st := &u.tabs[t]
	st.status, st.statusErr, st.errField, st.settingsErr = fmt.Sprintf(format, a...), false, nil, false
}

func (u *UI) fail(err error) { u.failIn(u.tab, err) }

func (u *UI) failIn(t Tab, err error) {
	st := &u.tabs[t]
	st.status, st.statusErr, st.errField, st.settingsErr = oneLine(err.Error()), true, nil, false
	var fe *fieldError
	if errors.As(err, &fe) {
		st.errField = fe.field
	}
}

// failSettings reports an error in the panel's settings: it stays until
// they are right again (recheckSettings).
func (u *UI) failSettings(err error) {
	u.fail(err)
	u.cur().settingsErr = true
}

// fieldError is an error in one control's value.
type fieldError struct {
	field any // the control: an editor, a slider, a choice
	msg   string
}

func (e *fieldError) Error() string { return e.msg }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// selectEntry loads entry i as the model.
func (u *UI) selectEntry(i int) {
	e := u.entries[i]
	m, err := u.cfg.Load(e.Path)
	if err != nil {
		u.fail(err)
		return
	}
	u.selected, u.model = i, m
	u.listTunes()
	if m.Sampler != "" && u.sampler.Value == u.autoSampler {
		u.sampler.Value, u.autoSampler = m.Sampler, m.Sampler
	}
	// Likewise its default guidance (pipeline.Knobs: 2 for classes, 3
	// for prompts, or the model's own), unless the user typed one.
	if m.Guidance && u.autoGuidance != "" && strings.TrimSpace(u.guidance.Text()) == u.autoGuidance {
		g := strconv.FormatFloat(m.Defaults.Guidance, 'g', -1, 64)
		u.guidance.SetText(g)
		u.autoGuidance = g
	}
	if m.Temperature && u.autoTemperature != "" && strings.TrimSpace(u.temperature.Text()) == u.autoTemperature {
		t := strconv.FormatFloat(m.Defaults.Temperature, 'g', -1, 64)
		u.temperature.SetText(t)
		u.autoTemperature = t
	}
	if s, err := u.readSettings(); m.Classes == 0 || (err == nil && s.Class >= m.Classes) {
		u.setClass(NoClass)
	} else if err == nil && s.Class == NoClass && !m.AnyClass {
		u.setClass(0)
	}
	if net := m.Diffusion; m.LowRes && net != nil && len(net.Config.Scales) > 0 {
		// A super-resolution model does one thing.
		u.scale.Value = strconv.Itoa(slices.Max(net.Config.Scales))
		u.tab = TabSuperRes
	}
	u.say("loaded %s (%s)", e.Name(), e.Summary())
}

// open opens a file by its extension: a checkpoint becomes the model, a
// PNG goes to the gallery and lends its settings to the panel.
func (u *UI) open(path string) {
	path = strings.TrimSpace(path)
	if path == "" {
		u.fail(errors.New("type the path of a .safetensors checkpoint or a .png image to open"))
		return
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg":
		u.openImage(path)
	default:
		e, err := ReadEntry(path)
		if err != nil {
			u.fail(err)
			return
		}
		i := slices.IndexFunc(u.entries, func(f Entry) bool { return tasks.SameFile(f.Path, path) })
		if i < 0 {
			u.entries = append(u.entries, e)
			u.entryBtns = append(u.entryBtns, widget.Clickable{})
			i = len(u.entries) - 1
		}
		u.selectEntry(i)
	}
}

// openImage adds a PNG to the gallery and, if genlab made it, reuses its
// settings and the model it names.
func (u *UI) openImage(path string) {
	img, err := images.Load(path)
	if err != nil {
		u.fail(err)
		return
	}
	u.setSource(img, filepath.Base(path))
	r, err := resultOf(path, img)
	u.addResults([]Result{r})
	if err != nil {
		u.fail(fmt.Errorf("%s: %w", path, err))
		return
	}
	if !r.HasParams() {
		u.say("opened %s (it has no genlab settings)", path)
		return
	}
	u.reuse(r)
}

// resultOf is a PNG file as a gallery result, with the settings its
// parameters chunk records (none for a plain PNG).
func resultOf(path string, img image.Image) (Result, error) {
	r := Result{Image: img, Class: NoClass, Source: path, Path: path}
	if frames, delay := loadClip(path); frames != nil {
		r.Frames, r.DelayMS, r.Image = frames, delay, frames[0]
	}
	text, err := images.ReadParameters(path)
	if err != nil || strings.TrimSpace(text) == "" {
		r.Task = "file"
		return r, nil
	}
	p, err := images.ParseParameters(text)
	r.Params, r.Seed = p, uint64(p.Seed)
	r.Task, _ = p.Lookup("Task")
	if _, _, ok := pipeline.XYAxes(p); ok {
		r.Task = "xy"
	}
	if r.Task == "" {
		r.Task = "txt2img"
		if r.IsClip() {
			r.Task = "txt2vid"
			if v, _ := p.Lookup("First frame"); v != "" {
				r.Task = "img2vid"
			}
		}
	}
	if v, ok := p.Lookup("Class"); ok {
		if k, err := strconv.Atoi(v); err == nil {
			r.Class = k
		}
	}
	return r, err
}

// reuse sets the panel to a result's settings and selects its model when
// the list has it.
func (u *UI) reuse(r Result) {
	cur, err := u.readSettings()
	if err != nil {
		cur = DefaultSettings()
	}
	s := SettingsFrom(r.Params, cur)
	var tags []pipeline.FineTuneTag
	s.Prompt, tags = pipeline.SplitFineTuneTags(s.Prompt)
	u.setSettings(s)
	u.autoSampler = "" // the PNG's sampler is kept when its model is selected
	u.autoGuidance, u.autoTemperature = "", ""
	u.tab = r.tab()
	switch u.tab {
	case TabEdit:
		if v, ok := r.Params.Lookup("Denoising strength"); ok {
			if f, err := strconv.ParseFloat(v, 32); err == nil && f >= 0 && f <= 1 {
				u.strength.Value = float32(f)
			}
		}
	case TabSuperRes:
		if v, ok := r.Params.Lookup("Scale"); ok {
			u.scale.Value = v
		}
	case TabStyle:
		if r.Params.Steps > 0 {
			u.styleSteps.SetText(strconv.Itoa(r.Params.Steps))
		}
	case TabXY:
		if x, y, ok := pipeline.XYAxes(r.Params); ok {
			u.xy.set(x, y)
		}
	}
	msg := fmt.Sprintf("reusing the settings of %s (seed %d)", r.Label(), s.Seed)
	if r.Params.Model != "" {
		if i := u.findModel(r.Params); i >= 0 {
			if u.selected != i {
				u.selectEntry(i)
			}
			msg += " with " + u.entries[i].Name()
			msg += u.reuseTunes(tags, r.Params)
		} else {
			msg += fmt.Sprintf("; its model %s is not in the list: open it", r.Params.Model)
		}
	}
	u.tab = r.tab() // selecting a super-resolution model shows its tab
	u.say("%s", msg)
}

// findModel is the entry a PNG's parameters name: by name, and by hash
// when several have the name.
func (u *UI) findModel(p images.Parameters) int {
	var byName []int
	for i, e := range u.entries {
		if strings.TrimSuffix(filepath.Base(e.Path), ".safetensors") == p.Model {
			byName = append(byName, i)
		}
	}
	if len(byName) == 1 || p.ModelHash == "" {
		if len(byName) > 0 {
			return byName[len(byName)-1]
		}
		return -1
	}
	for _, i := range byName {
		if h, err := images.ModelHash(u.entries[i].Path); err == nil && h == p.ModelHash {
			return i
		}
	}
	return byName[len(byName)-1]
}

// setSettings shows s in the panel.
func (u *UI) setSettings(s Settings) {
	u.seed.SetText(strconv.FormatUint(s.Seed, 10))
	u.count.SetText(strconv.Itoa(s.Count))
	u.steps.SetText(strconv.Itoa(s.Steps))
	u.guidance.SetText(strconv.FormatFloat(s.Guidance, 'g', -1, 64))
	u.eta.SetText(strconv.FormatFloat(s.Eta, 'g', -1, 64))
	u.temperature.SetText(strconv.FormatFloat(s.Temperature, 'g', -1, 64))
	u.setClass(s.Class)
	u.prompt.SetText(s.Prompt)
	u.sampler.Value = s.Sampler
	if len(s.Seeds) > 1 {
		u.seed.SetText(pipeline.SeedList(s.Seeds).String())
	}
	u.subseed.SetText(RandomSeed)
	u.subStrength.SetText(strconv.FormatFloat(s.SubseedStrength, 'g', -1, 64))
	if s.SubseedStrength != 0 {
		u.subseed.SetText(strconv.FormatUint(s.Subseed, 10))
	}
}

// setClass picks class k (NoClass: any) in the class choice.
func (u *UI) setClass(k int) {
	if k == NoClass {
		u.classChoice.Value = anyClass
	} else {
		u.classChoice.Value = strconv.Itoa(k)
	}
}

// anyClass is the class choice's value for no class in particular.
const anyClass = "any"

// RandomSeed is the seed field's value for a seed drawn afresh for each
// run, as in AUTOMATIC1111.
const RandomSeed = "-1"

// seedRandom reports whether the seed field asks for a random seed.
func (u *UI) seedRandom() bool { return strings.TrimSpace(u.seed.Text()) == RandomSeed }

// readSettings parses the panel's fields; a random seed reads as 0
// (seedRandom says so). An error names the control it is about.
func (u *UI) readSettings() (Settings, error) {
	var s Settings
	var err error
	txt := func(e *widget.Editor) string { return strings.TrimSpace(e.Text()) }
	bad := func(e *widget.Editor, name, want string) error {
		return &fieldError{field: e, msg: fmt.Sprintf("%s %q: %s", name, txt(e), want)}
	}
	seeds, err := pipeline.ParseSeeds(txt(&u.seed))
	switch n := seeds.Count(); {
	case err != nil || txt(&u.seed) == "":
		return s, bad(&u.seed, "seed", "want a whole number from 0, -1 for a random one, or a list such as 1,5,9 or 10-13")
	case n > 256:
		return s, bad(&u.seed, "seed", fmt.Sprintf("%d seeds: want at most 256 images", n))
	case n > 0 && u.tab != TabGenerate:
		return s, bad(&u.seed, "seed", fmt.Sprintf("a list of seeds makes one image each on Generate: %s takes one seed, or -1 for a random one", u.tab))
	case n > 0:
		s.Count = n
		if !seeds.Random() {
			s.Seeds, _ = seeds.Resolve(n, nil)
			s.Seed = s.Seeds[0]
		}
	case !seeds.Random():
		got, _ := seeds.Resolve(1, nil)
		s.Seed = got[0]
	}
	if u.tab != TabGenerate {
		s.Count = 1 // a task's image, an X/Y plot's cells
	} else if seeds.Count() == 0 {
		if s.Count, err = strconv.Atoi(txt(&u.count)); err != nil || s.Count < 1 || s.Count > 256 {
			return s, bad(&u.count, "count", "want a whole number from 1 to 256")
		}
	}
	if s.Steps, err = strconv.Atoi(txt(&u.steps)); err != nil || s.Steps < 1 {
		return s, bad(&u.steps, "steps", "want a whole number from 1")
	}
	if s.Guidance, err = strconv.ParseFloat(txt(&u.guidance), 64); err != nil || s.Guidance < 0 {
		return s, bad(&u.guidance, "guidance", "want a number from 0")
	}
	if s.Eta, err = strconv.ParseFloat(txt(&u.eta), 64); err != nil || s.Eta < 0 || s.Eta > 1 {
		return s, bad(&u.eta, "eta", "want a number from 0 to 1")
	}
	if s.Temperature, err = strconv.ParseFloat(txt(&u.temperature), 64); err != nil {
		return s, bad(&u.temperature, "temperature", "want a number")
	}
	s.Class = NoClass
	if k, err := strconv.Atoi(u.classChoice.Value); err == nil {
		s.Class = k
	}
	s.Prompt = strings.TrimSpace(u.prompt.Text())
	s.Sampler = u.sampler.Value
	if u.model == nil || u.model.Variation {
		if s.SubseedStrength, err = strconv.ParseFloat(txt(&u.subStrength), 64); err != nil || !(s.SubseedStrength >= 0 && s.SubseedStrength <= 1) {
			return s, bad(&u.subStrength, "variation strength", "want a number from 0 (none) to 1 (the variation seed's image)")
		}
		if !u.subseedRandom() {
			if s.Subseed, err = strconv.ParseUint(txt(&u.subseed), 10, 63); err != nil {
				return s, bad(&u.subseed, "variation seed", "want a whole number from 0, or -1 for a random one")
			}
		}
	}
	return s, nil
}

// subseedRandom reports whether the variation seed field asks for a
// random one.
func (u *UI) subseedRandom() bool { return strings.TrimSpace(u.subseed.Text()) == RandomSeed }

// checkSettings is readSettings and the model's own check of them, its
// error tied to the control it names.
func (u *UI) checkSettings(m *Model) (Settings, error) {
	s, err := u.readSettings()
	if err != nil || m == nil {
		return s, err
	}
	if u.tab == TabSuperRes {
		s.Class, s.Guidance = NoClass, 0 // not the super-resolution's knobs
	}
	if err := m.Check(s); err != nil {
		fields := map[string]any{"steps": &u.steps, "guidance": &u.guidance, "eta": &u.eta, "temperature": &u.temperature,
			"count": &u.count, "class": &u.classChoice, "this model draws": &u.classChoice, "prompt": &u.prompt,
			"variation seeds": &u.subseed, "variation seed strength": &u.subStrength}
		for prefix, f := range fields {
			if strings.HasPrefix(err.Error(), prefix) {
				return s, &fieldError{field: f, msg: err.Error()}
			}
		}
		return s, err
	}
	if u.tab == TabXY {
		if _, _, _, err := u.xyPlan(m, s, 0); err != nil {
			return s, err
		}
	}
	return s, nil
}

// recheckSettings clears a settings error once the settings are right.
func (u *UI) recheckSettings() {
	st := u.cur()
	if !st.statusErr || !st.settingsErr {
		return
	}
	m := u.model
	if g, err := u.generator(); err == nil {
		m = g // the fine-tunes' new words are words
	}
	if _, err := u.checkSettings(m); err == nil {
		st.status, st.statusErr, st.errField, st.settingsErr = "settings fixed", false, nil, false
	} else {
		u.failSettings(err)
	}
}

// startJob runs work as the tab's job, cancelling the one it runs.
func (u *UI) startJob(name string, target Tab, work func(ctx context.Context, r Reporter) ([]Result, error)) {
	st := &u.tabs[target]
	if st.job != nil && st.job.Status().Running {
		st.job.Cancel()
	}
	st.job = StartJob(name, u.invalidate, work)
	st.jobTaken = false
	u.sayIn(target, "%s…", name)
}

// drawSeed is the run's seed: the field's, or a fresh one when it asks
// for a random one (the field keeps -1; Reuse last brings the seed back).
func (u *UI) drawSeed(s *Settings) {
	u.lastSeedText = ""
	if seeds, err := pipeline.ParseSeeds(u.seed.Text()); err == nil && seeds.Random() {
		// Each -1 of a list is drawn too, as `genlab sample` draws them.
		got, err := seeds.Resolve(max(1, seeds.Count()), u.cfg.Seed)
		if err == nil && seeds.Count() > 0 {
			s.Seeds = got
			u.lastSeedText = pipeline.SeedList(got).String()
		}
		if err == nil {
			s.Seed = got[0]
		}
	} else if s.Seeds != nil {
		u.lastSeedText = pipeline.SeedList(s.Seeds).String()
	}
	if s.SubseedStrength != 0 && u.subseedRandom() {
		s.Subseed = u.cfg.Seed()
	}
	u.lastSeed, u.haveLastSeed = s.Seed, true
}

// reuseLastSeed types the last run's seed (or seeds) into the seed field.
func (u *UI) reuseLastSeed() {
	if u.lastSeedText != "" {
		u.seed.SetText(u.lastSeedText)
	} else {
		u.seed.SetText(fmt.Sprint(u.lastSeed))
	}
}

// Generate starts drawing images with the sampling panel's settings.
func (u *UI) Generate() {
	if u.model == nil {
		u.fail(errors.New("pick a model in the list first"))
		return
	}
	m, err := u.generator()
	if err != nil {
		u.fail(err)
		return
	}
	if m.LowRes {
		u.fail(fmt.Errorf("%s is a super-resolution model: use the Super-res tab", m.Name()))
		return
	}
	s, err := u.checkSettings(m)
	if err != nil {
		u.failSettings(err)
		return
	}
	if m.FirstFrame && u.firstFromSel.Value {
		if s.First, err = u.firstFrame(m); err != nil {
			u.fail(err)
			return
		}
	}
	u.drawSeed(&s)
	seeds := fmt.Sprintf("seed %d", s.Seed)
	if s.Seeds != nil {
		seeds = "seeds " + pipeline.SeedList(s.Seeds).String()
	}
	u.startJob(fmt.Sprintf("generating %d with %s (%s)", s.Count, m.Name(), seeds), TabGenerate, func(ctx context.Context, r Reporter) ([]Result, error) {
		return m.Generate(ctx, s, throttle(r))
	})
}

// throttle passes every step's count on but a preview only every 100 ms
// (and the last), so drawing the preview never holds the sampler back.
func throttle(r Reporter) func(Progress) {
	var last time.Time
	return func(p Progress) {
		if p.Preview != nil && p.Done < p.Total && time.Since(last) < 100*time.Millisecond {
			p.Preview = nil
		}
		if p.Preview != nil {
			last = time.Now()
		}
		r.Report(p)
	}
}

// Cancel stops the tab's running job.
func (u *UI) Cancel() {
	if j := u.cur().job; j != nil && j.Status().Running {
		j.Cancel()
		u.say("cancelled")
	}
}

// cancelAll stops every tab's job (the window is closing).
func (u *UI) cancelAll() {
	for i := range u.tabs {
		if j := u.tabs[i].job; j != nil {
			j.Cancel()
		}
	}
}

// takeJobs bring finished jobs' results in, once each: into the gallery
// and its outputs folder, and to the tab that ran them.
func (u *UI) takeJobs() {
	for t := range u.tabs {
		st := &u.tabs[t]
		if st.job == nil || st.jobTaken {
			continue
		}
		js := st.job.Status()
		if js.Running {
			continue
		}
		st.jobTaken = true
		switch {
		case js.Cancelled:
			u.sayIn(Tab(t), "cancelled %s after %d of %d steps", js.Name, js.Done, js.Total)
		case js.Err != nil:
			u.failIn(Tab(t), js.Err)
		default:
			rs := slices.Clone(js.Results)
			dir, err := u.keep(rs)
			u.addResults(rs)
			if Tab(t) != TabGenerate && len(rs) > 0 {
				st.result = rs[0].Image
			}
			if err != nil {
				u.failIn(Tab(t), fmt.Errorf("made %d image(s) but could not save them: %w", len(rs), err))
			} else {
				u.sayIn(Tab(t), "done: %d image(s) in %s, saved in %s", len(rs), js.Elapsed.Round(10*time.Millisecond), dir)
			}
		}
	}
}

// addResults puts results at the top of the gallery and selects the
// first.
func (u *UI) addResults(rs []Result) {
	if len(rs) == 0 {
		return
	}
	u.results = append(slices.Clone(rs), u.results...)
	u.tileBtns = make([]widget.Clickable, len(u.results))
	u.sel = 0
	u.cleared = nil
}

// setSource makes img the input of the tab shown (of Inpaint when that
// is Generate, which takes none); the mask starts anew at its size.
func (u *UI) setSource(img image.Image, name string) {
	t := u.tab
	if t == TabGenerate || t == TabXY || t == TabInfo {
		t = TabInpaint
	}
	st := &u.tabs[t]
	st.source, st.sourceName = img, name
	if t == TabInpaint {
		b := img.Bounds()
		st.mask = NewMask(b.Dx(), b.Dy())
	}
}

// StartTraining trains the first-launch model in the background.
func (u *UI) StartTraining() {
	if u.train != nil && u.train.Status().Running {
		return
	}
	out, train := u.cfg.TrainOut, u.cfg.Train
	u.train = StartJob("training a quick model", u.invalidate, func(ctx context.Context, r Reporter) ([]Result, error) {
		ckpt, err := train(ctx, out, r)
		if err != nil {
			return nil, err
		}
		r.Say(ckpt)
		return nil, nil
	})
	u.say("training a tiny diffusion model in %s…", out)
}

// takeTraining rescans when the training job has ended well.
func (u *UI) takeTraining() {
	if u.train == nil {
		return
	}
	st := u.train.Status()
	if st.Running {
		return
	}
	u.train = nil
	switch {
	case st.Cancelled:
		u.say("training cancelled")
	case st.Err != nil:
		u.fail(st.Err)
	default:
		u.Refresh()
		if i := slices.IndexFunc(u.entries, func(e Entry) bool { return tasks.SameFile(e.Path, st.Note) }); i >= 0 {
			u.selectEntry(i)
		} else if len(u.entries) > 0 {
			u.selectEntry(len(u.entries) - 1)
		}
		u.say("trained %s in %s", st.Note, st.Elapsed.Round(time.Second))
	}
}
