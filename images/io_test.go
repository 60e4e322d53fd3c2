package images

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"genlab/internal/atomicfile"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testImage is a small RGB image with distinct pixels.
func testImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for y := range 3 {
		for x := range 5 {
			img.Set(x, y, color.NRGBA{uint8(40 * x), uint8(80 * y), uint8(x + y), 255})
		}
	}
	return img
}

type pngChunk struct {
	typ  string
	data []byte
}

// chunks splits a PNG into chunks, checking every CRC independently of the
// package code.
func chunks(t *testing.T, b []byte) []pngChunk {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("no PNG signature")
	}
	b = b[8:]
	var out []pngChunk
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatalf("%d stray bytes after the last chunk", len(b))
		}
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 12+n {
			t.Fatalf("chunk %q runs past the end", b[4:8])
		}
		typ, data := string(b[4:8]), b[8:8+n]
		if got, want := binary.BigEndian.Uint32(b[8+n:]), crc32.ChecksumIEEE(b[4:8+n]); got != want {
			t.Errorf("chunk %s: CRC %08x, want %08x", typ, got, want)
		}
		out = append(out, pngChunk{typ, data})
		b = b[12+n:]
	}
	return out
}

func TestEncodeParameters(t *testing.T) {
	tests := []struct {
		name, params, typ string
		data              []byte // the chunk data expected
	}{
		{"ASCII", "a cat\nSteps: 50, Seed: 42", "tEXt", []byte("parameters\x00a cat\nSteps: 50, Seed: 42")},
		{"Latin-1", "café crème, ½", "tEXt", []byte("parameters\x00caf\xe9 cr\xe8me, \xbd")},
		{"not Latin-1", "猫 🐱 — Seed: 1", "iTXt", []byte("parameters\x00\x00\x00\x00\x00猫 🐱 — Seed: 1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Encode(&b, testImage(), tt.params); err != nil {
				t.Fatal(err)
			}
			cs := chunks(t, b.Bytes())
			if len(cs) < 4 || cs[0].typ != "IHDR" || cs[1].typ != tt.typ || cs[len(cs)-1].typ != "IEND" {
				var types []string
				for _, c := range cs {
					types = append(types, c.typ)
				}
				t.Fatalf("chunks %v, want IHDR, %s, ..., IEND", types, tt.typ)
			}
			if !bytes.Equal(cs[1].data, tt.data) {
				t.Errorf("%s data = %q, want %q", tt.typ, cs[1].data, tt.data)
			}
			img, err := png.Decode(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatalf("png.Decode: %v", err)
			}
			samePixels(t, img, testImage())
			got, err := DecodeParameters(bytes.NewReader(b.Bytes()))
			if err != nil || got != tt.params {
				t.Errorf("DecodeParameters = %q, %v; want %q", got, err, tt.params)
			}
		})
	}
}

func TestEncodeWithoutParameters(t *testing.T) {
	var got, want bytes.Buffer
	if err := Encode(&got, testImage(), ""); err != nil {
		t.Fatal(err)
	}
	png.Encode(&want, testImage())
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Error("Encode without parameters differs from png.Encode")
	}
	if p, err := DecodeParameters(&got); p != "" || err != nil {
		t.Errorf("DecodeParameters = %q, %v; want empty", p, err)
	}
}

func TestEncodeRefuses(t *testing.T) {
	for name, params := range map[string]string{
		"NUL byte":      "a\x00b",
		"invalid UTF-8": "caf\xe9",
	} {
		if err := Encode(io.Discard, testImage(), params); err == nil || !strings.HasPrefix(err.Error(), "images: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := Encode(io.Discard, image.NewGray(image.Rect(0, 0, 0, 0)), ""); err == nil {
		t.Error("empty image: no error")
	}
}

func samePixels(t *testing.T, got, want image.Image) {
	t.Helper()
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	gb, wb := got.Bounds(), want.Bounds()
	for y := range wb.Dy() {
		for x := range wb.Dx() {
			g := color.NRGBAModel.Convert(got.At(gb.Min.X+x, gb.Min.Y+y))
			w := color.NRGBAModel.Convert(want.At(wb.Min.X+x, wb.Min.Y+y))
			if g != w {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, g, w)
			}
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 16)
	}
	for name, img := range map[string]image.Image{"rgb": testImage(), "gray": gray} {
		path := filepath.Join(dir, name+".png")
		params := Parameters{Prompt: "a " + name + " image", Steps: 10, Seed: 7, Width: 4, Height: 4}.String()
		if err := Save(path, img, params); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		samePixels(t, got, img)
		if p, err := ReadParameters(path); err != nil || p != params {
			t.Errorf("%s: ReadParameters = %q, %v; want %q", name, p, err, params)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", name, st.Mode().Perm())
		}
	}
	if names := listDir(t, dir); !reflect.DeepEqual(names, []string{"gray.png", "rgb.png"}) {
		t.Errorf("directory holds %q: temporary files left behind?", names)
	}

	// JPEG loads too.
	jpath := filepath.Join(dir, "photo.jpg")
	f, _ := os.Create(jpath)
	jpeg.Encode(f, testImage(), &jpeg.Options{Quality: 95})
	f.Close()
	img, err := Load(jpath)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Size() != image.Pt(5, 3) {
		t.Errorf("JPEG size %v", img.Bounds().Size())
	}
	if _, err := ReadParameters(jpath); err == nil || !strings.Contains(err.Error(), "photo.jpg: not a PNG image") {
		t.Errorf("ReadParameters(JPEG): err = %v", err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	if err := Save(path, testImage(), "first"); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	unchanged := func(what string) {
		t.Helper()
		if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
			t.Errorf("%s: the existing file was replaced", what)
		}
		if names := listDir(t, dir); !reflect.DeepEqual(names, []string{"out.png"}) {
			t.Errorf("%s: directory holds %q", what, names)
		}
	}
	if err := Save(path, image.NewGray(image.Rectangle{}), ""); err == nil || !strings.Contains(err.Error(), "save "+path) {
		t.Errorf("empty image: err = %v", err)
	}
	unchanged("unencodable image")
	if err := Save(path, testImage(), "bad\x00"); err == nil {
		t.Error("NUL in parameters: no error")
	}
	unchanged("bad parameters")
	err := atomicfile.Write(path, func(w io.Writer) error {
		w.Write([]byte("\x89PNG half"))
		return errors.New("disk full")
	})
	if err == nil {
		t.Error("failing write: no error")
	}
	unchanged("failing write")
	if err := Save(filepath.Join(dir, "missing", "x.png"), testImage(), ""); err == nil {
		t.Error("missing directory: no error")
	}
	unchanged("missing directory")
	if err := Save(path, testImage(), "second"); err != nil {
		t.Fatal(err)
	}
	if p, _ := ReadParameters(path); p != "second" {
		t.Errorf("after replacing: parameters %q", p)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var good bytes.Buffer
	png.Encode(&good, testImage())
	flipped := bytes.Clone(good.Bytes())
	flipped[len(flipped)-20] ^= 0xff // inside IDAT: bad CRC
	huge := bytes.Clone(good.Bytes())
	binary.BigEndian.PutUint32(huge[16:], 100000) // IHDR width
	binary.BigEndian.PutUint32(huge[20:], 100000) // IHDR height
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))

	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "missing.png"), "images: open " + filepath.Join(dir, "missing.png") + ": no such file or directory"},
		{"text", write("cat.txt", []byte("meow\n")), "images: " + filepath.Join(dir, "cat.txt") + ": not a PNG or JPEG image"},
		{"empty", write("empty.png", nil), ": not a PNG or JPEG image"},
		{"truncated", write("cut.png", good.Bytes()[:60]), "cut.png: corrupt or truncated png image: png: invalid format: not enough pixel data"},
		{"bad CRC", write("crc.png", flipped), "crc.png: corrupt or truncated png image: png: invalid format"},
		{"directory", dir, ": is a directory, not an image"},
		{"too large", write("huge.png", huge), "huge.png: 100000x100000 png image is larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadParametersErrors(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, testImage(), "Steps: 5, Seed: 1, Size: 5x3"); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	badCRC := bytes.Clone(good)
	badCRC[33+8+12] ^= 1 // a byte of the text
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"not PNG", []byte("GIF89a......"), "not a PNG image"},
		{"empty", nil, "not a PNG image"},
		{"cut in a chunk", good[:40], "truncated PNG"},
		{"cut between chunks", good[:33], "truncated PNG: no IEND chunk"},
		{"bad CRC in text", badCRC, `bad CRC in tEXt chunk "parameters"`},
		{"huge chunk length", append(bytes.Clone(good[:8]), 0xff, 0xff, 0xff, 0xff, 't', 'E', 'X', 't'), "corrupt PNG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeParameters(bytes.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "x.png")
	os.WriteFile(path, badCRC, 0o644)
	if _, err := ReadParameters(path); err == nil || !strings.Contains(err.Error(), "images: "+path+": corrupt PNG") {
		t.Errorf("ReadParameters: err = %v", err)
	}
	if _, err := ReadParameters(path + ".missing"); err == nil || !strings.Contains(err.Error(), "x.png.missing") {
		t.Errorf("ReadParameters(missing): err = %v", err)
	}
}

// insertChunk puts a chunk right after IHDR of a plain PNG.
func insertChunk(t *testing.T, typ string, data []byte) []byte {
	var b bytes.Buffer
	png.Encode(&b, testImage())
	c := chunk(typ, data)
	return append(append(bytes.Clone(b.Bytes()[:33]), c...), b.Bytes()[33:]...)
}

func deflate(s string) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// TestReadTextChunkKinds reads every way a PNG can hold the text: other
// tools write zTXt and compressed iTXt, and other keys come first.
func TestReadTextChunkKinds(t *testing.T) {
	const text = "a dog\nSteps: 20, Seed: 3, Size: 8x8"
	tests := []struct {
		name, typ string
		data      []byte
		want      string
	}{
		{"zTXt", "zTXt", append([]byte("parameters\x00\x00"), deflate(text)...), text},
		{"compressed iTXt", "iTXt", append([]byte("parameters\x00\x01\x00en\x00Parameter\x00"), deflate("猫 "+text)...), "猫 " + text},
		{"iTXt with language", "iTXt", []byte("parameters\x00\x00\x00de\x00Parameter\x00ü"), "ü"},
		{"other key", "tEXt", []byte("Software\x00genlab"), ""},
		{"key prefix only", "tEXt", []byte("parametersX\x00no"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeParameters(bytes.NewReader(insertChunk(t, tt.typ, tt.data)))
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	bad := []struct {
		name, typ string
		data      []byte
		want      string
	}{
		{"zTXt bad method", "zTXt", append([]byte("parameters\x00\x07"), deflate(text)...), "unknown compression"},
		{"zTXt bad zlib", "zTXt", []byte("parameters\x00\x00garbage"), "zlib"},
		{"iTXt missing fields", "iTXt", []byte("parameters\x00\x00\x00en"), "missing language tag"},
		{"iTXt bad UTF-8", "iTXt", []byte("parameters\x00\x00\x00\x00\x00\xff"), "not valid UTF-8"},
		{"iTXt too short", "iTXt", []byte("parameters\x00\x00"), "too short"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeParameters(bytes.NewReader(insertChunk(t, tt.typ, tt.data)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func python(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		var lerr error
		if py, lerr = exec.LookPath("python3"); lerr != nil {
			t.Skip("python3 not installed")
		}
	}
	if exec.Command(py, "-c", "import PIL").Run() != nil {
		t.Skip("PIL not importable by " + py + " (Debian: python3-pil)")
	}
	return py
}

// TestPILCompat checks the text chunks against PIL, which AUTOMATIC1111 uses
// to write and read them: PIL must read genlab's, and genlab PIL's.
func TestPILCompat(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	texts := map[string]string{
		"ascii":   Parameters{Prompt: "a small red circle", NegativePrompt: "blurry", Steps: 50, Sampler: "DDIM", CFGScale: 2, Seed: 42, Width: 28, Height: 28}.String(),
		"latin1":  "crème brûlée\nSeed: 1",
		"unicode": "猫が座っている 🐱\nSteps: 20, Seed: 5, Size: 32x32",
	}
	for name, text := range texts {
		t.Run("PIL reads "+name, func(t *testing.T) {
			path := filepath.Join(dir, name+".png")
			if err := Save(path, testImage(), text); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(py, "testdata/png_text.py", "read", path).Output()
			if err != nil {
				t.Fatalf("png_text.py read: %v %s", err, stderr(err))
			}
			var got struct {
				Parameters *string
				Size       []int
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.Parameters == nil || *got.Parameters != text {
				t.Errorf("PIL reads %v, want %q", got.Parameters, text)
			}
			if !reflect.DeepEqual(got.Size, []int{5, 3}) {
				t.Errorf("PIL size %v", got.Size)
			}
		})
		for _, zip := range []string{"0", "1"} {
			t.Run("genlab reads PIL "+name+" zip="+zip, func(t *testing.T) {
				path := filepath.Join(dir, "pil-"+name+zip+".png")
				if out, err := exec.Command(py, "testdata/png_text.py", "write", path, text, zip).CombinedOutput(); err != nil {
					t.Fatalf("png_text.py write: %v %s", err, out)
				}
				got, err := ReadParameters(path)
				if err != nil || got != text {
					t.Errorf("ReadParameters = %q, %v; want %q", got, err, text)
				}
			})
		}
	}
}

func stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestLoadNotRegular: a FIFO or a device given as an image is refused
// before open, which would block on a FIFO until a writer comes.
func TestLoadNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	for path, kind := range map[string]string{fifo: "named pipe", "/dev/zero": "character device"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), kind) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load(%s): err = %v; want one naming a %s", path, err, kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Load(%s) blocked", path)
		}
		go func() { _, err := ReadParameters(path); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("ReadParameters(%s) read it", path)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadParameters(%s) blocked", path)
		}
	}
}
