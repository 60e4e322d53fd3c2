package models

// The forward pass of the UNet's stride-1 k×k convs without im2col
// ("shifted GEMMs"). Each input plane is copied once into a zero-bordered
// plane of width wq = w+2·pad; kernel tap (i,j) then reads that plane
// shifted by i·wq+j, so
//
//	y = Σ_taps W_ij · shift_ij(x_padded)
//
// is k² GEMMs with K = C_in that read the padded planes in place. The
// outputs are computed at width wq; the columns past the output width are
// garbage (they read across a row's end) and are dropped when copying out.
// That avoids writing and re-reading the k²·C_in×H·W im2col matrix, which
// costs more than the extra GEMM calls.
//
// Measured on the UNet's layers (2 cores, OpenBLAS, batch 64): 1.1–1.3×
// less CPU time than im2col+GEMM for C_in ≥ 8 at 28×28 and 7×7, a tie for
// 64→64 at 14×14; slower for C_in = 1 (GEMMs with K = 1). Tried and
// dropped: the same for stride 2 through s² phase planes (1.35× more CPU
// time than im2col on down1: GEMMs of 210 columns), and for the backward
// pass (dx by the flipped kernel, dW per tap as dy·shift(x)ᵀ), which lost
// to convBackward's single im2col of dy because each of the k²
// filter-gradient GEMMs packs dy again.

// shiftGeom is the padded-plane layout of one k×k conv on c×h×w images.
// At stride 1 each channel is one plane wq = w+2·pad wide; at stride 2 (the
// direct kernel's only, op_conv_direct.go) it is the four phase planes of
// the padded image, its even and odd rows × even and odd columns, each
// wq = ⌈(w+2·pad)/2⌉ wide and psz apart, so that every tap again reads a
// plane at a fixed shift.
type shiftGeom struct {
	k, pad, h, w int // kernel, padding, input size
	c            int // input channels
	stride       int
	ho, wo       int // output size
	wq, pp       int // plane width, and the distance between channels
	psz          int // the size of one (phase) plane
}

func newShiftGeom(g convGeom, h, w int) shiftGeom {
	ho, wo := g.outSize(h, w)
	hp, wp := h+2*g.pad, w+2*g.pad
	s := shiftGeom{k: g.k, pad: g.pad, h: h, w: w, c: g.cin, stride: g.stride, ho: ho, wo: wo, wq: wp, psz: hp * wp}
	s.pp = s.psz
	if g.stride == 2 {
		s.wq = (wp + 1) / 2
		s.psz = (hp + 1) / 2 * s.wq
		s.pp = 4 * s.psz
	}
	return s
}

// shiftable: the convs whose forward pass the shifted GEMMs compute.
func (g convGeom) shiftable() bool { return g.stride == 1 && g.k > 1 && g.cin >= 8 && g.pad < g.k }

// planes is the buffer size for the padded planes of one image: the last
// tap of the last plane reads up to k−1 values past its end (garbage
// columns only), the direct kernel's last vector 15 more.
func (s shiftGeom) planes() int { return s.c*s.pp + s.k + 16 }

// nq is the number of output positions computed per output plane: ho rows
// of wq.
func (s shiftGeom) nq() int { return s.ho * s.wq }

// tap is the offset at which kernel tap t = i·k+j reads a channel's planes.
func (s shiftGeom) tap(t int) int {
	i, j := t/s.k, t%s.k
	if s.stride == 2 {
		return (i%2*2+j%2)*s.psz + i/2*s.wq + j/2
	}
	return i*s.wq + j
}

// padPlanes copies the c planes of one image x (h×w each) into the
// interiors of the padded planes xp, whose borders must be (and stay) zero.
func padPlanes[T Float](s shiftGeom, x, xp []T) {
	x32, ok := any(x).([]float32)
	switch {
	case s.stride == 2 && ok:
		padPhases32(s, x32, any(xp).([]float32))
		return
	case s.stride == 2:
		padPhasesGo(s, x, xp)
		return
	case ok:
		padPlanes32(s, x32, any(xp).([]float32))
		return
	}
	padPlanesGo(s, x, xp)
}

func padPlanesGo[T Float](s shiftGeom, x, xp []T) {
	p := s.h * s.w
	for ch := 0; ch < s.c; ch++ {
		src := x[ch*p : (ch+1)*p]
		dst := xp[ch*s.pp+s.pad*s.wq+s.pad:]
		for r := 0; r < s.h; r++ {
			copy(dst[r*s.wq:r*s.wq+s.w], src[r*s.w:(r+1)*s.w])
		}
	}
}

// unpadPlanes copies the first wo columns of each row of c planes computed
// at width wq (op, c×ho·wq) into y (c×ho×wo), adding b[ch] when b is not
// nil.
func unpadPlanes[T Float](s shiftGeom, op, y, b []T, c int) {
	if op, ok := any(op).([]float32); ok {
		unpadPlanes32(s, op, any(y).([]float32), any(b).([]float32), c)
		return
	}
	unpadPlanesGo(s, op, y, b, c)
}

// padPhasesGo is padPlanes at stride 2: row r, column q of the padded image
// goes to phase plane (r%2, q%2) at row r/2, column q/2.
func padPhasesGo[T Float](s shiftGeom, x, xp []T) {
	p := s.h * s.w
	for ch := 0; ch < s.c; ch++ {
		for r := 0; r < s.h; r++ {
			pr := r + s.pad
			row := xp[ch*s.pp+pr%2*2*s.psz+pr/2*s.wq:]
			for q, v := range x[ch*p+r*s.w : ch*p+(r+1)*s.w] {
				pq := q + s.pad
				row[pq%2*s.psz+pq/2] = v
			}
		}
	}
}

func unpadPlanesGo[T Float](s shiftGeom, op, y, b []T, c int) {
	p, nq := s.ho*s.wo, s.nq()
	for ch := 0; ch < c; ch++ {
		src, dst := op[ch*nq:(ch+1)*nq], y[ch*p:(ch+1)*p]
		var bc T
		if b != nil {
			bc = b[ch]
		}
		for r := 0; r < s.ho; r++ {
			d, sr := dst[r*s.wo:(r+1)*s.wo], src[r*s.wq:r*s.wq+s.wo]
			for q, v := range sr {
				d[q] = v + bc
			}
		}
	}
}

// tapMajor rearranges a kernel W (cout, cin, k, k) into k² matrices
// cout×cin: dst[t][co][ci] = W[co][ci][t].
func tapMajor[T Float](src, dst []T, cout, cin, kk int) {
	for t := 0; t < kk; t++ {
		d := dst[t*cout*cin : (t+1)*cout*cin]
		for q := range d {
			d[q] = src[q*kk+t]
		}
	}
}

// shiftConv computes op (cout×nq) = Σ_t wr[t] (cout×cin) · shift_t(xp).
func shiftConv[T Float](s shiftGeom, wr, xp, op []T, cout int) {
	nq := s.nq()
	for t := 0; t < s.k*s.k; t++ {
		beta := T(1)
		if t == 0 {
			beta = 0
		}
		gemm(false, false, cout, nq, s.c, 1, wr[t*cout*s.c:], s.c, xp[s.tap(t):], s.pp, beta, op, nq)
	}
}

// convForwardShift: y[n] = conv(x[n], W) + b for shiftable convs.
func convForwardShift[T Float](g convGeom, s, sw *convScratch, x, wt, b, y []T, n, h, w int) {
	sg := newShiftGeom(g, h, w)
	kk := g.k * g.k
	wr := scratchFor[T](sw).get(0, kk*g.cout*g.cin)
	tapMajor(wt, wr, g.cout, g.cin, kk)
	pin, pout, nx, no := h*w, sg.ho*sg.wo, sg.planes(), g.cout*sg.nq()
	sc := scratchFor[T](s)
	parallelFor(n, func(worker, lo, hi int) {
		buf := sc.get(worker, nx+no)
		xp, op := buf[:nx], buf[nx:]
		clear(xp)
		for i := lo; i < hi; i++ {
			padPlanes(sg, x[i*g.cin*pin:(i+1)*g.cin*pin], xp)
			shiftConv(sg, wr, xp, op, g.cout)
			unpadPlanes(sg, op, y[i*g.cout*pout:(i+1)*g.cout*pout], b, g.cout)
		}
	})
}
