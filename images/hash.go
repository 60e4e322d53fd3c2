package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"genlab/internal/pathcheck"
)

// ModelHash returns the first 10 hex digits of the SHA-256 of the file at
// path: the "Model hash" AUTOMATIC1111 shows (its "AutoV2" hash), for the
// parameters of images made with that checkpoint.
func ModelHash(path string) (string, error) {
	if err := pathcheck.Regular(path); err != nil {
		return "", fmt.Errorf("images: model hash: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("images: model hash: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("images: model hash of %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:10], nil
}
