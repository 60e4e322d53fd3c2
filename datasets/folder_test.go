package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// paint returns a w x h image whose pixel colours come from f.
func paint(w, h int, f func(x, y int) color.Color) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, f(x, y))
		}
	}
	return m
}

func solid(c color.Color) func(x, y int) color.Color { return func(int, int) color.Color { return c } }

var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
)

func encodePNG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIFOrientation inserts an APP1 EXIF segment holding only the
// orientation tag (0x0112) right after the JPEG's SOI marker.
func withEXIFOrientation(jpg []byte, orientation uint16) []byte {
	var tiff []byte
	tiff = append(tiff, "MM"...)
	tiff = binary.BigEndian.AppendUint16(tiff, 42)
	tiff = binary.BigEndian.AppendUint32(tiff, 8) // IFD0 offset
	tiff = binary.BigEndian.AppendUint16(tiff, 1) // one entry
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3) // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, orientation)
	tiff = binary.BigEndian.AppendUint16(tiff, 0)
	tiff = binary.BigEndian.AppendUint32(tiff, 0) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+len(payload)))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	// 30x10, blue edges around a green middle: the centre crop keeps green.
	banded := paint(30, 10, func(x, _ int) color.Color {
		if x >= 5 && x < 25 {
			return green
		}
		return blue
	})
	// Stored 20x10, left red and right blue, tagged "rotate 90° clockwise":
	// upright it is 10x20 with red on top, so its crop is red above blue.
	rotated := paint(20, 10, func(x, _ int) color.Color {
		if x < 10 {
			return red
		}
		return blue
	})
	writeFiles(t, dir, map[string][]byte{
		"a.png":         encodePNG(t, paint(12, 12, solid(red))),
		"b.jpg":         encodeJPEG(t, banded),
		"d.png":         encodePNG(t, paint(9, 9, solid(color.NRGBA{255, 255, 255, 128}))),
		"e.jpeg":        withEXIFOrientation(encodeJPEG(t, rotated), 6),
		".DS_Store":     []byte("junk"),
		"sub/skip.png":  []byte("not read: subfolders are skipped"),
		"sub/notes.txt": []byte("nor this"),
	})
	gray := image.NewGray(image.Rect(0, 0, 7, 5))
	for i := range gray.Pix {
		gray.Pix[i] = 128
	}
	writeFiles(t, dir, map[string][]byte{"c.PNG": encodePNG(t, gray)})

	const size = 8
	tests := []struct {
		name     string
		channels int
		// want gives the expected value of each image's channels at (x, y).
		want [5]func(x, y int) [3]float32
	}{
		{"rgb", 3, [5]func(x, y int) [3]float32{
			func(int, int) [3]float32 { return [3]float32{1, 0, 0} },
			func(int, int) [3]float32 { return [3]float32{0, 1, 0} },
			func(int, int) [3]float32 { return [3]float32{128.0 / 255, 128.0 / 255, 128.0 / 255} },
			func(int, int) [3]float32 { return [3]float32{128.0 / 255, 128.0 / 255, 128.0 / 255} }, // white at half alpha over black
			func(_, y int) [3]float32 {
				if y < size/2 {
					return [3]float32{1, 0, 0}
				}
				return [3]float32{0, 0, 1}
			},
		}},
		{"gray", 1, [5]func(x, y int) [3]float32{
			func(int, int) [3]float32 { return [3]float32{0.299} },
			func(int, int) [3]float32 { return [3]float32{0.587} },
			func(int, int) [3]float32 { return [3]float32{128.0 / 255} },
			func(int, int) [3]float32 { return [3]float32{128.0 / 255} },
			func(_, y int) [3]float32 {
				if y < size/2 {
					return [3]float32{0.299}
				}
				return [3]float32{0.114}
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadFolder(dir, size, tc.channels)
			if err != nil {
				t.Fatal(err)
			}
			if s.N != 5 || s.C != tc.channels || s.H != size || s.W != size || s.Name != dir {
				t.Fatalf("got %s N=%d C=%d H=%d W=%d", s.Name, s.N, s.C, s.H, s.W)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			// Compare away from the red/blue boundary, where Lanczos blends;
			// JPEG at quality 100 and resampling stay within 0.04.
			const tol = 0.04
			for i, want := range tc.want {
				img := s.Image(i)
				for y := range size {
					if i == 4 && (y == size/2-1 || y == size/2) {
						continue
					}
					for x := range size {
						w := want(x, y)
						for c := range tc.channels {
							got := img[c*size*size+y*size+x]
							if math.Abs(float64(got-w[c])) > tol {
								t.Fatalf("image %d channel %d (%d,%d) = %.3f, want %.3f±%v", i, c, x, y, got, w[c], tol)
							}
						}
					}
				}
			}
		})
	}
}

func TestLoadFolderErrors(t *testing.T) {
	var gifBytes bytes.Buffer
	if err := gif.Encode(&gifBytes, paint(4, 4, solid(red)), nil); err != nil {
		t.Fatal(err)
	}
	validPNG := encodePNG(t, paint(4, 4, solid(red)))
	tests := []struct {
		name     string
		files    map[string][]byte
		size, ch int
		wantFile string // the file the error must name; "" for the folder
		wantErr  string
	}{
		{"empty", nil, 8, 3, "", "no PNG or JPEG images in this folder"},
		{"only hidden and subfolders", map[string][]byte{".x.png": validPNG, "d/a.png": validPNG}, 8, 3, "", "no PNG or JPEG images"},
		{"non-image file", map[string][]byte{"a.png": validPNG, "notes.txt": []byte("hi")}, 8, 3, "notes.txt", "not a PNG or JPEG image"},
		{"corrupt png", map[string][]byte{"a.png": validPNG, "bad.png": []byte("\x89PNG\r\n\x1a\ngarbage")}, 8, 3, "bad.png", "cannot decode image"},
		{"truncated png", map[string][]byte{"cut.png": validPNG[:len(validPNG)-20]}, 8, 3, "cut.png", "cannot decode image"},
		{"gif named png", map[string][]byte{"g.png": gifBytes.Bytes()}, 8, 3, "g.png", "a gif image with a PNG or JPEG name"},
		{"huge header", map[string][]byte{"huge.png": hugePNGHeader(t)}, 8, 3, "huge.png", "100000x100000 pixels"},
		{"bad size", map[string][]byte{"a.png": validPNG}, 0, 3, "", "image size 0"},
		{"bad channels", map[string][]byte{"a.png": validPNG}, 8, 2, "", "2 channels, want 1 or 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			_, err := LoadFolder(dir, tc.size, tc.ch)
			if err == nil {
				t.Fatalf("LoadFolder succeeded, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "datasets: ") {
				t.Errorf("error %q, want %q", err, tc.wantErr)
			}
			if tc.wantFile != "" {
				var fe *FormatError
				if !errors.As(err, &fe) || fe.File != filepath.Join(dir, tc.wantFile) {
					t.Errorf("error %q does not name %s", err, tc.wantFile)
				}
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := LoadFolder(missing, 8, 3); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing folder: error %v does not name it", err)
	}
}

// hugePNGHeader returns a PNG signature and IHDR chunk announcing a
// 100000x100000 image, and no pixel data.
func hugePNGHeader(t *testing.T) []byte {
	b := encodePNG(t, paint(1, 1, solid(red)))[:33] // signature + IHDR chunk
	binary.BigEndian.PutUint32(b[16:], 100000)      // width
	binary.BigEndian.PutUint32(b[20:], 100000)      // height
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// TestFolderFIFO: a named pipe with an image's name is refused before
// open, which would block until a writer comes.
func TestFolderFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "a.png"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadFolder(dir, 8, 1); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("LoadFolder: err = %v; want one naming the pipe", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LoadFolder blocked on a FIFO")
	}
}
