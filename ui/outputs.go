package ui

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"genlab/images"

	"gioui.org/widget"
	"github.com/disintegration/imaging"
)

// Work is kept as AUTOMATIC1111 keeps it: every image made is saved on its
// own, as it comes, in OutDir/<kind>/<date>/NNNNN-SEED.png with its
// parameters chunk, and the gallery reloads the latest of them at start.
// Save copies the selected image elsewhere, enlarged for slides if asked,
// once per folder and factor.

// HistoryLimit is how many saved images the gallery reloads at start.
const HistoryLimit = 200

// outputKinds are the outputs' subfolders, by task.
var outputKinds = map[string]string{"txt2img": "txt2img", "xy": "txt2img-grids", "inpaint": "inpaint", "super-resolution": "superres", "style": "style", "edit": "edit", "txt2vid": "txt2vid", "img2vid": "img2vid"}

// keep saves each new result in the outputs folder and records its path;
// it returns the folder.
func (u *UI) keep(rs []Result) (string, error) {
	dir := ""
	for i := range rs {
		kind := cmp.Or(outputKinds[rs[i].Task], "other")
		dir = filepath.Join(u.cfg.OutDir, kind, time.Now().Format("2006-01-02"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return dir, err
		}
		path := filepath.Join(dir, images.SampleName(nextIndex(dir), int64(rs[i].Seed), rs[i].Class))
		if err := saveResult(path, &rs[i], 1, paramsText(rs[i])); err != nil {
			return dir, err
		}
		rs[i].Path = path
	}
	return dir, nil
}

// paramsText is the parameters chunk of a result ("" for none).
func paramsText(r Result) string {
	if !r.HasParams() {
		return ""
	}
	return r.Params.String()
}

// nextIndex is one past the highest NNNNN- index of the PNGs in dir.
func nextIndex(dir string) int {
	names, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	next := 0
	for _, n := range names {
		head, _, ok := strings.Cut(filepath.Base(n), "-")
		if v, err := strconv.Atoi(head); ok && err == nil && v >= next {
			next = v + 1
		}
	}
	return next
}

// clearedMark is the file in the outputs folder that says when the
// gallery was last cleared: history older than it is not reloaded.
const clearedMark = ".gallery-cleared"

// loadHistory fills the gallery with the latest images of the outputs
// folder, newest first, back to the last Clear.
func (u *UI) loadHistory() {
	var since time.Time
	if st, err := os.Stat(filepath.Join(u.cfg.OutDir, clearedMark)); err == nil {
		since = st.ModTime()
	}
	paths, _ := filepath.Glob(filepath.Join(u.cfg.OutDir, "*", "*", "*.png"))
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, p := range paths {
		if strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(p))), "saved") {
			continue
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.ModTime().Before(since) {
			continue
		}
		files = append(files, file{p, st.ModTime()})
	}
	// Newest first: by time, then by the name's index within a day.
	slices.SortFunc(files, func(a, b file) int {
		return cmp.Or(b.mod.Compare(a.mod), cmp.Compare(b.path, a.path))
	})
	var rs []Result
	for _, f := range files[:min(len(files), HistoryLimit)] {
		img, err := images.Load(f.path)
		if err != nil {
			continue
		}
		r, _ := resultOf(f.path, img)
		r.Source = "history"
		if r.Task == "file" {
			r.Task = ""
		}
		rs = append(rs, r)
	}
	u.results = rs
	u.tileBtns = make([]widget.Clickable, len(rs))
	u.sel = -1
}

// saveFactor is the factor Save enlarges by.
func (u *UI) saveFactor() int {
	f, err := strconv.Atoi(u.saveScale.Value)
	if err != nil || f < 1 {
		return 1
	}
	return f
}

// Save writes gallery result i to the save folder as a PNG with its
// parameters chunk, enlarged by the chosen factor (nearest neighbour), and
// returns its path. A result saved there at that factor before is not
// written again: its path is returned.
func (u *UI) Save(i int) (string, error) {
	path, _, err := u.save(i)
	return path, err
}

// save is Save, and whether it wrote a file.
func (u *UI) save(i int) (string, bool, error) {
	if i < 0 || i >= len(u.results) {
		return "", false, errors.New("select an image in the gallery to save")
	}
	dir := strings.TrimSpace(u.outDir.Text())
	if dir == "" {
		return "", false, &fieldError{field: &u.outDir, msg: "type the folder to save in"}
	}
	r := &u.results[i]
	f := u.saveFactor()
	key := fmt.Sprintf("%s@%d", filepath.Clean(dir), f)
	if p, ok := r.saved[key]; ok {
		if _, err := os.Stat(p); err == nil {
			return p, false, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, &fieldError{field: &u.outDir, msg: err.Error()}
	}
	params := paramsText(*r)
	if f > 1 {
		if params != "" {
			p := r.Params
			b := r.Image.Bounds()
			p.Width, p.Height = f*b.Dx(), f*b.Dy()
			p.Extra = append(slices.Clone(p.Extra), images.Field{Key: "Enlarged", Value: fmt.Sprintf("%dx nearest", f)})
			params = p.String()
		}
	}
	path := filepath.Join(dir, images.SampleName(nextIndex(dir), int64(r.Seed), r.Class))
	if err := saveResult(path, r, f, params); err != nil {
		return "", false, err
	}
	if r.saved == nil {
		r.saved = map[string]string{}
	}
	r.saved[key] = path
	return path, true, nil
}

// SaveAll writes every gallery image not yet saved in the folder at the
// factor, oldest first, and returns the paths written.
func (u *UI) SaveAll() ([]string, error) {
	var paths []string
	for i := len(u.results) - 1; i >= 0; i-- {
		p, wrote, err := u.save(i)
		if err != nil {
			return paths, err
		}
		if wrote {
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// Enlarge scales img up f times, each pixel a f×f block (for slides).
func Enlarge(img image.Image, f int) image.Image {
	b := img.Bounds()
	return imaging.Resize(img, b.Dx()*f, b.Dy()*f, imaging.NearestNeighbor)
}

// Clear empties the gallery; Undo brings it back. The files stay in the
// outputs folder, and the gallery no longer reloads them at start.
func (u *UI) Clear() {
	if len(u.results) == 0 {
		return
	}
	u.cleared = u.results
	u.results, u.tileBtns, u.sel, u.zoom = nil, nil, -1, false
	clear(u.resultCache)
	if err := os.MkdirAll(u.cfg.OutDir, 0o755); err == nil {
		os.WriteFile(filepath.Join(u.cfg.OutDir, clearedMark), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644)
	}
	u.say("cleared %d image(s) from the gallery (their files stay in %s); Undo brings them back", len(u.cleared), u.cfg.OutDir)
}

// Undo brings back what Clear took away.
func (u *UI) Undo() {
	if u.cleared == nil {
		return
	}
	u.results = append(u.results, u.cleared...)
	u.tileBtns = make([]widget.Clickable, len(u.results))
	u.sel = 0
	n := len(u.cleared)
	u.cleared = nil
	os.Remove(filepath.Join(u.cfg.OutDir, clearedMark))
	u.say("brought back %d image(s)", n)
}
