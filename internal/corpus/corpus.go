// Package corpus makes bad input files from good ones for the tests of
// every package that reads files: a checkpoint whose config lies about its
// weights, one whose weights hold NaN, a FIFO where a file should be. The
// files are generated, never kept by hand, so they follow the format as it
// changes.
package corpus

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"genlab/checkpoint"
	"genlab/models"
)

// EditConfig copies the checkpoint at src to dst with its genlab.config
// changed: each key of set is a dotted path into the config's JSON object
// ("unet.channels") and its value replaces what is there (or is added).
// The tensors are copied unchanged.
func EditConfig(src, dst string, set map[string]any) error {
	f, err := checkpoint.Load(src)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(f.Metadata[checkpoint.KeyConfig]), &cfg); err != nil {
		return fmt.Errorf("corpus: %s: config: %w", src, err)
	}
	for k, v := range set {
		if err := setPath(cfg, strings.Split(k, "."), v); err != nil {
			return fmt.Errorf("corpus: %s: %w", k, err)
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	f.Metadata[checkpoint.KeyConfig] = string(b)
	return checkpoint.Save(dst, f)
}

func setPath(m map[string]any, path []string, v any) error {
	if len(path) == 1 {
		m[path[0]] = v
		return nil
	}
	sub, ok := m[path[0]].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[path[0]] = sub
	}
	return setPath(sub, path[1:], v)
}

// EditMetadata copies src to dst with one metadata value replaced.
func EditMetadata(src, dst, key, value string) error {
	f, err := checkpoint.Load(src)
	if err != nil {
		return err
	}
	f.Metadata[key] = value
	return checkpoint.Save(dst, f)
}

// Poison copies the checkpoint at src to dst with element i of the named
// F32 tensor (the first tensor if name is "") set to v, e.g. NaN or +Inf.
func Poison(src, dst, name string, i int, v float32) (string, error) {
	f, err := checkpoint.Load(src)
	if err != nil {
		return "", err
	}
	for k := range f.Tensors {
		t := &f.Tensors[k]
		if (name == "" || t.Name == name) && t.DType == "F32" && t.NumElements() > i {
			d := append([]byte{}, t.Data...)
			binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(v))
			t.Data = d
			return t.Name, checkpoint.Save(dst, f)
		}
	}
	return "", fmt.Errorf("corpus: %s: no F32 tensor %q with %d elements", src, name, i+1)
}

// FIFO makes a named pipe at path: a reader that opens it blocks until a
// writer comes, so a command given it must refuse it before opening.
func FIFO(path string) error {
	return syscall.Mkfifo(path, 0o644)
}

// Measure runs f and returns the bytes it allocated (runtime.MemStats'
// TotalAlloc: every allocation, freed or not) and the time it took, for
// tests that a refusal costs little.
func Measure(f func()) (allocated uint64, took time.Duration) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took = time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, took
}

// Refusal says what is wrong with err as the refusal of a bad file: it
// must be one line that names the file and contains want. "" if it is.
func Refusal(err error, want, file string) string {
	switch {
	case err == nil:
		return fmt.Sprintf("%s was accepted; want an error saying %q", file, want)
	case !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file):
		return fmt.Sprintf("error %q; want it to name %s and say %q", err, file, want)
	case strings.Contains(err.Error(), "\n"):
		return fmt.Sprintf("error %q is more than one line", err)
	}
	return ""
}

// ConfigCase is one edit of a good checkpoint's genlab.config (dotted
// paths: "unet.channels") and what its refusal must say.
type ConfigCase struct {
	Name string
	Set  map[string]any
	Want string
}

// CheckRefusals writes each case's edit of good into dir and checks that
// load refuses it in one line naming the file and saying Want, having
// allocated less than 16 MiB in less than 2 s: the config is checked
// before anything the size of the model exists.
func CheckRefusals(t *testing.T, dir, good string, cases []ConfigCase, load func(path string) error) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(c.Name, " ", "-")+".safetensors")
			if err := EditConfig(good, bad, c.Set); err != nil {
				t.Fatal(err)
			}
			var err error
			alloc, took := Measure(func() { err = load(bad) })
			if msg := Refusal(err, c.Want, bad); msg != "" {
				t.Error(msg)
			}
			if alloc > 16<<20 || took.Seconds() > 2 {
				t.Errorf("refusal allocated %d bytes in %v; want little of either", alloc, took)
			}
		})
	}
}

// SaveGood writes p with family and cfg as dir/good.safetensors, the
// untouched checkpoint a refusal table edits, and checks that load takes it.
func SaveGood(t *testing.T, dir, family string, cfg any, p *models.Params, load func(path string) error) string {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.safetensors")
	if err := models.SaveWeights(good, p, models.Meta{Family: family, Config: raw, Step: 1}); err != nil {
		t.Fatal(err)
	}
	if err := load(good); err != nil {
		t.Fatalf("the untouched checkpoint: %v", err)
	}
	return good
}

// FuzzConfig is the body of a config parser's fuzz target: seeds (configs
// and raw JSON) are added, and every input parse accepts must build
// shape-only (check over models.CheckBuilt) and survive a JSON round trip.
// parse must never panic.
func FuzzConfig[C any, R ~[]byte](f *testing.F, seeds []C, raw []string, parse func(R) (C, error), check func(C, *models.Params) error) {
	for _, c := range seeds {
		b, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range raw {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := parse(R(in))
		if err != nil {
			return
		}
		if err := models.CheckBuilt(func(p *models.Params) error { return check(c, p) }); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("%s: accepted config does not marshal: %v", in, err)
		}
		if _, err := parse(R(b)); err != nil {
			t.Fatalf("%s: accepted config does not parse back: %v", in, err)
		}
	})
}
