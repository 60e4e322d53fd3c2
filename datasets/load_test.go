package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	png := encodePNG(t, paint(4, 4, solid(red)))
	writeFiles(t, dir, map[string][]byte{"top.png": png, "train/a.png": png, "train/b.png": png})
	file := filepath.Join(dir, "top.png")

	tests := []struct {
		name, split string
		wantName    string
		wantN       int
		wantErr     string
	}{
		{"shapes", "", "shapes-train", ShapesTrainN, ""},
		{"shapes", "test", "shapes-test", ShapesTestN, ""},
		{"shapes", "heldout", "shapes-heldout", ShapesHeldOutN, ""},
		{"shapes", "validation", "", 0, `shapes: unknown split "validation": use train, test, heldout, all, new or newall`},
		{dir, "train", filepath.Join(dir, "train"), 2, ""}, // the split's subfolder
		{dir, "test", dir, 1, ""},                          // no test/: the folder itself
		{"x", "train", "", 0, `datasets: unknown dataset "x": use mnist, shapes, shapes-new, clips or a folder of images`},
		{file, "train", "", 0, `unknown dataset "` + file + `"`},
		{"mnist", "validation", "", 0, `mnist: unknown split "validation": use train or test`},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.split, func(t *testing.T) {
			s, err := Load(tc.name, tc.split)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != tc.wantName || s.N != tc.wantN {
				t.Errorf("got %s with %d images, want %s with %d", s.Name, s.N, tc.wantName, tc.wantN)
			}
			if s.H != 32 || s.W != 32 || s.C != 3 {
				t.Errorf("got %dx%dx%d images, want 3x32x32", s.C, s.H, s.W)
			}
		})
	}
}

func TestLoadMNISTByName(t *testing.T) {
	if _, err := MNISTDir(); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	s, err := Load("mnist", "test")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "mnist-test" || s.N != 10000 {
		t.Errorf("got %s with %d images", s.Name, s.N)
	}
}

// TestMNISTDirFromElsewhere checks the real lookup works from a working
// directory outside the module, with $GOMODCACHE unset (go env is asked).
func TestMNISTDirFromElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	t.Chdir(t.TempDir())
	t.Setenv("GOMODCACHE", "")
	t.Setenv(MNISTDirEnv, "")
	dir, err := MNISTDir()
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Error(err)
	}
}
