package datasets

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Neighbor is one row's nearest row of another set: its index and the
// Euclidean distance between them.
type Neighbor struct {
	Index int
	Dist  float64
}

// nnBlock is how many rows of each side one GEMM multiplies: 512×2048
// float32 distances (4 MiB) stay in cache while they are scanned.
const nnQueryBlock, nnBaseBlock = 512, 2048

// Nearest finds, for each of the nq rows of q (dim values each), the
// nearest of the nb rows of base, excluding, when self is true (q and base
// the same rows), the row itself; NearestK with k = 1.
func Nearest(q []float32, nq int, base []float32, nb, dim int, self bool) []Neighbor {
	out := make([]Neighbor, nq)
	for i, ns := range NearestK(q, nq, base, nb, dim, 1, self) {
		out[i] = Neighbor{Index: -1, Dist: math.Inf(1)}
		if len(ns) > 0 {
			out[i] = ns[0]
		}
	}
	return out
}

// NearestK finds, for each of the nq rows of q (dim values each), its k
// nearest rows of base, nearest first (fewer if base has fewer),
// excluding, when self is true (q and base the same rows), the row itself.
// Distances come from ‖a−b‖² = ‖a‖² + ‖b‖² − 2a·b, the products through
// blocked GEMM calls (the BLAS the program runs with: OpenBLAS in genlab's
// default build), so 60,000 × 60,000 images of 256 values is seconds, not
// the hours of a loop over pairs. Query blocks are split over the cores.
func NearestK(q []float32, nq int, base []float32, nb, dim, k int, self bool) [][]Neighbor {
	out := make([][]Neighbor, nq)
	if nq == 0 || dim == 0 || k < 1 {
		return out
	}
	norms := func(x []float32, n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			var t float64
			for _, v := range x[i*dim : (i+1)*dim] {
				t += float64(v) * float64(v)
			}
			s[i] = t
		}
		return s
	}
	qn, bn := norms(q, nq), norms(base, nb)
	blocks := (nq + nnQueryBlock - 1) / nnQueryBlock
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), blocks) {
		wg.Go(func() {
			dots := make([]float32, nnQueryBlock*nnBaseBlock)
			for blk := range next {
				qlo := blk * nnQueryBlock
				qhi := min(nq, qlo+nnQueryBlock)
				m := qhi - qlo
				for i := qlo; i < qhi; i++ {
					out[i] = make([]Neighbor, 0, k)
				}
				for blo := 0; blo < nb; blo += nnBaseBlock {
					bhi := min(nb, blo+nnBaseBlock)
					n := bhi - blo
					blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, dim, 1,
						q[qlo*dim:qhi*dim], dim, base[blo*dim:bhi*dim], dim, 0, dots[:m*n], n)
					for i := 0; i < m; i++ {
						best := out[qlo+i]
						for j, d := range dots[i*n : (i+1)*n] {
							if self && blo+j == qlo+i {
								continue
							}
							d2 := qn[qlo+i] + bn[blo+j] - 2*float64(d)
							if len(best) == k && d2 >= best[k-1].Dist {
								continue
							}
							// Insert in order (k is small).
							if len(best) < k {
								best = append(best, Neighbor{})
							}
							p := len(best) - 1
							for p > 0 && best[p-1].Dist > d2 {
								best[p] = best[p-1]
								p--
							}
							best[p] = Neighbor{Index: blo + j, Dist: d2}
						}
						out[qlo+i] = best
					}
				}
			}
		})
	}
	for b := 0; b < blocks; b++ {
		next <- b
	}
	close(next)
	wg.Wait()
	for _, ns := range out {
		for j := range ns {
			ns[j].Dist = math.Sqrt(max(ns[j].Dist, 0))
		}
	}
	return out
}
