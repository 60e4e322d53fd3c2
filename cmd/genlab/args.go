package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// flagsFirst moves the flags that follow a command's positional arguments
// in front of them: urfave/cli v2 stops parsing flags at the first
// positional argument, but users (and docs/cli.md) write
// `genlab data show mnist --n 64`. A flag's value travels with it; "--"
// ends the rewriting.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Follow the command path: genlab data show ...
	cmds, i := app.Commands, 1
	var leaf *cli.Command
	for i < len(args) {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		leaf, cmds = c, c.Subcommands
		i++
	}
	if leaf == nil || len(leaf.Subcommands) > 0 {
		return args
	}
	var flags, pos []string
	for j := i; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "--":
			pos = append(pos, args[j:]...)
			j = len(args)
		case a == "-h" || a == "--help":
			// urfave/cli would read a positional after it as the name of
			// a subcommand to explain: `train vae --help` is the command's help.
			return append(append([]string{}, args[:i]...), a)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(leaf, strings.TrimLeft(a, "-")) && j+1 < len(args) {
				flags = append(flags, args[j+1])
				j++
			}
		default:
			pos = append(pos, a)
		}
	}
	out := append([]string{}, args[:i]...)
	out = append(out, flags...)
	return append(out, pos...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether the named flag of c reads the next argument
// (every flag but a boolean one); an unknown flag is left to the parser.
func takesValue(c *cli.Command, name string) bool {
	for _, f := range c.Flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
