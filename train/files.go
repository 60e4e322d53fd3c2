package train

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
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

// lossLog is loss.csv: a header (step, each loss with "loss" first,
// seconds), then one row per step, the step first. The file is only ever
// appended to: rows are buffered and appended, then synced, just before
// each checkpoint is written, so the file always reaches the newest
// checkpoint's step (or runs past it). A resume from step S cuts the file
// back to its last complete row of a step <= S, dropping the rows of steps
// the resumed run logs again and a row a crash tore; a kill at any moment
// loses no row for good and leaves no temporary file.
type lossLog struct {
	path  string
	names []string
	rows  [][]string
	// keep is how many bytes of the existing file the first flush keeps
	// (0: a fresh run replaces it); -1 once that is done.
	keep int64
}

// openLossLog reads the log a resumed run continues: up to its last
// complete row of a step <= start. A fresh run (start 0) replaces the file.
func openLossLog(path string, start int) (*lossLog, error) {
	l := &lossLog{path: path}
	removeStaleTemps(path)
	if start == 0 {
		return l, nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	var off int64
	for first := true; ; first = false {
		nl := bytes.IndexByte(b[off:], '\n')
		if nl < 0 {
			break // a torn last row, or none
		}
		line := string(b[off : off+int64(nl)])
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if first {
			if err != nil || len(rec) < 3 || rec[0] != "step" || rec[len(rec)-1] != "seconds" {
				return l, nil // an unreadable old log is started afresh
			}
			l.names = rec[1 : len(rec)-1]
		} else {
			step, serr := strconv.Atoi(rec[0])
			if err != nil || serr != nil || step > start || len(rec) != len(l.names)+2 {
				break
			}
		}
		off += int64(nl) + 1
	}
	l.keep = off
	return l, nil
}

// removeStaleTemps deletes the temporary files of the atomic rewrites
// earlier versions did (.loss.csv.tmp-*), which a crash could leave.
func removeStaleTemps(path string) {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	for _, p := range m {
		os.Remove(p)
	}
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

// flush appends the buffered rows and syncs the file. The first flush
// first cuts the file back to what openLossLog kept (writing the header
// into an empty file).
func (l *lossLog) flush() error {
	if l.names == nil || (l.keep < 0 && len(l.rows) == 0) {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if l.keep == 0 {
		w.Write(append(append([]string{"step"}, l.names...), "seconds"))
	}
	w.WriteAll(l.rows)
	err = w.Error()
	if err == nil && l.keep >= 0 {
		err = f.Truncate(l.keep)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekEnd)
	}
	if err == nil {
		_, err = f.Write(buf.Bytes())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("train: %s: %w", l.path, err)
	}
	l.keep, l.rows = -1, nil
	return nil
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
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1 // a crash may have torn the last row
	recs, err := cr.ReadAll()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", lossCSV, err)
	}
	total, last := 0.0, 0.0
	for i, r := range recs[min(1, len(recs)):] {
		s, err1 := strconv.Atoi(r[0])
		el, err2 := strconv.ParseFloat(r[len(r)-1], 64)
		if (err1 != nil || err2 != nil || len(r) != len(recs[0])) && i == len(recs)-2 {
			break // the torn last row of a crash, cut at the next resume
		}
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
