package datasets

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"image"
	"image/jpeg"
	"image/png"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"genlab/images"

	"github.com/disintegration/imaging"
)

func TestNearestMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, m, dim = 700, 2100, 37 // more than one block each way
	q, b := make([]float32, n*dim), make([]float32, m*dim)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	copy(b[1500*dim:1501*dim], q[3*dim:4*dim]) // an exact copy
	got := Nearest(q, n, b, m, dim, false)
	for i := 0; i < n; i += 7 {
		best, bi := math.Inf(1), -1
		for j := 0; j < m; j++ {
			var d float64
			for k := 0; k < dim; k++ {
				e := float64(q[i*dim+k] - b[j*dim+k])
				d += e * e
			}
			if d < best {
				best, bi = d, j
			}
		}
		if got[i].Index != bi || math.Abs(got[i].Dist-math.Sqrt(best)) > 1e-3 {
			t.Fatalf("row %d: got %+v, want %d at %g", i, got[i], bi, math.Sqrt(best))
		}
	}
	if got[3].Index != 1500 || got[3].Dist > 1e-2 {
		t.Errorf("the exact copy: %+v", got[3])
	}
	self := Nearest(q, n, q, n, dim, true)
	for i, nb := range self {
		if nb.Index == i {
			t.Fatalf("row %d is its own neighbour", i)
		}
	}
}

// A folder with one of every planted problem is reported exactly: each
// problem found, nothing said of the clean files, no file touched.
func TestAuditFolderFindsPlantedProblems(t *testing.T) {
	mnist, err := LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	digit := func(i int) image.Image { return mnist.ToImage(i) }
	save := func(name string, img image.Image, params string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := images.Save(p, img, params); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var clean []string
	for i := 0; i < 12; i++ {
		clean = append(clean, save("clean-"+string(rune('a'+i))+".png", digit(100+i*37), ""))
	}
	// Exact duplicates: the same pixels, other bytes (a metadata chunk).
	save("dup-a.png", digit(20), "")
	save("dup-b.png", digit(20), "copied from dup-a")
	// Near-duplicates: a few pixels a few levels apart.
	near := imagesClone(digit(30))
	save("near-a.png", near, "")
	for _, k := range []int{100, 300, 500} {
		near.Pix[k] = uint8(min(255, int(near.Pix[k])+6))
	}
	save("near-b.png", near, "")
	save("blank.png", image.NewGray(image.Rect(0, 0, 28, 28)), "")
	odd := image.NewGray(image.Rect(0, 0, 40, 20))
	for i := range odd.Pix {
		odd.Pix[i] = uint8(i * 7 % 251)
	}
	save("odd-size.png", odd, "")
	var buf bytes.Buffer
	png.Encode(&buf, digit(40))
	os.WriteFile(filepath.Join(dir, "truncated.png"), buf.Bytes()[:buf.Len()/2], 0o644)
	os.WriteFile(filepath.Join(dir, "notes.png"), []byte("these are my notes, not an image\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte{0, 1, 2}, 0o644)

	before := snapshot(t, dir)
	a, err := AuditFolder(dir, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Error("the audit changed a file in the folder")
	}
	if a.Files != 20 || a.Images != 18 {
		t.Errorf("%d files, %d images; want 20 and 18", a.Files, a.Images)
	}
	got := map[string]string{}
	for _, p := range a.Problems {
		got[filepath.Base(p.Item)] = p.Kind
	}
	want := map[string]string{"truncated.png": ProblemUnreadable, "notes.png": ProblemUnreadable,
		"blank.png": ProblemBlank, "odd-size.png": ProblemSize}
	if !maps.Equal(got, want) {
		t.Errorf("problems %v, want %v", a.Problems, want)
	}
	names := func(groups [][]int) [][]string {
		var out [][]string
		for _, g := range groups {
			var s []string
			for _, i := range g {
				s = append(s, filepath.Base(a.Items[i]))
			}
			out = append(out, s)
		}
		return out
	}
	if g := names(a.Exact); len(g) != 1 || !slices.Equal(g[0], []string{"dup-a.png", "dup-b.png"}) {
		t.Errorf("exact duplicates %v", g)
	}
	if g := names(a.Near); len(g) != 1 || !slices.Equal(g[0], []string{"near-a.png", "near-b.png"}) {
		t.Errorf("near-duplicates %v", g)
	}
	keep := a.Keep()
	for _, c := range clean {
		if !slices.Contains(keep, c) {
			t.Errorf("clean file %s is not kept", filepath.Base(c))
		}
	}
	for _, drop := range []string{"dup-b.png", "near-b.png", "blank.png", "truncated.png", "notes.png"} {
		if slices.Contains(keep, filepath.Join(dir, drop)) {
			t.Errorf("%s is kept", drop)
		}
	}
	if len(keep) != 15 {
		t.Errorf("keep %d files, want 12 clean, dup-a, near-a and odd-size", len(keep))
	}
	// With perceptual hashes too: the same groups, no clean file among them.
	b, err := AuditFolder(dir, AuditOptions{PHash: true, PHashBits: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(names(b.Near), names(a.Near), slices.Equal) || !slices.EqualFunc(names(b.Exact), names(a.Exact), slices.Equal) {
		t.Errorf("with pHash: exact %v, near %v", names(b.Exact), names(b.Near))
	}
}

// A perceptual hash barely moves under a change of brightness, a resize
// or JPEG compression, and differs by many bits between two digits.
func TestPHashSeesThroughSmallChanges(t *testing.T) {
	mnist, err := LoadMNIST("test")
	if err != nil {
		t.Fatal(err)
	}
	img := mnist.ToImage(0)
	h := PHash(img)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, imaging.Resize(img, 56, 56, imaging.Lanczos), &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	jpg, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for what, v := range map[string]image.Image{
		"darker":           imaging.AdjustBrightness(img, -20),
		"resized and JPEG": jpg,
	} {
		if d := hamming(h, PHash(v)); d > 4 {
			t.Errorf("%s: %d bits from the original", what, d)
		}
	}
	if d := hamming(h, PHash(mnist.ToImage(1))); d < 12 {
		t.Errorf("a 7 and a 2: %d bits apart", d)
	}
}

func TestAuditSetOfShapes(t *testing.T) {
	s := Shapes(300, 5, "test")
	// Plant an exact copy and a blank image.
	copy(s.Image(7), s.Image(3))
	clear(s.Image(9))
	s.Captions[11] = ""
	s.Captions[12] = "a small zorblax circle at the top left"
	a, err := AuditSet(s, AuditOptions{Vocabulary: ShapesVocabulary()})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Exact) != 1 || !slices.Equal(a.Exact[0], []int{3, 7}) {
		t.Errorf("exact %v", a.Exact)
	}
	kinds := map[int]string{}
	for _, p := range a.Problems {
		kinds[p.Index] = p.Kind
	}
	if kinds[9] != ProblemBlank || kinds[11] != ProblemCaption || kinds[12] != ProblemCaption || len(kinds) != 3 {
		t.Errorf("problems %v", a.Problems)
	}
	for _, p := range a.Problems {
		if p.Index == 12 && p.Reason != "words outside the vocabulary: zorblax" {
			t.Errorf("caption 12: %q", p.Reason)
		}
	}
	if len(a.SharedCaptions) == 0 || a.SharedCaptions[0].Images < 2 {
		t.Errorf("shared captions %v", a.SharedCaptions)
	}
}

func imagesClone(img image.Image) *image.Gray {
	g := image.NewGray(img.Bounds())
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

type fileState struct {
	sum   [32]byte
	mtime time.Time
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	out := map[string]fileState{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		out[e.Name()] = fileState{sha256.Sum256(b), st.ModTime()}
	}
	return out
}

func TestNearestKMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const n, m, dim, k = 40, 2500, 9, 7
	q, b := make([]float32, n*dim), make([]float32, m*dim)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	got := NearestK(q, n, b, m, dim, k, false)
	for i := 0; i < n; i++ {
		d := make([]float64, m)
		idx := make([]int, m)
		for j := 0; j < m; j++ {
			var s float64
			for c := 0; c < dim; c++ {
				e := float64(q[i*dim+c] - b[j*dim+c])
				s += e * e
			}
			d[j], idx[j] = math.Sqrt(s), j
		}
		slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(d[x], d[y]) })
		if len(got[i]) != k {
			t.Fatalf("row %d: %d neighbours", i, len(got[i]))
		}
		for r := 0; r < k; r++ {
			if got[i][r].Index != idx[r] || math.Abs(got[i][r].Dist-d[idx[r]]) > 1e-3 {
				t.Fatalf("row %d, rank %d: got %+v, want %d at %g", i, r, got[i][r], idx[r], d[idx[r]])
			}
		}
	}
}
