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

// OutputError is an output path refused before any work: writing it would
// destroy something, or cannot work.
type OutputError struct {
	Flag, Path string // "--out", "x.png"
	Reason     string // "is a directory: give a file name"
}

func (e *OutputError) Error() string { return e.Flag + " " + e.Path + " " + e.Reason }

// Output checks, before any work, that a command may write the file at
// path (given with flag, for the message). It refuses
//
//   - an existing directory or non-regular file (a device, a FIFO), always:
//     an atomic write would replace the device node itself, and a
//     directory fails only after the work;
//   - one of the command's inputs (the same file, whatever the path says),
//     unless overwrite;
//   - any other existing file that ours does not recognise as written by
//     genlab (a checkpoint, a document), unless overwrite.
//
// A file genlab wrote (ours) is replaced: it is the output of an earlier
// run of the same kind.
func Output(flag, path string, overwrite bool, ours func(string) bool, inputs ...string) error {
	st, err := os.Stat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return &OutputError{flag, path, "cannot be checked: " + err.Error()}
	}
	if st.IsDir() {
		return &OutputError{flag, path, "is a directory: give the name of a file to write"}
	}
	if k := kind(st.Mode()); k != "" {
		return &OutputError{flag, path, "is " + k + ", not a regular file: give the name of a file to write"}
	}
	if overwrite {
		return nil
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return &OutputError{flag, path, "is also an input of this command (" + in + "): choose another name, or --overwrite to replace it"}
		}
	}
	if ours == nil || !ours(path) {
		return &OutputError{flag, path, "exists and was not written by genlab: choose another name, or --overwrite to replace it"}
	}
	return nil
}

// OutputDir checks, before any work, that dir can be a folder of outputs:
// absent (it will be made) or a directory.
func OutputDir(flag, dir string) error {
	st, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return &OutputError{flag, dir, "cannot be checked: " + err.Error()}
	}
	if !st.IsDir() {
		return &OutputError{flag, dir, "exists and is not a folder: give a folder for the outputs"}
	}
	return nil
}
