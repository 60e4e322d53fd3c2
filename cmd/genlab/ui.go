package main

import (
	"fmt"
	"os"
	"runtime"

	"genlab/ui"

	"github.com/urfave/cli/v2"
)

func uiCommand() *cli.Command {
	return &cli.Command{
		Name:  "ui",
		Usage: "open the desktop app: pick a model, set the knobs, watch the images form",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "models", Usage: "folders of checkpoints and run folders to list (default: models and runs)"},
			&cli.StringFlag{Name: "open", Usage: "a checkpoint or a genlab PNG to open at start"},
			&cli.StringFlag{Name: "out", Value: "outputs", Usage: "outputs folder: every image made is saved in `DIR`/<task>/<date>/, the gallery reloads them, Save copies to DIR/saved"},
			&cli.StringFlag{Name: "train-out", Usage: "run folder of the quick first-launch model (default: quick in the first --models folder, or runs/quick)"},
		},
		Action: uiAction,
	}
}

func uiAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return userErrorf("ui: unexpected argument %q (open a file with --open)", c.Args().First())
	}
	cfg := ui.Config{Dirs: c.StringSlice("models"), Open: c.String("open"), OutDir: c.String("out"), TrainOut: c.String("train-out")}
	for _, d := range cfg.Dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return userErrorf("ui: --models %s: not a folder", d)
		}
	}
	if cfg.Open != "" {
		if _, err := os.Stat(cfg.Open); err != nil {
			return userErrorf("ui: --open %s: no such file", cfg.Open)
		}
	}
	if !ui.Available {
		return userErrorf("ui: %v", ui.Run(cfg))
	}
	windowErr := func(err error) error {
		return userErrorf("ui: cannot open a window: %v (is DISPLAY or WAYLAND_DISPLAY set? under no display, run it in xvfb-run)", err)
	}
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd":
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return userErrorf("ui: no display: DISPLAY and WAYLAND_DISPLAY are unset (on a machine without a screen, run it in xvfb-run)")
		}
	}
	if runtime.GOOS == "darwin" {
		// macOS runs windows on the main thread, which app.Main keeps.
		ui.Main(cfg, func(err error) {
			if err != nil {
				fmt.Fprintf(c.App.ErrWriter, "genlab: %v\n", windowErr(err))
				os.Exit(1)
			}
			os.Exit(0)
		})
		return nil
	}
	if err := ui.Run(cfg); err != nil {
		return windowErr(err)
	}
	return nil
}
