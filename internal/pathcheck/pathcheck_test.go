package pathcheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("x"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(file, link)
	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o644)
	for path, kind := range map[string]string{file: "", link: "", dir: "a directory", fifo: "a named pipe (FIFO)", "/dev/null": "a character device"} {
		err := Regular(path)
		var nr *NotRegularError
		switch {
		case kind == "" && err != nil:
			t.Errorf("Regular(%s) = %v", path, err)
		case kind != "" && (!errors.As(err, &nr) || nr.Kind != kind):
			t.Errorf("Regular(%s) = %v; want %s", path, err, kind)
		}
	}
	if err := Regular(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing: %v", err)
	}
}

func TestOutput(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine.png")
	theirs := filepath.Join(dir, "theirs.txt")
	input := filepath.Join(dir, "in.png")
	for _, p := range []string{mine, theirs, input} {
		os.WriteFile(p, []byte("x"), 0o644)
	}
	ours := func(p string) bool { return p == mine || p == input }
	for _, c := range []struct {
		path      string
		overwrite bool
		want      string // "" for allowed
	}{
		{filepath.Join(dir, "new.png"), false, ""},
		{mine, false, ""},
		{theirs, false, "not written by genlab"},
		{theirs, true, ""},
		{input, false, "also an input"},
		{dir + "/./in.png", false, "also an input"},
		{input, true, ""},
		{dir, true, "is a directory"},
		{"/dev/null", true, "character device"},
	} {
		err := Output("--out", c.path, c.overwrite, ours, input)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Output(%s, overwrite %v) = %v; want %q", c.path, c.overwrite, err, c.want)
		}
	}
	if err := OutputDir("--out", theirs); err == nil {
		t.Error("OutputDir accepted a file")
	}
	if err := OutputDir("--out", dir); err != nil {
		t.Errorf("OutputDir(dir) = %v", err)
	}
}
