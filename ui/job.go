package ui

import (
	"context"
	"errors"
	"image"
	"sync"
	"time"
)

// Job is one piece of background work (a generation, a task, a training
// run) under a context and a mutex, as gio-example's timer is: the window
// reads Status snapshots, and Updated says when there is news.
type Job struct {
	mu     sync.Mutex
	st     JobStatus
	cancel context.CancelFunc
	done   chan struct{}
	notify func()
}

// JobStatus is a snapshot of a job.
type JobStatus struct {
	Name        string
	Running     bool
	Cancelled   bool
	Done, Total int
	Started     time.Time
	Elapsed     time.Duration
	ETA         time.Duration // 0 until a step is done
	Preview     image.Image   // the latest predicted images, if any
	Results     []Result      // when it ended well
	Err         error         // when it failed
	Note        string        // a line of news, e.g. "saved runs/quick/ckpt-000200.safetensors"
}

// Fraction is the share of the work done, in [0,1].
func (s JobStatus) Fraction() float32 {
	if s.Total <= 0 {
		return 0
	}
	return min(1, float32(s.Done)/float32(s.Total))
}

// Reporter is how a job's work tells its progress.
type Reporter interface {
	Report(p Progress)
	Say(note string)
}

// StartJob runs work in a goroutine. notify (which may be nil) is called,
// from any goroutine, whenever the status changes; the window turns it
// into an Invalidate.
func StartJob(name string, notify func(), work func(ctx context.Context, r Reporter) ([]Result, error)) *Job {
	ctx, cancel := context.WithCancel(context.Background())
	j := &Job{cancel: cancel, done: make(chan struct{}), notify: notify}
	j.st = JobStatus{Name: name, Running: true, Started: time.Now()}
	go func() {
		defer close(j.done)
		defer cancel()
		res, err := work(ctx, (*reporter)(j))
		j.mu.Lock()
		if j.st.Running {
			j.st.Running = false
			j.st.Elapsed = time.Since(j.st.Started)
			switch {
			case ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)):
				j.st.Cancelled = true
			case err != nil:
				j.st.Err = err
			default:
				j.st.Results = res
				j.st.Done = max(j.st.Done, j.st.Total)
			}
		}
		j.mu.Unlock()
		j.changed()
	}()
	return j
}

func (j *Job) changed() {
	if j.notify != nil {
		j.notify()
	}
}

type reporter Job

func (r *reporter) Report(p Progress) {
	j := (*Job)(r)
	j.mu.Lock()
	if !j.st.Running {
		j.mu.Unlock()
		return
	}
	j.st.Done, j.st.Total = p.Done, p.Total
	j.st.Elapsed = time.Since(j.st.Started)
	if p.Done > 0 && p.Total >= p.Done {
		per := j.st.Elapsed / time.Duration(p.Done)
		j.st.ETA = per * time.Duration(p.Total-p.Done)
	}
	if p.Preview != nil {
		j.st.Preview = p.Preview
	}
	j.mu.Unlock()
	j.changed()
}

func (r *reporter) Say(note string) {
	j := (*Job)(r)
	j.mu.Lock()
	j.st.Note = note
	j.mu.Unlock()
	j.changed()
}

// Status returns a snapshot of the job.
func (j *Job) Status() JobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.st
	if st.Running {
		st.Elapsed = time.Since(st.Started)
	}
	return st
}

// Cancel stops the job at once: its status says so straight away, and its
// work sees its context cancelled and stops at its next step, its results
// thrown away.
func (j *Job) Cancel() {
	j.mu.Lock()
	if j.st.Running {
		j.st.Running = false
		j.st.Cancelled = true
		j.st.Elapsed = time.Since(j.st.Started)
	}
	j.mu.Unlock()
	j.cancel()
	j.changed()
}

// Wait blocks until the job's goroutine has returned.
func (j *Job) Wait() { <-j.done }

// Finished reports whether the job's goroutine has returned.
func (j *Job) Finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}
