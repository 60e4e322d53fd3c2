package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"genlab/images"
	"genlab/internal/pathcheck"

	"github.com/urfave/cli/v2"
)

func batchCommand() *cli.Command {
	return withSubcommands(&cli.Command{
		Name:  "batch",
		Usage: "generate the images a CSV manifest lists (class,seed,count per row); resumable and shardable",
		Flags: append(sampleFlags(),
			&cli.StringFlag{Name: "manifest", Usage: "CSV with a header: class,seed,count (class empty or none: unconditional)", Required: true},
			&cli.StringFlag{Name: "out", Value: "out/batch", Usage: "folder for the PNGs"},
			&cli.StringFlag{Name: "shard", Value: "1/1", Usage: shardUsage},
			shardsFlag("N for --shard auto where the runner does not say it (Kubernetes, GNU parallel): the Job's completions, the number of jobs"),
			&cli.StringFlag{Name: "prompt", Usage: "what a text-to-image model draws, for every image (default: the null prompt)"},
			&cli.BoolFlag{Name: "no-metadata", Usage: "leave the parameters chunk out of the PNGs"},
			firstFrameFlag(),
			loraFlag(),
		),
		Action: batch,
	}, batchVerifyCommand())
}

// job is one image of a manifest: its global index, seed and class (-1:
// unconditional).
type job struct {
	index int
	seed  uint64
	class int
}

// readManifest expands a manifest into jobs, in order.
func readManifest(path string) ([]job, error) {
	if err := pathcheck.Regular(path); err != nil {
		return nil, userErrorf("batch: --manifest: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, userErrorf("batch: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	r.Comment = '#'
	head, err := r.Read()
	if err != nil {
		return nil, userErrorf("batch: %s: no header line (want class,seed,count)", path)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, h := range []string{"class", "seed", "count"} {
		if _, ok := col[h]; !ok {
			return nil, userErrorf("batch: %s: the header %q has no %s column (want class,seed,count)", path, strings.Join(head, ","), h)
		}
	}
	var jobs []job
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, userErrorf("batch: %s: %v", path, err)
		}
		class := -1
		if s := strings.TrimSpace(rec[col["class"]]); s != "" && s != "none" {
			if class, err = strconv.Atoi(s); err != nil || class < 0 {
				return nil, userErrorf("batch: %s line %d: class %q: want a class number or none", path, line, s)
			}
		}
		if strings.TrimSpace(rec[col["seed"]]) == "-1" {
			return nil, userErrorf("batch: %s line %d: seed -1: a manifest names its seeds, so that a rerun or another shard finds the same images; draw one with 'genlab sample --seed -1' and write it here", path, line)
		}
		seed, err1 := strconv.ParseUint(strings.TrimSpace(rec[col["seed"]]), 10, 64)
		count, err2 := strconv.Atoi(strings.TrimSpace(rec[col["count"]]))
		if err1 != nil || err2 != nil || count < 1 || count > 1_000_000 {
			return nil, userErrorf("batch: %s line %d: seed %q and count %q: want whole numbers, count 1 or more", path, line, rec[col["seed"]], rec[col["count"]])
		}
		if err := checkManifestRow(path, line, seed, count, len(jobs)); err != nil {
			return nil, err
		}
		for j := 0; j < count; j++ {
			jobs = append(jobs, job{index: len(jobs), seed: seed + uint64(j), class: class})
		}
	}
	if len(jobs) == 0 {
		return nil, userErrorf("batch: %s lists no images", path)
	}
	return jobs, nil
}

func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, userErrorf("batch: --shard %s: want I/N with 1 <= I <= N, e.g. 2/4", s)
	}
	return i, n, nil
}

func batch(c *cli.Context) error {
	shard, shards, err := batchShard(c)
	if err != nil {
		return err
	}
	jobs, err := readManifest(c.String("manifest"))
	if err != nil {
		return err
	}
	ckpt := c.String("ckpt")
	tunes, err := fineTuneOptions(c, "batch")
	if err != nil {
		return err
	}
	p, err := openPipeline("batch", ckpt, tunes...)
	if err != nil {
		return err
	}
	// The settings every image shares; each chunk sets its seeds and classes.
	base, err := flagRequest(c, "batch", p, []uint64{0}, false)
	if err != nil {
		return err
	}
	if c.IsSet("image") {
		if base.First, err = firstFrame(c, "batch", p); err != nil {
			return err
		}
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// This shard's images that are not on disk yet: a stopped run resumes.
	var todo []job
	done := 0
	for _, j := range jobs {
		if j.index%shards != shard-1 {
			continue
		}
		one := base
		one.Seeds, one.Classes = []uint64{j.seed}, []int{j.class}
		if err := p.Check(one); err != nil {
			return userErrorf("batch: %s: image %d: %v (%s)", c.String("manifest"), j.index, err, ckpt)
		}
		name := filepath.Join(out, images.SampleName(j.index, int64(j.seed), j.class))
		if _, err := images.Load(name); err == nil {
			want := savedParameters(c, p.Parameters(one, 0))
			switch same, had := sameSettings(name, want); {
			case same:
				done++
				continue
			case !c.Bool("overwrite"):
				return userErrorf("batch: %s was drawn with other settings (%s; this run: %s): choose another --out, or --overwrite to draw it again",
					name, oneLine(had), oneLine(want))
			}
		}
		todo = append(todo, j)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newProgress(c.App.ErrWriter, "batch", len(todo), max(1, len(todo)/20))
	bar.unit = "images"
	per := base.Batch
	for lo := 0; lo < len(todo); lo += per {
		chunk := todo[lo:min(len(todo), lo+per)]
		r := base
		r.Seeds, r.Classes = make([]uint64, len(chunk)), make([]int, len(chunk))
		for i, j := range chunk {
			r.Seeds[i], r.Classes[i] = j.seed, j.class
		}
		res, err := p.Generate(ctx, r)
		if err != nil {
			return err
		}
		for i, j := range chunk {
			if err := savePNG(c, out, j.index, res, i); err != nil {
				return err
			}
		}
		bar.step(lo+len(chunk), "")
	}
	bar.done()
	fmt.Fprintf(c.App.Writer, "shard %d/%d: wrote %s to %s (%d were there already)\n", shard, shards, nOf(len(todo), "image"), out, done)
	return nil
}

// sameSettings says whether the PNG at path was drawn with the settings
// want (its parameters chunk, "" for none), whatever the checkpoint's file
// is called now (the model is told by its hash); had is what it records.
func sameSettings(path, want string) (same bool, had string) {
	had, _ = images.ReadParameters(path)
	if had == want {
		return true, had
	}
	a, errA := images.ParseParameters(had)
	b, errB := images.ParseParameters(want)
	if errA != nil || errB != nil {
		return false, had
	}
	a.Model, b.Model = "", ""
	return a.String() == b.String(), had
}

// oneLine shows a parameters chunk on one line.
func oneLine(s string) string {
	if s == "" {
		return "no parameters"
	}
	return safeText(strings.ReplaceAll(s, "\n", " / "))
}
