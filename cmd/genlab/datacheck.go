package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"genlab/datasets"
	"genlab/images"
	"genlab/internal/atomicfile"

	"github.com/disintegration/imaging"
	"github.com/urfave/cli/v2"
)

// dataCheck audits a dataset (datasets.AuditSet, AuditFolder), prints a
// summary, writes the report and contact sheets, and optionally the list
// of files to keep. It exits 1 only when the set cannot be trained on as
// it is (a file that does not load); every other finding is reported.
func dataCheck(c *cli.Context) error {
	if c.NArg() != 1 {
		return userErrorf("data check: name one dataset: mnist, shapes or a folder of images")
	}
	name, split := c.Args().First(), c.String("split")
	o := datasets.AuditOptions{Near: c.Float64("near"), Blank: c.Float64("blank"), PHash: c.IsSet("phash"), PHashBits: c.Int("phash")}
	if !(o.Near > 0 && o.Near < 2) || !(o.Blank > 0 && o.Blank < 1) {
		return userErrorf("data check: --near %g and --blank %g: want --near in (0,2) and --blank in (0,1)", o.Near, o.Blank)
	}
	if o.PHashBits > 32 {
		return userErrorf("data check: --phash %d: want 0 to 32 bits (two unrelated images differ in about 32)", o.PHashBits)
	}
	if name == "shapes" {
		o.Vocabulary = datasets.ShapesVocabulary()
	}
	var a *datasets.Audit
	var set *datasets.Set
	if name == "mnist" || name == "shapes" {
		s, err := datasets.Load(name, split)
		if err != nil {
			return err
		}
		if a, err = datasets.AuditSet(s, o); err != nil {
			return err
		}
		set = s
	} else {
		st, err := os.Stat(name)
		if err != nil || !st.IsDir() {
			return userErrorf("data check: unknown dataset %q: use mnist, shapes or a folder of images", name)
		}
		dir := name
		if st, err := os.Stat(filepath.Join(name, split)); err == nil && st.IsDir() {
			dir = filepath.Join(name, split)
		}
		if a, err = datasets.AuditFolder(dir, o); err != nil {
			return err
		}
	}
	report := c.String("report")
	if report == "" {
		report = filepath.Join("out", fmt.Sprintf("data-check-%s-%s", filepath.Base(filepath.Clean(name)), split))
	}
	w := c.App.Writer
	printAudit(w, a, set, split)
	if err := writeAuditReport(report, a, set); err != nil {
		return err
	}
	fmt.Fprintf(w, "report: %s (report.md, report.json, duplicates.png, problems.png, outliers.png)\n", report)
	if path := c.String("write-clean"); path != "" {
		keep := a.Keep()
		err := atomicfile.Write(path, func(f io.Writer) error {
			for _, k := range keep {
				if _, err := fmt.Fprintln(f, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("data check: write %s: %w", path, err)
		}
		fmt.Fprintf(w, "kept %d of %d files: %s\n", len(keep), a.Files, path)
	}
	var unreadable []datasets.Problem
	for _, p := range a.Problems {
		if p.Kind == datasets.ProblemUnreadable {
			unreadable = append(unreadable, p)
		}
	}
	if len(unreadable) > 0 {
		p := unreadable[0]
		more := ""
		if len(unreadable) > 1 {
			more = fmt.Sprintf(" and %d more", len(unreadable)-1)
		}
		return userErrorf("data check: %s: %s does not load (%s)%s; move it out of the folder or fix it (report: %s)",
			a.Name, p.Item, p.Reason, more, report)
	}
	fmt.Fprintln(w, "ok")
	return nil
}

func printAudit(w io.Writer, a *datasets.Audit, set *datasets.Set, split string) {
	if set != nil {
		fmt.Fprintf(w, "%s (%s): %d images of %dx%dx%d, pixels in [0,1]\n", set.Name, split, set.N, set.C, set.H, set.W)
	} else {
		fmt.Fprintf(w, "%s: %d files, %d images load\n", a.Name, a.Files, a.Images)
	}
	if a.ClassCounts != nil {
		lo, hi := slices.Min(a.ClassCounts), slices.Max(a.ClassCounts)
		fmt.Fprintf(w, "labels: %d classes, counts %v (largest/smallest %.2f)\n", len(a.ClassCounts), a.ClassCounts, float64(hi)/float64(max(lo, 1)))
	}
	if set != nil && set.Captions != nil {
		words := map[string]bool{}
		for _, cap := range set.Captions {
			for _, f := range strings.Fields(cap) {
				words[f] = true
			}
		}
		fmt.Fprintf(w, "captions: %d words used, e.g. %q", len(words), set.Captions[0])
		if len(a.SharedCaptions) > 0 {
			fmt.Fprintf(w, "; the most shared, %q, by %d images", a.SharedCaptions[0].Caption, a.SharedCaptions[0].Images)
		}
		fmt.Fprintln(w)
	}
	if len(a.Problems) == 0 {
		fmt.Fprintln(w, "problems: none")
	} else {
		fmt.Fprintf(w, "problems: %d\n", len(a.Problems))
		for i, p := range a.Problems {
			if i == 10 {
				fmt.Fprintf(w, "  ... %d more in the report\n", len(a.Problems)-10)
				break
			}
			fmt.Fprintf(w, "  %-10s %s: %s\n", p.Kind, safeText(p.Item), safeText(p.Reason))
		}
	}
	count := func(g [][]int) int {
		n := 0
		for _, x := range g {
			n += len(x)
		}
		return n
	}
	fmt.Fprintf(w, "exact duplicates: %d groups, %d images\n", len(a.Exact), count(a.Exact))
	how := fmt.Sprintf("thumbnail distance below %g", a.Options.Near)
	if a.Options.PHash {
		how += fmt.Sprintf(", or perceptual hashes at most %d bits apart", a.Options.PHashBits)
	}
	fmt.Fprintf(w, "near-duplicates (%s): %d groups, %d images\n", how, len(a.Near), count(a.Near))
	for i, g := range append(slices.Clone(a.Exact), a.Near...) {
		if i == 5 {
			fmt.Fprintln(w, "  ... the rest in the report")
			break
		}
		var names []string
		for _, k := range g {
			names = append(names, safeText(a.Items[k]))
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(names, " = "))
	}
}

// safeText escapes control characters in text read from files (names),
// so that a file name cannot move the cursor or recolour the terminal.
func safeText(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

func writeAuditReport(dir string, a *datasets.Audit, set *datasets.Set) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("data check: %w", err)
	}
	type group struct {
		Images  []string  `json:"images"`
		Nearest []float64 `json:"nearest_distance,omitempty"`
	}
	groups := func(gs [][]int) []group {
		out := []group{}
		for _, g := range gs {
			var x group
			for _, k := range g {
				x.Images = append(x.Images, a.Items[k])
				if r := a.Nearest[k]; !math.IsNaN(r) {
					x.Nearest = append(x.Nearest, math.Round(r*1e5)/1e5)
				}
			}
			out = append(out, x)
		}
		return out
	}
	type outlier struct {
		Image   string  `json:"image"`
		Nearest float64 `json:"nearest_distance"`
	}
	outliers := []outlier{}
	for _, k := range a.Outliers(32) {
		outliers = append(outliers, outlier{a.Items[k], math.Round(a.Nearest[k]*1e5) / 1e5})
	}
	doc := struct {
		*datasets.Audit
		Exact    []group   `json:"exact_duplicates"`
		Near     []group   `json:"near_duplicates"`
		Outliers []outlier `json:"outliers"`
		Keep     int       `json:"files_to_keep"`
	}{a, groups(a.Exact), groups(a.Near), outliers, len(a.Keep())}
	if doc.Problems == nil {
		doc.Problems = []datasets.Problem{}
	}
	err := atomicfile.Write(filepath.Join(dir, "report.json"), func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(doc)
	})
	if err != nil {
		return fmt.Errorf("data check: %w", err)
	}
	err = atomicfile.Write(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		fmt.Fprintf(w, "# Data check: %s\n\n%d files, %d images load. Thresholds: near-duplicate below a distance of %g between 16x16 thumbnails (RGB, or grey for a grey set) centred and scaled to length 1, blank below a pixel standard deviation of %g.\n\n",
			a.Name, a.Files, a.Images, a.Options.Near, a.Options.Blank)
		if a.Options.PHash {
			fmt.Fprintf(w, "Near-duplicates also: perceptual hashes (64-bit DCT pHash) at most %d bits apart.\n\n", a.Options.PHashBits)
		}
		if a.ClassCounts != nil {
			fmt.Fprintf(w, "Class counts: %v\n\n", a.ClassCounts)
		}
		fmt.Fprintf(w, "## Problems (%d)\n\n", len(a.Problems))
		if len(a.Problems) > 0 {
			fmt.Fprintln(w, "| kind | image | what |\n|---|---|---|")
			for _, p := range a.Problems {
				fmt.Fprintf(w, "| %s | %s | %s |\n", p.Kind, mdCell(p.Item), mdCell(p.Reason))
			}
			fmt.Fprintln(w)
		}
		for _, part := range []struct {
			title string
			g     []group
		}{{"Exact duplicates (the same decoded pixels)", doc.Exact}, {"Near-duplicates", doc.Near}} {
			fmt.Fprintf(w, "## %s (%d groups)\n\n", part.title, len(part.g))
			for _, g := range part.g {
				fmt.Fprintf(w, "- %s\n", mdCell(strings.Join(g.Images, " = ")))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "## Outliers (outliers.png)\n\nThe images farthest from their nearest other image (thumbnail distance), farthest first: not problems, the images least like the rest.\n\n| image | distance to its nearest |\n|---|---:|\n")
		for _, o := range outliers[:min(10, len(outliers))] {
			fmt.Fprintf(w, "| %s | %.3f |\n", mdCell(o.Image), o.Nearest)
		}
		fmt.Fprintln(w)
		if len(a.SharedCaptions) > 0 {
			fmt.Fprintln(w, "## The most shared captions\n\n| caption | images |\n|---|---:|")
			for _, sc := range a.SharedCaptions {
				fmt.Fprintf(w, "| %s | %d |\n", mdCell(sc.Caption), sc.Images)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("data check: %w", err)
	}
	// Contact sheets: a row per duplicate group, and the images with a
	// problem (those that load).
	tile := func(k int) image.Image {
		if set != nil {
			return set.ToImage(k)
		}
		img, err := imaging.Open(a.Items[k], imaging.AutoOrientation(true))
		if err != nil {
			return image.NewGray(image.Rect(0, 0, 32, 32))
		}
		return imaging.Fit(img, 64, 64, imaging.Box)
	}
	var rows []image.Image
	for i, g := range append(slices.Clone(a.Exact), a.Near...) {
		if i == 24 {
			break
		}
		var tiles []image.Image
		for _, k := range g[:min(len(g), 8)] {
			tiles = append(tiles, tile(k))
		}
		rows = append(rows, images.Grid(tiles, 8, 2, color.Gray{Y: 64}))
	}
	if err := saveSheet(filepath.Join(dir, "duplicates.png"), rows, 1, "duplicate groups, one a row"); err != nil {
		return err
	}
	var probs []image.Image
	seen := map[int]bool{}
	for _, p := range a.Problems {
		if p.Index >= 0 && !seen[p.Index] && len(probs) < 64 {
			seen[p.Index] = true
			probs = append(probs, tile(p.Index))
		}
	}
	if err := saveSheet(filepath.Join(dir, "problems.png"), probs, 0, "images with a problem"); err != nil {
		return err
	}
	var far []image.Image
	for _, k := range a.Outliers(32) {
		far = append(far, tile(k))
	}
	return saveSheet(filepath.Join(dir, "outliers.png"), far, 8, "the images farthest from any other, farthest first")
}

func saveSheet(path string, tiles []image.Image, cols int, what string) error {
	if len(tiles) == 0 {
		tiles = []image.Image{image.NewGray(image.Rect(0, 0, 8, 8))}
	}
	if err := images.Save(path, images.Grid(tiles, cols, 4, color.Gray{Y: 128}), "genlab data check: "+what); err != nil {
		return fmt.Errorf("data check: %w", err)
	}
	return nil
}

func mdCell(s string) string { return strings.ReplaceAll(safeText(s), "|", "\\|") }
