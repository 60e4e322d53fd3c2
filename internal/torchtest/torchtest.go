// Package torchtest runs the PyTorch package (python/genlab_torch) from
// tests, with Debian's python3-torch.
//
// The tests that use it are part of the suite: where PyTorch is missing
// they fail, naming the package to install, unless GENLAB_SKIP_TORCH is
// set, which turns the failure into a skip (for a machine that cannot have
// PyTorch; CI installs it with the test dependencies).
package torchtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Python is Debian's interpreter, the one python3-torch installs into
// (a python3 earlier in PATH, e.g. pyenv's, has no torch).
const Python = "/usr/bin/python3"

// SkipEnv, when set to anything, lets the tests skip without PyTorch.
const SkipEnv = "GENLAB_SKIP_TORCH"

// Require fails t, or skips it when SkipEnv allows, unless Python imports
// torch.
func Require(t testing.TB) {
	t.Helper()
	out, err := exec.Command(Python, "-c", "import torch, numpy").CombinedOutput()
	if err == nil {
		return
	}
	msg := "PyTorch is not installed for " + Python + " (make deps-test, or apt-get install -y python3-torch): " +
		strings.TrimSpace(string(out))
	if os.Getenv(SkipEnv) != "" {
		t.Skip(msg + "; skipped because " + SkipEnv + " is set")
	}
	t.Fatal(msg + "; set " + SkipEnv + "=1 to skip the PyTorch tests on a machine without it")
}

// Root is the repository's root, found from the working directory up.
func Root(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			t.Fatal("torchtest: no go.mod above the working directory")
		}
		d = up
	}
}

// Command is a command run with python/ on PYTHONPATH: name is Python or
// the launcher torchrun, args its arguments.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	// No bytecode written into the repository by a test run.
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(Root(t), "python"), "PYTHONDONTWRITEBYTECODE=1")
	return cmd
}

// Run runs cmd and returns its stdout; a failure fails t with both outputs.
func Run(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(cmd.Args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
