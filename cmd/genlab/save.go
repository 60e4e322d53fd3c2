package main

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"

	"genlab/images"

	"github.com/urfave/cli/v2"
)

// Saving a command's PNGs: with their parameters unless --no-metadata,
// and --upscale N times larger by nearest neighbour (for slides: samples
// are 28 to 32 pixels), which the parameters record as "Upscale".

// upscaleCommands are the commands that save images and get --upscale.
var upscaleCommands = map[string]bool{
	"sample": true, "batch": true, "txt2img": true, "inpaint": true, "superres": true,
	"edit": true, "style": true, "xy": true, "verify": true,
}

func upscaleFlag(command string) cli.Flag {
	if command == "verify" {
		return &cli.IntFlag{Name: "upscale", Value: 1, Usage: "the batch's --upscale, which its images record"}
	}
	return &cli.IntFlag{Name: "upscale", Value: 1, Usage: fmt.Sprintf("save every PNG (and grid) N times larger, nearest neighbour, 1 to %d", images.MaxUpscale)}
}

// checkUpscale refuses an --upscale out of range before any work.
func checkUpscale(ctx *cli.Context) error {
	if !hasFlag(ctx, "upscale") {
		return nil
	}
	if n := ctx.Int("upscale"); n < 1 || n > images.MaxUpscale {
		return userErrorf("%s: --upscale %d: want 1 to %d", ctx.Command.Name, n, images.MaxUpscale)
	}
	return nil
}

// saveImage writes img at path, upscaled by --upscale, with the
// parameters q unless --no-metadata (q nil: none).
func saveImage(c *cli.Context, path string, img image.Image, q *images.Parameters) error {
	return writeImage(c, path, images.Upscale(img, upscaleOf(c)), q)
}

// writeImage is saveImage of an image upscaled already (an X/Y plot's
// tiles are, its labels are not).
func writeImage(c *cli.Context, path string, img image.Image, q *images.Parameters) error {
	params := ""
	if q != nil {
		params = savedParameters(c, *q)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return userErrorf("%s: %v", c.Command.Name, err)
		}
	}
	return images.Save(path, img, params)
}

// savedParameters is the parameters chunk saveImage writes for q: ""
// with --no-metadata, and the --upscale factor recorded.
func savedParameters(c *cli.Context, q images.Parameters) string {
	if c.Bool("no-metadata") {
		return ""
	}
	if n := upscaleOf(c); n > 1 {
		q.Extra = append(append([]images.Field(nil), q.Extra...), images.Field{Key: "Upscale", Value: strconv.Itoa(n) + "x nearest"})
	}
	return q.String()
}

// upscaleOf is the command's --upscale (1 without one).
func upscaleOf(c *cli.Context) int {
	if hasFlag(c, "upscale") {
		return c.Int("upscale")
	}
	return 1
}
