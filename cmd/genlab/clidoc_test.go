package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// cliDocPath is the CLI reference in the repository's docs.
var cliDocPath = filepath.Join("..", "..", "docs", "cli.md")

// docs/cli.md is every command's own --help, so it cannot drift from the
// code: this test fails when a flag changes until the file is rewritten
// with
//
//	GENLAB_UPDATE_DOCS=1 go test ./cmd/genlab -run TestCLIDoc
func TestCLIDoc(t *testing.T) {
	got := cliDoc(t)
	if os.Getenv("GENLAB_UPDATE_DOCS") != "" {
		if err := os.WriteFile(cliDocPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(cliDocPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("docs/cli.md is not the commands' current help: rewrite it with GENLAB_UPDATE_DOCS=1 go test ./cmd/genlab -run TestCLIDoc")
	}
}

// cliDoc renders docs/cli.md: the conventions every command shares, an
// index, then each command's help as the binary prints it.
func cliDoc(t *testing.T) string {
	t.Helper()
	help := func(path ...string) string {
		t.Helper()
		status, stdout, stderr := genlab(t, append(path, "--help")...)
		if status != 0 || stderr != "" {
			t.Fatalf("genlab %s --help: exit %d: %s", strings.Join(path, " "), status, stderr)
		}
		return strings.TrimRight(stdout, "\n")
	}
	var b bytes.Buffer
	b.WriteString(cliDocHead)
	fmt.Fprintf(&b, "```text\n%s\n```\n\n", help())
	var cmds [][]string // command paths, subcommands after their parent
	var walk func(parent []string, cs []*cli.Command)
	walk = func(parent []string, cs []*cli.Command) {
		for _, c := range cs {
			if c.Name == "help" {
				continue
			}
			p := append(append([]string(nil), parent...), c.Name)
			cmds = append(cmds, p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(io.Discard, io.Discard).Commands)
	for _, p := range cmds {
		name := strings.Join(p, " ")
		fmt.Fprintf(&b, "## genlab %s\n\n```text\n%s\n```\n\n", name, help(p...))
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

const cliDocHead = `# The genlab command line

<!-- Generated from the commands' own --help by TestCLIDoc in
cmd/genlab/clidoc_test.go: do not edit by hand. After changing a command,
rewrite it with: GENLAB_UPDATE_DOCS=1 go test ./cmd/genlab -run TestCLIDoc -->

Every command below is printed exactly as ` + "`genlab COMMAND --help`" + ` prints it.
What they share:

- **Flags and arguments** may come in any order: ` + "`genlab sample diffusion --ckpt F`" + `
  and ` + "`genlab sample --ckpt F diffusion`" + ` are the same. ` + "`genlab help COMMAND`" + ` and
  ` + "`genlab COMMAND --help`" + ` print the same help.
- **Exit status**: 0 on success; 1 when the input is wrong (a missing or corrupt
  file, a bad flag value), with one line on stderr saying which file or flag,
  what is wrong and what to do; 2 for an internal error, also one line
  (` + "`GENLAB_DEBUG=1`" + ` adds the stack trace).
- **Progress**: long commands draw a progress bar with the rate and ETA on a
  terminal and print a plain log line every so many steps otherwise (in a
  pipe, a log file or CI). Ctrl-C stops them cleanly; a training run first
  saves a checkpoint of the step it reached, and ` + "`--resume latest`" + `
  continues it exactly.
- **Seeds**: image i of a run draws its noise from its own generator seeded
  seed+i, so an image is reproducible alone, whatever ` + "`--batch`" + ` or
  ` + "`--shard`" + ` it was made under, and its file name says its seed (see
  [formats.md](formats.md)).
- **Guidance** (` + "`--guidance`" + `, the PNG's ` + "`CFG scale`" + `) follows diffusers'
  convention everywhere: the noise prediction is
  ` + "`eps_uncond + w * (eps_cond - eps_uncond)`" + `, so w = 1 is the conditional
  model alone, w = 0 the unconditional model alone, and w > 1 pushes the
  images further towards the class or prompt. It applies to class- and
  text-conditioned diffusion models.
- **Families**: FAMILY is ` + "`diffusion`, `vae`, `flow` or `gan`" + `; ` + "`train`" + ` also takes
  ` + "`classifier`" + ` (the MNIST judge the metrics use) and ` + "`attributes`" + ` (the shapes
  attribute classifier that judges text-to-image). ` + "`sample`" + ` checks the
  checkpoint is of FAMILY; the other commands that take ` + "`--ckpt`" + ` read the
  family from it.

## genlab

`
