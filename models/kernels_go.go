//go:build !cgo || noblas || !amd64

package models

// The pure-Go instances of the float32 kernels that kernels_cgo.go
// vectorises in C on x86-64: the generic code of the ops, on float32.

// KernelISA names the instruction set genlab's own float32 kernels run
// with: "AVX-512", "AVX2+FMA", "x86-64", or "Go" in a build without cgo.
var KernelISA = "Go"

func kernelLevels() []int      { return []int{0} }
func setKernelLevel(l int) int { return 0 }

func siluRow32(z, sig, y []float32) {
	y = y[:len(z)]
	if sig == nil {
		for i, v := range z {
			y[i] = v * (1 / (1 + expfCore(min(max(-v, -87.33), 88.72))))
		}
		return
	}
	sig = sig[:len(z)]
	for i, v := range z {
		// σ(v) = 1/(1+e^−v); clamped to expf's range, expfCore gives +Inf
		// at the top and a tiny normal at the bottom, so σ is 0 or 1 there
		// exactly as with expf.
		t := min(max(-v, -87.33), 88.72)
		s := 1 / (1 + expfCore(t))
		sig[i] = s
		y[i] = v * s
	}
}

func siluGradRow32(x, dy, sig, dx []float32) { siluGradRowGo(x, dy, sig, dx) }

func gnForward32(op *groupNormOp, x, gamma, beta, y []float32, lo, hi, c, p int) {
	groupNormForwardRange(op, x, gamma, beta, y, lo, hi, c, p)
}

func gnBackward32(op *groupNormOp, x, gamma, beta, dy, dx []float32, lo, hi, c, p int) {
	groupNormBackwardRange(op, x, gamma, beta, dy, dx, lo, hi, c, p)
}

func rowSums32(x []float32, out []float64, lo, hi, p int) {
	for r := lo; r < hi; r++ {
		out[r] = sumF64(x[r*p : (r+1)*p])
	}
}

func padPlanes32(s shiftGeom, x, xp []float32)             { padPlanesGo(s, x, xp) }
func padPhases32(s shiftGeom, x, xp []float32)             { padPhasesGo(s, x, xp) }
func unpadPlanes32(s shiftGeom, op, y, b []float32, c int) { unpadPlanesGo(s, op, y, b, c) }

func softmaxRows32(a []float32, n int) {
	for r := 0; r+n <= len(a); r += n {
		softmaxInPlace(a[r : r+n])
	}
}

// linearRows32 sets rows [lo,hi) of y to x·Wᵀ + b given wt = Wᵀ, each
// output one chain of multiply-adds over k in order, as in C.
func linearRows32(x, wt, b, y []float32, lo, hi, in, out int) {
	linearRowsGo(x, wt, b, y, lo, hi, in, out)
}

// haveDirectConv: no C direct conv in this build; the GEMM paths serve.
const haveDirectConv = false

func convDirect32(d *directConvArgs, cbLo, cbHi int) { convDirectGo(d, cbLo, cbHi) }

func gnSiLUPad32(sg shiftGeom, x, gamma, beta, xp []float32, mean, rstd []float64, lo, hi, cg int, eps float64) {
	gnSiLUPadGo(sg, x, gamma, beta, xp, mean, rstd, lo, hi, cg, eps)
}
