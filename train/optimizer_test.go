package train

import (
	"math"
	"testing"
)

func TestLearningRateSchedule(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Optimizer
		step int
		want float64
	}{
		{"warm-up start", Optimizer{BaseLR: 1, Warmup: 10}, 1, 0.1},
		{"warm-up end", Optimizer{BaseLR: 1, Warmup: 10}, 10, 1},
		{"constant after", Optimizer{BaseLR: 1, Warmup: 10, Total: 100}, 60, 1},
		{"cosine half-way", Optimizer{BaseLR: 1, Warmup: 10, Cosine: true, Total: 110}, 60, 0.5},
		{"cosine end", Optimizer{BaseLR: 1, Warmup: 10, Cosine: true, Total: 110}, 110, 0},
		{"cosine past the end", Optimizer{BaseLR: 1, Cosine: true, Total: 100}, 150, 0},
	} {
		if got := c.o.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: LR(%d) = %g, want %g", c.name, c.step, got, c.want)
		}
	}
}
