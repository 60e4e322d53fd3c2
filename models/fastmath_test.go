package models

import (
	"math"
	"testing"
)

func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88; x += 0.0137 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 { // 2.5 ulp of float32
		t.Fatalf("expf: worst relative error %.3g", worst)
	}
	if expf(100) != float32(math.Inf(1)) || expf(-100) != 0 {
		t.Fatal("expf: wrong limits")
	}
}
