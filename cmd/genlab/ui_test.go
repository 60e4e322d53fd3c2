package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"genlab/diffusion"
	"genlab/models"
)

func TestUIBadFlags(t *testing.T) {
	wantUserError(t, "--models", "ui", "--models", filepath.Join(t.TempDir(), "missing"))
	wantUserError(t, "--open", "ui", "--open", filepath.Join(t.TempDir(), "missing.png"))
	wantUserError(t, "unexpected argument", "ui", "now")
}

// Without a display the app says so in one line.
func TestUINoDisplay(t *testing.T) {
	status, _, stderr := genlabProcess(t, []string{"DISPLAY=", "WAYLAND_DISPLAY="}, "ui", "--models", t.TempDir())
	if status != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "no display") {
		t.Fatalf("exit %d, stderr:\n%s", status, stderr)
	}
}

// The smoke test: `genlab ui` under Xvfb opens its window, and a
// screenshot of the screen shows the header, the model list with the
// checkpoint selected and the Generate button. GENLAB_UI_SHOT=FILE keeps
// the screenshot.
func TestUIOpensUnderXvfb(t *testing.T) {
	needXTools(t)
	dir := t.TempDir()
	uiCheckpoint(t, filepath.Join(dir, "models", "tiny"))
	display := startXvfb(t)
	exited, stderr := startUI(t, display, "--models", filepath.Join(dir, "models"), "--out", filepath.Join(dir, "out"))

	header := color.RGBA{0x26, 0x2b, 0x3a, 0xff}
	blue := color.RGBA{0x3f, 0x51, 0xb5, 0xff} // the theme's buttons
	selected := color.RGBA{0xdc, 0xe3, 0xfb, 0xff}
	var shot *image.RGBA
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("genlab ui exited: %v\n%s", err, stderr.String())
		default:
		}
		var err error
		shot, err = screenshot(display)
		if err != nil {
			t.Fatal(err)
		}
		// Wait for the model list to be drawn, not just the window.
		if count(shot, selected) > 1000 && count(shot, blue) > 1000 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	path := os.Getenv("GENLAB_UI_SHOT")
	if path == "" {
		path = filepath.Join(dir, "screen.png")
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, shot)
	f.Close()
	t.Logf("screenshot: %s", path)
	// The header runs across the window's top; the selected entry's
	// highlight is in the left column; the blue buttons (Generate,
	// Refresh, Open, the tab) are there.
	if n := count(shot, header); n < 1000*40 {
		t.Errorf("%d header pixels", n)
	}
	if n := countIn(shot, selected, image.Rect(0, 40, 300, 300)); n < 2000 {
		t.Errorf("%d pixels of the selected model's highlight in the model list", n)
	}
	if n := count(shot, blue); n < 3000 {
		t.Errorf("%d pixels of the buttons' blue", n)
	}

	// Press Generate with the real mouse: the gallery fills and its
	// buttons turn blue.
	btn, ok := findButton(shot, blue, image.Rect(280, 46, 620, 800))
	if !ok {
		t.Fatal("no Generate button in the sampling panel")
	}
	gallery := image.Rect(600, 440, 1400, 900)
	before := countIn(shot, blue, gallery)
	clickAt(t, display, btn)
	deadline = time.Now().Add(60 * time.Second)
	for {
		shot, err = screenshot(display)
		if err != nil {
			t.Fatal(err)
		}
		if countIn(shot, blue, gallery) > before+2000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a click on Generate at %v, the gallery did not fill in 60 s", btn)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if path := os.Getenv("GENLAB_UI_SHOT"); path != "" {
		f, err := os.Create(strings.TrimSuffix(path, ".png") + "-generated.png")
		if err == nil {
			png.Encode(f, shot)
			f.Close()
		}
	}
	if strings.Contains(stderr.String(), "panic") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// needXTools fails the test when a tool the app's window tests drive it
// with is missing.
func needXTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"Xvfb", "xwd", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (Debian: xvfb x11-apps xdotool; make deps installs them)", tool)
		}
	}
}

// startUI runs `genlab ui ARGS` on display until the test ends; the
// channel says when it exits, the buffer is its stderr.
func startUI(t *testing.T, display string, args ...string) (<-chan error, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"ui"}, args...)...)
	cmd.Env = append(os.Environ(), "GENLAB_RUN_MAIN=1", "DISPLAY="+display, "WAYLAND_DISPLAY=")
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		close(exited) // the cleanup's receive ends whoever took the error
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	return exited, stderr
}

// clickAt clicks the left mouse button at p with xdotool.
func clickAt(t *testing.T, display string, p image.Point) {
	t.Helper()
	xdotool(t, display, "mousemove", fmt.Sprint(p.X), fmt.Sprint(p.Y), "click", "1")
}

// xdotool runs xdotool with args on display: the mouse and the keyboard.
func xdotool(t *testing.T, display string, args ...string) {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v: %s", args, err, out)
	}
}

// uiCheckpoint saves an untrained tiny class-conditional diffusion model.
func uiCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := diffusion.NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = "mnist"
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "ckpt-000005.safetensors")
	if err := models.SaveWeights(path, net.Params, models.Meta{Family: diffusion.Family, Config: raw, Step: 5}); err != nil {
		t.Fatal(err)
	}
	return path
}

// startXvfb starts a virtual X server on a free display and returns its
// name (":N").
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1400x900x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan struct{})
	go func() { x.Wait(); close(done) }()
	t.Cleanup(func() {
		x.Process.Kill()
		<-done
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not say its display")
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start in 20 s")
	}
	return ""
}

// screenshot is the X screen, as xwd dumps it.
func screenshot(display string) (*image.RGBA, error) {
	cmd := exec.Command("xwd", "-root", "-silent", "-display", display)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xwd: %v", err)
	}
	return decodeXWD(out)
}

// decodeXWD reads a 32-bit ZPixmap X window dump, xwd's format on a
// 24-bit TrueColor screen.
func decodeXWD(b []byte) (*image.RGBA, error) {
	if len(b) < 100 {
		return nil, errors.New("xwd: short dump")
	}
	f := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	hsize, format, w, h := int(f(0)), f(2), int(f(4)), int(f(5))
	order, bpp, bpl := f(7), f(11), int(f(12))
	rm, gm, bm := f(14), f(15), f(16)
	off := hsize + 12*int(f(19))
	if format != 2 || bpp != 32 || rm == 0 || gm == 0 || bm == 0 || off+h*bpl > len(b) {
		return nil, fmt.Errorf("xwd: format %d, %d bits per pixel: not a 32-bit TrueColor dump", format, bpp)
	}
	ch := func(p, m uint32) uint8 { return uint8((p & m) >> bits.TrailingZeros32(m)) }
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := b[off+y*bpl+4*x:]
			p := binary.BigEndian.Uint32(q)
			if order == 0 {
				p = binary.LittleEndian.Uint32(q)
			}
			img.SetRGBA(x, y, color.RGBA{ch(p, rm), ch(p, gm), ch(p, bm), 255})
		}
	}
	return img, nil
}

// findButton is the centre of the first run of c at least 50 pixels wide
// in r, top to bottom: a text button (check boxes and radio buttons are
// narrower).
func findButton(img *image.RGBA, c color.RGBA, r image.Rectangle) (image.Point, bool) {
	return findRun(img, c, r, 50)
}

// findRun is 10 pixels below the middle of the first run of c at least
// width pixels wide in r, top to bottom: inside a button whose top edge
// the run is.
func findRun(img *image.RGBA, c color.RGBA, r image.Rectangle, width int) (image.Point, bool) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		run := 0
		for x := r.Min.X; x <= r.Max.X; x++ {
			if x < r.Max.X && img.RGBAAt(x, y) == c {
				run++
				continue
			}
			if run >= width {
				return image.Pt(x-run/2, y+10), true
			}
			run = 0
		}
	}
	return image.Point{}, false
}

func count(img *image.RGBA, c color.RGBA) int { return countIn(img, c, img.Bounds()) }

func countIn(img *image.RGBA, c color.RGBA, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}
