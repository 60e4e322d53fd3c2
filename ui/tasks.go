package ui

import (
	"context"
	"image"
)

// Tasks are the image tasks the app's panels run, each over a loaded model
// (style transfer needs none). A nil task shows as not in this build.
// progress may be nil.
type Tasks struct {
	// Inpaint fills the white pixels of mask (the image's size) in img.
	Inpaint func(ctx context.Context, m *Model, img, mask image.Image, s Settings, progress func(done, total int)) (image.Image, error)
	// SuperRes enlarges img scale times.
	SuperRes func(ctx context.Context, m *Model, img image.Image, scale int, s Settings, progress func(done, total int)) (image.Image, error)
	// Style redraws content in the style of style.
	Style func(ctx context.Context, content, style image.Image, steps int, seed uint64, progress func(done, total int)) (image.Image, error)
	// Edit redraws img towards s's class or prompt; strength 0 keeps it,
	// 1 draws anew.
	Edit func(ctx context.Context, m *Model, img image.Image, strength float64, s Settings, progress func(done, total int)) (image.Image, error)
}

// Tab is one of the app's panels.
type Tab int

// The panels, in the order of the tab row.
const (
	TabGenerate Tab = iota
	TabXY           // an X/Y plot of two knobs, AUTOMATIC1111's "X/Y/Z plot" script
	TabInpaint
	TabSuperRes
	TabStyle
	TabEdit
	TabInfo // a PNG's parameters, AUTOMATIC1111's "PNG Info"
	numTabs
)

var tabNames = [numTabs]string{"Generate", "X/Y plot", "Inpaint", "Super-res", "Style", "Edit", "PNG info"}

func (t Tab) String() string { return tabNames[t] }

// DefaultTasks are the task functions of package tasks that this build
// has.
func DefaultTasks() Tasks {
	var t Tasks
	for _, wire := range wired {
		wire(&t)
	}
	return t
}

// wired fill in the tasks this build has, one file each.
var wired []func(*Tasks)
