package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The promise behind "the same seed gives the same PNG whatever the batch":
// each kernel computes a sample's values the same way whatever else shares
// the call, however the batch is split over workers and wherever the
// sample's buffer lies. make test runs these tests (names with
// BatchInvariant) once under every OpenBLAS kernel the CPU can run.

func randFloats32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// withWorkers runs f with the kernels split over w workers.
func withWorkers(w int, f func()) {
	old := SetWorkers(w)
	defer SetWorkers(old)
	f()
}

func TestLinearRowsBatchInvariant(t *testing.T) {
	for _, level := range kernelLevels() {
		old := setKernelLevel(level)
		linearRowsInvariant(t, level)
		setKernelLevel(old)
	}
}

func linearRowsInvariant(t *testing.T, level int) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Sizes of genlab's layers: a time embedding, a GAN's first layer, a
	// text encoder's MLP, and odd ones that leave partial tiles everywhere.
	for _, sz := range [][2]int{{32, 128}, {128, 1568}, {64, 256}, {37, 29}, {3, 5}, {20, 17}} {
		in, out := sz[0], sz[1]
		const n = 19
		x, w, b := randFloats32(rng, n*in), randFloats32(rng, out*in), randFloats32(rng, out)
		var s convScratch
		whole := make([]float32, n*out)
		withWorkers(2, func() { linearForward(&s, false, x, w, b, whole, n, in, out) })
		for i := 0; i < n; i++ {
			want := whole[i*out : (i+1)*out]
			// The row alone, at another address, on one worker.
			alone := make([]float32, out)
			xi := append(make([]float32, 0, in+3), x[i*in:(i+1)*in]...)
			withWorkers(1, func() { linearForward(&s, false, xi, w, b, alone, 1, in, out) })
			if !slices.Equal(alone, want) {
				t.Fatalf("level %d, %dx%d: row %d of %d differs from the row alone", level, in, out, i, n)
			}
			// And inside batches of other sizes, at other positions.
			for _, m := range []int{2, 5, 16} {
				lo := max(0, i-m/2)
				hi := min(n, lo+m)
				part := make([]float32, (hi-lo)*out)
				withWorkers(2, func() { linearForward(&s, false, x[lo*in:hi*in], w, b, part, hi-lo, in, out) })
				if !slices.Equal(part[(i-lo)*out:(i-lo+1)*out], want) {
					t.Fatalf("level %d, %dx%d: row %d differs in a batch of %d rows from %d", level, in, out, i, hi-lo, lo)
				}
			}
			// Right, too: within rounding of the float64 product.
			for o := 0; o < out; o++ {
				ref := float64(b[o])
				for k := 0; k < in; k++ {
					ref += float64(x[i*in+k]) * float64(w[o*in+k])
				}
				if d := math.Abs(float64(want[o]) - ref); d > 1e-4*(1+math.Abs(ref)) {
					t.Fatalf("level %d, %dx%d: y[%d][%d] = %g, want %g", level, in, out, i, o, want[o], ref)
				}
			}
		}
	}
}

// SiLU runs over a whole tensor cut into one range per worker, so where a
// vector kernel's tail starts moves with the batch size and the number of
// workers: an element's value must not depend on it.
func TestSiLUCutBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 203
	z := randFloats32(rng, n)
	for i := range z {
		z[i] *= 4
	}
	for _, level := range kernelLevels() {
		old := setKernelLevel(level)
		y, sig := make([]float32, n), make([]float32, n)
		siluRow(z, sig, y)
		for _, cut := range []int{1, 3, 7, 8, 9, 15, 16, 17, 100, 202} {
			y2, sig2 := make([]float32, n), make([]float32, n)
			siluRow(z[:cut], sig2[:cut], y2[:cut])
			siluRow(z[cut:], sig2[cut:], y2[cut:])
			if !slices.Equal(y, y2) || !slices.Equal(sig, sig2) {
				t.Errorf("kernel level %d: SiLU of a row cut at %d differs from the whole row", level, cut)
			}
			// The backward kernel, fused into GroupNorm's, alike.
			dy := randFloats32(rng, n)
			dz, dz2 := make([]float32, n), make([]float32, n)
			siluBackRow(z, dy, dz, 0.7, 0.1)
			siluBackRow(z[:cut], dy[:cut], dz2[:cut], 0.7, 0.1)
			siluBackRow(z[cut:], dy[cut:], dz2[cut:], 0.7, 0.1)
			if !slices.Equal(dz, dz2) {
				t.Errorf("kernel level %d: SiLU backward of a row cut at %d differs from the whole row", level, cut)
			}
		}
		setKernelLevel(old)
	}
}

// BenchmarkLinear prices batch invariance: one BLAS GEMM over the whole
// batch (what Linear did before) against linearRows (what it does now), at
// the sizes of genlab's layers: the reference UNet's time MLP at batch 64,
// a GAN's first layer at batch 64, a text encoder's MLP over 32 prompts of
// 8 tokens.
func BenchmarkLinear(b *testing.B) {
	b.Logf("BLAS: %s; workers: %d", BLASName, workers)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name          string
		rows, in, out int
	}{{"temb-128x128-b64", 64, 128, 128}, {"gan-fc-128x6272-b64", 64, 128, 6272}, {"text-fc1-64x256-r256", 256, 64, 256}} {
		x, w, bias := randFloats32(rng, c.rows*c.in), randFloats32(rng, c.out*c.in), randFloats32(rng, c.out)
		y := make([]float32, c.rows*c.out)
		for _, mode := range []struct {
			name      string
			oneSample bool
		}{{"one-gemm", true}, {"invariant", false}} {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				var s convScratch
				for i := 0; i < b.N; i++ {
					linearForward(&s, mode.oneSample, x, w, bias, y, c.rows, c.in, c.out)
				}
			})
		}
	}
}

// An image's slice of a batch lies at an address that moves with its
// position, so gemm's result must not depend on where its operands lie
// (gonum's pure-Go A·Bᵀ did: dotGEMMFollowsAlignment).
func TestGEMMAlignmentBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const m, n, k = 5, 7, 49
	for _, tr := range [][2]bool{{false, true}, {true, false}, {false, false}, {true, true}} {
		lda, ldb := k, k
		if tr[0] {
			lda = m
		}
		if !tr[1] {
			ldb = n
		}
		a, b := randFloats32(rng, m*k), randFloats32(rng, n*k)
		want := make([]float32, m*n)
		gemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, want, n)
		for off := 1; off < 8; off++ {
			a1 := append(make([]float32, off), a...)[off:]
			b1 := append(make([]float32, 8-off), b...)[8-off:]
			got := make([]float32, m*n)
			gemm(tr[0], tr[1], m, n, k, 1, a1, lda, b1, ldb, 0, got, n)
			if !slices.Equal(got, want) {
				t.Errorf("transposes %v: the product moves with its operands' addresses (offset %d)", tr, off)
			}
		}
	}
}
