package models

// The float32 forward pass of the k×k convs at stride 1 and 2 by a direct
// convolution in C (conv_direct_* in kernels_cgo.go) over the padded planes
// of op_conv_shift.go: each output is bias + Σ_ci Σ_taps w·x in one chain,
// with tiles of 4 output channels × up to 96 positions held in registers.
// It replaces the k² small GEMMs (K = C_in) of the shifted-GEMM path and
// the im2col of the stride-2 and C_in < 8 convs, which spent most of their
// time packing operands for OpenBLAS. Measured by BenchmarkConvDirect on
// the reference UNet's convs (2-core Zen 5, AVX-512, old and new run in
// turn): 0.33–0.69× the time of the GEMM paths at batch 64, 0.41–0.79× at
// batch 1, a tie for the C_in = 1 first conv; the AVX2 variant about ties
// with OpenBLAS. The pure-Go build (and float64, for the gradient checks)
// keeps the GEMM paths.

// directConv says whether float32 convs the direct kernel can compute go
// through it; a variable so that the benchmarks can set old against new.
var directConv = haveDirectConv

// directable: the convs the direct kernel computes.
func (g convGeom) directable() bool {
	return (g.stride == 1 || g.stride == 2) && g.k > 1 && g.pad < g.k
}

// directConvArgs is one call's operands: padded planes xp (channels cs
// apart), tap offsets, the weights in blocks of 4 output channels (wr), the
// bias, and the output y (channels pout apart); if not nil, what is added
// to each output after its chain, e per channel and then r laid out as y
// (conv2dOp's epilogue); and for each vector of 16 positions of the
// planes, which are outputs (vm) and where in an output plane the first of
// them goes (yoff).
type directConvArgs struct {
	xp, wr, b, y []float32
	e, r         []float32
	toff, yoff   []int64
	vm           []uint16
	cs, pout     int
	cin, cout    int
}

// newDirectConvArgs sets up everything but xp and y.
func newDirectConvArgs(g convGeom, sg shiftGeom, wt, wr, b []float32) directConvArgs {
	kk := g.k * g.k
	nvec := (sg.nq() + 15) / 16
	d := directConvArgs{wr: wr, b: b, toff: make([]int64, kk), yoff: make([]int64, nvec), vm: make([]uint16, nvec),
		cs: sg.pp, pout: sg.ho * sg.wo, cin: g.cin, cout: g.cout}
	directWeights(wt, wr, g.cout, g.cin, kk)
	for t := range d.toff {
		d.toff[t] = int64(sg.tap(t))
	}
	n := 0
	for i := range d.vm {
		d.yoff[i] = int64(n)
		for l := 0; l < 16; l++ {
			if q := 16*i + l; q < sg.nq() && q%sg.wq < sg.wo {
				d.vm[i] |= 1 << l
				n++
			}
		}
	}
	return d
}

// directWeights lays W (cout, cin, kk) out as convDirect32 reads it:
// wr[((cb·cin + ci)·kk + t)·4 + c] = W[4cb+c][ci][t], zero past cout.
func directWeights(w, wr []float32, cout, cin, kk int) {
	clear(wr)
	for co := 0; co < cout; co++ {
		cb, c := co/4, co%4
		for ci := 0; ci < cin; ci++ {
			src := w[(co*cin+ci)*kk : (co*cin+ci+1)*kk]
			dst := wr[(cb*cin+ci)*kk*4:]
			for t, v := range src {
				dst[t*4+c] = v
			}
		}
	}
}

// convForwardDirect: y[n] = conv(x[n], W) + b (+ e, + r) for directable
// float32 convs.
func convForwardDirect(g convGeom, s, sw *convScratch, x, wt, b, e, r, y []float32, n, h, w int) {
	sg := newShiftGeom(g, h, w)
	pin := g.cin * h * w
	directImages(g, sg, s, sw, wt, b, e, r, y, n, 1, func(xp []float32, i, _, _ int) {
		padPlanes(sg, x[i*pin:(i+1)*pin], xp)
	})
}

// directImages runs the direct kernel on n images whose padded planes
// fill(xp, i, lo, hi) writes, parts [lo,hi) of parts of image i at a time,
// into planes whose borders it leaves zero. A batch of at least one image
// per worker is split by images; a smaller one (batch-1 latency) splits
// each image's parts, then its channel blocks. Either way each output
// comes out of the same chain of operations.
func directImages(g convGeom, sg shiftGeom, s, sw *convScratch, wt, b, e, r, y []float32, n, parts int,
	fill func(xp []float32, i, lo, hi int)) {
	nb := (g.cout + 3) / 4
	d := newDirectConvArgs(g, sg, wt, scratchFor[float32](sw).get(0, nb*g.cin*g.k*g.k*4), b)
	pout, nx := d.pout, sg.planes()
	sc := scratchFor[float32](s)
	outputs := func(d *directConvArgs, i int) {
		d.y = y[i*g.cout*pout : (i+1)*g.cout*pout]
		if e != nil {
			d.e = e[i*g.cout : (i+1)*g.cout]
		}
		if r != nil {
			d.r = r[i*g.cout*pout : (i+1)*g.cout*pout]
		}
	}
	if n >= workers {
		parallelFor(n, func(worker, lo, hi int) {
			d := d
			d.xp = sc.get(worker, nx)
			clear(d.xp)
			for i := lo; i < hi; i++ {
				fill(d.xp, i, 0, parts)
				outputs(&d, i)
				convDirect32(&d, 0, nb)
			}
		})
		return
	}
	d.xp = sc.get(0, nx)
	clear(d.xp)
	for i := 0; i < n; i++ {
		parallelFor(parts, func(_, lo, hi int) { fill(d.xp, i, lo, hi) })
		outputs(&d, i)
		parallelFor(nb, func(_, lo, hi int) { convDirect32(&d, lo, hi) })
	}
}

// convDirectGo is convDirect32 in Go (conv_direct_base's order, multiply
// then add): the pure-Go build's instance and the tests' reference.
func convDirectGo(d *directConvArgs, cbLo, cbHi int) {
	kk := len(d.toff)
	var acc [16]float32
	for vi, m := range d.vm {
		for cb := cbLo; cb < cbHi; cb++ {
			wb := d.wr[cb*d.cin*kk*4:]
			for c := 0; c < 4 && 4*cb+c < d.cout; c++ {
				for l := range acc {
					acc[l] = d.b[4*cb+c]
				}
				for ci := 0; ci < d.cin; ci++ {
					for t, off := range d.toff {
						xt := d.xp[ci*d.cs+int(off)+16*vi:][:16]
						w := wb[(ci*kk+t)*4+c]
						for l, v := range xt {
							acc[l] = acc[l] + float32(w*v)
						}
					}
				}
				at := (4*cb+c)*d.pout + int(d.yoff[vi])
				yo := d.y[at:]
				k := 0
				for l, v := range acc {
					if m>>l&1 != 0 {
						if d.e != nil {
							v = v + d.e[4*cb+c]
						}
						if d.r != nil {
							v = v + d.r[at+k]
						}
						yo[k] = v
						k++
					}
				}
			}
		}
	}
}

// directDataGrad is the data gradient of a same-size stride-1 conv as a
// direct conv t of dy (convBackward): its operands but the planes and dx.
type directDataGrad struct {
	sg     shiftGeom
	d      directConvArgs
	nb     int
	planes int // the size of the padded planes of one dy[n]
}

// dataGradDirect sets up the direct kernel for convBackward's dx, a conv t
// of dy by W̃ (wt flipped, W (cout, cin, k, k) as stored), when wt is
// float32 and the kernel is in use; weights go to sw's slot 1.
func dataGradDirect[T Float](t convGeom, h, w int, wt []T, cout, cin, k int, sw *convScratch) (*directDataGrad, bool) {
	w32, ok := any(wt).([]float32)
	if !ok || !directConv || !t.directable() {
		return nil, false
	}
	kk := k * k
	nb := (t.cout + 3) / 4
	sc := scratchFor[float32](sw)
	chunkSlots(sc, 2)
	buf := sc.get(workers+1, cin*cout*kk+nb*t.cin*kk*4+cin)
	wflip, wr, zero := buf[:cin*cout*kk], buf[cin*cout*kk:cin*cout*kk+nb*t.cin*kk*4], buf[len(buf)-cin:]
	flipKernel(w32, wflip, cout, cin, k)
	clear(zero)
	sg := newShiftGeom(t, h, w)
	return &directDataGrad{sg: sg, d: newDirectConvArgs(t, sg, wflip, wr, zero), nb: nb, planes: sg.planes()}, true
}

// run sets dx = conv(dy, W̃) for one image, with xp (planes values, zero
// borders) as its padded planes.
func (v *directDataGrad) run(dy, xp, dx []float32) {
	d := v.d
	d.xp, d.y = xp, dx
	padPlanes(v.sg, dy, xp)
	convDirect32(&d, 0, v.nb)
}
