package images

import "testing"

func TestSampleName(t *testing.T) {
	tests := []struct {
		i     int
		seed  int64
		class int
		want  string
	}{
		{0, 42, -1, "00000-42.png"},
		{12, 54, -1, "00012-54.png"},
		{3, 7, 0, "00003-7-c0.png"},
		{123456, -5, 9, "123456--5-c9.png"},
	}
	for _, tt := range tests {
		if got := SampleName(tt.i, tt.seed, tt.class); got != tt.want {
			t.Errorf("SampleName(%d, %d, %d) = %q, want %q", tt.i, tt.seed, tt.class, got, tt.want)
		}
	}
}
