package memory

import (
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"8G", 8e9}, {"8GB", 8e9}, {"512M", 512e6}, {"1.5GiB", 3 << 29}, {"2e9", 2e9}, {"1000", 1000}, {"4k", 4000}, {"1T", 1e12},
	} {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "NaN", "Inf", "-1G", "0", "1e30", "lots", "G"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d; want an error", in, got)
		}
	}
}

func TestMeminfo(t *testing.T) {
	got, ok := parseMeminfo([]byte("MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:   24165196 kB\n"))
	if !ok || got != 24165196*1024 {
		t.Errorf("parseMeminfo = %d, %v", got, ok)
	}
	if _, ok := parseMeminfo([]byte("MemTotal: 1 kB\n")); ok {
		t.Error("parseMeminfo without MemAvailable said ok")
	}
}

func TestCheck(t *testing.T) {
	defer SetLimit(0)
	SetLimit(1e9)
	if err := Check("small", 5e8); err != nil {
		t.Errorf("Check under the limit: %v", err)
	}
	err := Check("sampling 1e8 images", 72e9)
	if err == nil || !strings.Contains(err.Error(), "72.0 GB") || !strings.Contains(err.Error(), "1.0 GB --max-memory") {
		t.Errorf("Check over the limit: %v", err)
	}
	if Check("overflowed", -1) == nil {
		t.Error("an overflowed estimate was accepted")
	}
	if Mul(1<<40, 1<<40) != -1 || Add(math.MaxInt64, 1) != -1 || Mul(3, 4, 5) != 60 || Add(1, 2) != 3 {
		t.Error("Mul or Add wrong")
	}
}
