package main

import (
	"genlab/internal/memory"

	"github.com/urfave/cli/v2"
)

// maxMemoryFlag overrides the memory genlab plans for: by default a model
// or a request whose estimate exceeds the machine's MemAvailable is refused
// before it starts.
func maxMemoryFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:  "max-memory",
		Usage: "memory genlab may plan to use, e.g. 8G (default: what the machine has available)",
	}
}

// addMemoryFlag gives every command that does work --max-memory and sets
// the limit from it before the command runs.
func addMemoryFlag(cmds []*cli.Command) {
	for _, c := range cmds {
		if len(c.Subcommands) > 0 {
			addMemoryFlag(c.Subcommands)
			continue
		}
		if c.Action == nil {
			continue
		}
		c.Flags = append(c.Flags, maxMemoryFlag())
		before := c.Before
		c.Before = func(ctx *cli.Context) error {
			memory.SetLimit(0)
			if s := ctx.String("max-memory"); s != "" {
				n, err := memory.ParseSize(s)
				if err != nil {
					return userErrorf("%s: --max-memory: %v", ctx.Command.Name, err)
				}
				memory.SetLimit(n)
			}
			if before != nil {
				return before(ctx)
			}
			return nil
		}
	}
}
