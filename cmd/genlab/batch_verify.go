package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"genlab/images"

	"github.com/urfave/cli/v2"
)

func batchVerifyCommand() *cli.Command {
	// The batch run's own flags, so that the parameters it wrote can be
	// told exactly, and a script can give both commands the same flags.
	var flags []cli.Flag
	for _, f := range sampleFlags() {
		switch f.Names()[0] {
		case "batch":
			f = &cli.IntFlag{Name: "batch", Usage: "ignored (no image depends on it): verify takes the batch's own flags"}
		case "ckpt":
			f = &cli.StringFlag{Name: "ckpt", Usage: "the batch's checkpoint: every image must record its hash and the settings " +
				"these flags give (default: every image records the settings and model hash most of them share)"}
		}
		flags = append(flags, f)
	}
	return &cli.Command{
		Name: "verify",
		Usage: "check that every image a manifest names is in --out, decodes and records its seed, class, settings and " +
			"checkpoint hash; lists what is missing or bad and the shards to run again, exit 1 if anything is",
		Flags: append(flags,
			&cli.StringFlag{Name: "manifest", Usage: "the batch's manifest", Required: true},
			&cli.StringFlag{Name: "out", Value: "out/batch", Usage: "the batch's folder"},
			shardsFlag("N, the number of shards the batch ran as: name the shards to run again"),
			&cli.StringFlag{Name: "prompt", Usage: "the batch's --prompt"},
			&cli.BoolFlag{Name: "no-metadata", Usage: "the batch wrote no parameters chunks: check only that the images are there and decode"},
		),
		Action: batchVerify,
	}
}

// withSubcommands gives c, a command that does work of its own, the
// subcommands subs. Its required flags become the action's to check:
// urfave/cli checks them before it looks for a subcommand, and the
// subcommand's flags come after its name.
func withSubcommands(c *cli.Command, subs ...*cli.Command) *cli.Command {
	var required []string
	for _, f := range c.Flags {
		if r, ok := f.(cli.RequiredFlag); ok && r.IsRequired() {
			required = append(required, f.Names()[0])
			switch f := f.(type) {
			case *cli.StringFlag:
				f.Required = false
			default:
				panic(fmt.Sprintf("withSubcommands: %s: required %T", c.Name, f))
			}
		}
	}
	action := c.Action
	c.Action = func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			var names []string
			for _, s := range subs {
				names = append(names, s.Name)
			}
			return userErrorf("%s: unknown command %q: want %s, or only flags (see 'genlab %s --help')",
				c.Name, ctx.Args().First(), strings.Join(names, ", "), c.Name)
		}
		for _, name := range required {
			if !ctx.IsSet(name) {
				return userErrorf("%s: --%s is required (see 'genlab %s --help')", c.Name, name, c.Name)
			}
		}
		return action(ctx)
	}
	c.Subcommands = append(c.Subcommands, subs...)
	if c.UsageText == "" {
		usage := []string{"genlab " + c.Name + " [options]"}
		for _, s := range subs {
			usage = append(usage, "genlab "+c.Name+" "+s.Name+" [options]")
		}
		c.UsageText = strings.Join(usage, "\n")
	}
	return c
}

// What can be wrong with one image of a batch.
const (
	imageMissing    = "missing"
	imageUnreadable = "unreadable"
	imageWrong      = "wrong parameters"
)

// problem is an image of the manifest that is not as the batch makes it.
type problem struct {
	job
	name, kind, detail string
}

func batchVerify(c *cli.Context) error {
	const verb = "batch verify"
	jobs, err := readManifest(c.String("manifest"))
	if err != nil {
		return err
	}
	out := c.String("out")
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		return userErrorf("%s: --out %s is not a folder: none of the %d images is there (run genlab batch)", verb, out, len(jobs))
	}
	shards := 0
	if c.IsSet("shards") {
		if shards = c.Int("shards"); shards < 1 {
			return userErrorf("%s: --shards %d: want 1 or more", verb, shards)
		}
	}
	// want gives the parameters batch writes for an image: from the
	// checkpoint and flags, or nil to compare the images with each other.
	var want func(job) (string, error)
	hash := ""
	if ckpt := c.String("ckpt"); ckpt != "" && !c.Bool("no-metadata") {
		p, err := openPipeline(verb, ckpt)
		if err != nil {
			return err
		}
		base, err := flagRequest(c, verb, p, []uint64{0}, false)
		if err != nil {
			return err
		}
		hash = p.Info().Hash
		want = func(j job) (string, error) {
			one := base
			one.Seeds, one.Classes = []uint64{j.seed}, []int{j.class}
			if err := p.Check(one); err != nil {
				return "", userErrorf("%s: %s: image %d: %v (%s)", verb, c.String("manifest"), j.index, err, ckpt)
			}
			return savedParameters(c, p.Parameters(one, 0)), nil
		}
	}

	var bad []problem
	named := map[string]bool{}
	settings := map[string][]problem{} // without --ckpt: images by the settings they share
	for _, j := range jobs {
		name := images.SampleName(j.index, int64(j.seed), j.class)
		named[name] = true
		path := filepath.Join(out, name)
		pr := problem{job: j, name: name}
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			pr.kind = imageMissing
			bad = append(bad, pr)
			continue
		}
		if _, err := images.Load(path); err != nil {
			pr.kind, pr.detail = imageUnreadable, err.Error()
			bad = append(bad, pr)
			continue
		}
		if c.Bool("no-metadata") {
			continue
		}
		if pr.detail = recordsJob(path, j); pr.detail != "" {
			pr.kind = imageWrong
			bad = append(bad, pr)
			continue
		}
		if want == nil {
			had, _ := images.ReadParameters(path)
			key := settingsOf(had)
			settings[key] = append(settings[key], pr)
			continue
		}
		w, err := want(j)
		if err != nil {
			return err
		}
		if same, had := sameSettings(path, w); !same {
			pr.kind, pr.detail = imageWrong, fmt.Sprintf("%s, want %s", oneLine(had), oneLine(w))
			bad = append(bad, pr)
		}
	}
	// Without a checkpoint, the settings (and model hash) most images
	// record are the batch's; the others are wrong.
	if len(settings) > 0 {
		keys := make([]string, 0, len(settings))
		for k := range settings {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		slices.SortStableFunc(keys, func(a, b string) int { return len(settings[b]) - len(settings[a]) })
		if p, err := images.ParseParameters(keys[0]); err == nil {
			hash = p.ModelHash
		}
		for _, k := range keys[1:] {
			for _, pr := range settings[k] {
				pr.kind, pr.detail = imageWrong, fmt.Sprintf("%s, where %d images record %s",
					showSettings(k), len(settings[keys[0]]), showSettings(keys[0]))
				bad = append(bad, pr)
			}
		}
		slices.SortFunc(bad, func(a, b problem) int { return a.index - b.index })
	}

	for _, pr := range bad {
		line := pr.kind + " " + pr.name
		if shards > 0 {
			line += fmt.Sprintf(" (shard %d/%d)", pr.index%shards+1, shards)
		}
		if pr.detail != "" {
			line += ": " + safeText(pr.detail)
		}
		fmt.Fprintln(c.App.Writer, line)
	}
	summary := fmt.Sprintf("%d of %d images ok in %s", len(jobs)-len(bad), len(jobs), out)
	if counts := countKinds(bad); counts != "" {
		summary += " (" + counts + ")"
	}
	if hash != "" {
		summary += ", model hash " + hash
	}
	if others := otherPNGs(out, named); others > 0 {
		summary += fmt.Sprintf("; %d other PNGs there", others)
	}
	fmt.Fprintf(c.App.Writer, "%s: %s\n", verb, summary)
	if len(bad) == 0 {
		return nil
	}
	return userErrorf("%s: %d of %d images missing or bad: %s", verb, len(bad), len(jobs), rerunAdvice(bad, shards))
}

// recordsJob says what is wrong ("" if nothing) with the parameters chunk
// of the PNG at path for image j of a manifest: whether it is there and
// names j's seed and class.
func recordsJob(path string, j job) string {
	had, err := images.ReadParameters(path)
	if err != nil || had == "" {
		return "no parameters chunk"
	}
	q, err := images.ParseParameters(had)
	if err != nil {
		return fmt.Sprintf("parameters %s: %v", oneLine(had), err)
	}
	class := -1
	if v, ok := q.Lookup("Class"); ok {
		if class, err = strconv.Atoi(v); err != nil {
			class = -2
		}
	}
	if q.Seed != int64(j.seed) || class != j.class {
		return fmt.Sprintf("records seed %d and class %s, the manifest says seed %d and class %s",
			q.Seed, className(class), j.seed, className(j.class))
	}
	return ""
}

func className(c int) string {
	if c < 0 {
		return "none"
	}
	return strconv.Itoa(c)
}

// settingsOf is what a parameters chunk says about the whole batch: all
// but the image's seed and class (and the checkpoint's file name, which a
// copy may change; the hash tells the model).
func settingsOf(params string) string {
	q, err := images.ParseParameters(params)
	if err != nil {
		return params
	}
	q.Seed, q.Model = 0, ""
	if _, ok := q.Lookup("Class"); ok {
		q.Prompt = ""
		q.Extra = slices.DeleteFunc(slices.Clone(q.Extra), func(f images.Field) bool { return f.Key == "Class" })
	}
	return q.String()
}

// showSettings shows what settingsOf gives on one line, without the
// seed it zeroed.
func showSettings(s string) string {
	i := strings.LastIndex(s, "\n") + 1 // the parameters line
	return oneLine(s[:i] + strings.Replace(s[i:], "Seed: 0, ", "", 1))
}

func countKinds(bad []problem) string {
	var parts []string
	for _, kind := range []string{imageMissing, imageUnreadable, imageWrong} {
		if n := len(slices.DeleteFunc(slices.Clone(bad), func(p problem) bool { return p.kind != kind })); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, kind))
		}
	}
	return strings.Join(parts, ", ")
}

// otherPNGs counts the PNGs in dir that the manifest does not name.
func otherPNGs(dir string, named map[string]bool) int {
	all, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	n := 0
	for _, p := range all {
		if !named[filepath.Base(p)] {
			n++
		}
	}
	return n
}

// rerunAdvice says which batch runs make the missing images: the shards
// they fall in when the number of shards is known. A missing or unreadable
// image is drawn again by a rerun; one with other parameters only with
// --overwrite.
func rerunAdvice(bad []problem, shards int) string {
	var redo, overwrite []int
	for _, pr := range bad {
		s := 1
		if shards > 0 {
			s = pr.index%shards + 1
		}
		if pr.kind == imageWrong {
			overwrite = append(overwrite, s)
		} else {
			redo = append(redo, s)
		}
	}
	list := func(s []int) string {
		slices.Sort(s)
		s = slices.Compact(s)
		parts := make([]string, len(s))
		for i, v := range s {
			parts[i] = fmt.Sprintf("%d/%d", v, shards)
		}
		return "--shard " + strings.Join(parts, ", ")
	}
	var advice []string
	switch {
	case shards == 0:
		advice = append(advice, "rerun the batch (every shard: the images that are there are skipped; --shards N names the shards that lack images)")
		if len(overwrite) > 0 {
			advice = append(advice, "with --overwrite to redraw the ones with other parameters")
		}
		return strings.Join(advice, " ")
	case len(redo) > 0:
		advice = append(advice, "rerun "+list(redo))
	}
	if len(overwrite) > 0 {
		advice = append(advice, "rerun "+list(overwrite)+" with --overwrite (images with other parameters)")
	}
	return strings.Join(advice, "; ")
}
