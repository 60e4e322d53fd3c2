// Package memory refuses work that cannot fit in the machine's memory
// before it starts: a request whose estimate exceeds the limit gets one
// clear line instead of the runtime's fatal out-of-memory minutes later.
//
// The limit is what /proc/meminfo calls MemAvailable, unless SetLimit (the
// CLI's --max-memory) says otherwise. Estimates are rough upper bounds;
// they are meant to catch a request off by orders of magnitude (a config
// of 1e9 channels, --batch 1e8), not to budget a machine to the byte.
package memory

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// limit is the override set by SetLimit; 0 means MemAvailable.
var limit atomic.Int64

// SetLimit makes n bytes the limit instead of the memory the machine has
// available; 0 goes back to MemAvailable.
func SetLimit(n int64) { limit.Store(max(n, 0)) }

// Limit returns the current limit in bytes and where it comes from
// ("--max-memory" or "MemAvailable"); ok is false when no limit is known
// (no override and no /proc/meminfo), and then nothing is refused.
func Limit() (n int64, source string, ok bool) {
	if l := limit.Load(); l > 0 {
		return l, "--max-memory", true
	}
	if a, ok := Available(); ok {
		return a, "available", true
	}
	return 0, "", false
}

// Available returns MemAvailable from /proc/meminfo in bytes. It is read
// at most once a second, so a check per manifest row or per file costs
// nothing.
func Available() (int64, bool) {
	availMu.Lock()
	defer availMu.Unlock()
	if time.Since(availAt) < time.Second {
		return avail, availOK
	}
	avail, availOK, availAt = 0, false, time.Now()
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		avail, availOK = parseMeminfo(b)
	}
	return avail, availOK
}

var (
	availMu sync.Mutex
	availAt time.Time
	avail   int64
	availOK bool
)

func parseMeminfo(b []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb < 0 || kb > math.MaxInt64/1024 {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}

// Error is a request refused for the memory it would need.
type Error struct {
	What   string // "sampling 64 images from x.safetensors"
	Need   int64  // estimated bytes
	Limit  int64
	Source string // "available" or "--max-memory"
}

func (e *Error) Error() string {
	hint := "--max-memory raises the limit if the estimate is wrong"
	if e.Source == "--max-memory" {
		hint = "raise --max-memory if the estimate is wrong"
	}
	return fmt.Sprintf("%s needs about %s of memory, more than the %s %s (%s)",
		e.What, Format(e.Need), Format(e.Limit), e.Source, hint)
}

// Check refuses need bytes of work described by what when it exceeds the
// limit. A negative need stands for an estimate that overflowed and is
// always refused.
func Check(what string, need int64) error {
	l, src, ok := Limit()
	if need < 0 {
		need = math.MaxInt64
	}
	if !ok || need <= l {
		return nil
	}
	return &Error{What: what, Need: need, Limit: l, Source: src}
}

// Format writes a byte count for people: "512 B", "3.1 GB", "50.0 TB"
// (powers of 1000, as df -H).
func Format(n int64) string {
	if n == math.MaxInt64 {
		return "more than 9 EB"
	}
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGTPE"[i])
}

// ParseSize reads a size such as "8G", "512MB", "1.5GiB", "2e9" or
// "1000000": a finite positive number with an optional unit (k, M, G, T;
// powers of 1000, or of 1024 with an i as in GiB).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "b")
	mult := 1.0
	if t != "" {
		base := 1000.0
		if strings.HasSuffix(t, "i") {
			base = 1024
			t = t[:len(t)-1]
		}
		if t != "" {
			switch t[len(t)-1] {
			case 'k', 'K':
				mult, t = base, t[:len(t)-1]
			case 'm', 'M':
				mult, t = base*base, t[:len(t)-1]
			case 'g', 'G':
				mult, t = base*base*base, t[:len(t)-1]
			case 't', 'T':
				mult, t = base*base*base*base, t[:len(t)-1]
			}
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes such as 8G, 512M or 2e9", s)
	}
	return int64(v * mult), nil
}

// Mul multiplies non-negative factors of an estimate, -1 if the product
// overflows int64 (Check refuses it).
func Mul(factors ...int64) int64 {
	p := int64(1)
	for _, f := range factors {
		if f < 0 || p < 0 {
			return -1
		}
		if f != 0 && p > math.MaxInt64/f {
			return -1
		}
		p *= f
	}
	return p
}

// Add sums non-negative terms of an estimate, -1 if any is -1 or the sum
// overflows int64.
func Add(terms ...int64) int64 {
	s := int64(0)
	for _, t := range terms {
		if t < 0 || s > math.MaxInt64-t {
			return -1
		}
		s += t
	}
	return s
}
