package pipeline

import (
	"slices"
	"strings"
	"testing"
)

func TestSeeds(t *testing.T) {
	random := func() uint64 { return 1234 }
	for _, c := range []struct {
		in    string
		n     int
		want  []uint64
		count int
		str   string
	}{
		{"", 3, []uint64{0, 1, 2}, 0, "0"},
		{"42", 2, []uint64{42, 43}, 0, "42"},
		{"-1", 3, []uint64{1234, 1235, 1236}, 0, "-1"},
		{"1,5,9", 3, []uint64{1, 5, 9}, 3, "1,5,9"},
		{"10-13", 4, []uint64{10, 11, 12, 13}, 4, "10-13"},
		{" 7 , 10-11,-1", 4, []uint64{7, 10, 11, 1234}, 4, "7,10-11,-1"},
		{"9223372036854775807", 1, []uint64{9223372036854775807}, 0, "9223372036854775807"},
	} {
		s, err := ParseSeeds(c.in)
		if err != nil {
			t.Errorf("ParseSeeds(%q): %v", c.in, err)
			continue
		}
		got, err := s.Resolve(c.n, random)
		if err != nil || !slices.Equal(got, c.want) || s.Count() != c.count || s.String() != c.str {
			t.Errorf("%q for %d images: %v (%v), count %d, %q; want %v, count %d, %q", c.in, c.n, got, err, s.Count(), s.String(), c.want, c.count, c.str)
		}
		if s.Random() != slices.Contains(strings.Split(strings.ReplaceAll(c.in, " ", ""), ","), "-1") {
			t.Errorf("%q: Random() = %v", c.in, s.Random())
		}
	}
	for _, bad := range []string{"x", "-2", "5-3", "1,,2", "18446744073709551615", "0-200000", "1.5"} {
		if _, err := ParseSeeds(bad); err == nil {
			t.Errorf("ParseSeeds(%q) took it", bad)
		}
	}
	s, _ := ParseSeeds("1,2")
	if _, err := s.Resolve(3, random); err == nil {
		t.Error("two seeds for three images were taken")
	}
	s, _ = ParseSeeds("9223372036854775800")
	if _, err := s.Resolve(16, random); err == nil || !strings.Contains(err.Error(), "seed+i for 16 images") {
		t.Errorf("seeds past 2^63-1: %v", err)
	}
	// A random seed is drawn once: every image of the run follows it.
	s, _ = ParseSeeds("-1")
	draws := 0
	got, _ := s.Resolve(3, func() uint64 { draws++; return 1 << 40 })
	if draws != 1 || got[0] != 1<<40 || got[2] != 1<<40+2 {
		t.Errorf("-1 for 3 images: %v after %d draws", got, draws)
	}
	if got, _ := SeedList([]uint64{3, 4, 5, 9}).Resolve(4, nil); !slices.Equal(got, []uint64{3, 4, 5, 9}) {
		t.Errorf("SeedList: %v", got)
	}
}
