package main

import (
	"fmt"
	"strings"

	"genlab/images"

	"github.com/urfave/cli/v2"
)

func pnginfoCommand() *cli.Command {
	return &cli.Command{
		Name:      "pnginfo",
		Usage:     "print the generation parameters a PNG records (AUTOMATIC1111's PNG Info)",
		ArgsUsage: "FILE...",
		Description: "Prints each PNG's \"parameters\" text chunk as it is stored: the prompt or class, then\n" +
			"the settings line (seed, sampler, steps, CFG scale, model, ...), which genlab sample --seed\n" +
			"and the other flags can reproduce. A PNG without one says so. Control characters are\n" +
			"escaped, so a file cannot write to the terminal.",
		Action: pnginfo,
	}
}

func pnginfo(c *cli.Context) error {
	if c.NArg() == 0 {
		return userErrorf("pnginfo: name one or more PNG files")
	}
	for i, path := range c.Args().Slice() {
		s, err := images.ReadParameters(path)
		if err != nil {
			return userErrorf("pnginfo: %s", strings.TrimPrefix(err.Error(), "images: "))
		}
		if i > 0 {
			fmt.Fprintln(c.App.Writer)
		}
		if c.NArg() > 1 {
			fmt.Fprintf(c.App.Writer, "%s:\n", safeText(path))
		}
		if s == "" {
			fmt.Fprintf(c.App.Writer, "%s: no parameters (not written by genlab, or saved with --no-metadata)\n", safeText(path))
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			fmt.Fprintln(c.App.Writer, safeText(line))
		}
		if _, err := images.ParseParameters(s); err != nil {
			fmt.Fprintf(c.App.Writer, "(%s)\n", safeText(strings.TrimPrefix(err.Error(), "images: ")))
		}
	}
	return nil
}
