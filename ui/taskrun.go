package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strconv"

	"genlab/images"
)

// RunTask starts the task of the panel shown on the source image.
func (u *UI) RunTask() {
	if err := u.runTask(); err != nil && err != errSilent {
		u.fail(err)
	}
}

// errSilent is an error already shown.
var errSilent = errors.New("ui: error already reported")

func (u *UI) runTask() error {
	t := u.cfg.Tasks
	st := u.cur()
	s, err := u.readSettings()
	if err != nil {
		u.failSettings(err)
		return nil
	}
	s.Count = 1
	if st.source == nil {
		return errors.New("no source image: pick one in the gallery and press Use as source, or load a PNG")
	}
	src, m := st.source, u.model
	if u.tab != TabStyle {
		// The fine-tunes switched on apply to the tasks too, as --lora
		// does to genlab edit and inpaint.
		if m, err = u.generator(); err != nil {
			return err
		}
	}
	needModel := func() error {
		if m == nil {
			return errors.New("pick a diffusion model in the list first")
		}
		if m.Diffusion == nil {
			return fmt.Errorf("%s is a %s model; %s works with a diffusion model", m.Name(), m.Family, u.tab)
		}
		if m.LowRes != (u.tab == TabSuperRes) {
			if m.LowRes {
				return fmt.Errorf("%s is a super-resolution model: it only upscales (Super-res tab)", m.Name())
			}
			return fmt.Errorf("%s cannot upscale: pick a super-resolution model (lowres) in the list", m.Name())
		}
		s2, err := u.checkSettings(m)
		if err != nil {
			u.failSettings(err)
			return errSilent
		}
		s2.Count, s2.Seed = 1, s.Seed
		s = s2
		return nil
	}
	missing := func(name string) error {
		return fmt.Errorf("%s is not in this build of genlab yet", name)
	}
	params := func(task string, extra ...images.Field) images.Parameters {
		u.drawSeed(&s)
		var p images.Parameters
		if m != nil {
			p = m.Parameters(s, s.Seed)
		} else {
			p = images.Parameters{Seed: int64(s.Seed)}
		}
		b := src.Bounds()
		p.Width, p.Height = b.Dx(), b.Dy()
		p.Extra = append(p.Extra, images.Field{Key: "Task", Value: task})
		p.Extra = append(p.Extra, extra...)
		return p
	}
	result := func(img image.Image, p images.Parameters, source string) []Result {
		b := img.Bounds()
		p.Width, p.Height = b.Dx(), b.Dy()
		task, _ := p.Lookup("Task")
		return []Result{{Image: img, Params: p, Seed: s.Seed, Class: s.Class, Source: source, Task: task}}
	}
	switch u.tab {
	case TabInpaint:
		if t.Inpaint == nil {
			return missing("inpainting")
		}
		if err := needModel(); err != nil {
			return err
		}
		if st.mask == nil || st.mask.Count() == 0 {
			return errors.New("paint the region to fill on the image first")
		}
		mask := st.mask.Image()
		p := params("inpaint", images.Field{Key: "Mask pixels", Value: strconv.Itoa(st.mask.Count())})
		u.startJob("inpainting", TabInpaint, func(ctx context.Context, r Reporter) ([]Result, error) {
			img, err := t.Inpaint(ctx, m, src, mask, s, reportSteps(r))
			if err != nil {
				return nil, err
			}
			return result(img, p, "inpaint"), nil
		})
	case TabSuperRes:
		if t.SuperRes == nil {
			return missing("super-resolution")
		}
		if err := needModel(); err != nil {
			return err
		}
		scale, _ := strconv.Atoi(u.scale.Value)
		p := params("super-resolution", images.Field{Key: "Scale", Value: strconv.Itoa(scale)})
		u.startJob(fmt.Sprintf("super-resolution ×%d", scale), TabSuperRes, func(ctx context.Context, r Reporter) ([]Result, error) {
			img, err := t.SuperRes(ctx, m, src, scale, s, reportSteps(r))
			if err != nil {
				return nil, err
			}
			return result(img, p, "super-res"), nil
		})
	case TabStyle:
		if t.Style == nil {
			return missing("style transfer")
		}
		if u.styleImg == nil {
			return errors.New("load a style image first")
		}
		steps, err := strconv.Atoi(u.styleSteps.Text())
		if err != nil || steps < 1 || steps > 5000 {
			return fmt.Errorf("style steps %q: want 1 to 5000", u.styleSteps.Text())
		}
		style := u.styleImg
		u.drawSeed(&s)
		p := images.Parameters{Seed: int64(s.Seed), Steps: steps, Extra: []images.Field{{Key: "Task", Value: "style"}, {Key: "Style", Value: u.styleName}}}
		u.startJob("style transfer", TabStyle, func(ctx context.Context, r Reporter) ([]Result, error) {
			img, err := t.Style(ctx, src, style, steps, s.Seed, reportSteps(r))
			if err != nil {
				return nil, err
			}
			return result(img, p, "style"), nil
		})
	case TabEdit:
		if t.Edit == nil {
			return missing("image editing")
		}
		if err := needModel(); err != nil {
			return err
		}
		strength := float64(u.strength.Value)
		p := params("edit", images.Field{Key: "Denoising strength", Value: strconv.FormatFloat(strength, 'f', 2, 64)})
		u.startJob("editing", TabEdit, func(ctx context.Context, r Reporter) ([]Result, error) {
			img, err := t.Edit(ctx, m, src, strength, s, reportSteps(r))
			if err != nil {
				return nil, err
			}
			return result(img, p, "edit"), nil
		})
	default:
		return errors.New("the Generate panel has no task")
	}
	return nil
}

// reportSteps adapts a task's progress callback to a job's Reporter.
func reportSteps(r Reporter) func(done, total int) {
	return func(done, total int) { r.Report(Progress{Done: done, Total: total}) }
}

// UseSelected makes the gallery's selected image the tasks' source.
func (u *UI) UseSelected() {
	if u.sel < 0 || u.sel >= len(u.results) {
		u.fail(errors.New("select an image in the gallery first"))
		return
	}
	r := u.results[u.sel]
	if u.tab == TabGenerate || u.tab == TabXY || u.tab == TabInfo {
		u.tab = TabInpaint
	}
	u.setSource(u.frameShown(&r), r.Label())
	u.say("source: %s", r.Caption())
}

// LoadSource loads a PNG as the tasks' source image.
func (u *UI) LoadSource(path string) {
	img, err := images.Load(path)
	if err != nil {
		u.fail(&fieldError{field: &u.srcPath, msg: oneLine(err.Error())})
		return
	}
	u.setSource(img, path)
	u.say("source: %s", path)
}

// LoadStyle loads the style transfer's style image.
func (u *UI) LoadStyle(path string) {
	img, err := images.Load(path)
	if err != nil {
		u.fail(&fieldError{field: &u.stylePath, msg: oneLine(err.Error())})
		return
	}
	u.styleImg, u.styleName = img, path
	u.say("style: %s", path)
}

// LoadInfo reads a PNG for the PNG info tab.
func (u *UI) LoadInfo(path string) {
	img, err := images.Load(path)
	if err != nil {
		u.fail(&fieldError{field: &u.infoPath, msg: oneLine(err.Error())})
		return
	}
	r, err := resultOf(path, img)
	if err != nil {
		u.fail(fmt.Errorf("%s: %w", path, err))
	}
	u.info = &r
	if err == nil {
		u.say("read %s", path)
	}
}
