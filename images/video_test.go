package images

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testClip is three 6x4 frames, each one flat colour.
func testClip() []image.Image {
	cols := []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}
	var out []image.Image
	for _, c := range cols {
		m := image.NewNRGBA(image.Rect(0, 0, 6, 4))
		for i := 0; i < len(m.Pix); i += 4 {
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
		}
		out = append(out, m)
	}
	return out
}

func TestEncodeAnimationIsAPNGAndStillAPNG(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeAnimation(&buf, testClip(), 125, "a red clip\nSteps: 10"); err != nil {
		t.Fatal(err)
	}
	// A reader that knows no APNG sees frame 1 and the parameters.
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(2, 2).RGBA(); r>>8 != 255 || g != 0 || b != 0 {
		t.Errorf("frame 1 decodes as %v, want red", img.At(2, 2))
	}
	if p, err := DecodeParameters(bytes.NewReader(buf.Bytes())); err != nil || p != "a red clip\nSteps: 10" {
		t.Errorf("parameters %q, %v", p, err)
	}
	if n, err := AnimationFrames(bytes.NewReader(buf.Bytes())); err != nil || n != 3 {
		t.Errorf("AnimationFrames = %d, %v; want 3", n, err)
	}
	// Chunk order: IHDR, acTL, tEXt, fcTL, IDAT..., then fcTL fdAT per frame.
	var types []string
	for _, c := range chunks(t, buf.Bytes()) { // checks every CRC
		types = append(types, c.typ)
	}
	got := strings.Join(types, " ")
	if want := "IHDR acTL tEXt fcTL IDAT fcTL fdAT fcTL fdAT IEND"; got != want {
		t.Errorf("chunks %s, want %s", got, want)
	}
}

func TestEncodeAnimationRefuses(t *testing.T) {
	clip := testClip()
	for name, frames := range map[string][]image.Image{
		"no frames":  nil,
		"other size": {clip[0], image.NewNRGBA(image.Rect(0, 0, 5, 4))},
		"other type": {clip[0], image.NewGray(image.Rect(0, 0, 6, 4))},
	} {
		if err := EncodeAnimation(&bytes.Buffer{}, frames, 100, ""); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := EncodeAnimation(&bytes.Buffer{}, clip, 0, ""); err == nil {
		t.Error("delay 0: no error")
	}
}

// TestAnimationReadByPIL checks the APNG with an independent reader:
// Pillow's frame count, every frame's colour and the parameters text.
func TestAnimationReadByPIL(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("python3 not installed: cannot check the APNG with Pillow")
		}
	}
	dir := t.TempDir()
	if exec.Command(py, "-c", "import PIL").Run() != nil {
		t.Skip("Pillow (python3-pil) not installed: cannot check the APNG with an independent reader")
	}
	path := filepath.Join(dir, "clip.png")
	if err := SaveAnimation(path, testClip(), 125, "a clip\nSteps: 10, Seed: 3"); err != nil {
		t.Fatal(err)
	}
	script := `
import sys
from PIL import Image
im = Image.open(sys.argv[1])
print(im.n_frames, im.is_animated, repr(im.info.get("parameters")))
for i in range(im.n_frames):
    im.seek(i)
    print(im.convert("RGB").getpixel((3, 2)), im.info.get("duration"))
`
	cmd := exec.Command(py, "-c", script, path)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "3 True 'a clip\\nSteps: 10, Seed: 3'\n(255, 0, 0) 125\n(0, 255, 0) 125\n(0, 0, 255) 125\n"
	if got := strings.ReplaceAll(string(out), ".0\n", "\n"); got != want {
		t.Errorf("Pillow read\n%s\nwant\n%s", out, want)
	}
}

func TestFrameStrip(t *testing.T) {
	pix := make([]float32, 3*1*2*2)
	for i := range pix {
		pix[i] = float32(i/4) / 2 // frame f is f/2 grey
	}
	s := FrameStrip(pix, 3, 1, 2, 2)
	if b := s.Bounds(); b.Dx() != 3*2+4 || b.Dy() != 2+2 {
		t.Fatalf("strip %v, want 10x4", b)
	}
	for f, want := range []uint8{0, 128, 255} {
		if y := color.GrayModel.Convert(s.At(1+f*3, 1)).(color.Gray).Y; y != want {
			t.Errorf("frame %d grey %d, want %d", f, y, want)
		}
	}
}
