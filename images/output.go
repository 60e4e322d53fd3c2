package images

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"genlab/internal/pathcheck"
)

// CheckOutput checks, before any work, that a command may write the PNG at
// path (named by flag, e.g. "--out", in the message): never over a
// directory, a device or another non-regular file; never over one of the
// command's inputs or a file genlab did not write (see Written) unless
// overwrite. Every command calls it with one line per file output.
func CheckOutput(flag, path string, overwrite bool, inputs ...string) error {
	return pathcheck.Output(flag, path, overwrite, Written, inputs...)
}

// Written reports whether path is a PNG genlab wrote: its parameters
// chunk names a genlab family, task or dataset. A PNG saved with
// --no-metadata does not say so and is treated like anyone's file.
func Written(path string) bool {
	s, err := ReadParameters(path)
	if err != nil || s == "" {
		return false
	}
	p, err := ParseParameters(s)
	if err != nil {
		return false
	}
	_, task := p.Lookup("Task")
	_, data := p.Lookup("Dataset")
	return p.Family != "" || task || data
}

// SampleClash returns the first file of dir that a run drawing n images
// from seed would write (NNNNN-SEED.png, NNNNN-SEED-cK.png for i < n and
// SEED = seed+i): a second sample into the same folder with the same seeds
// would replace an earlier run's images. "" if there is none or dir does
// not exist.
func SampleClash(dir string, n int, seed uint64) string {
	return sampleClash(dir, func(i int, s uint64) bool { return i < n && s == seed+uint64(i) })
}

// SampleClashSeeds is SampleClash for a run whose image i has seeds[i].
func SampleClashSeeds(dir string, seeds []uint64) string {
	return sampleClash(dir, func(i int, s uint64) bool { return i < len(seeds) && s == seeds[i] })
}

// sampleClash returns the first NNNNN-SEED*.png of dir that clash(NNNNN,
// SEED) says a run would write.
func sampleClash(dir string, clash func(i int, seed uint64) bool) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".png")
		if !ok {
			continue
		}
		parts := strings.Split(name, "-")
		if len(parts) < 2 || len(parts[0]) != 5 {
			continue
		}
		i, err1 := strconv.Atoi(parts[0])
		s, err2 := strconv.ParseUint(parts[1], 10, 64)
		if err1 == nil && err2 == nil && clash(i, s) {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}
