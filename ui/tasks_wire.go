package ui

import (
	"context"
	"image"

	"genlab/tasks"
)

func init() {
	wired = append(wired, func(t *Tasks) {
		t.Inpaint, t.SuperRes, t.Style, t.Edit = inpaint, superRes, style, edit
	})
}

// condition is what s asks a model for: a class, a prompt or nothing.
func condition(s Settings) tasks.Condition {
	switch {
	case s.Class != NoClass:
		return tasks.Class(s.Class)
	case s.Prompt != "":
		return tasks.Condition{Prompt: s.Prompt}
	}
	return tasks.Condition{}
}

func inpaint(ctx context.Context, m *Model, img, mask image.Image, s Settings, progress func(done, total int)) (image.Image, error) {
	return tasks.Inpaint(ctx, tasks.InpaintParams{
		Net: m.Diffusion, Image: img, Mask: mask, Seed: s.Seed, Guidance: s.Guidance, Progress: progress,
		Cond: condition(s), RepaintOptions: tasks.RepaintOptions{Steps: s.Steps},
	})
}

func superRes(ctx context.Context, m *Model, img image.Image, scale int, s Settings, progress func(done, total int)) (image.Image, error) {
	return tasks.SuperRes(ctx, tasks.SuperResParams{Net: m.Diffusion, Image: img, Scale: scale, Steps: s.Steps, Seed: s.Seed, Progress: progress})
}

func style(ctx context.Context, content, styleImg image.Image, steps int, seed uint64, progress func(done, total int)) (image.Image, error) {
	return tasks.Style(ctx, tasks.StyleParams{
		Content: content, Style: styleImg, StyleOptions: tasks.StyleOptions{Steps: steps, Seed: seed},
		Progress: func(step, total int, _ float64) {
			if progress != nil {
				progress(step, total)
			}
		},
	})
}

func edit(ctx context.Context, m *Model, img image.Image, strength float64, s Settings, progress func(done, total int)) (image.Image, error) {
	return tasks.Edit(ctx, tasks.EditParams{
		Net: m.Diffusion, Image: img, Strength: strength, Cond: condition(s), Guidance: s.Guidance, Seed: s.Seed, Progress: progress,
		EditOptions: tasks.EditOptions{Steps: s.Steps, Sampler: s.Sampler, Eta: s.Eta},
	})
}
