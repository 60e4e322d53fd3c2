package datasets

import (
	"fmt"
	"math/rand/v2"
)

// Batch is one minibatch. Its slices belong to the Loader and are
// overwritten by the next call to Next: copy what must outlive it.
type Batch struct {
	X        []float32 // batch*C*H*W values, NCHW
	Labels   []int     // len batch, nil when the set has no labels
	Captions []string  // len batch, nil when the set has no captions
	Index    []int     // the set index of each image
}

// Loader deals a Set out in shuffled minibatches, epoch after epoch.
//
// Each epoch's order is a permutation drawn from a PCG seeded by (seed,
// epoch) alone, and an epoch's last incomplete batch is dropped, so the
// whole future of a Loader is fixed by (seed, Epoch, Step): saving those two
// counters in a checkpoint and calling SetState on a fresh Loader resumes
// the exact batch sequence, with no RNG state to serialise.
type Loader struct {
	set   *Set
	batch int
	seed  uint64

	epoch int // current epoch, from 0
	step  int // batches already dealt in the current epoch

	perm      []int // order of the current epoch
	permEpoch int   // epoch perm was drawn for, -1 if none
	buf       Batch
}

// NewLoader returns a Loader dealing batches of the given size from set.
// It panics if batch < 1 or the set holds fewer than batch images (no full
// batch could ever be dealt): callers taking sizes from users check
// set.N >= batch first and report it.
func NewLoader(set *Set, batch int, seed uint64) *Loader {
	if batch < 1 {
		panic(fmt.Sprintf("datasets: NewLoader: batch size %d, want >= 1", batch))
	}
	if set.N < batch {
		panic(fmt.Sprintf("datasets: NewLoader: %s holds %d images, fewer than one batch of %d", set.Name, set.N, batch))
	}
	l := &Loader{set: set, batch: batch, seed: seed, permEpoch: -1}
	l.buf.X = make([]float32, batch*set.Dim())
	l.buf.Index = make([]int, batch)
	if set.Labels != nil {
		l.buf.Labels = make([]int, batch)
	}
	if set.Captions != nil {
		l.buf.Captions = make([]string, batch)
	}
	return l
}

// StepsPerEpoch returns the number of batches in one epoch, N / batch.
func (l *Loader) StepsPerEpoch() int { return l.set.N / l.batch }

// Epoch returns the current epoch, counting from 0.
func (l *Loader) Epoch() int { return l.epoch }

// Step returns how many batches of the current epoch were already dealt,
// in [0, StepsPerEpoch()).
func (l *Loader) Step() int { return l.step }

// SetState moves the Loader to batch step of epoch, as returned by Epoch and
// Step; the next call to Next then returns what it would have returned there.
func (l *Loader) SetState(epoch, step int) error {
	if epoch < 0 || step < 0 || step >= l.StepsPerEpoch() {
		return fmt.Errorf("datasets: loader state epoch %d step %d: want epoch >= 0 and step in [0,%d)", epoch, step, l.StepsPerEpoch())
	}
	l.epoch, l.step = epoch, step
	return nil
}

// Next returns the next batch, starting a freshly shuffled epoch when the
// current one has no full batch left.
func (l *Loader) Next() Batch {
	if l.permEpoch != l.epoch {
		l.shuffle()
	}
	s, b, d := l.set, l.buf, l.set.Dim()
	copy(b.Index, l.perm[l.step*l.batch:(l.step+1)*l.batch])
	for j, i := range b.Index {
		copy(b.X[j*d:(j+1)*d], s.Pixels[i*d:(i+1)*d])
		if b.Labels != nil {
			b.Labels[j] = s.Labels[i]
		}
		if b.Captions != nil {
			b.Captions[j] = s.Captions[i]
		}
	}
	l.step++
	if l.step == l.StepsPerEpoch() {
		l.epoch, l.step = l.epoch+1, 0
	}
	return b
}

// shuffle draws the current epoch's permutation.
func (l *Loader) shuffle() {
	if l.perm == nil {
		l.perm = make([]int, l.set.N)
	}
	for i := range l.perm {
		l.perm[i] = i
	}
	// splitmix spreads consecutive epoch numbers over the PCG's second seed
	// word, so neighbouring epochs do not start from neighbouring states.
	rng := rand.New(rand.NewPCG(l.seed, splitmix64(uint64(l.epoch))))
	rng.Shuffle(len(l.perm), func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
	l.permEpoch = l.epoch
}

// splitmix64 is the SplitMix64 output function (Steele, Lea & Flood 2014), a
// cheap bijective mixer for turning counters into seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
