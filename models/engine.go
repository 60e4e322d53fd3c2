package models

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Float is the element type every kernel is written for: float32 trains,
// float64 checks gradients.
type Float interface{ ~float32 | ~float64 }

// BLASName says which GEMM the kernels call; set by the build (OpenBLAS via
// cgo by default, gonum's pure Go with -tags noblas or CGO_ENABLED=0).
var BLASName = "gonum (pure Go)"

// workers is how many goroutines a kernel splits its batch over.
var workers = runtime.GOMAXPROCS(0)

// SetWorkers sets how many goroutines the kernels split a batch over (n < 1:
// GOMAXPROCS) and returns the previous number. No result depends on it:
// every kernel computes an image the same way whichever worker takes it.
// For tests and benchmarks; not to be called while a graph runs.
func SetWorkers(n int) int {
	old := workers
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	workers = n
	return old
}

// parallelFor runs fn(i) for i in [0,n) on up to `workers` goroutines, each
// taking a contiguous range so per-worker scratch buffers stay warm.
func parallelFor(n int, fn func(worker, lo, hi int)) {
	w := workers
	if w > n {
		w = n
	}
	if w <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	// The last range runs on the calling goroutine, which would otherwise
	// only wait.
	var wg sync.WaitGroup
	for k := 0; k < w-1; k++ {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Add(1)
		go func(k, lo, hi int) {
			defer wg.Done()
			fn(k, lo, hi)
		}(k, lo, hi)
	}
	fn(w-1, (w-1)*n/w, n)
	wg.Wait()
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// dotGEMMFollowsAlignment is set in builds whose BLAS is gonum's pure Go:
// its A·Bᵀ runs on dot products whose SIMD partial sums start where the
// operands' addresses happen to be aligned, so the same product of an image
// at another place in a batch came out different in the last bits. gemm
// then multiplies by a transposed copy of B instead (A·B runs on axpy, one
// element at a time, the same wherever it lies). OpenBLAS packs its
// operands first and needs no such copy.
var dotGEMMFollowsAlignment = true

// gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, op(A)
// m×k and op(B) k×n, in whichever precision T is.
func gemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if tB && dotGEMMFollowsAlignment {
		bt := make([]T, k*n) // op(B) = Bᵀ, k×n
		for j := 0; j < n; j++ {
			for q, v := range b[j*ldb : j*ldb+k] {
				bt[q*n+j] = v
			}
		}
		b, ldb, tB = bt, n, false
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(trans(tA), trans(tB), m, n, k, float32(alpha), a, lda,
			any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(trans(tA), trans(tB), m, n, k, float64(alpha), a, lda,
			any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// axpy computes y += alpha·x.
func axpy[T Float](alpha T, x, y []T) {
	if len(x) == 0 {
		return
	}
	switch x := any(x).(type) {
	case []float32:
		blas32.Implementation().Saxpy(len(x), float32(alpha), x, 1, any(y).([]float32), 1)
	case []float64:
		blas64.Implementation().Daxpy(len(x), float64(alpha), x, 1, any(y).([]float64), 1)
	}
}
