//go:build !cgo

package ui

import "errors"

// ErrNoWindow is why a build without cgo cannot open the app's window:
// Gio reaches the display and the GPU through C libraries.
var ErrNoWindow = errors.New("this genlab was built without cgo, and the desktop app needs it: build with CGO_ENABLED=1 (and the Gio libraries, see the README)")

// Run cannot open a window in a build without cgo.
func Run(cfg Config) error { return ErrNoWindow }

// Main reports ErrNoWindow to done.
func Main(cfg Config, done func(error)) { done(ErrNoWindow) }

// Available reports whether this build can open windows.
const Available = false
