package images

import (
	"bytes"
	"errors"
	"fmt"
	"genlab/internal/atomicfile"
	"genlab/internal/memory"
	"genlab/internal/pathcheck"
	"image"
	"image/png"
	"io"
	"os"

	"github.com/disintegration/imaging"
)

// MaxPixels is the largest image Load decodes (width*height, 4096x4096),
// so that a small file claiming a huge size cannot exhaust memory: every
// genlab model works at 28 to 32 pixels a side, and a 16-bit image of this
// size decodes in about 200 MB.
const MaxPixels = 1 << 24

// Load decodes the PNG or JPEG image at path (GIF, BMP and TIFF also work),
// applying a JPEG's EXIF orientation. Errors name the file:
//
//	images: cat.txt: not a PNG or JPEG image
//	images: open missing.png: no such file or directory
//	images: broken.png: corrupt or truncated png image: unexpected EOF
func Load(path string) (image.Image, error) {
	if err := regular(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return nil, decodeError(path, format, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("images: %s: %dx%d %s image is larger than the %d-pixel limit (4096x4096)", path, cfg.Width, cfg.Height, format, MaxPixels)
	}
	// Decoded at up to 8 bytes a pixel (16-bit RGBA), then converted.
	if err := memory.Check("decoding "+path, memory.Mul(16, int64(cfg.Width), int64(cfg.Height))); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("images: %s: %w", path, err)
	}
	img, err := imaging.Decode(f, imaging.AutoOrientation(true))
	if err != nil {
		return nil, decodeError(path, format, err)
	}
	return img, nil
}

// regular refuses a path that is not a regular file before it is opened:
// open blocks forever on a FIFO, and a device reads without end.
func regular(path string) error {
	err := pathcheck.Regular(path)
	var nr *pathcheck.NotRegularError
	if errors.As(err, &nr) {
		return fmt.Errorf("images: %s: is %s, not an image", path, nr.Kind)
	}
	return nil // a missing file is reported by open, as before
}

func decodeError(path, format string, err error) error {
	if errors.Is(err, image.ErrFormat) {
		return fmt.Errorf("images: %s: not a PNG or JPEG image", path)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("images: %w", err)
	}
	if format == "" {
		format = "image"
	} else {
		format += " image"
	}
	return fmt.Errorf("images: %s: corrupt or truncated %s: %w", path, format, err)
}

// Save writes img to path as a PNG, whatever the extension, atomically: a
// temporary file in the same directory is written, synced and renamed over
// path, so a crash never leaves a half-written image. If params is not
// empty it is stored as an AUTOMATIC1111-style "parameters" text chunk (see
// Encode). The file gets mode 0644.
func Save(path string, img image.Image, params string) error {
	var buf bytes.Buffer
	if err := Encode(&buf, img, params); err != nil {
		return fmt.Errorf("images: save %s: %w", path, errors.Unwrap(err))
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
	if err != nil {
		return fmt.Errorf("images: save %s: %w", path, err)
	}
	return nil
}

// Encode writes img to w as a PNG. If params is not empty it is stored in a
// text chunk with the keyword "parameters" right after IHDR, as AUTOMATIC1111
// and PIL do: tEXt when the text is Latin-1, iTXt (UTF-8) otherwise.
// params must be valid UTF-8 without NUL bytes.
func Encode(w io.Writer, img image.Image, params string) error {
	var chunk []byte
	if params != "" {
		var err error
		if chunk, err = textChunk(parametersKey, params); err != nil {
			return fmt.Errorf("images: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	b := buf.Bytes()
	if chunk != nil {
		// image/png cannot write text chunks: splice ours in after IHDR,
		// which is always first: 8-byte signature, then 4 length + 4 type +
		// 13 data + 4 CRC bytes.
		const ihdrEnd = len(pngSignature) + 4 + 4 + 13 + 4
		if len(b) < ihdrEnd || string(b[12:16]) != "IHDR" {
			panic("images: image/png did not start with IHDR")
		}
		b = append(b[:ihdrEnd:ihdrEnd], append(chunk, b[ihdrEnd:]...)...)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	return nil
}

// ReadParameters returns the "parameters" text stored in the PNG at path, or
// "" if it has none. It refuses a file that is not a PNG or whose chunks are
// damaged.
func ReadParameters(path string) (string, error) {
	if err := regular(path); err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	defer f.Close()
	s, err := readText(f, parametersKey)
	if err != nil {
		return "", fmt.Errorf("images: %s: %w", path, err)
	}
	return s, nil
}

// DecodeParameters returns the "parameters" text of the PNG read from r, or
// "" if it has none.
func DecodeParameters(r io.Reader) (string, error) {
	s, err := readText(r, parametersKey)
	if err != nil {
		return "", fmt.Errorf("images: %w", err)
	}
	return s, nil
}
