package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/disintegration/imaging"
)

// An audit answers "is this training set clean?" before anything trains on
// it: files that do not load and why, images of another size or mode than
// the rest, blank ones, exact duplicates (the same decoded pixels, whatever
// the file bytes), near-duplicates (nearest neighbours on small grey
// thumbnails), class balance and caption problems. It reads files and
// never writes, moves or deletes one; what to keep is a list the caller may
// write (Audit.Keep).

// ThumbSide is the side of the thumbnails near-duplicates are found on:
// RGB planes, or one grey plane for a set of grey images.
const ThumbSide = 16

// AuditOptions are an audit's thresholds; zero fields take the defaults.
type AuditOptions struct {
	// Near is the distance of two thumbnails below which two images are
	// near-duplicates (default 0.1). Each thumbnail is centred and scaled
	// to length 1 first, so the distance is sqrt(2 − 2·cos) of the two: 0 for
	// the same picture at another brightness or contrast, 2 for opposites,
	// and a thin stroke is compared by its shape, not by how little of the
	// image it covers.
	Near float64
	// Blank is the standard deviation of an image's pixels below which it
	// is blank or near-constant (default 0.02).
	Blank float64
	// PHash, when true, also makes near-duplicates of images whose
	// perceptual hashes (PHash) differ in at most PHashBits bits. Off by
	// default: on digits it is too coarse (measured on the 10,000 MNIST
	// test digits: 352 pairs of different digits share a hash, against no
	// near-duplicate by thumbnail distance).
	PHash     bool `json:"phash"`
	PHashBits int  `json:"phash_bits"`
	// Vocabulary, if not nil, lists the words a caption may use (compared
	// in lower case, a final full stop dropped): a caption with another
	// word is a problem.
	Vocabulary []string `json:"-"`
}

func (o AuditOptions) withDefaults() AuditOptions {
	if o.Near == 0 {
		o.Near = 0.1
	}
	if o.Blank == 0 {
		o.Blank = 0.02
	}
	return o
}

// Problem kinds.
const (
	ProblemUnreadable = "unreadable" // not an image, truncated or corrupt
	ProblemSize       = "size"       // another width or height than most images
	ProblemMode       = "mode"       // grey among colour, alpha among opaque, ...
	ProblemBlank      = "blank"      // constant or nearly
	ProblemCaption    = "caption"    // empty caption
)

// Problem is one thing wrong with one image or file.
type Problem struct {
	Item   string `json:"item"`  // the file, or "NAME #i" for a built-in set
	Index  int    `json:"index"` // its index among the readable images, -1 if unreadable
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// CaptionCount is a caption and how many images carry it.
type CaptionCount struct {
	Caption string `json:"caption"`
	Images  int    `json:"images"`
}

// Audit is what an audit found.
type Audit struct {
	Name    string       `json:"name"`
	Files   int          `json:"files"`  // files looked at (a folder), or images (a built-in set)
	Images  int          `json:"images"` // images that loaded
	Items   []string     `json:"-"`      // each loaded image's name, by index
	Options AuditOptions `json:"options"`

	Problems []Problem `json:"problems"`
	// Exact and Near are groups of indices of loaded images: the same
	// decoded pixels, and near-duplicates that are not exact ones. Each
	// group is sorted; groups are sorted by their first index.
	Exact [][]int `json:"exact_duplicates"`
	Near  [][]int `json:"near_duplicates"`

	ClassCounts    []int          `json:"class_counts,omitempty"`
	SharedCaptions []CaptionCount `json:"shared_captions,omitempty"` // the most shared, most first

	// Thumbs are the thumbnails, ThumbLen values per image.
	Thumbs   []float32 `json:"-"`
	ThumbLen int       `json:"-"`
	// Nearest is each loaded image's thumbnail distance (see AuditOptions.Near)
	// to its nearest other image; NaN for blank images and exact copies.
	Nearest []float64 `json:"-"`
}

// Clean says whether the audit found nothing to act on.
func (a *Audit) Clean() bool {
	return len(a.Problems) == 0 && len(a.Exact) == 0 && len(a.Near) == 0
}

// Keep is the list of loaded images to train on: all but the unreadable
// and blank ones and all but the first of each duplicate group.
func (a *Audit) Keep() []string {
	drop := map[int]bool{}
	for _, p := range a.Problems {
		if p.Index >= 0 && p.Kind == ProblemBlank {
			drop[p.Index] = true
		}
	}
	for _, g := range append(slices.Clone(a.Exact), a.Near...) {
		for _, i := range g[1:] {
			drop[i] = true
		}
	}
	var keep []string
	for i, name := range a.Items {
		if !drop[i] {
			keep = append(keep, name)
		}
	}
	return keep
}

// Outliers are the (at most) n loaded images farthest from their nearest
// other image by thumbnail distance, farthest first: not problems, but the
// images most unlike the rest of the set, to look at.
func (a *Audit) Outliers(n int) []int {
	var idx []int
	for i, d := range a.Nearest {
		if !math.IsNaN(d) && !math.IsInf(d, 0) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		switch dx, dy := a.Nearest[x], a.Nearest[y]; {
		case dx > dy:
			return -1
		case dx < dy:
			return 1
		}
		return 0
	})
	return idx[:min(n, len(idx))]
}

// AuditSet audits an in-memory set (MNIST, shapes): every image loaded, so
// only the pixel, label and caption checks apply.
func AuditSet(s *Set, o AuditOptions) (*Audit, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	a := &Audit{Name: s.Name, Files: s.N, Images: s.N, Options: o.withDefaults()}
	a.Items = make([]string, s.N)
	hashes := make([][32]byte, s.N)
	planes := 3
	if s.C == 1 {
		planes = 1 // grey: an RGB thumbnail would be the same plane thrice
	}
	a.ThumbLen = planes * ThumbSide * ThumbSide
	a.Thumbs = make([]float32, s.N*a.ThumbLen)
	stds := make([]float64, s.N)
	buf := make([]byte, 4*s.Dim())
	for i := 0; i < s.N; i++ {
		a.Items[i] = fmt.Sprintf("%s #%d", s.Name, i)
		img := s.Image(i)
		for j, v := range img {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		hashes[i] = sha256.Sum256(buf)
		stds[i] = thumbCHW(a.Thumbs[i*a.ThumbLen:(i+1)*a.ThumbLen], img, s.C, s.H, s.W, planes)
	}
	var ph []uint64
	if a.Options.PHash {
		ph = make([]uint64, s.N)
		for i := range ph {
			ph[i] = PHash(s.ToImage(i))
		}
	}
	a.checkPixels(hashes, stds, ph)
	if s.Labels != nil {
		a.ClassCounts = make([]int, s.Classes)
		for _, l := range s.Labels {
			a.ClassCounts[l]++
		}
	}
	if s.Captions != nil {
		a.checkCaptions(s.Captions)
		sort.SliceStable(a.Problems, func(i, j int) bool { return a.Problems[i].Index < a.Problems[j].Index })
	}
	return a, nil
}

// AuditFolder audits every file in dir (not its subfolders; hidden files
// skipped), reading each on its own so that one bad file is reported, not
// fatal. Only files are read: nothing in dir is written or changed.
func AuditFolder(dir string, o AuditOptions) (*Audit, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	a := &Audit{Name: dir, Options: o.withDefaults()}
	type loaded struct {
		name       string
		w, h       int
		mode       string
		hash       [32]byte
		thumb      []float32
		std        float64
		phash      uint64
		index      int
		reasonSize string
	}
	var imgs []loaded
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, name)
		a.Files++
		img, mode, err := readAuditImage(path)
		if err != nil {
			a.Problems = append(a.Problems, Problem{Item: path, Index: -1, Kind: ProblemUnreadable, Reason: err.Error()})
			continue
		}
		b := img.Bounds()
		l := loaded{name: path, w: b.Dx(), h: b.Dy(), mode: mode, thumb: make([]float32, 3*ThumbSide*ThumbSide), index: len(imgs)}
		l.hash = pixelHash(img)
		l.std = thumbImage(l.thumb, img)
		if a.Options.PHash {
			l.phash = PHash(img)
		}
		imgs = append(imgs, l)
	}
	a.Images = len(imgs)
	a.Items = make([]string, len(imgs))
	hashes := make([][32]byte, len(imgs))
	stds := make([]float64, len(imgs))
	var ph []uint64
	if a.Options.PHash {
		ph = make([]uint64, len(imgs))
		for i, l := range imgs {
			ph[i] = l.phash
		}
	}
	a.ThumbLen = 3 * ThumbSide * ThumbSide
	a.Thumbs = make([]float32, 0, len(imgs)*a.ThumbLen)
	sizes, modes := map[string]int{}, map[string]int{}
	for i, l := range imgs {
		a.Items[i], hashes[i], stds[i] = l.name, l.hash, l.std
		a.Thumbs = append(a.Thumbs, l.thumb...)
		sizes[fmt.Sprintf("%dx%d", l.w, l.h)]++
		modes[l.mode]++
	}
	// Sizes and modes: the most common is the norm, the rest are reported
	// (ties go to the smaller name, so the report is stable).
	common := func(m map[string]int) string {
		best := ""
		for k, n := range m {
			if best == "" || n > m[best] || (n == m[best] && k < best) {
				best = k
			}
		}
		return best
	}
	size, mode := common(sizes), common(modes)
	for i, l := range imgs {
		if s := fmt.Sprintf("%dx%d", l.w, l.h); s != size {
			a.Problems = append(a.Problems, Problem{Item: l.name, Index: i, Kind: ProblemSize,
				Reason: fmt.Sprintf("%s pixels; %d of %d images are %s", s, sizes[size], len(imgs), size)})
		}
		if l.mode != mode {
			a.Problems = append(a.Problems, Problem{Item: l.name, Index: i, Kind: ProblemMode,
				Reason: fmt.Sprintf("%s; %d of %d images are %s", l.mode, modes[mode], len(imgs), mode)})
		}
	}
	a.checkPixels(hashes, stds, ph)
	return a, nil
}

// readAuditImage decodes one file, its header first so that a hostile size
// is refused before decoding, and names its mode.
func readAuditImage(path string) (image.Image, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if !st.Mode().IsRegular() {
		return nil, "", fmt.Errorf("not a regular file")
	}
	if err := checkImageHeader(path); err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, "", errors.New(fe.Reason)
		}
		return nil, "", err
	}
	img, err := imaging.Open(path, imaging.AutoOrientation(true))
	if err != nil {
		return nil, "", fmt.Errorf("truncated or corrupt: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
		return nil, "", fmt.Errorf("empty image (%dx%d)", b.Dx(), b.Dy())
	}
	return img, imageMode(img), nil
}

// imageMode names an image's colour model as a person would.
func imageMode(img image.Image) string {
	switch img.ColorModel() {
	case color.GrayModel, color.Gray16Model:
		return "grey"
	case color.YCbCrModel, color.CMYKModel:
		return "colour"
	}
	if _, ok := img.(*image.Paletted); ok {
		return "palette"
	}
	// RGBA-like: colour with alpha only if some pixel is not opaque.
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, al := img.At(x, y).RGBA(); al != 0xffff {
				return "colour with transparency"
			}
		}
	}
	return "colour"
}

// pixelHash is a hash of an image's size and decoded 8-bit RGBA pixels: two
// files with the same pixels and other bytes (metadata, compression) hash
// alike.
func pixelHash(img image.Image) [32]byte {
	n := imaging.Clone(img)
	h := sha256.New()
	var dims [8]byte
	binary.LittleEndian.PutUint32(dims[:], uint32(n.Bounds().Dx()))
	binary.LittleEndian.PutUint32(dims[4:], uint32(n.Bounds().Dy()))
	h.Write(dims[:])
	h.Write(n.Pix)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// thumbImage writes img's thumbnail (RGB planes of
// ThumbSide², box filter, transparency over black) to dst and returns the
// standard deviation of its grey pixels at full size.
func thumbImage(dst []float32, img image.Image) float64 {
	g := imaging.Grayscale(img)
	var s, s2 float64
	for i := 0; i < len(g.Pix); i += 4 {
		v := float64(g.Pix[i]) / 255
		s += v
		s2 += v * v
	}
	n := float64(len(g.Pix) / 4)
	t := imaging.Resize(img, ThumbSide, ThumbSide, imaging.Box)
	plane := ThumbSide * ThumbSide
	for i := 0; i < plane; i++ {
		a := float32(t.Pix[4*i+3]) / 255
		for ch := 0; ch < 3; ch++ {
			dst[ch*plane+i] = float32(t.Pix[4*i+ch]) / 255 * a
		}
	}
	return math.Sqrt(max(s2/n-(s/n)*(s/n), 0))
}

// thumbCHW is thumbImage for an image of a Set (CHW floats in [0,1]) in
// planes planes (1: grey; 3: RGB, a grey image copied to each): each
// thumbnail cell the mean of the pixels it covers.
func thumbCHW(dst, img []float32, c, h, w, planes int) float64 {
	var s, s2 float64
	plane := ThumbSide * ThumbSide
	sums := make([]float64, planes*plane)
	counts := make([]float64, plane)
	for y := 0; y < h; y++ {
		ty := y * ThumbSide / h
		for x := 0; x < w; x++ {
			k := ty*ThumbSide + x*ThumbSide/w
			counts[k]++
			var grey float64
			for ch := 0; ch < planes; ch++ {
				v := float64(img[(min(ch, c-1)*h+y)*w+x])
				sums[ch*plane+k] += v
				grey += v
			}
			grey /= float64(planes)
			s += grey
			s2 += grey * grey
		}
	}
	for k := range dst {
		if n := counts[k%plane]; n > 0 {
			dst[k] = float32(sums[k] / n)
		}
	}
	n := float64(h * w)
	return math.Sqrt(max(s2/n-(s/n)*(s/n), 0))
}

// checkPixels finds the blank images, the exact duplicates (by hash) and
// the near-duplicates (nearest neighbours of the thumbnails closer than
// Near, and, when phashes is not nil, perceptual hashes at most PHashBits
// apart; blank images and exact duplicates of each other left out).
func (a *Audit) checkPixels(hashes [][32]byte, stds []float64, phashes []uint64) {
	n := len(hashes)
	blank := make([]bool, n)
	for i, s := range stds {
		if s < a.Options.Blank {
			blank[i] = true
			a.Problems = append(a.Problems, Problem{Item: a.Items[i], Index: i, Kind: ProblemBlank,
				Reason: fmt.Sprintf("blank or near-constant: pixel standard deviation %.4f", s)})
		}
	}
	byHash := map[[32]byte][]int{}
	for i, h := range hashes {
		byHash[h] = append(byHash[h], i)
	}
	exactOf := make([]int, n) // each image's first exact copy
	for i := range exactOf {
		exactOf[i] = i
	}
	for _, g := range byHash {
		if len(g) > 1 {
			a.Exact = append(a.Exact, g)
			for _, i := range g {
				exactOf[i] = g[0]
			}
		}
	}
	sortGroups(a.Exact)

	// Near-duplicates: one representative per exact group, blanks left out.
	side := a.ThumbLen
	var reps []int
	for i := 0; i < n; i++ {
		if exactOf[i] == i && !blank[i] {
			reps = append(reps, i)
		}
	}
	x := make([]float32, len(reps)*side)
	for j, i := range reps {
		normalizeThumb(x[j*side:(j+1)*side], a.Thumbs[i*side:(i+1)*side])
	}
	nn := Nearest(x, len(reps), x, len(reps), side, true)
	a.Nearest = make([]float64, n)
	for i := range a.Nearest {
		a.Nearest[i] = math.NaN()
	}
	parent := make([]int, len(reps))
	for j := range parent {
		parent[j] = j
	}
	var find func(int) int
	find = func(j int) int {
		for parent[j] != j {
			parent[j] = parent[parent[j]]
			j = parent[j]
		}
		return j
	}
	for j, nb := range nn {
		a.Nearest[reps[j]] = nb.Dist
		if nb.Index >= 0 && nb.Dist < a.Options.Near {
			parent[find(j)] = find(nb.Index)
		}
	}
	if phashes != nil {
		// Every pair: 60,000 images are 1.8e9 XORs, seconds.
		for j, i := range reps {
			for k := j + 1; k < len(reps); k++ {
				if hamming(phashes[i], phashes[reps[k]]) <= a.Options.PHashBits {
					parent[find(j)] = find(k)
				}
			}
		}
	}
	groups := map[int][]int{}
	for j := range reps {
		r := find(j)
		groups[r] = append(groups[r], reps[j])
	}
	for _, g := range groups {
		if len(g) > 1 {
			slices.Sort(g)
			a.Near = append(a.Near, g)
		}
	}
	sortGroups(a.Near)
	sort.SliceStable(a.Problems, func(i, j int) bool { return a.Problems[i].Item < a.Problems[j].Item })
}

func sortGroups(g [][]int) {
	for _, x := range g {
		slices.Sort(x)
	}
	slices.SortFunc(g, func(a, b []int) int { return a[0] - b[0] })
}

// checkCaptions reports empty captions and lists the most shared ones.
func (a *Audit) checkCaptions(captions []string) {
	count := map[string]int{}
	var vocab map[string]bool
	if a.Options.Vocabulary != nil {
		vocab = map[string]bool{}
		for _, w := range a.Options.Vocabulary {
			vocab[strings.ToLower(w)] = true
		}
	}
	for i, c := range captions {
		if strings.TrimSpace(c) == "" {
			a.Problems = append(a.Problems, Problem{Item: a.Items[i], Index: i, Kind: ProblemCaption, Reason: "empty caption"})
			continue
		}
		count[c]++
		if vocab == nil {
			continue
		}
		var unknown []string
		for _, w := range strings.Fields(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(c), "."))) {
			if !vocab[w] && !slices.Contains(unknown, w) {
				unknown = append(unknown, w)
			}
		}
		if len(unknown) > 0 {
			a.Problems = append(a.Problems, Problem{Item: a.Items[i], Index: i, Kind: ProblemCaption,
				Reason: fmt.Sprintf("words outside the vocabulary: %s", strings.Join(unknown, ", "))})
		}
	}
	for c, k := range count {
		if k > 1 {
			a.SharedCaptions = append(a.SharedCaptions, CaptionCount{c, k})
		}
	}
	slices.SortFunc(a.SharedCaptions, func(x, y CaptionCount) int {
		if x.Images != y.Images {
			return y.Images - x.Images
		}
		return strings.Compare(x.Caption, y.Caption)
	})
	if len(a.SharedCaptions) > 5 {
		a.SharedCaptions = a.SharedCaptions[:5]
	}
}

// normalizeThumb writes t centred on its mean and scaled to length 1 to dst
// (all zeros for a constant t).
func normalizeThumb(dst, t []float32) {
	var mean float64
	for _, v := range t {
		mean += float64(v)
	}
	mean /= float64(len(t))
	var ss float64
	for _, v := range t {
		d := float64(v) - mean
		ss += d * d
	}
	scale := 0.0
	if ss > 0 {
		scale = 1 / math.Sqrt(ss)
	}
	for i, v := range t {
		dst[i] = float32((float64(v) - mean) * scale)
	}
}
