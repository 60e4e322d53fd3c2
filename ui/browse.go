package ui

import "fmt"

// The file dialog: Browse… asks the desktop for a checkpoint or an image
// (gioui.org/x/explorer, over the XDG desktop portal on Linux) in a
// goroutine, since the dialog blocks until the user answers; the next frame
// opens what was chosen as if its path had been typed.

// chosenFile is the dialog's answer.
type chosenFile struct {
	path string
	err  error
}

// browse opens the dialog, once at a time.
func (u *UI) browse() {
	if u.chooseFile == nil || u.chosen != nil {
		return
	}
	ch := make(chan chosenFile, 1)
	u.chosen = ch
	choose := u.chooseFile
	go func() {
		path, err := choose(".safetensors", ".png")
		ch <- chosenFile{path, err}
		u.invalidate()
	}()
}

// takeChosen opens the dialog's answer once it has come.
func (u *UI) takeChosen() {
	if u.chosen == nil {
		return
	}
	select {
	case c := <-u.chosen:
		u.chosen = nil
		switch {
		case c.err != nil:
			u.fail(fmt.Errorf("the desktop's file dialog did not open (%v): type the file's path instead", c.err))
		case c.path != "":
			u.path.SetText(c.path)
			u.open(c.path)
		}
	default:
	}
}
