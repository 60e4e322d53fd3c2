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
	Dirs     []string // folders of checkpoints and run folders (default: models, runs)
	Open     string   // a checkpoint or a genlab PNG to open at start
	OutDir   string   // where Save writes PNGs (default out/ui)
	TrainOut string   // the run folder of the first-launch model (default runs/quick)
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
		c.OutDir = filepath.Join("out", "ui")
	}
	if c.TrainOut == "" {
		c.TrainOut = filepath.Join("runs", "quick")
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

// UI is the app: its theme, its state and its widgets. Layout handles the
// frame's events and draws; the work runs in Jobs.
type UI struct {
	cfg        Config
	th         *material.Theme
	invalidate func()

	// models
	entries    []Entry
	entryBtns  []widget.Clickable
	modelList  widget.List
	selected   int // index in entries, -1 for none
	model      *Model
	path       widget.Editor
	openBtn    widget.Clickable
	refreshBtn widget.Clickable
	trainBtn   widget.Clickable
	train      *Job

	// panels
	tab     Tab
	tabBtns [numTabs]widget.Clickable
	ctlList widget.List

	// sampling
	seed, count, steps, guidance, class, prompt, temperature, eta widget.Editor
	randomSeed                                                    widget.Bool
	reuseSeedBtn                                                  widget.Clickable
	sampler                                                       widget.Enum
	autoSampler                                                   string // the sampler set by selecting a model, not by the user
	autoGuidance                                                  string // the guidance so set ("" once the user's or a PNG's)
	goBtn, cancelBtn                                              widget.Clickable
	lastSeed                                                      uint64
	haveLastSeed                                                  bool

	// the running job and whether its end was taken in
	job       *Job
	jobTaken  bool
	jobTarget Tab

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

	// tasks
	source      image.Image
	sourceName  string
	srcPath     widget.Editor
	loadSrcBtn  widget.Clickable
	mask        *Mask
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
	taskResult  image.Image
	taskBtn     widget.Clickable
	resultCache map[image.Image]paint.ImageOp

	status    string
	statusErr bool
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
	u := &UI{cfg: cfg, th: th, invalidate: invalidate, selected: -1, sel: -1, resultCache: map[image.Image]paint.ImageOp{}}
	u.modelList.Axis = layout.Vertical
	u.ctlList.Axis = layout.Vertical
	u.galleryList.Axis = layout.Vertical
	for _, e := range []*widget.Editor{&u.path, &u.seed, &u.count, &u.steps, &u.guidance, &u.class, &u.temperature, &u.eta, &u.outDir, &u.srcPath, &u.stylePath, &u.styleSteps} {
		e.SingleLine = true
		e.Submit = true
	}
	u.prompt.SingleLine = true
	u.randomSeed.Value = true
	u.setSettings(DefaultSettings())
	u.autoSampler = u.sampler.Value
	u.autoGuidance = u.guidance.Text()
	u.outDir.SetText(cfg.OutDir)
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
}

// Entries are the checkpoints the list shows.
func (u *UI) Entries() []Entry { return u.entries }

// Selected is the loaded model (nil for none).
func (u *UI) Selected() *Model { return u.model }

// Results are the gallery's images, newest first.
func (u *UI) Results() []Result { return u.results }

// Status is the status line and whether it reports an error.
func (u *UI) Status() (string, bool) { return u.status, u.statusErr }

// Job is the running or last generation or task job (nil for none).
func (u *UI) Job() *Job { return u.job }

// TrainJob is the first-launch training job (nil for none).
func (u *UI) TrainJob() *Job { return u.train }

// Mask is the inpainting mask (nil until there is an image to paint on).
func (u *UI) Mask() *Mask { return u.mask }

// Source is the task panels' input image.
func (u *UI) Source() image.Image { return u.source }

// TaskResult is the last task's output.
func (u *UI) TaskResult() image.Image { return u.taskResult }

// CurrentSettings are the sampling panel's settings as typed.
func (u *UI) CurrentSettings() (Settings, error) { return u.readSettings() }

// SetTab shows a panel.
func (u *UI) SetTab(t Tab) { u.tab = t }

// Tab is the panel shown.
func (u *UI) Tab() Tab { return u.tab }

func (u *UI) say(format string, a ...any) {
	u.status, u.statusErr = fmt.Sprintf(format, a...), false
}

func (u *UI) fail(err error) {
	u.status, u.statusErr = oneLine(err.Error()), true
}

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
	if m.Sampler != "" && u.sampler.Value == u.autoSampler {
		u.sampler.Value, u.autoSampler = m.Sampler, m.Sampler
	}
	// Likewise its default guidance (pipeline.Knobs: 2 for classes, 3
	// for prompts), unless the user typed one.
	if m.Guidance && u.autoGuidance != "" && strings.TrimSpace(u.guidance.Text()) == u.autoGuidance {
		g := strconv.FormatFloat(m.Defaults.Guidance, 'g', -1, 64)
		u.guidance.SetText(g)
		u.autoGuidance = g
	}
	if m.Classes == 0 {
		u.class.SetText("none")
	} else if s, err := u.readSettings(); err == nil && s.Class >= m.Classes {
		u.class.SetText("none")
	}
	if net := m.Diffusion; net != nil && net.Config.Cond == "lowres" && len(net.Config.Scales) > 0 {
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
	text, err := images.ReadParameters(path)
	if err != nil || strings.TrimSpace(text) == "" {
		u.addResults([]Result{{Image: img, Class: NoClass, Source: path}})
		u.say("opened %s (it has no genlab settings)", path)
		return
	}
	p, err := images.ParseParameters(text)
	r := Result{Image: img, Params: p, Seed: uint64(p.Seed), Class: NoClass, Source: path}
	if v, ok := p.Lookup("Class"); ok {
		if k, err := strconv.Atoi(v); err == nil {
			r.Class = k
		}
	}
	u.addResults([]Result{r})
	if err != nil {
		u.fail(fmt.Errorf("%s: %w", path, err))
		return
	}
	u.reuse(r)
}

// reuse sets the panel to a result's settings and selects its model when
// the list has it.
func (u *UI) reuse(r Result) {
	cur, err := u.readSettings()
	if err != nil {
		cur = DefaultSettings()
	}
	s := SettingsFrom(r.Params, cur)
	u.setSettings(s)
	u.autoSampler = "" // the PNG's sampler is kept when its model is selected
	u.autoGuidance = ""
	u.randomSeed.Value = false
	msg := fmt.Sprintf("reusing the settings of %s (seed %d)", r.Source, s.Seed)
	if r.Params.Model != "" {
		if i := u.findModel(r.Params); i >= 0 {
			if u.selected != i {
				u.selectEntry(i)
			}
			msg += " with " + u.entries[i].Name()
		} else {
			msg += fmt.Sprintf("; its model %s is not in the list: open it", r.Params.Model)
		}
	}
	u.tab = TabGenerate
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
	if s.Class == NoClass {
		u.class.SetText("none")
	} else {
		u.class.SetText(strconv.Itoa(s.Class))
	}
	u.prompt.SetText(s.Prompt)
	u.sampler.Value = s.Sampler
}

// readSettings parses the panel's fields.
func (u *UI) readSettings() (Settings, error) {
	var s Settings
	var err error
	field := func(name, v string) string { return fmt.Sprintf("%s %q", name, v) }
	txt := func(e *widget.Editor) string { return strings.TrimSpace(e.Text()) }
	if s.Seed, err = strconv.ParseUint(txt(&u.seed), 10, 63); err != nil {
		return s, fmt.Errorf("%s: want a whole number from 0", field("seed", txt(&u.seed)))
	}
	if s.Count, err = strconv.Atoi(txt(&u.count)); err != nil {
		return s, fmt.Errorf("%s: want a whole number", field("count", txt(&u.count)))
	}
	if s.Steps, err = strconv.Atoi(txt(&u.steps)); err != nil {
		return s, fmt.Errorf("%s: want a whole number", field("steps", txt(&u.steps)))
	}
	if s.Guidance, err = strconv.ParseFloat(txt(&u.guidance), 64); err != nil {
		return s, fmt.Errorf("%s: want a number", field("guidance", txt(&u.guidance)))
	}
	if s.Eta, err = strconv.ParseFloat(txt(&u.eta), 64); err != nil || s.Eta < 0 || s.Eta > 1 {
		return s, fmt.Errorf("%s: want a number from 0 to 1", field("eta", txt(&u.eta)))
	}
	if s.Temperature, err = strconv.ParseFloat(txt(&u.temperature), 64); err != nil {
		return s, fmt.Errorf("%s: want a number", field("temperature", txt(&u.temperature)))
	}
	switch c := strings.ToLower(txt(&u.class)); c {
	case "", "none", "any":
		s.Class = NoClass
	default:
		if s.Class, err = strconv.Atoi(c); err != nil || s.Class < 0 {
			return s, fmt.Errorf("%s: want a class number or none", field("class", c))
		}
	}
	s.Prompt = strings.TrimSpace(u.prompt.Text())
	s.Sampler = u.sampler.Value
	return s, nil
}

// startJob runs work as the app's job, cancelling the one running.
func (u *UI) startJob(name string, target Tab, work func(ctx context.Context, r Reporter) ([]Result, error)) {
	if u.job != nil && u.job.Status().Running {
		u.job.Cancel()
	}
	u.job = StartJob(name, u.invalidate, work)
	u.jobTaken, u.jobTarget = false, target
	u.say("%s…", name)
}

// Generate starts drawing images with the sampling panel's settings.
func (u *UI) Generate() {
	if u.model == nil {
		u.fail(errors.New("pick a model in the list first"))
		return
	}
	s, err := u.readSettings()
	if err != nil {
		u.fail(err)
		return
	}
	if u.randomSeed.Value {
		s.Seed = u.cfg.Seed()
		u.seed.SetText(strconv.FormatUint(s.Seed, 10))
	}
	m := u.model
	if err := m.Check(s); err != nil {
		u.fail(err)
		return
	}
	u.lastSeed, u.haveLastSeed = s.Seed, true
	u.startJob(fmt.Sprintf("generating %d with %s", s.Count, m.Name()), TabGenerate, func(ctx context.Context, r Reporter) ([]Result, error) {
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

// Cancel stops the running job.
func (u *UI) Cancel() {
	if u.job != nil && u.job.Status().Running {
		u.job.Cancel()
		u.say("cancelled")
	}
}

// takeJob brings a finished job's results in, once.
func (u *UI) takeJob() {
	if u.job == nil || u.jobTaken {
		return
	}
	st := u.job.Status()
	if st.Running {
		return
	}
	u.jobTaken = true
	switch {
	case st.Cancelled:
		u.say("cancelled %s after %d of %d steps", st.Name, st.Done, st.Total)
	case st.Err != nil:
		u.fail(st.Err)
	default:
		u.addResults(st.Results)
		if u.jobTarget != TabGenerate && len(st.Results) > 0 {
			u.taskResult = st.Results[0].Image
		}
		u.say("done: %d image(s) in %s", len(st.Results), st.Elapsed.Round(10*time.Millisecond))
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
}

// Save writes gallery result i to the output folder as a PNG with its
// parameters chunk and returns its path.
func (u *UI) Save(i int) (string, error) {
	if i < 0 || i >= len(u.results) {
		return "", errors.New("select an image in the gallery to save")
	}
	dir := strings.TrimSpace(u.outDir.Text())
	if dir == "" {
		return "", errors.New("type the folder to save in")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	r := u.results[i]
	path := filepath.Join(dir, images.SampleName(nextIndex(dir), int64(r.Seed), r.Class))
	params := ""
	if r.Params.Family != "" || r.Params.Model != "" || r.Params.Prompt != "" {
		params = r.Params.String()
	}
	if err := images.Save(path, r.Image, params); err != nil {
		return "", err
	}
	return path, nil
}

// nextIndex is one past the highest NNNNN- index of the PNGs in dir.
func nextIndex(dir string) int {
	names, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	next := 0
	for _, n := range names {
		head, _, ok := strings.Cut(filepath.Base(n), "-")
		if v, err := strconv.Atoi(head); ok && err == nil && v >= next {
			next = v + 1
		}
	}
	return next
}

// SaveAll writes every gallery image, oldest first.
func (u *UI) SaveAll() ([]string, error) {
	var paths []string
	for i := len(u.results) - 1; i >= 0; i-- {
		p, err := u.Save(i)
		if err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// setSource makes img the task panels' input; the mask starts anew at its
// size.
func (u *UI) setSource(img image.Image, name string) {
	u.source, u.sourceName = img, name
	b := img.Bounds()
	u.mask = NewMask(b.Dx(), b.Dy())
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
