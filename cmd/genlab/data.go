package main

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"genlab/datasets"
	"genlab/images"

	"github.com/disintegration/imaging"
	"github.com/urfave/cli/v2"
)

func dataCommand() *cli.Command {
	split := &cli.StringFlag{Name: "split", Value: "train", Usage: "which part: train or test (shapes also: heldout, all)"}
	return &cli.Command{
		Name:  "data",
		Usage: "look at a dataset: mnist, shapes or a folder of images",
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "write a grid of a dataset's images as a PNG",
				ArgsUsage: "mnist|shapes|DIR",
				Flags: []cli.Flag{
					split,
					&cli.IntFlag{Name: "n", Value: 64, Usage: "how many images"},
					&cli.StringFlag{Name: "grid", Usage: "the PNG to write (default out/data-NAME-SPLIT.png)"},
					&cli.Uint64Flag{Name: "seed", Usage: "pick the images at random with this seed (default: the first n)"},
					&cli.IntFlag{Name: "scale", Value: 1, Usage: "enlarge each image this many times (nearest neighbour)"},
				},
				Action: dataShow,
			},
			{
				Name: "check",
				Usage: "audit a dataset: files that do not load, odd sizes and modes, blank images, exact and " +
					"near-duplicates, class balance, captions; a report and contact sheets, never a change to a file",
				ArgsUsage: "mnist|shapes|DIR",
				Flags: []cli.Flag{
					split,
					&cli.Float64Flag{Name: "near", Value: 0.1, Usage: "near-duplicates: distance of 16x16 thumbnails, each centred and scaled to length 1 (0-2), below this"},
					&cli.IntFlag{Name: "phash", Usage: "also group as near-duplicates images whose perceptual hashes (64 bits) differ in at most this many bits, e.g. 4 (off unless given: too coarse for digits)"},
					&cli.Float64Flag{Name: "blank", Value: 0.02, Usage: "blank: standard deviation of an image's pixels below this"},
					&cli.StringFlag{Name: "report", Usage: "folder for report.md, report.json and the contact sheets (default out/data-check-NAME-SPLIT)"},
					&cli.StringFlag{Name: "write-clean", Usage: "write the list of files to keep (one a line) to this file"},
				},
				Action: dataCheck,
			},
		},
	}
}

func loadDataset(c *cli.Context) (*datasets.Set, error) {
	if c.NArg() != 1 {
		return nil, userErrorf("%s: name one dataset: mnist, shapes or a folder of images", c.Command.FullName())
	}
	set, err := datasets.Load(c.Args().First(), c.String("split"))
	if err != nil {
		return nil, err
	}
	return set, nil
}

func dataShow(c *cli.Context) error {
	n, scale := c.Int("n"), c.Int("scale")
	if n < 1 {
		return userErrorf("data show: --n %d: want at least 1", n)
	}
	if scale < 1 || scale > 16 {
		return userErrorf("data show: --scale %d: want 1 to 16", scale)
	}
	set, err := loadDataset(c)
	if err != nil {
		return err
	}
	n = min(n, set.N)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if c.IsSet("seed") {
		idx = rand.New(rand.NewPCG(c.Uint64("seed"), 0)).Perm(set.N)[:n]
	}
	tiles := make([]image.Image, n)
	for i, k := range idx {
		tiles[i] = images.FromFloats(set.Image(k), set.C, set.H, set.W)
		if scale > 1 {
			tiles[i] = imaging.Resize(tiles[i], set.W*scale, set.H*scale, imaging.NearestNeighbor)
		}
	}
	path := c.String("grid")
	if path == "" {
		path = filepath.Join("out", fmt.Sprintf("data-%s-%s.png", filepath.Base(c.Args().First()), c.String("split")))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var params strings.Builder
	fmt.Fprintf(&params, "Dataset: %s, Split: %s, Images: %d, Size: %dx%d", set.Name, c.String("split"), n, set.W, set.H)
	if set.Captions != nil {
		for _, k := range idx {
			fmt.Fprintf(&params, "\n%d: %s", k, set.Captions[k])
		}
	}
	grid := images.Grid(tiles, 0, 2, color.Gray{Y: 64})
	if err := images.Save(path, grid, params.String()); err != nil {
		return err
	}
	cols := images.GridColumns(n)
	fmt.Fprintf(c.App.Writer, "wrote a %dx%d grid of %d %s %s images to %s\n", cols, (n+cols-1)/cols, n, c.Args().First(), c.String("split"), path)
	return nil
}
