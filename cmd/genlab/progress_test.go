package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A resumed run's rate and ETA count only the steps this process did, not
// the ones a previous session did before the checkpoint.
func TestProgressRateCountsOnlyThisSessionsSteps(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "train", 120, 10)
	p.step(101, "") // the first step after resuming at 100
	p.start = time.Now().Add(-10 * time.Second)
	p.step(110, "")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "train 110/120") || !strings.Contains(last, " 1.00 steps/s") || !strings.Contains(last, "ETA 10s") {
		t.Errorf("after 10 steps in 10 s of a run resumed at step 100: %q, want 1.00 steps/s and ETA 10s", last)
	}
}
