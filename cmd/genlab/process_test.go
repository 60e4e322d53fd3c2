package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the tests run the CLI as a real process: the test binary
// re-executed with GENLAB_RUN_MAIN=1 behaves as `genlab`.
func TestMain(m *testing.M) {
	if os.Getenv("GENLAB_RUN_MAIN") == "1" {
		os.Exit(run(append([]string{"genlab"}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func genlabProcess(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "GENLAB_RUN_MAIN=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return status, out.String(), errb.String()
}

// A corrupt MNIST IDX file (here: truncated image data) is one line naming
// the file and exit 1, from a real process.
func TestCorruptIDXIsOneLine(t *testing.T) {
	dir := t.TempDir()
	writeGz := func(name string, b []byte) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
	}
	hdr := func(typ byte, dims ...uint32) []byte {
		b := []byte{0, 0, typ, byte(len(dims))}
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, d)
		}
		return b
	}
	writeGz("train-images-idx3-ubyte.gz", append(hdr(8, 2, 28, 28), make([]byte, 2*28*28)...))
	writeGz("train-labels-idx1-ubyte.gz", append(hdr(8, 2), 0, 1))
	// 10 test images are promised, 3 are there.
	writeGz("t10k-images-idx3-ubyte.gz", append(hdr(8, 10, 28, 28), make([]byte, 3*28*28)...))
	writeGz("t10k-labels-idx1-ubyte.gz", append(hdr(8, 10), make([]byte, 10)...))
	status, _, stderr := genlabProcess(t, []string{"GENLAB_MNIST_DIR=" + dir}, "data", "check", "mnist", "--split", "test")
	if status != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "t10k-images-idx3-ubyte.gz") {
		t.Fatalf("exit %d, stderr:\n%s", status, stderr)
	}
	t.Logf("stderr: %s", stderr)
}

func TestHelpListsCommands(t *testing.T) {
	status, stdout, _ := genlabProcess(t, nil, "help")
	if status != 0 {
		t.Fatalf("help: exit %d", status)
	}
	for _, c := range []string{"train", "data", "info"} {
		if !strings.Contains(stdout, c) {
			t.Errorf("help does not list %s:\n%s", c, stdout)
		}
	}
}
