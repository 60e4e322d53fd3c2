package ui

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Browse… opens what the desktop's dialog picks, as if typed; a dialog
// that cannot open says so and points at the path field.
func TestBrowseOpensTheChosenFile(t *testing.T) {
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "a"), "ckpt-000005.safetensors", 5)
	other := tinyCheckpoint(t, filepath.Join(t.TempDir(), "b"), "ckpt-000007.safetensors", 7)
	h := newHarness(t, Config{Dirs: []string{dir}})
	if _, ok := h.find("Browse…"); ok {
		t.Fatal("Browse… shown without a file dialog")
	}
	answer := make(chan chosenFile, 1)
	var asked []string
	h.u.chooseFile = func(exts ...string) (string, error) {
		asked = exts
		c := <-answer
		return c.path, c.err
	}
	h.frame()
	h.click("Browse…")
	answer <- chosenFile{path: other}
	waitFor(t, h, func() bool { return h.u.Selected().Path == other })
	if strings.Join(asked, " ") != ".safetensors .png" {
		t.Errorf("the dialog was asked for %v", asked)
	}
	if h.u.path.Text() != other {
		t.Errorf("the path field reads %q", h.u.path.Text())
	}
	h.click("Browse…")
	answer <- chosenFile{err: errors.New("no portal")}
	waitFor(t, h, func() bool { s, isErr := h.u.Status(); return isErr && strings.Contains(s, "type the file's path") })
}

func waitFor(t *testing.T, h *harness, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		h.frame()
		if ok() {
			return
		}
	}
	t.Fatal("timed out")
}
