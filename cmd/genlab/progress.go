package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports a long loop: a bar with rate and ETA when stderr is a
// terminal, otherwise a plain line every `every` steps (and at the end), so
// logs and CI output stay readable.
type progress struct {
	w          io.Writer
	bar        *progressbar.ProgressBar
	what       string
	total      int
	every      int
	start      time.Time
	lastLogged int
	// first is the step before the first one reported: a resumed run
	// starts part way, and its rate counts only the steps this process did.
	first   int
	started bool
}

func newProgress(w io.Writer, what string, total, every int) *progress {
	p := &progress{w: w, what: what, total: total, every: max(every, 1), start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("step"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// step records that step (1-based) is done; note is shown beside it (e.g. the loss).
func (p *progress) step(step int, note string) {
	if !p.started {
		p.first, p.started = step-1, true
	}
	if p.bar != nil {
		p.bar.Describe(p.what + " " + note)
		p.bar.Set(step)
		return
	}
	if step%p.every != 0 && step != p.total {
		return
	}
	el := time.Since(p.start)
	rate := float64(step-p.first) / el.Seconds()
	eta := time.Duration(float64(p.total-step) / rate * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(p.w, "%s %d/%d  %s  %.2f steps/s  elapsed %s  ETA %s\n", p.what, step, p.total, note, rate, el.Round(time.Second), eta)
	p.lastLogged = step
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
