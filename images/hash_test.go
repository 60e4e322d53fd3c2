package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModelHash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	os.WriteFile(path, []byte("abc"), 0o644)
	// SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (FIPS 180-2).
	if got, err := ModelHash(path); err != nil || got != "ba7816bf8f" {
		t.Errorf("ModelHash = %q, %v; want ba7816bf8f", got, err)
	}
	if _, err := ModelHash(path + ".missing"); err == nil || !strings.Contains(err.Error(), "model.safetensors.missing") {
		t.Errorf("missing file: err = %v", err)
	}
}
