package tasks

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"genlab/checkpoint"
	"genlab/datasets"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/finetune"
	"genlab/train"

	"github.com/disintegration/imaging"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The fine-tuning comparison: every method (finetune.Methods) taught the
// new concepts (purple, star) from the shapes "new" split on one base
// model, with one steps budget and one seed, then judged by an attribute
// classifier that knows the new concepts: how often the new word is drawn
// (in pairs the fine-tune saw and in held-out pairs), and how much of the
// base's own accuracy is kept.

// FineTuneEvalOptions configure EvalFineTunes; zero fields take defaults.
type FineTuneEvalOptions struct {
	Base, Judge, Out string   // base checkpoint, judge (with the new concepts), run folder
	Methods          []string // default finetune.Methods
	Steps            int      // per method (300)
	N                int      // prompts per setting (32)
	Batch            int      // sampling batch (16)
	Guidance         float64  // 3
	Sampler          string   // ddpm
	Seed             uint64
	Grid             int // images per progress grid of a fine-tuning run (16)
	// Prior is every method's number of prior images (prior
	// preservation on prompts of the base's shapes; 0: none), taken from
	// the shapes train split when PriorData is set, else drawn by the
	// base; TrainBatch is every method's fine-tuning batch (0: the
	// method's default).
	Prior, TrainBatch int
	PriorData         bool
	// LoRALR and LoRATargets change LoRA's recipe (0, nil: its defaults).
	LoRALR      float64
	LoRATargets []string
	Log         func(format string, args ...any)
}

// FineTuneSettings are the prompt settings of the comparison, in table
// order: the new shape and colour in pairs the fine-tune saw and in
// held-out ones (datasets.ShapesNewHeldOut), and the base's own prompts.
var FineTuneSettings = []string{"star, seen pairs", "star, held-out pairs", "purple, seen pairs", "purple, held-out pairs", "base prompts"}

// FineTuneRow is one method's result (Method "base" is the base model).
type FineTuneRow struct {
	Method       string
	Params       int // trained
	BaseParams   int
	FileBytes    int64
	TrainSeconds float64
	// Acc holds per FineTuneSettings entry: the judge's share of images
	// showing the new word's attribute (the shape for star, the colour
	// for purple), and for the base prompts all four attributes right;
	// NaN where the model cannot read the prompt.
	Acc []float64
	// BaseEach is the judge's accuracy per attribute (colour, shape,
	// size, position) on the base prompts: what a fine-tune forgot.
	BaseEach [4]float64
}

func (o FineTuneEvalOptions) withDefaults() FineTuneEvalOptions {
	if len(o.Methods) == 0 {
		o.Methods = finetune.Methods
	}
	if o.Steps <= 0 {
		o.Steps = 300
	}
	if o.N <= 0 {
		o.N = 32
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Guidance == 0 {
		o.Guidance = 3
	}
	if o.Grid <= 0 {
		o.Grid = 16
	}
	if o.Sampler == "" {
		o.Sampler = "ddpm"
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return o
}

// fineTuneSets are the captioned real images of each setting (the prompts
// and the real images' reference), n each.
func fineTuneSets(n int, seed uint64) ([]*datasets.Set, error) {
	pool := datasets.Shapes(40*n, 3000+seed, "newall")
	held := datasets.ShapesNewHeldOut()
	var idx [4][]int
	for i := range pool.N {
		a, err := datasets.ShapeAttrsOf(pool, i)
		if err != nil {
			return nil, err
		}
		isHeld := slices.Contains(held, datasets.ShapeAttrs{Color: a.Color, Shape: a.Shape})
		if a.Shape == "star" && a.Color != "purple" || a.Shape == "star" && isHeld {
			k := 0
			if isHeld {
				k = 1
			}
			idx[k] = append(idx[k], i)
		}
		if a.Color == "purple" && a.Shape != "star" || a.Color == "purple" && isHeld {
			k := 2
			if isHeld {
				k = 3
			}
			idx[k] = append(idx[k], i)
		}
	}
	var sets []*datasets.Set
	for k, ix := range idx {
		if len(ix) < n {
			return nil, fmt.Errorf("tasks: only %d images for %q", len(ix), FineTuneSettings[k])
		}
		sets = append(sets, pool.Subset(ix[:n]))
	}
	return append(sets, datasets.Shapes(n, 3100+seed, "test")), nil
}

// EvalFineTunes trains each method (or resumes a run left in Out) and
// scores it and the base model; it returns the base's row first.
func EvalFineTunes(ctx context.Context, o FineTuneEvalOptions) ([]FineTuneRow, Examples, error) {
	o = o.withDefaults()
	var ex Examples
	judge, err := eval.LoadAttributeClassifier(o.Judge)
	if err != nil {
		return nil, ex, err
	}
	if !slices.Contains(judge.Config.Shapes, "star") || !slices.Contains(judge.Config.Colors, "purple") {
		return nil, ex, fmt.Errorf("tasks: the judge %s does not know star and purple: train one with 'genlab train attributes --new-concepts'", o.Judge)
	}
	sets, err := fineTuneSets(o.N, o.Seed)
	if err != nil {
		return nil, ex, err
	}
	data, err := datasets.Load("shapes-new", "train")
	if err != nil {
		return nil, ex, err
	}
	// The sheet: a row per model, a column per setting (its first prompt).
	ex.Name = "finetune"
	ex.Columns = []string{"model"}
	for _, s := range sets {
		ex.Columns = append(ex.Columns, s.Captions[0])
	}
	score := func(net *diffusion.Network, name string) (FineTuneRow, error) {
		row := FineTuneRow{Method: name, BaseParams: net.Params.Count()}
		tiles := []image.Image{labelTile(name)}
		for k, set := range sets {
			if _, err := net.Tokenize(set.Captions[0]); err != nil {
				row.Acc = append(row.Acc, -1)
				tiles = append(tiles, nil) // a prompt the model cannot read
				continue
			}
			r, err := TextToImageScores(ctx, net, judge, set, []float64{o.Guidance}, o.Sampler, o.Seed, o.Batch, nil)
			if err != nil {
				return row, err
			}
			s := r.Generated[0]
			acc := s.AllFour
			switch {
			case strings.HasPrefix(FineTuneSettings[k], "star"):
				acc = s.Each[1]
			case strings.HasPrefix(FineTuneSettings[k], "purple"):
				acc = s.Each[0]
			default:
				row.BaseEach = s.Each
			}
			row.Acc = append(row.Acc, acc)
			tiles = append(tiles, r.Examples.Rows[0][1])
			o.Log("%s, %s: %.3f", name, FineTuneSettings[k], acc)
		}
		ex.Rows = append(ex.Rows, tiles)
		return row, nil
	}
	baseNet, err := diffusion.LoadNetwork(o.Base)
	if err != nil {
		return nil, ex, err
	}
	baseRow, err := score(baseNet, "base")
	if err != nil {
		return nil, ex, err
	}
	rows := []FineTuneRow{baseRow}
	for _, m := range o.Methods {
		file, secs, err := fineTuneOnce(ctx, o, m, data)
		if err != nil {
			return nil, ex, fmt.Errorf("tasks: %s: %w", m, err)
		}
		net, err := diffusion.LoadNetwork(o.Base)
		if err != nil {
			return nil, ex, err
		}
		tunes, err := finetune.Apply(net, o.Base, []finetune.Use{{Path: file, Scale: 1}})
		if err != nil {
			return nil, ex, err
		}
		row, err := score(net, m)
		if err != nil {
			return nil, ex, err
		}
		st, err := os.Stat(file)
		if err != nil {
			return nil, ex, err
		}
		row.Params, row.FileBytes, row.TrainSeconds = tunes[0].Count(), st.Size(), secs
		if m == "full" {
			row.Params = tunes[0].Count() // every weight, and the new words
		}
		rows = append(rows, row)
	}
	return rows, ex, nil
}

// labelTile is a model's name as a sheet tile.
func labelTile(name string) image.Image {
	face := basicfont.Face7x13
	m := imaging.New(font.MeasureString(face, name).Ceil()+4, 32, color.NRGBA{255, 255, 255, 255})
	d := &font.Drawer{Dst: m, Src: image.NewUniform(color.Black), Face: face, Dot: fixed.P(2, 20)}
	d.DrawString(name)
	return m
}

// config is method m's recipe in the comparison, on a concept of n images.
func (o FineTuneEvalOptions) config(m string, n int) (finetune.Config, error) {
	cfg, err := finetune.NewConfig(m)
	if err != nil {
		return cfg, err
	}
	cfg.Data = "shapes-new"
	switch {
	case o.Prior > 0 && o.PriorData:
		cfg.Prior, cfg.PriorImages = o.Prior, "shapes"
	case o.Prior > 0:
		cfg.Prior, cfg.PriorPrompts = o.Prior, "shapes"
	}
	if o.TrainBatch > 0 {
		cfg.Batch = min(o.TrainBatch, n)
	}
	if m == "lora" && o.LoRALR > 0 {
		cfg.LR = o.LoRALR
	}
	if m == "lora" && len(o.LoRATargets) > 0 {
		cfg.Targets = o.LoRATargets
	}
	return cfg, nil
}

// fineTuneOnce trains method m on data into Out/m-RECIPE (resuming a run
// left there; a finished one is reused) and returns its file and training
// time. The recipe's hash in the folder's name keeps runs of other recipes
// (another prior, learning rate or batch) apart, and all of them kept.
func fineTuneOnce(ctx context.Context, o FineTuneEvalOptions, m string, data *datasets.Set) (string, float64, error) {
	cfg, err := o.config(m, data.N)
	if err != nil {
		return "", 0, err
	}
	dir := filepath.Join(o.Out, m+"-"+cfg.Recipe())
	file := filepath.Join(dir, m+".safetensors")
	if f, err := checkpoint.ReadHeader(file); err == nil && f.Metadata[checkpoint.KeyStep] == strconv.Itoa(o.Steps) {
		if done, err := finetune.ParseConfig([]byte(f.Metadata[checkpoint.KeyConfig])); err == nil && finetune.SameRecipe(done, cfg) {
			secs, _ := strconv.ParseFloat(f.Metadata["genlab.train_seconds"], 64)
			o.Log("%s: reusing %s", m, file)
			return file, secs, nil
		}
	}
	net, err := diffusion.LoadNetwork(o.Base)
	if err != nil {
		return "", 0, err
	}
	// Every method shares the prior images (same prompts and seeds).
	set, err := finetune.TrainingSet(ctx, net, cfg, data, o.Seed, filepath.Join(o.Out, "prior"), o.Log)
	if err != nil {
		return "", 0, err
	}
	tr, err := finetune.NewTrainer(net, o.Base, cfg, set, o.Steps, o.Seed)
	if err != nil {
		return "", 0, err
	}
	resume := ""
	if _, err := train.Latest(dir); err == nil {
		resume = "latest"
	}
	// The training time is the loop's at its last step, before the one
	// progress grid (at the end) is drawn; a resumed run counts its
	// resumed part only.
	var trained time.Duration
	res, err := train.Run(ctx, tr, train.Options{Out: dir, Data: set, DataName: cfg.Data, Batch: tr.Tune.Config.Batch, Steps: o.Steps, GridN: o.Grid, SampleEvery: o.Steps, Seed: o.Seed, Resume: resume,
		Progress: func(p train.Progress) {
			if p.Event == "" {
				trained = p.Elapsed
				if p.Step%50 == 0 {
					o.Log("%s: step %d/%d, loss %.4f", m, p.Step, p.Total, p.Losses["loss"])
				}
			}
		}})
	if err != nil {
		return "", 0, err
	}
	secs := trained.Seconds()
	o.Log("%s: trained to step %d in %.0f s", m, res.Step, secs)
	return file, secs, tr.Tune.Save(file, o.Steps, map[string]string{"genlab.train_seconds": strconv.FormatFloat(secs, 'f', 1, 64), "genlab.data": cfg.Data})
}

// FineTuneTable is the comparison as Markdown.
func FineTuneTable(rows []FineTuneRow, o FineTuneEvalOptions) string {
	o = o.withDefaults()
	var b strings.Builder
	b.WriteString("| method | trained parameters | % of base | file | training | " + strings.Join(FineTuneSettings, " | ") + " | retention |\n")
	b.WriteString("|---|---:|---:|---:|---:|" + strings.Repeat("---:|", len(FineTuneSettings)) + "---:|\n")
	pct := func(v float64) string {
		if v < 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", 100*v)
	}
	baseAcc := rows[0].Acc[len(rows[0].Acc)-1]
	for _, r := range rows {
		params, share, file, secs := "—", "—", "—", "—"
		if r.Method != "base" {
			params = strconv.Itoa(r.Params)
			share = fmt.Sprintf("%.2f%%", 100*float64(r.Params)/float64(r.BaseParams))
			file = fmt.Sprintf("%.1f KB", float64(r.FileBytes)/1024)
			secs = fmt.Sprintf("%.0f s", r.TrainSeconds)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |", r.Method, params, share, file, secs)
		for _, a := range r.Acc {
			fmt.Fprintf(&b, " %s |", pct(a))
		}
		ret := "—"
		if baseAcc > 0 {
			ret = fmt.Sprintf("%.1f%%", 100*r.Acc[len(r.Acc)-1]/baseAcc)
		}
		fmt.Fprintf(&b, " %s |\n", ret)
	}
	prior := ""
	switch {
	case o.Prior > 0 && o.PriorData:
		prior = fmt.Sprintf(", beside %d images of the shapes train split, the base's own data (prior preservation with real images, about half of each batch)", o.Prior)
	case o.Prior > 0:
		prior = fmt.Sprintf(", beside %d images the base drew of its own shapes prompts (prior preservation, about half of each batch)", o.Prior)
	}
	if o.LoRALR > 0 || len(o.LoRATargets) > 0 {
		c, _ := o.config("lora", datasets.ShapesNewN)
		prior += fmt.Sprintf("; LoRA at learning rate %g on %s", c.LR, strings.Join(c.Targets, ", "))
	}
	fmt.Fprintf(&b, "\n%d prompts per setting, one image each (%s, 50 steps, guidance %g, seed %d); %d fine-tuning steps per method on the %d images of shapes-new%s. "+
		"star and purple settings: the share of images the attribute judge sees the new shape or colour in; the held-out pairs (%s) never appear in the fine-tuning data. "+
		"Base prompts: captions of the base test split, all four attributes right; retention: that accuracy over the base model's. — : the base cannot read the new words.\n",
		o.N, strings.ToUpper(o.Sampler), o.Guidance, o.Seed, o.Steps, datasets.ShapesNewN, prior, heldNames())
	// What each fine-tune forgot, attribute by attribute.
	b.WriteString("\n| method | base prompts: colour | shape | size | position | all four |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |", r.Method)
		for _, a := range r.BaseEach {
			fmt.Fprintf(&b, " %s |", pct(a))
		}
		fmt.Fprintf(&b, " %s |\n", pct(r.Acc[len(r.Acc)-1]))
	}
	return b.String()
}

func heldNames() string {
	var s []string
	for _, h := range datasets.ShapesNewHeldOut() {
		s = append(s, h.Color+" "+h.Shape)
	}
	return strings.Join(s, ", ")
}
