// Command genlab trains, samples and evaluates genlab's generative models.
// docs/cli.md describes every command (it is their --help, kept current by
// TestCLIDoc); `genlab help` lists what this build has.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// userError is a problem with what the user asked for (a missing file, a
// bad flag value): one line on stderr and exit status 1.
type userError struct{ msg string }

func (e userError) Error() string { return e.msg }

func userErrorf(format string, a ...any) error { return userError{fmt.Sprintf(format, a...)} }

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "genlab",
		Usage:                "a lab of generative image models: diffusion, VAE, flow and GAN on a CPU",
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Suggest:              true,
		HideVersion:          true,
		OnUsageError:         usageError,
		Commands: []*cli.Command{
			trainCommand(),
			fitPriorCommand(),
			tuneTemperatureCommand(),
			sampleCommand(),
			evalCommand(),
			compareCommand(),
			auditCommand(),
			batchCommand(),
			dataCommand(),
			infoCommand(),
			exportCommand(),
			uiCommand(),
			superresCommand(),
			txt2imgCommand(),
			txt2vidCommand(),
			img2vidCommand(),
			evalVideoCommand(),
			inpaintCommand(),
			editCommand(),
			styleCommand(),
			evalTasksCommand(),
			finetuneCommand(),
			mergeCommand(),
			evalFinetuneCommand(),
			pnginfoCommand(),
			xyCommand(),
		},
		CommandNotFound: func(c *cli.Context, name string) {
			// Reported as an error by run: unknown commands exit 1.
			unknownCommand = name
		},
	}
	setUsageError(app.Commands)
	addChecks(app.Commands)
	return app
}

func setUsageError(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = usageError
		setUsageError(c.Subcommands)
	}
}

var unknownCommand string

// usageError turns urfave/cli's flag errors (which would print the whole
// help) into one line.
func usageError(c *cli.Context, err error, _ bool) error {
	name := strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
	return userErrorf("%s: %v (see 'genlab %s --help')", name, err, name)
}

// run executes the CLI and returns the exit status: 0, 1 for a user error
// (one line on stderr), 2 for a bug (also one line; never a stack trace
// unless GENLAB_DEBUG is set).
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "genlab: internal error: %v (please report it; GENLAB_DEBUG=1 shows where)\n", r)
			if os.Getenv("GENLAB_DEBUG") != "" {
				stderr.Write(debug.Stack())
			}
			status = 2
		}
	}()
	unknownCommand = ""
	app := newApp(stdout, stderr)
	err := app.Run(flagsFirst(app, args))
	if err == nil && unknownCommand != "" {
		err = userErrorf("unknown command %q: see 'genlab help'", unknownCommand)
	}
	if err == nil {
		return 0
	}
	msg := strings.TrimSpace(strings.ReplaceAll(err.Error(), "\n", " "))
	fmt.Fprintf(stderr, "genlab: %s\n", msg)
	var ue userError
	var ex cli.ExitCoder
	switch {
	case errors.As(err, &ex):
		return ex.ExitCode()
	case errors.As(err, &ue):
		return 1
	}
	// Errors from the packages (bad files, data, checkpoints) are the
	// user's to fix too; only panics are bugs.
	return 1
}

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }
