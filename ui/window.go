//go:build cgo

package ui

import (
	"errors"
	"fmt"
	"os"

	"gioui.org/app"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/x/explorer"
)

// Run opens the app's window and runs it until the window is closed. Call
// it from a goroutine other than main's, and app.Main (Main does both)
// from main's.
func Run(cfg Config) error {
	w := new(app.Window)
	w.Option(app.Title("genlab"), app.Size(unit.Dp(1280), unit.Dp(820)), app.MinSize(unit.Dp(1024), unit.Dp(680)))
	u := New(cfg, w.Invalidate)
	ex := explorer.NewExplorer(w)
	u.chooseFile = func(exts ...string) (string, error) { return chooseFile(ex, exts) }
	return u.loop(w, ex)
}

// chooseFile asks the desktop's file dialog for a file and returns its
// path: "" if the user cancelled.
func chooseFile(ex *explorer.Explorer, exts []string) (string, error) {
	rc, err := ex.ChooseFile(exts...)
	if errors.Is(err, explorer.ErrUserDecline) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	f, ok := rc.(*os.File)
	if !ok {
		return "", fmt.Errorf("the dialog gave a %T, not a file on disk", rc)
	}
	return f.Name(), nil
}

// loop turns the window's events into frames of u.
func (u *UI) loop(w *app.Window, ex *explorer.Explorer) error {
	var ops op.Ops
	for {
		e := w.Event()
		ex.ListenEvents(e)
		switch e := e.(type) {
		case app.DestroyEvent:
			u.cancelAll()
			return e.Err
		case app.FrameEvent:
			gtx := app.NewContext(&ops, e)
			u.Layout(gtx)
			e.Frame(gtx.Ops)
		}
	}
}

// Main runs the app: the window in a goroutine and the platform's event
// loop in this one, which must be the program's main goroutine. done gets
// Run's error when the window closes; Main itself never returns on most
// platforms, so done is where to exit.
func Main(cfg Config, done func(error)) {
	go func() { done(Run(cfg)) }()
	app.Main()
}

// Available reports whether this build can open windows.
const Available = true
