package datasets

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// countingSet returns n 1x1x2 images whose pixels and labels encode their
// index, so a batch shows which images it holds.
func countingSet(n int) *Set {
	s := &Set{Name: "counting", N: n, C: 1, H: 1, W: 2, Classes: n,
		Pixels: make([]float32, 2*n), Labels: make([]int, n), Captions: make([]string, n)}
	for i := range n {
		s.Pixels[2*i], s.Pixels[2*i+1] = float32(i)/float32(n), 1
		s.Labels[i] = i
		s.Captions[i] = fmt.Sprint(i)
	}
	return s
}

// run takes k batches and returns the index lists, copied.
func run(l *Loader, k int) [][]int {
	var out [][]int
	for range k {
		out = append(out, slices.Clone(l.Next().Index))
	}
	return out
}

func TestLoaderEpochs(t *testing.T) {
	tests := []struct {
		n, batch, perEpoch int
	}{
		{10, 3, 3}, // drops 1 image per epoch
		{12, 4, 3}, // divides evenly
		{5, 5, 1},
		{7, 1, 7},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n%d_b%d", tc.n, tc.batch), func(t *testing.T) {
			set := countingSet(tc.n)
			l := NewLoader(set, tc.batch, 42)
			if l.StepsPerEpoch() != tc.perEpoch {
				t.Fatalf("StepsPerEpoch = %d, want %d", l.StepsPerEpoch(), tc.perEpoch)
			}
			var firstX *float32
			for epoch := range 3 {
				seen := map[int]bool{}
				for step := range tc.perEpoch {
					if l.Epoch() != epoch || l.Step() != step {
						t.Fatalf("before batch: epoch %d step %d, want %d %d", l.Epoch(), l.Step(), epoch, step)
					}
					b := l.Next()
					if len(b.X) != tc.batch*2 || len(b.Labels) != tc.batch || len(b.Captions) != tc.batch || len(b.Index) != tc.batch {
						t.Fatalf("batch sizes X %d labels %d captions %d index %d", len(b.X), len(b.Labels), len(b.Captions), len(b.Index))
					}
					if firstX == nil {
						firstX = &b.X[0]
					} else if &b.X[0] != firstX {
						t.Error("Next allocated a new X buffer")
					}
					for j, i := range b.Index {
						if seen[i] {
							t.Fatalf("epoch %d: image %d dealt twice", epoch, i)
						}
						seen[i] = true
						if b.Labels[j] != i || b.Captions[j] != fmt.Sprint(i) || b.X[2*j] != set.Pixels[2*i] || b.X[2*j+1] != 1 {
							t.Fatalf("batch row %d does not hold image %d", j, i)
						}
					}
				}
				if len(seen) != tc.perEpoch*tc.batch {
					t.Errorf("epoch %d dealt %d images, want %d", epoch, len(seen), tc.perEpoch*tc.batch)
				}
			}
		})
	}
}

func TestLoaderShuffleIsSeeded(t *testing.T) {
	set := countingSet(50)
	a := run(NewLoader(set, 10, 7), 10)
	b := run(NewLoader(set, 10, 7), 10)
	c := run(NewLoader(set, 10, 8), 10)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Error("same seed, different batches")
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Error("different seeds, same batches")
	}
	if slices.Equal(a[0], a[5]) { // first batch of epochs 0 and 1
		t.Error("epochs 0 and 1 start with the same batch: not reshuffled")
	}
	if slices.Equal(a[0], []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Error("first batch is unshuffled")
	}
	noMeta := &Set{Name: "bare", N: 4, C: 1, H: 1, W: 1, Pixels: make([]float32, 4)}
	if b := NewLoader(noMeta, 2, 1).Next(); b.Labels != nil || b.Captions != nil {
		t.Errorf("batch of an unlabelled set has labels %v captions %v", b.Labels, b.Captions)
	}
}

// TestLoaderResume stops a run at various points, restores the state into a
// fresh Loader, and checks the rest of the run is unchanged.
func TestLoaderResume(t *testing.T) {
	set := countingSet(23)
	const batch, seed, total = 5, 99, 20 // 4 steps per epoch, 5 epochs
	want := run(NewLoader(set, batch, seed), total)
	for _, stop := range []int{0, 1, 3, 4, 5, 8, 13, 19} {
		t.Run(fmt.Sprint("after", stop), func(t *testing.T) {
			first := NewLoader(set, batch, seed)
			got := run(first, stop)
			epoch, step := first.Epoch(), first.Step() // what a checkpoint saves
			if epoch*first.StepsPerEpoch()+step != stop {
				t.Fatalf("state (%d, %d) after %d batches", epoch, step, stop)
			}
			resumed := NewLoader(set, batch, seed)
			if err := resumed.SetState(epoch, step); err != nil {
				t.Fatal(err)
			}
			got = append(got, run(resumed, total-stop)...)
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("resumed run differs:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestLoaderSetStateErrors(t *testing.T) {
	l := NewLoader(countingSet(10), 3, 1)
	for _, st := range [][2]int{{-1, 0}, {0, -1}, {0, 3}, {2, 100}} {
		err := l.SetState(st[0], st[1])
		if err == nil || !strings.Contains(err.Error(), "step in [0,3)") {
			t.Errorf("SetState(%d, %d) = %v, want a range error", st[0], st[1], err)
		}
	}
	if l.Epoch() != 0 || l.Step() != 0 {
		t.Error("a refused SetState changed the state")
	}
}

func TestNewLoaderPanics(t *testing.T) {
	for _, tc := range []struct {
		n, batch int
		want     string
	}{
		{10, 0, "batch size 0"},
		{3, 4, "holds 3 images, fewer than one batch of 4"},
	} {
		func() {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.HasPrefix(msg, "datasets: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("NewLoader(n=%d, batch=%d) panic %v, want %q", tc.n, tc.batch, r, tc.want)
				}
			}()
			NewLoader(countingSet(tc.n), tc.batch, 1)
		}()
	}
}
