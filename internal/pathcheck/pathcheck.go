// Package pathcheck refuses paths before any work is done on them: an
// input that is not a regular file (open blocks forever on a FIFO, a device
// reads forever, a directory reads nothing), and an output that would
// replace a file the user still needs (see Output).
package pathcheck

import (
	"fmt"
	"io/fs"
	"os"
)

// NotRegularError is a path that names something other than a regular
// file where genlab reads or writes one.
type NotRegularError struct {
	Path string
	Kind string // "a directory", "a named pipe (FIFO)", ...
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.Kind)
}

// Regular checks that path names a regular file (a symbolic link is
// followed) without opening it, so a FIFO or a device given as an input is
// refused at once instead of blocking in open or reading without end.
func Regular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if k := kind(st.Mode()); k != "" {
		return &NotRegularError{Path: path, Kind: k}
	}
	return nil
}

// kind names a mode that is not a regular file's; "" for a regular file.
func kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file (" + m.Type().String() + ")"
}
