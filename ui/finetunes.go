package ui

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"genlab/diffusion"
	"genlab/finetune"
	"genlab/images"
	"genlab/pipeline"
	"genlab/tasks"

	"gioui.org/font"
	"gioui.org/layout"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// Fine-tunes (genlab finetune: LoRA, adapters, prefix and prompt tuning,
// full fine-tunes) are listed under the model they were trained on, found
// in the model folders by the base's hash that each file records. Each
// has a switch and, for the methods that scale (LoRA, adapters, full), a
// scale slider; Generate draws with the ones switched on through the
// pipeline as the CLI's --lora FILE:SCALE does, and the PNGs record them.

// MaxTuneScale is the scale slider's top; it moves in steps of
// TuneScaleStep, so that a scale reads as the CLI's FILE:SCALE does.
const (
	MaxTuneScale  = 1.5
	TuneScaleStep = 0.05
)

// tuneRow is a fine-tune file listed under the selected model.
type tuneRow struct {
	File  finetune.File
	on    widget.Bool
	scale widget.Float // [0,1] for scales 0 to MaxTuneScale
}

// scalable reports whether the file's method takes a scale.
func (t *tuneRow) scalable() bool { return t.File.Method != "prefix" && t.File.Method != "prompt" }

// Scale is the slider's scale, on its steps (1 for the methods that take
// no scale).
func (t *tuneRow) Scale() float64 {
	if !t.scalable() {
		return 1
	}
	steps := math.Round(float64(t.scale.Value) * MaxTuneScale / TuneScaleStep)
	return steps / (1 / TuneScaleStep)
}

func (t *tuneRow) setScale(s float64) { t.scale.Value = float32(s / MaxTuneScale) }

// listTunes finds the fine-tunes of the selected model in the model
// folders and the model's own folder, keeping the switches and scales of
// the ones listed before.
func (u *UI) listTunes() {
	old := u.tunes
	u.tunes = nil
	if u.selected < 0 || u.selected >= len(u.entries) || u.entries[u.selected].Family != diffusion.Family {
		return
	}
	base := u.entries[u.selected].Path
	if u.tuned != nil && !tasks.SameFile(u.tuned.Path, base) {
		u.tuned, u.tunedKey = nil, "" // another model's weights
	}
	// The model folders and their run folders, and the model's own
	// folder when it is none of them.
	var dirs []string
	for _, d := range u.cfg.Dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			dirs = append(dirs, d)
		}
	}
	if own := filepath.Dir(base); !slices.ContainsFunc(dirs, func(d string) bool { return samePath(d, own) || samePath(d, filepath.Dir(own)) }) {
		dirs = append(dirs, own)
	}
	for _, d := range dirs {
		fs, err := finetune.ForBase(d, base)
		if err != nil {
			continue
		}
		for _, f := range fs {
			if slices.ContainsFunc(u.tunes, func(t tuneRow) bool { return tasks.SameFile(t.File.Path, f.Path) }) {
				continue
			}
			row := tuneRow{File: f}
			row.setScale(1)
			if i := slices.IndexFunc(old, func(t tuneRow) bool { return tasks.SameFile(t.File.Path, f.Path) }); i >= 0 {
				row.on.Value, row.scale.Value = old[i].on.Value, old[i].scale.Value
			}
			u.tunes = append(u.tunes, row)
		}
	}
}

// FineTunes are the fine-tune files listed for the selected model.
func (u *UI) FineTunes() []finetune.File {
	out := make([]finetune.File, len(u.tunes))
	for i, t := range u.tunes {
		out[i] = t.File
	}
	return out
}

// SetFineTune switches the listed fine-tune at path on or off at scale
// (rounded to the slider's steps; the methods that take no scale keep 1).
func (u *UI) SetFineTune(path string, on bool, scale float64) error {
	i := slices.IndexFunc(u.tunes, func(t tuneRow) bool { return tasks.SameFile(t.File.Path, path) })
	if i < 0 {
		return fmt.Errorf("%s is not a fine-tune of the selected model", path)
	}
	if scale < 0 || scale > MaxTuneScale {
		return fmt.Errorf("scale %g: want 0 to %g", scale, MaxTuneScale)
	}
	u.tunes[i].on.Value = on
	u.tunes[i].setScale(scale)
	return nil
}

// ActiveFineTunes are the fine-tunes switched on, at their scales, in the
// list's order: what Generate applies.
func (u *UI) ActiveFineTunes() []finetune.Use {
	var uses []finetune.Use
	for i := range u.tunes {
		if t := &u.tunes[i]; t.on.Value {
			uses = append(uses, finetune.Use{Path: t.File.Path, Scale: t.Scale()})
		}
	}
	return uses
}

// generator is the model Generate draws with: the selected one, with the
// fine-tunes switched on applied (opened again when they change).
func (u *UI) generator() (*Model, error) {
	uses := u.ActiveFineTunes()
	if u.model == nil || len(uses) == 0 {
		return u.model, nil
	}
	key := fmt.Sprint(u.model.Path, uses)
	if u.tuned != nil && u.tunedKey == key {
		return u.tuned, nil
	}
	m, err := LoadWithFineTunes(u.model.Path, uses)
	if err != nil {
		return nil, err
	}
	u.tuned, u.tunedKey = m, key
	return m, nil
}

// tuneName is how the list shows a fine-tune: its folder and its name.
func tuneName(f finetune.File) string {
	return Entry{Path: f.Path}.Name()
}

// layoutTunes are the selected model's fine-tunes under its entry: a
// switch each and, once on, its scale slider.
func (u *UI) layoutTunes(gtx C) D {
	rows := []layout.FlexChild{layout.Rigid(func(gtx C) D {
		l := u.label(12, fmt.Sprintf("Fine-tunes (%d)", len(u.tunes)))
		l.Font.Weight = font.SemiBold
		return l.Layout(gtx)
	})}
	for i := range u.tunes {
		t := &u.tunes[i]
		rows = append(rows, layout.Rigid(func(gtx C) D {
			cb := material.CheckBox(u.th, &t.on, tuneName(t.File))
			cb.TextSize, cb.Size = 13, 20
			return cb.Layout(gtx)
		}))
		what := t.File.Method
		if len(t.File.NewWords) > 0 {
			what += " · new words: " + strings.Join(t.File.NewWords, " ")
		}
		rows = append(rows, layout.Rigid(func(gtx C) D {
			return layout.Inset{Left: 24}.Layout(gtx, u.muted(what))
		}))
		if !t.on.Value {
			continue
		}
		rows = append(rows, layout.Rigid(func(gtx C) D {
			if !t.scalable() {
				return layout.Inset{Left: 24}.Layout(gtx, u.muted("scale 1 (this method takes no scale)"))
			}
			return layout.Inset{Left: 24}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(u.label(12, "scale").Layout),
					gap(4),
					layout.Flexed(1, material.Slider(u.th, &t.scale).Layout),
					gap(4),
					layout.Rigid(func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Dp(30)
						return u.label(12, fmt.Sprintf("%.2f", t.Scale())).Layout(gtx)
					}),
				)
			})
		}))
	}
	return layout.Inset{Left: 8, Bottom: 6}.Layout(gtx, func(gtx C) D {
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, rows...)
	})
}

// reuseTunes switches on the fine-tunes a PNG's prompt line names
// (<lora:NAME:SCALE> and the like), found among the listed ones by name,
// method and the hash the PNG records, at their scales; the others go
// off. It returns what to add to the status line.
func (u *UI) reuseTunes(tags []pipeline.FineTuneTag, p images.Parameters) string {
	for i := range u.tunes {
		u.tunes[i].on.Value = false
	}
	hashes := map[string]string{}
	for _, key := range []string{"Lora hashes", "Fine-tune hashes"} {
		v, _ := p.Lookup(key)
		for _, pair := range strings.Split(v, ",") {
			if name, hash, ok := strings.Cut(pair, ":"); ok {
				hashes[strings.TrimSpace(name)] = strings.TrimSpace(hash)
			}
		}
	}
	var on, missing []string
	for _, tag := range tags {
		i := slices.IndexFunc(u.tunes, func(t tuneRow) bool {
			if t.File.Name != tag.Name || t.File.Method != tag.Method {
				return false
			}
			want, ok := hashes[tag.Name]
			h, err := images.ModelHash(t.File.Path)
			return !ok || (err == nil && h == want)
		})
		if i < 0 {
			missing = append(missing, tag.Name)
			continue
		}
		u.tunes[i].on.Value = true
		u.tunes[i].setScale(min(max(tag.Scale, 0), MaxTuneScale))
		on = append(on, fmt.Sprintf("%s at %.2f", tuneName(u.tunes[i].File), u.tunes[i].Scale()))
	}
	msg := ""
	if len(on) > 0 {
		msg += " and " + strings.Join(on, ", ")
	}
	if len(missing) > 0 {
		msg += "; its fine-tunes " + strings.Join(missing, ", ") + " are not listed for this model"
	}
	return msg
}
