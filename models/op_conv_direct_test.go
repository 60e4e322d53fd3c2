package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// convCase is a conv of the reference UNet's kind, small enough for a test.
type convCase struct{ cin, cout, k, stride, pad, h, w int }

var directConvCases = []convCase{
	{32, 32, 3, 1, 1, 14, 14}, {64, 64, 3, 1, 1, 7, 7}, {32, 32, 3, 2, 1, 14, 14},
	{1, 32, 3, 1, 1, 9, 9}, {32, 1, 3, 1, 1, 9, 9}, // the first and last convs
	{9, 6, 3, 2, 1, 9, 8}, {5, 7, 3, 2, 1, 8, 7}, {8, 3, 5, 1, 2, 6, 11}, {3, 5, 3, 1, 0, 6, 5}, {6, 2, 3, 1, 1, 1, 5},
}

// convRef is the definition, in float64.
func convRef(c convCase, x, w, b []float32, n int) []float64 {
	g := convGeom{cin: c.cin, cout: c.cout, k: c.k, stride: c.stride, pad: c.pad}
	ho, wo := g.outSize(c.h, c.w)
	y := make([]float64, 0, n*c.cout*ho*wo)
	for i := 0; i < n; i++ {
		for o := 0; o < c.cout; o++ {
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					s := float64(b[o])
					for ci := 0; ci < c.cin; ci++ {
						for ky := 0; ky < c.k; ky++ {
							for kx := 0; kx < c.k; kx++ {
								iy, ix := oy*c.stride-c.pad+ky, ox*c.stride-c.pad+kx
								if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w {
									s += float64(x[((i*c.cin+ci)*c.h+iy)*c.w+ix]) * float64(w[((o*c.cin+ci)*c.k+ky)*c.k+kx])
								}
							}
						}
					}
					y = append(y, s)
				}
			}
		}
	}
	return y
}

// The float32 forward pass of the k×k convs (the direct kernel where the
// build has it) gives an image the same bytes alone, on one worker or two
// (which then split its channels), and inside a batch at any position; and
// the values of the definition within rounding. For every kernel variant.
func TestConvForwardBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, level := range kernelLevels() {
		defer setKernelLevel(setKernelLevel(level))
		for _, c := range directConvCases {
			g := convGeom{cin: c.cin, cout: c.cout, k: c.k, stride: c.stride, pad: c.pad}
			ho, wo := g.outSize(c.h, c.w)
			pin, pout := c.cin*c.h*c.w, c.cout*ho*wo
			const n = 5
			x, w, b := randFloats32(rng, n*pin), randFloats32(rng, c.cout*c.cin*c.k*c.k), randFloats32(rng, c.cout)
			var s, sw convScratch
			whole := make([]float32, n*pout)
			withWorkers(2, func() { convForward(g, &s, &sw, x, w, b, whole, n, c.h, c.w) })
			ref := convRef(c, x, w, b, n)
			for i, v := range whole {
				if d := math.Abs(float64(v) - ref[i]); d > 1e-4*(1+math.Abs(ref[i])) {
					t.Fatalf("level %d, %+v: y[%d] = %g, want %g", level, c, i, v, ref[i])
				}
			}
			for i := 0; i < n; i++ {
				want := whole[i*pout : (i+1)*pout]
				xi := append(make([]float32, 0, pin+3), x[i*pin:(i+1)*pin]...)
				for _, wk := range []int{1, 2} {
					alone := make([]float32, pout)
					withWorkers(wk, func() { convForward(g, &s, &sw, xi, w, b, alone, 1, c.h, c.w) })
					if !slices.Equal(alone, want) {
						t.Fatalf("level %d, %+v: image %d alone on %d workers differs from it in the batch", level, c, i, wk)
					}
				}
				lo := max(0, i-1)
				part := make([]float32, (n-lo)*pout)
				withWorkers(2, func() { convForward(g, &s, &sw, x[lo*pin:], w, b, part, n-lo, c.h, c.w) })
				if !slices.Equal(part[(i-lo)*pout:(i-lo+1)*pout], want) {
					t.Fatalf("level %d, %+v: image %d differs in a batch from %d", level, c, i, lo)
				}
			}
		}
	}
}

// Each C variant of the direct kernel against its Go instance: the same
// bytes at the baseline (multiply then add, as Go), within rounding with
// FMA.
func TestConvDirectKernelMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range directConvCases {
		g := convGeom{cin: c.cin, cout: c.cout, k: c.k, stride: c.stride, pad: c.pad}
		sg := newShiftGeom(g, c.h, c.w)
		kk, nb := c.k*c.k, (c.cout+3)/4
		x, w := randFloats32(rng, c.cin*c.h*c.w), randFloats32(rng, c.cout*c.cin*kk)
		d := newDirectConvArgs(g, sg, w, make([]float32, nb*c.cin*kk*4), randFloats32(rng, c.cout))
		d.xp = make([]float32, sg.planes())
		padPlanes(sg, x, d.xp)
		d.y = make([]float32, c.cout*d.pout)
		d.e, d.r = randFloats32(rng, c.cout), randFloats32(rng, c.cout*d.pout) // the epilogue's adds
		convDirectGo(&d, 0, nb)
		want := d.y
		for _, level := range kernelLevels() {
			old := setKernelLevel(level)
			d.y = make([]float32, c.cout*d.pout)
			convDirect32(&d, 0, nb)
			setKernelLevel(old)
			for i, v := range d.y {
				if level == 0 && v != want[i] || math.Abs(float64(v-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("level %d, %+v: y[%d] = %g, Go %g", level, c, i, v, want[i])
				}
			}
		}
	}
}

// BenchmarkConvDirect sets the direct kernel against the paths it replaced
// (shifted GEMMs, im2col) on the reference UNet's 3×3 convs at batch 64
// and 1, alternating the two on the same data; it reports the median of
// the per-pair time ratios (new/old: below 1, the direct kernel is faster)
// and the direct kernel's GFLOP/s. Run with -benchtime=Nx for N pairs.
func BenchmarkConvDirect(b *testing.B) {
	if !haveDirectConv {
		b.Skip("no direct kernel in this build")
	}
	for _, c := range []convCase{
		{1, 32, 3, 1, 1, 28, 28}, {32, 32, 3, 1, 1, 28, 28}, {64, 32, 3, 1, 1, 28, 28}, {32, 32, 3, 2, 1, 28, 28},
		{32, 64, 3, 1, 1, 14, 14}, {64, 64, 3, 1, 1, 14, 14}, {128, 32, 3, 1, 1, 14, 14}, {64, 64, 3, 2, 1, 14, 14},
		{64, 64, 3, 1, 1, 7, 7}, {128, 64, 3, 1, 1, 7, 7}, {32, 1, 3, 1, 1, 28, 28},
	} {
		for _, n := range []int{64, 1} {
			b.Run(fmt.Sprintf("%dx%d-%d-%d-s%d-b%d", c.h, c.w, c.cin, c.cout, c.stride, n), func(b *testing.B) {
				g := convGeom{cin: c.cin, cout: c.cout, k: c.k, stride: c.stride, pad: c.pad}
				ho, wo := g.outSize(c.h, c.w)
				rng := rand.New(rand.NewPCG(1, 1))
				x, w, bias := randFloats32(rng, n*c.cin*c.h*c.w), randFloats32(rng, c.cout*c.cin*c.k*c.k), randFloats32(rng, c.cout)
				y := make([]float32, n*c.cout*ho*wo)
				var s, sw convScratch
				run := func(direct bool) time.Duration {
					defer func(old bool) { directConv = old }(directConv)
					directConv = direct
					t0 := time.Now()
					convForward(g, &s, &sw, x, w, bias, y, n, c.h, c.w)
					return time.Since(t0)
				}
				run(false)
				run(true)
				ratios := make([]float64, 0, b.N)
				var tnew time.Duration
				for i := 0; i < b.N; i++ {
					old := run(false)
					nw := run(true)
					tnew += nw
					ratios = append(ratios, float64(nw)/float64(old))
				}
				b.ReportMetric(medianOf(ratios), "new/old")
				b.ReportMetric(2*float64(n*c.cout*ho*wo*c.cin*c.k*c.k)*float64(b.N)/tnew.Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

// BenchmarkReferenceUNetDirectConv is the reference UNet's steps with the
// direct conv kernel against without, alternated run by run on one
// machine: the medians of the per-pair ratios (new/old) of wall time and
// of CPU time, which the machine's other load disturbs less.
func BenchmarkReferenceUNetDirectConv(b *testing.B) {
	if !haveDirectConv {
		b.Skip("no direct kernel in this build")
	}
	for _, c := range []struct {
		name  string
		batch int
		train bool
	}{{"sample-b64", 64, false}, {"sample-b1", 1, false}, {"train-b64", 64, true}} {
		b.Run(c.name, func(b *testing.B) {
			s := newRefStep(b, c.batch, c.train)
			// Wall and CPU time (all threads) of one step.
			run := func(direct bool) (time.Duration, time.Duration) {
				defer func(old bool) { directConv = old }(directConv)
				directConv = direct
				t0, c0 := time.Now(), processCPU()
				if c.train {
					s.train(b)
				} else if err := s.m.Run(); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0), processCPU() - c0
			}
			run(false)
			run(true)
			ratios, cpuRatios := make([]float64, 0, b.N), make([]float64, 0, b.N)
			for i := 0; i < b.N; i++ {
				old, oldCPU := run(false)
				nw, nwCPU := run(true)
				ratios = append(ratios, float64(nw)/float64(old))
				cpuRatios = append(cpuRatios, float64(nwCPU)/float64(oldCPU))
			}
			b.ReportMetric(medianOf(cpuRatios), "cpu-new/old")
			b.ReportMetric(medianOf(ratios), "new/old")
		})
	}
}

// Conv2dAdd adds the embedding and the residual as its own ops would after
// it, to the byte, on every path and kernel variant: the direct kernel's
// epilogue, the GEMM paths' pass, one image's channels split over workers.
func TestConv2dAddIsConvThenAdds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, level := range kernelLevels() {
		defer setKernelLevel(setKernelLevel(level))
		for _, direct := range []bool{true, false} {
			defer func(old bool) { directConv = old }(directConv)
			directConv = direct && haveDirectConv
			for _, c := range directConvCases {
				g := convGeom{cin: c.cin, cout: c.cout, k: c.k, stride: c.stride, pad: c.pad}
				ho, wo := g.outSize(c.h, c.w)
				for _, n := range []int{1, 3} {
					pout := c.cout * ho * wo
					x, w, b := randFloats32(rng, n*c.cin*c.h*c.w), randFloats32(rng, c.cout*c.cin*c.k*c.k), randFloats32(rng, c.cout)
					e, r := randFloats32(rng, n*c.cout), randFloats32(rng, n*pout)
					var s, sw convScratch
					want := make([]float32, n*pout)
					convForward(g, &s, &sw, x, w, b, want, n, c.h, c.w)
					addPerChannel(want, e, want, n*c.cout, ho*wo)
					addSlices(want, r, want)
					got := make([]float32, n*pout)
					withWorkers(2, func() { convForwardAdd(g, &s, &sw, x, w, b, e, r, got, n, c.h, c.w) })
					if !slices.Equal(got, want) {
						t.Fatalf("level %d, direct %v, %+v, batch %d: conv then adds differs from Conv2dAdd", level, direct, c, n)
					}
				}
			}
		}
	}
}
