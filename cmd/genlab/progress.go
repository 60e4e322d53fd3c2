package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"genlab/pipeline"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports a long loop: a bar with rate and ETA when stderr is a
// terminal, otherwise a plain line every `every` units (and at the end), so
// logs and CI output stay readable. Training logs every 100 steps; the
// other commands about every tenth of their work (every 0).
type progress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	term bool // draw a bar (stderr is a terminal)
	what string
	// unit is what the rate counts: "steps" unless set ("images" for batch).
	unit  string
	total int
	every int
	// tenth: every follows the total (a tenth of it).
	tenth      bool
	start      time.Time
	lastLogged int
	// first is the step before the first one reported: a resumed run
	// starts part way, and its rate counts only the steps this process did.
	first   int
	started bool
}

// newProgress reports total units of work on w, a log line every `every`
// units off a terminal (0: every tenth of the total). A total not known
// yet is set later with setTotal.
func newProgress(w io.Writer, what string, total, every int) *progress {
	p := &progress{w: w, what: what, unit: "steps", start: time.Now(), tenth: every <= 0, every: every}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.term = true
	}
	p.setTotal(total)
	return p
}

// setTotal sets the work due, once it is known (a pipeline reports it with
// its first step).
func (p *progress) setTotal(total int) {
	p.total = max(total, 1)
	if p.tenth {
		p.every = max(1, p.total/10)
	}
	if p.bar != nil {
		p.bar.ChangeMax(p.total)
	}
}

// newBar is the terminal's bar. It is made at the first step, when the
// total is known, so that it never shows an empty "(0/1, 0 step/hr)".
func (p *progress) newBar() *progressbar.ProgressBar {
	unit := p.unit[:len(p.unit)-1] // progressbar writes "step/s"
	return progressbar.NewOptions(p.total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetRenderBlankState(false),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// step records that step (1-based) is done; note is shown beside it (e.g. the loss).
func (p *progress) step(step int, note string) {
	if !p.started {
		p.first, p.started = step-1, true
	}
	if p.term {
		if p.bar == nil {
			p.bar = p.newBar()
		}
		p.bar.Set(step)
		if note != "" {
			p.bar.Describe(p.what + " " + note) // draws the bar again
		}
		return
	}
	if step%p.every != 0 && step != p.total {
		return
	}
	el := time.Since(p.start)
	rate := float64(step-p.first) / max(el.Seconds(), 1e-9)
	eta := time.Duration(float64(p.total-step) / rate * float64(time.Second)).Round(time.Second)
	if note != "" {
		note = "  " + note
	}
	fmt.Fprintf(p.w, "%s %d/%d%s  %.2f %s/s  elapsed %s  ETA %s\n", p.what, step, p.total, note, rate, p.unit, el.Round(time.Second), eta)
	p.lastLogged = step
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// report is a pipeline.Request's Progress: the total comes with each call.
func (p *progress) report(pr pipeline.Progress) error {
	p.task(pr.Done, pr.Total)
	return nil
}

// task is a task's progress callback (units done and due).
func (p *progress) task(done, total int) {
	if total != p.total {
		p.setTotal(total)
	}
	p.step(done, "")
}
