//go:build cgo

package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gioui.org/gpu/headless"
)

// solid is a w×h image of one colour, to find on the screen.
func solid(w, h int, c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// shoot renders the harness's last frame in w, a headless GPU window
// (Mesa's software EGL) of its size, and keeps the picture in
// GENLAB_UI_SHOTS, if set.
func (h *harness) shoot(w *headless.Window, name string) *image.RGBA {
	h.t.Helper()
	if err := w.Frame(&h.ops); err != nil {
		h.t.Fatal(err)
	}
	shot := image.NewRGBA(image.Rectangle{Max: h.size})
	if err := w.Screenshot(shot); err != nil {
		h.t.Fatal(err)
	}
	if dir := os.Getenv("GENLAB_UI_SHOTS"); dir != "" {
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(name, "/", "")+".png")) // "X/Y plot"
		if err == nil {
			png.Encode(f, shot)
			f.Close()
		}
	}
	return shot
}

// blob is a connected region of one colour: its bounding box and pixels.
type blob struct {
	box image.Rectangle
	n   int
}

// blobs are the connected regions of each of the colours (within 6 per
// channel) in shot, of 100 pixels or more.
func blobs(shot *image.RGBA, colours []color.NRGBA) map[color.NRGBA][]blob {
	b := shot.Bounds()
	w := b.Dx()
	label := make([]int8, w*b.Dy()) // 1+index of the colour, 0 for none
	for i := range label {
		p := shot.Pix[4*i : 4*i+3]
		for k, c := range colours {
			d := func(a, b uint8) bool { return max(a, b)-min(a, b) <= 6 }
			if d(p[0], c.R) && d(p[1], c.G) && d(p[2], c.B) {
				label[i] = int8(k + 1)
				break
			}
		}
	}
	out := map[color.NRGBA][]blob{}
	var stack []int
	for i, l := range label {
		if l <= 0 {
			continue
		}
		bl := blob{box: image.Rect(i%w, i/w, i%w+1, i/w+1)}
		label[i] = -l
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			bl.n++
			x, y := j%w, j/w
			bl.box = bl.box.Union(image.Rect(x, y, x+1, y+1))
			for _, q := range [4]int{j + 1, j - 1, j + w, j - w} {
				if q >= 0 && q < len(label) && label[q] == l && (q/w == y || q%w == x) {
					label[q] = -l
					stack = append(stack, q)
				}
			}
		}
		if bl.n >= 100 { // a pane or a tile, not a stray pixel of text
			c := colours[l-1]
			out[c] = append(out[c], bl)
		}
	}
	return out
}

// Every tab at the smallest and a large window: each image pane is a
// whole square inside the window, overlapped by nothing (its colour is
// one full square), the stage's panes scale with the window, and the
// gallery's buttons and fields stay on screen.
// GENLAB_UI_SHOTS=DIR keeps the screenshots.
func TestLayoutFitsFrom1024x680To1600x1000(t *testing.T) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("EGL_PLATFORM") == "" {
		t.Setenv("EGL_PLATFORM", "surfaceless")
	}
	dir := t.TempDir()
	tinyCheckpoint(t, filepath.Join(dir, "tiny"), "ckpt-000005.safetensors", 5)
	var (
		red     = color.NRGBA{R: 255, A: 255} // a source
		green   = color.NRGBA{G: 255, A: 255} // the style image
		blue    = color.NRGBA{B: 255, A: 255} // a result
		magenta = color.NRGBA{R: 255, B: 255, A: 255}
		yellow  = color.NRGBA{R: 255, G: 255, A: 255}
	)
	for _, size := range []image.Point{{1024, 680}, {1600, 1000}} {
		h := newHarness(t, Config{Dirs: []string{dir}})
		h.size = size
		win, err := headless.NewWindow(size.X, size.Y)
		if err != nil {
			t.Fatalf("headless GPU window: %v (needs Mesa's EGL: libegl-mesa0 libgl1-mesa-dri)", err)
		}
		defer win.Release()
		h.u.addResults([]Result{{Image: solid(28, 28, yellow), Class: 3, Seed: 9, Task: "txt2img", Params: h.u.model.Parameters(Settings{Steps: 5, Sampler: "ddim", Class: 3}, 9)}})
		h.u.addResults([]Result{{Image: solid(28, 28, magenta), Class: NoClass, Task: "file"}})
		for _, tab := range []Tab{TabInpaint, TabSuperRes, TabStyle, TabEdit} {
			h.u.SetTab(tab)
			h.u.setSource(solid(28, 28, red), "red")
			h.u.tabs[tab].result = solid(56, 56, blue)
		}
		h.u.styleImg = solid(16, 16, green)
		h.u.tabs[TabXY].result = solid(56, 56, blue) // a plot
		// The stage's least side of a pane at this size.
		least := map[Tab]int{TabGenerate: 240, TabXY: 240, TabInpaint: 220, TabSuperRes: 220, TabStyle: 150, TabEdit: 220, TabInfo: 220}
		if size.X >= 1600 {
			least = map[Tab]int{TabGenerate: 420, TabXY: 420, TabInpaint: 400, TabSuperRes: 400, TabStyle: 280, TabEdit: 400, TabInfo: 400}
		}
		for tab := range numTabs {
			h.u.SetTab(tab)
			h.frame()
			h.frame()
			shot := h.shoot(win, fmt.Sprintf("%dx%d-%s", size.X, size.Y, tab))
			found := blobs(shot, []color.NRGBA{red, green, blue, magenta, yellow})
			want := map[color.NRGBA]int{magenta: 1, yellow: 1} // the gallery's tiles
			switch tab {
			case TabGenerate, TabInfo:
				want[magenta] = 2 // the selected image is on the stage too
			case TabXY:
				want[blue] = 1
			case TabStyle:
				want[red], want[green], want[blue] = 1, 1, 1
			default:
				want[red], want[blue] = 1, 1
			}
			gallery := h.mustFind(fmt.Sprintf("Gallery (%d)", len(h.u.Results())))
			for _, c := range []color.NRGBA{red, green, blue, magenta, yellow} {
				n := want[c]
				if len(found[c]) != n {
					t.Errorf("%v %s: %d regions of %v, want %d: %v", size, tab, len(found[c]), c, n, found[c])
					continue
				}
				for _, bl := range found[c] {
					b := bl.box
					inside := b.Min.X > 0 && b.Min.Y > 0 && b.Max.X < size.X && b.Max.Y < size.Y
					whole := bl.n >= b.Dx()*b.Dy()*97/100 && max(b.Dx()-b.Dy(), b.Dy()-b.Dx()) <= 2
					if !inside || !whole {
						t.Errorf("%v %s: the %v pane %v is cut or overlapped (%d of %d pixels)", size, tab, c, b, bl.n, b.Dx()*b.Dy())
					}
					if stage := b.Max.Y < gallery.Min.Y; stage && b.Dx() < least[tab] {
						t.Errorf("%v %s: the %v pane is %d px wide, want at least %d", size, tab, c, b.Dx(), least[tab])
					} else if !stage && b.Min.Y < gallery.Max.Y {
						t.Errorf("%v %s: a %v pane %v runs into the gallery's heading %v", size, tab, c, b, gallery)
					}
				}
			}
			for _, name := range []string{"Save", "Save all", "Zoom", "Reuse settings", "Use as source", "Clear", "PNG info"} {
				if r, ok := h.find(name); !ok || !r.In(image.Rectangle{Max: size}) {
					t.Errorf("%v %s: %q is at %v, not inside the window", size, tab, name, r)
				}
			}
			if r := h.editorAfter("to"); r.Dx() < 60 || !r.In(image.Rectangle{Max: size}) {
				t.Errorf("%v %s: the save folder's field is at %v", size, tab, r)
			}
		}
	}
}
