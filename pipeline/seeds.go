package pipeline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// RandomSeed in a seed list asks for a random seed, as -1 does in
// AUTOMATIC1111: Seeds.Resolve draws it once, and the image's PNG records
// the seed drawn, so the image can be made again.
const RandomSeed = -1

// MaxSeed is the largest seed an image may have: a PNG's parameters record
// a signed 64-bit Seed, as AUTOMATIC1111 writes it.
const MaxSeed = math.MaxInt64

// maxListed bounds the seeds a list or range may name.
const maxListed = 100000

// Seeds are the seeds a user asked for, as AUTOMATIC1111's users write
// them: one seed starts a run (image i gets seed+i), -1 is a random one,
// and a list of seeds and ranges ("1,5,9", "10-13", "-1,7") gives each
// image its own. The zero value is seed 0.
type Seeds struct {
	list []int64 // RandomSeed or 0..MaxSeed
}

// ParseSeeds reads a seed, -1, or a comma-separated list of seeds, -1s
// and ranges A-B (A <= B, both included).
func ParseSeeds(s string) (Seeds, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Seeds{list: []int64{0}}, nil
	}
	var list []int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == strconv.Itoa(RandomSeed) {
			list = append(list, RandomSeed)
			continue
		}
		a, b, isRange := strings.Cut(part, "-")
		lo, err := parseSeed(a)
		if err != nil {
			return Seeds{}, fmt.Errorf("seed %q: %w", part, err)
		}
		hi := lo
		if isRange {
			if hi, err = parseSeed(b); err != nil {
				return Seeds{}, fmt.Errorf("seed range %q: %w", part, err)
			}
			if hi < lo {
				return Seeds{}, fmt.Errorf("seed range %q: the first seed must not be above the last", part)
			}
		}
		if hi-lo >= maxListed || len(list)+int(hi-lo) >= maxListed {
			return Seeds{}, fmt.Errorf("seeds %q: more than %d seeds", s, maxListed)
		}
		for v := lo; ; v++ {
			list = append(list, v)
			if v == hi {
				break
			}
		}
	}
	return Seeds{list: list}, nil
}

func parseSeed(s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want a whole number from 0 to %d, -1 for a random one, or a list such as 1,5,9 or 10-13", int64(MaxSeed))
	}
	return v, nil
}

// Count is how many images the seeds are for: 0 for one seed (any number
// of images, seed+i each), the list's length otherwise.
func (s Seeds) Count() int {
	if len(s.list) <= 1 {
		return 0
	}
	return len(s.list)
}

// Random reports whether a seed is to be drawn at random.
func (s Seeds) Random() bool {
	for _, v := range s.list {
		if v == RandomSeed {
			return true
		}
	}
	return false
}

// Resolve returns the seeds of n images: seed, seed+1, … for one seed, the
// list itself for a list (n must be its length), each RandomSeed drawn
// from random (nil: math/rand/v2's generator) as A1111 does, below 2³².
// Every seed, with the run's seed+i, stays within 0 to MaxSeed.
func (s Seeds) Resolve(n int, random func() uint64) ([]uint64, error) {
	if random == nil {
		random = func() uint64 { return uint64(rand.Uint32()) }
	}
	list := s.list
	if len(list) == 0 {
		list = []int64{0}
	}
	if c := s.Count(); c > 0 && c != n {
		return nil, fmt.Errorf("%d seeds for %d images: give one seed per image, or one seed to start from", c, n)
	}
	if n < 1 {
		return nil, fmt.Errorf("seeds for %d images: want at least one", n)
	}
	out := make([]uint64, n)
	if len(list) == 1 {
		first := list[0]
		if first == RandomSeed {
			first = int64(random() & MaxSeed)
		}
		if err := CheckSeedRun(uint64(first), n); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = uint64(first) + uint64(i)
		}
		return out, nil
	}
	for i, v := range list {
		if v == RandomSeed {
			v = int64(random() & MaxSeed)
		}
		out[i] = uint64(v)
	}
	return out, nil
}

// CheckSeedRun says whether n images from seed first (first+i each) have
// seeds a PNG can record, without making them.
func CheckSeedRun(first uint64, n int) error {
	if first > MaxSeed || uint64(max(n, 1)-1) > MaxSeed-first {
		return fmt.Errorf("seed %d: the images' seeds (seed+i for %d images) must stay within 0 to %d, the seeds a PNG's parameters can record", first, n, int64(MaxSeed))
	}
	return nil
}

// String is the seeds as ParseSeeds reads them, ranges of consecutive
// seeds written A-B.
func (s Seeds) String() string {
	if len(s.list) == 0 {
		return "0"
	}
	var parts []string
	for i := 0; i < len(s.list); {
		j := i
		for j+1 < len(s.list) && s.list[i] != RandomSeed && s.list[j+1] == s.list[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.FormatInt(s.list[i], 10))
		default:
			parts = append(parts, fmt.Sprintf("%d-%d", s.list[i], s.list[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// SeedList is the Seeds of these seeds, each its own.
func SeedList(seeds []uint64) Seeds {
	list := make([]int64, len(seeds))
	for i, v := range seeds {
		list[i] = int64(min(v, MaxSeed))
	}
	return Seeds{list: list}
}

// RequestSeeds is Knobs.Request for images with these seeds (one each).
func (k Knobs) RequestSeeds(seeds []uint64) Request {
	r := k.Request(0, len(seeds))
	r.Seeds = append([]uint64(nil), seeds...)
	return r
}
