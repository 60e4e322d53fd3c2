package train

import (
	"io"

	"bufio"
	"encoding/csv"
	"fmt"
	"genlab/internal/atomicfile"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checkpoints lists a run folder's weights files by step, oldest first.
func checkpoints(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "ckpt-[0-9]*.safetensors"))
	if err != nil {
		return nil, err
	}
	m = slices.DeleteFunc(m, func(p string) bool { return strings.HasSuffix(p, ".state.safetensors") })
	slices.Sort(m) // zero-padded steps sort as numbers
	return m, nil
}

// Latest is the newest checkpoint in a run folder.
func Latest(dir string) (string, error) {
	cs, err := checkpoints(dir)
	if err != nil {
		return "", err
	}
	if len(cs) == 0 {
		return "", fmt.Errorf("train: no checkpoint (ckpt-NNNNNN.safetensors) in %s to resume", dir)
	}
	return cs[len(cs)-1], nil
}

func resolveResume(dir, resume string) (string, error) {
	if resume == "latest" {
		return Latest(dir)
	}
	if _, err := os.Stat(resume); err != nil {
		return "", fmt.Errorf("train: --resume %s: %w", resume, err)
	}
	return resume, nil
}

// prune deletes all but the newest keep checkpoints (weights and state).
func prune(dir string, keep int) error {
	cs, err := checkpoints(dir)
	if err != nil {
		return err
	}
	for len(cs) > keep {
		for _, p := range []string{cs[0], StatePath(cs[0])} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		cs = cs[1:]
	}
	return nil
}

// lossLog is loss.csv: step, then each loss (sorted names, "loss" first),
// then elapsed seconds. Rows are buffered and flushed with each checkpoint,
// so the file always matches the newest checkpoint or runs past it.
type lossLog struct {
	path  string
	names []string
	rows  [][]string
	kept  [][]string // rows from before a resume
}

// openLossLog keeps the rows of an earlier run up to step start (a resumed
// run replaces what came after its checkpoint).
func openLossLog(path string, start int) (*lossLog, error) {
	l := &lossLog{path: path}
	if start == 0 {
		return l, nil
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil || len(recs) == 0 {
		return l, nil // an unreadable old log is started afresh
	}
	l.names = recs[0][1 : len(recs[0])-1]
	for _, r := range recs[1:] {
		if s, err := strconv.Atoi(r[0]); err == nil && s <= start {
			l.kept = append(l.kept, r)
		}
	}
	return l, nil
}

func (l *lossLog) add(step int, losses map[string]float64, el time.Duration) {
	if l.names == nil {
		for k := range losses {
			if k != "loss" {
				l.names = append(l.names, k)
			}
		}
		slices.Sort(l.names)
		l.names = append([]string{"loss"}, l.names...)
	}
	row := []string{strconv.Itoa(step)}
	for _, n := range l.names {
		row = append(row, strconv.FormatFloat(losses[n], 'g', 7, 64))
	}
	l.rows = append(l.rows, append(row, strconv.FormatFloat(el.Seconds(), 'f', 2, 64)))
}

// flush rewrites the whole file atomically: small, and never half-written.
func (l *lossLog) flush() error {
	if l.names == nil {
		return nil
	}
	return atomicfile.Write(l.path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		w.Write(append(append([]string{"step"}, l.names...), "seconds"))
		w.WriteAll(l.kept)
		w.WriteAll(l.rows)
		return w.Error()
	})
}

// TrainingTime is the wall time a run spent training up to step, from its
// loss.csv: each resumed session's clock starts again at zero, so the
// sessions' times are added.
func TrainingTime(lossCSV string, step int) (time.Duration, error) {
	f, err := os.Open(lossCSV)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", lossCSV, err)
	}
	total, last := 0.0, 0.0
	for _, r := range recs[min(1, len(recs)):] {
		s, err1 := strconv.Atoi(r[0])
		el, err2 := strconv.ParseFloat(r[len(r)-1], 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("%s: row %v is not step,...,seconds", lossCSV, r)
		}
		if s > step {
			break
		}
		if el < last { // a resumed session
			total += last
		}
		last = el
	}
	return time.Duration((total + last) * float64(time.Second)), nil
}
