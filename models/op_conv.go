package models

import (
	"fmt"
	"github.com/chewxy/hm"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convGeom is the geometry of a 2-D convolution over NCHW images with a
// square kernel, equal stride and padding on both axes (all genlab uses).
type convGeom struct {
	cin, cout, k, stride, pad int
}

func (g convGeom) outSize(h, w int) (int, int) {
	return (h+2*g.pad-g.k)/g.stride + 1, (w+2*g.pad-g.k)/g.stride + 1
}

// pointwise convs (1×1, stride 1, no padding) are plain GEMMs on the image.
func (g convGeom) pointwise() bool { return g.k == 1 && g.stride == 1 && g.pad == 0 }

// samePad reports a stride-1 conv whose output is the input's size; then
// each row of the im2col matrix is the whole input plane shifted by one
// offset, which im2col and col2im do as one block move plus edge fixes
// instead of a short copy per image row.
func (g convGeom) samePad() bool { return g.stride == 1 && 2*g.pad == g.k-1 }

// shiftRange: for kernel offset (i,j), the plane index range [lo,hi) whose
// shifted source idx+off lies inside the plane (empty, lo = hi, when the
// offset exceeds the plane, as for a tall kernel on a short image).
func (g convGeom) shiftRange(i, j, w, p int) (off, lo, hi, dj int) {
	di, dj := i-g.pad, j-g.pad
	off = di*w + dj
	lo, hi = min(p, max(0, -off)), max(0, min(p, p-off))
	return off, lo, max(lo, hi), dj
}

// validCols is the range [lo,hi) of output columns whose input column
// ox·stride − pad + j, for kernel column j, lies inside an image w wide
// (hi ≤ lo when none does).
func (g convGeom) validCols(j, w, wo int) (lo, hi int) {
	if d := g.pad - j; d > 0 {
		lo = (d + g.stride - 1) / g.stride
	}
	if e := w - 1 + g.pad - j; e >= 0 {
		hi = min(wo, e/g.stride+1)
	}
	return lo, hi
}

// clearWrapped zeroes the entries of a shifted plane row whose column ox+dj
// fell off the left or right edge (and so wrapped to the neighbouring line).
func clearWrapped[T Float](dst []T, h, w, dj int) {
	switch {
	case dj > 0:
		for oy := 0; oy < h; oy++ {
			row := dst[oy*w : (oy+1)*w]
			for ox := w - dj; ox < w; ox++ {
				row[ox] = 0
			}
		}
	case dj < 0:
		for oy := 0; oy < h; oy++ {
			row := dst[oy*w : (oy+1)*w]
			for ox := 0; ox < -dj; ox++ {
				row[ox] = 0
			}
		}
	}
}

// im2col lays out the receptive fields of one image x (cin×h×w) as the
// columns of col ((cin·k·k)×(ho·wo)), zero where the kernel overhangs.
func im2col[T Float](g convGeom, x []T, h, w int, col []T) {
	ho, wo := g.outSize(h, w)
	p := ho * wo
	for c := 0; c < g.cin; c++ {
		xc := x[c*h*w : (c+1)*h*w]
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				row := col[((c*g.k+i)*g.k+j)*p:][:p]
				if g.samePad() {
					off, lo, hi, dj := g.shiftRange(i, j, w, p)
					clear(row[:lo])
					if lo < hi {
						copy(row[lo:hi], xc[lo+off:hi+off])
					}
					clear(row[hi:])
					clearWrapped(row, h, w, dj)
					continue
				}
				lo, hi := g.validCols(j, w, wo)
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.stride - g.pad + i
					dst := row[oy*wo : (oy+1)*wo]
					if iy < 0 || iy >= h || lo >= hi {
						clear(dst)
						continue
					}
					src := xc[iy*w : (iy+1)*w]
					clear(dst[:lo])
					clear(dst[hi:])
					ix := lo*g.stride - g.pad + j
					for ox := lo; ox < hi; ox++ {
						dst[ox] = src[ix]
						ix += g.stride
					}
				}
			}
		}
	}
}

// col2im adds the columns of col back onto the image dx (the adjoint of
// im2col); dx must be cleared first. It may overwrite col.
func col2im[T Float](g convGeom, col []T, h, w int, dx []T) {
	ho, wo := g.outSize(h, w)
	p := ho * wo
	for c := 0; c < g.cin; c++ {
		dc := dx[c*h*w : (c+1)*h*w]
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				row := col[((c*g.k+i)*g.k+j)*p:][:p]
				if g.samePad() {
					off, lo, hi, dj := g.shiftRange(i, j, w, p)
					if lo < hi {
						clearWrapped(row, h, w, dj)
						axpy(1, row[lo:hi], dc[lo+off:hi+off])
					}
					continue
				}
				lo, hi := g.validCols(j, w, wo)
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.stride - g.pad + i
					if iy < 0 || iy >= h {
						continue
					}
					src := row[oy*wo : (oy+1)*wo]
					dst := dc[iy*w : (iy+1)*w]
					ix := lo*g.stride - g.pad + j
					for ox := lo; ox < hi; ox++ {
						dst[ix] += src[ox]
						ix += g.stride
					}
				}
			}
		}
	}
}

// scratch holds one buffer per worker, grown on demand and kept between steps.
type scratch[T Float] struct{ bufs [][]T }

// get returns worker's buffer of n values; the slot list is sized by
// scratchFor before the workers start, so workers never grow it.
func (s *scratch[T]) get(worker, n int) []T {
	if cap(s.bufs[worker]) < n {
		s.bufs[worker] = make([]T, n)
	}
	return s.bufs[worker][:n]
}

type convScratch struct {
	f32 scratch[float32]
	f64 scratch[float64]
}

// scratchFor returns the buffers of T with a slot for every worker; call it
// before parallelFor, not inside.
func scratchFor[T Float](s *convScratch) *scratch[T] {
	var sc *scratch[T]
	var z T
	if _, ok := any(z).(float32); ok {
		sc = any(&s.f32).(*scratch[T])
	} else {
		sc = any(&s.f64).(*scratch[T])
	}
	for len(sc.bufs) < workers {
		sc.bufs = append(sc.bufs, nil)
	}
	return sc
}

// convForward: y[n] = W·col(x[n]) + b, one image per GEMM, images split
// over the workers; shiftable convs go without im2col (op_conv_shift.go).
// The bias rides in the GEMM as one more column of W against a row of ones
// in col.
func convForward[T Float](g convGeom, s, sw *convScratch, x, wt, b, y []T, n, h, w int) {
	convForwardAdd(g, s, sw, x, wt, b, nil, nil, y, n, h, w)
}

// convForwardAdd is convForward followed by y[n,c,·] += e[n,c] and then
// y += r, where e and r are not nil: the direct kernel adds them as it
// stores each output, the other paths in a pass of their own, the same
// arithmetic either way.
func convForwardAdd[T Float](g convGeom, s, sw *convScratch, x, wt, b, e, r, y []T, n, h, w int) {
	if directConv && g.directable() {
		if x32, ok := any(x).([]float32); ok {
			convForwardDirect(g, s, sw, x32, any(wt).([]float32), any(b).([]float32), any(e).([]float32), any(r).([]float32),
				any(y).([]float32), n, h, w)
			return
		}
	}
	convForwardGEMM(g, s, sw, x, wt, b, y, n, h, w)
	ho, wo := g.outSize(h, w)
	if e != nil {
		addPerChannel(y, e, y, n*g.cout, ho*wo)
	}
	if r != nil {
		addSlices(y, r, y)
	}
}

// convForwardGEMM is convForward by the GEMM paths.
func convForwardGEMM[T Float](g convGeom, s, sw *convScratch, x, wt, b, y []T, n, h, w int) {
	if g.shiftable() {
		convForwardShift(g, s, sw, x, wt, b, y, n, h, w)
		return
	}
	ho, wo := g.outSize(h, w)
	p, kk := ho*wo, g.cin*g.k*g.k
	sc := scratchFor[T](s)
	if g.pointwise() {
		parallelFor(n, func(worker, lo, hi int) {
			for i := lo; i < hi; i++ {
				xi := x[i*g.cin*h*w : (i+1)*g.cin*h*w]
				yi := y[i*g.cout*p : (i+1)*g.cout*p]
				for c := 0; c < g.cout; c++ {
					fill(yi[c*p:(c+1)*p], b[c])
				}
				gemm(false, false, g.cout, p, kk, 1, wt, kk, xi, p, 1, yi, p)
			}
		})
		return
	}
	// W with the bias as its last column: (cout)×(kk+1).
	wb := scratchFor[T](sw).get(0, g.cout*(kk+1))
	for c := 0; c < g.cout; c++ {
		copy(wb[c*(kk+1):], wt[c*kk:(c+1)*kk])
		wb[c*(kk+1)+kk] = b[c]
	}
	parallelFor(n, func(worker, lo, hi int) {
		col := sc.get(worker, (kk+1)*p)
		fill(col[kk*p:], 1)
		for i := lo; i < hi; i++ {
			im2col(g, x[i*g.cin*h*w:(i+1)*g.cin*h*w], h, w, col)
			gemm(false, false, g.cout, p, kk+1, 1, wb, kk+1, col, p, 0, y[i*g.cout*p:(i+1)*g.cout*p], p)
		}
	})
}

// fill sets every element of s to v, doubling a filled prefix with copy
// (memmove is vectorised; a loop of stores is not).
func fill[T Float](s []T, v T) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for i := 1; i < len(s); i *= 2 {
		copy(s[i:], s[:i])
	}
}

// convBackwardData: dx[n] = col2im(Wᵀ·dy[n]).
func convBackwardData[T Float](g convGeom, s *convScratch, wt, dy, dx []T, n, h, w int) {
	ho, wo := g.outSize(h, w)
	p, kk := ho*wo, g.cin*g.k*g.k
	sc := scratchFor[T](s)
	parallelFor(n, func(worker, lo, hi int) {
		var col []T
		if !g.pointwise() {
			col = sc.get(worker, kk*p)
		}
		for i := lo; i < hi; i++ {
			dxi := dx[i*g.cin*h*w : (i+1)*g.cin*h*w]
			dyi := dy[i*g.cout*p : (i+1)*g.cout*p]
			if g.pointwise() {
				gemm(true, false, kk, p, g.cout, 1, wt, kk, dyi, p, 0, dxi, p)
				continue
			}
			gemm(true, false, kk, p, g.cout, 1, wt, kk, dyi, p, 0, col, p)
			clear(dxi)
			col2im(g, col, h, w, dxi)
		}
	})
}

// gradChunks is how many partial sums a weight gradient is split into: a
// fixed number, not one per worker, so that a batch's gradient is the same
// bytes on one core or two (the chunks are summed in chunk order whichever
// worker made them).
const gradChunks = 4

// chunkSlots makes room in sc for nc accumulators after the workers' own
// buffers, before the workers start; chunk k's is slot workers+k.
func chunkSlots[T Float](sc *scratch[T], nc int) {
	for len(sc.bufs) < workers+nc {
		sc.bufs = append(sc.bufs, nil)
	}
}

// sumChunks adds the nc accumulators of size m in chunk order into dst.
func sumChunks[T Float](sc *scratch[T], nc, m int, dst []T) {
	copy(dst, sc.get(workers, m))
	for k := 1; k < nc; k++ {
		axpy(1, sc.get(workers+k, m), dst)
	}
}

// convBackwardFilter: dW = Σₙ dy[n]·col(x[n])ᵀ, the images summed in
// gradChunks runs of consecutive images, then the runs in order.
func convBackwardFilter[T Float](g convGeom, s *convScratch, x, dy, dw []T, n, h, w int) {
	ho, wo := g.outSize(h, w)
	p, kk := ho*wo, g.cin*g.k*g.k
	nc := min(gradChunks, n)
	sc := scratchFor[T](s)
	chunkSlots(sc, nc)
	parallelFor(nc, func(worker, clo, chi int) {
		var col []T
		if !g.pointwise() {
			col = sc.get(worker, kk*p)
		}
		for k := clo; k < chi; k++ {
			acc := sc.get(workers+k, g.cout*kk)
			clear(acc)
			for i := k * n / nc; i < (k+1)*n/nc; i++ {
				xi := x[i*g.cin*h*w : (i+1)*g.cin*h*w]
				dyi := dy[i*g.cout*p : (i+1)*g.cout*p]
				src := xi
				if !g.pointwise() {
					im2col(g, xi, h, w, col)
					src = col
				}
				gemm(false, true, g.cout, kk, p, 1, dyi, p, src, p, 1, acc, kk)
			}
		}
	})
	sumChunks(sc, nc, g.cout*kk, dw)
}

// sumPerChannel: db[c] = Σₙ Σₚ dy[n,c,p]: the sums of the n·c rows in
// parallel, then over n in order.
func sumPerChannel[T Float](dy, db []T, n, c, p int, rows *[]float64) {
	*rows = grow(*rows, n*c)
	rs := *rows
	parallelRowSums(dy, rs, p)
	for ch := 0; ch < c; ch++ {
		var s float64
		for i := 0; i < n; i++ {
			s += rs[i*c+ch]
		}
		db[ch] = T(s)
	}
}

// parallelRowSums sets out[r] = Σ x[r·p:(r+1)·p] for every row.
func parallelRowSums[T Float](x []T, out []float64, p int) {
	rows := len(out)
	if rows*p < 1<<14 { // not worth the goroutines
		rowSums(x, out, 0, rows, p)
		return
	}
	parallelFor(rows, func(_, lo, hi int) { rowSums(x, out, lo, hi, p) })
}

func rowSums[T Float](x []T, out []float64, lo, hi, p int) {
	if x, ok := any(x).([]float32); ok {
		rowSums32(x, out, lo, hi, p)
		return
	}
	for r := lo; r < hi; r++ {
		out[r] = sumF64(x[r*p : (r+1)*p])
	}
}

// conv2dOp: y = conv(x, W) + b; inputs x (N,Cin,H,W), W (Cout,Cin,k,k), b
// (Cout); then, with addChan, e (N,Cout) added per channel, and with addRes,
// r (N,Cout,Ho,Wo) added (the inputs after b, in that order).
type conv2dOp struct {
	opBase
	g               convGeom
	addChan, addRes bool
	out             outBuf
	s               convScratch // per worker: col, or padded planes and output
	sw              convScratch // W rearranged
}

// Conv2d applies a 2-D convolution with bias to x (NCHW) the way PyTorch's
// nn.Conv2d does (cross-correlation, zero padding).
func Conv2d(x, w, b *Node, stride, pad int) (*Node, error) {
	return Conv2dAdd(x, w, b, nil, nil, stride, pad)
}

// newConv2dOp checks x and w and makes the op of Conv2d.
func newConv2dOp(x, w *Node, stride, pad int) (*conv2dOp, error) {
	ws := w.Shape()
	if len(ws) != 4 || ws[2] != ws[3] {
		return nil, fmt.Errorf("models: conv weight must be (out,in,k,k), got %v", ws)
	}
	if xs := x.Shape(); len(xs) != 4 || xs[1] != ws[1] {
		return nil, fmt.Errorf("models: conv input %v does not match weight %v", xs, ws)
	}
	g := convGeom{cin: ws[1], cout: ws[0], k: ws[2], stride: stride, pad: pad}
	return &conv2dOp{opBase: opBase{name: fmt.Sprintf("Conv2d%+v", g), arity: 3}, g: g}, nil
}

// Conv2dAdd is Conv2d(x, w, b) + e per channel (e (N,Cout), as
// AddPerChannel) + r (r of the output's shape, as Add), e or r nil for
// none, in one op: a residual block's conv adds its time embedding or its
// residual as it writes each output, the same bytes as the ops in a row
// without their passes over the activations.
func Conv2dAdd(x, w, b, e, r *Node, stride, pad int) (*Node, error) {
	op, err := newConv2dOp(x, w, stride, pad)
	if err != nil {
		return nil, err
	}
	in, err := op.withAdds(Nodes{x, w, b}, e, r)
	if err != nil {
		return nil, err
	}
	if op.addChan || op.addRes {
		op.name = fmt.Sprintf("Conv2dAdd%v%v%+v", op.addChan, op.addRes, op.g)
		op.arity = len(in)
	}
	return gorgonia.ApplyOp(op, in...)
}

// withAdds checks e and r, either nil, against the output of the conv of
// in[0] and appends them to the inputs in, setting the op's adds.
func (op *conv2dOp) withAdds(in Nodes, e, r *Node) (Nodes, error) {
	ys, err := op.InferShape(in[0].Shape())
	if err != nil {
		return nil, err
	}
	if e != nil {
		if es := e.Shape(); len(es) != 2 || es[0] != ys[0] || es[1] != ys[1] {
			return nil, fmt.Errorf("models: cannot add %v per channel to %v", es, ys)
		}
		in = append(in, e)
	}
	if r != nil {
		if !r.Shape().Eq(ys) {
			return nil, fmt.Errorf("models: adding %v and %v", ys, r.Shape())
		}
		in = append(in, r)
	}
	op.addChan, op.addRes = e != nil, r != nil
	return in, nil
}

func (op *conv2dOp) Type() hm.Type {
	in := []int{4, 4, 1}
	if op.addChan {
		in = append(in, 2)
	}
	if op.addRes {
		in = append(in, 4)
	}
	return fnType(4, in...)
}

func (op *conv2dOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	x := shapeOf(in[0])
	ho, wo := op.g.outSize(x[2], x[3])
	if ho <= 0 || wo <= 0 {
		return nil, fmt.Errorf("models: conv output of %v would be empty", x)
	}
	return tensor.Shape{x[0], op.g.cout, ho, wo}, nil
}

func (op *conv2dOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	xs := v[0].Shape()
	ho, wo := op.g.outSize(xs[2], xs[3])
	y := op.out.get(dtypeOf(v[0]), xs[0], op.g.cout, ho, wo)
	err := dispatch(v[0],
		func() {
			e, r := convExtras[float32](op, v)
			convForwardAdd(op.g, &op.s, &op.sw, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), e, r, slice[float32](y), xs[0], xs[2], xs[3])
		},
		func() {
			e, r := convExtras[float64](op, v)
			convForwardAdd(op.g, &op.s, &op.sw, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), e, r, slice[float64](y), xs[0], xs[2], xs[3])
		})
	return y, err
}

// convExtras are the values of the conv's adds e and r in its inputs v
// (nil when absent).
func convExtras[T Float](op *conv2dOp, v []gorgonia.Value) (e, r []T) {
	i := 3
	if op.addChan {
		e, i = slice[T](v[i]), i+1
	}
	if op.addRes {
		r = slice[T](v[i])
	}
	return e, r
}

func (op *conv2dOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	d, err := op.convSymDiff(in, grad)
	if err != nil {
		return nil, err
	}
	// What AddPerChannel and Add would give.
	if op.addChan {
		de, err := gorgonia.ApplyOp(&positionSumOp{opBase: opBase{"PositionSum", 1}, rank: 4}, grad)
		if err != nil {
			return nil, err
		}
		d = append(d, de)
	}
	if op.addRes {
		d = append(d, grad)
	}
	return d, nil
}

// convSymDiff is the gradients of x, W and b.
func (op *conv2dOp) convSymDiff(in Nodes, grad *Node) (Nodes, error) {
	db, err := gorgonia.ApplyOp(&channelSumOp{opBase: opBase{"ChannelSum", 1}}, grad)
	if err != nil {
		return nil, err
	}
	if op.g.samePad() && op.g.k > 1 && op.g.cin >= 4 {
		// One pass over the images gives both gradients (convBackward).
		bw := &convBackwardOp{opBase: opBase{stateful("Conv2dGrad%s", op.name[6:]), 3}, g: op.g}
		dx, err := gorgonia.ApplyOp(bw, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		dw, err := gorgonia.ApplyOp(&convKeptFilterGradOp{opBase: opBase{"Conv2dFilterGrad" + bw.name[10:], 1}, bw: bw}, dx)
		if err != nil {
			return nil, err
		}
		return Nodes{dx, dw, db}, nil
	}
	dx, err := gorgonia.ApplyOp(&convDataGradOp{opBase{"Conv2dDataGrad" + op.name[6:], 3}, op.g, outBuf{}, convScratch{}}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(&convFilterGradOp{opBase{"Conv2dFilterGrad" + op.name[6:], 2}, op.g, outBuf{}, convScratch{}}, in[0], grad)
	if err != nil {
		return nil, err
	}
	return Nodes{dx, dw, db}, nil
}

// convBackwardOp computes, for a stride-1 conv whose output has its input's
// size, dx from (x, W, dy) and keeps dW for convKeptFilterGradOp. Such a
// conv's data gradient is itself a same-size conv of dy, with the kernel
// flipped and its in and out channels swapped, so one im2col of dy[n]
// serves both gradients:
//
//	dx[n] = W̃ · col(dy[n])        W̃[ci][co][i][j] = W[co][ci][k-1-i][k-1-j]
//	D    += x[n] · col(dy[n])ᵀ     dW[co][ci][i][j] = D[ci][co][k-1-i][k-1-j]
//
// which replaces the col2im (and the clearing of dx) of the general path and
// its second im2col, of x. (With few input channels, as in a first layer,
// the im2col of dy costs more than the general path.)
type convBackwardOp struct {
	opBase
	g   convGeom
	dw  outBuf // dW of the last run
	out outBuf
	s   convScratch // per worker: col(dy[n]) and D
	sw  convScratch // W̃
}

func (op *convBackwardOp) Type() hm.Type { return fnType(4, 4, 4, 4) }
func (op *convBackwardOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *convBackwardOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	xs := v[0].Shape()
	dt := dtypeOf(v[0])
	dx := op.out.get(dt, xs...)
	dw := op.dw.get(dt, op.g.cout, op.g.cin, op.g.k, op.g.k)
	err := dispatch(v[0],
		func() {
			convBackward(op.g, &op.s, &op.sw, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](dx), slice[float32](dw), xs[0], xs[2], xs[3])
		},
		func() {
			convBackward(op.g, &op.s, &op.sw, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](dx), slice[float64](dw), xs[0], xs[2], xs[3])
		})
	return dx, err
}

// flipKernel writes W̃ (or, applied to D, dW): dst[b][a][i][j] =
// src[a][b][k-1-i][k-1-j] for src (na, nb, k, k).
func flipKernel[T Float](src, dst []T, na, nb, k int) {
	kk := k * k
	for a := 0; a < na; a++ {
		for b := 0; b < nb; b++ {
			s, d := src[(a*nb+b)*kk:][:kk], dst[(b*na+a)*kk:][:kk]
			for q := range d {
				d[q] = s[kk-1-q]
			}
		}
	}
}

func convBackward[T Float](g convGeom, s, sw *convScratch, x, wt, dy, dx, dw []T, n, h, w int) {
	p := h * w
	t := convGeom{cin: g.cout, cout: g.cin, k: g.k, stride: 1, pad: g.pad} // the data gradient's conv
	kt := t.cin * t.k * t.k                                                // = cout·k·k
	// With the direct kernel (float32), dx[n] is that conv of dy[n] on it;
	// dv holds its operands.
	dv, direct := dataGradDirect(t, h, w, wt, g.cout, g.cin, g.k, sw)
	var wflip []T
	nx := 0
	if direct {
		nx = dv.planes
	} else {
		wflip = scratchFor[T](sw).get(0, g.cin*kt)
		flipKernel(wt, wflip, g.cout, g.cin, g.k)
	}
	sc := scratchFor[T](s)
	nc := min(gradChunks, n) // dW in fixed chunks, as convBackwardFilter
	chunkSlots(sc, nc+1)
	parallelFor(nc, func(worker, clo, chi int) {
		buf := sc.get(worker, kt*p+nx)
		col, xp := buf[:kt*p], buf[kt*p:]
		clear(xp)
		for k := clo; k < chi; k++ {
			acc := sc.get(workers+k, g.cin*kt)
			clear(acc)
			for i := k * n / nc; i < (k+1)*n/nc; i++ {
				dyi, dxi := dy[i*g.cout*p:(i+1)*g.cout*p], dx[i*g.cin*p:(i+1)*g.cin*p]
				im2col(t, dyi, h, w, col)
				if direct {
					dv.run(any(dyi).([]float32), any(xp).([]float32), any(dxi).([]float32))
				} else {
					gemm(false, false, g.cin, p, kt, 1, wflip, kt, col, p, 0, dxi, p)
				}
				gemm(false, true, g.cin, kt, p, 1, x[i*g.cin*p:(i+1)*g.cin*p], p, col, p, 1, acc, kt)
			}
		}
	})
	sum := sc.get(workers+nc, g.cin*kt)
	sumChunks(sc, nc, g.cin*kt, sum)
	flipKernel(sum, dw, g.cin, g.cout, g.k)
}

// convKeptFilterGradOp hands on the dW its convBackwardOp computed; its
// input, that op's dx, orders it after it.
type convKeptFilterGradOp struct {
	opBase
	bw *convBackwardOp
}

func (op *convKeptFilterGradOp) Type() hm.Type { return fnType(4, 4) }
func (op *convKeptFilterGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	g := op.bw.g
	return tensor.Shape{g.cout, g.cin, g.k, g.k}, nil
}
func (op *convKeptFilterGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	return op.bw.dw.t, nil
}

// convDataGradOp: dx from (x, W, dy); x is read only for its shape.
type convDataGradOp struct {
	opBase
	g   convGeom
	out outBuf
	s   convScratch
}

func (op *convDataGradOp) Type() hm.Type { return fnType(4, 4, 4, 4) }
func (op *convDataGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *convDataGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	xs := v[0].Shape()
	dx := op.out.get(dtypeOf(v[0]), xs...)
	err := dispatch(v[0],
		func() {
			convBackwardData(op.g, &op.s, slice[float32](v[1]), slice[float32](v[2]), slice[float32](dx), xs[0], xs[2], xs[3])
		},
		func() {
			convBackwardData(op.g, &op.s, slice[float64](v[1]), slice[float64](v[2]), slice[float64](dx), xs[0], xs[2], xs[3])
		})
	return dx, err
}

// convFilterGradOp: dW from (x, dy).
type convFilterGradOp struct {
	opBase
	g   convGeom
	out outBuf
	s   convScratch
}

func (op *convFilterGradOp) Type() hm.Type { return fnType(4, 4, 4) }
func (op *convFilterGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.g.cout, op.g.cin, op.g.k, op.g.k}, nil
}
func (op *convFilterGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	xs := v[0].Shape()
	dw := op.out.get(dtypeOf(v[0]), op.g.cout, op.g.cin, op.g.k, op.g.k)
	err := dispatch(v[0],
		func() {
			convBackwardFilter(op.g, &op.s, slice[float32](v[0]), slice[float32](v[1]), slice[float32](dw), xs[0], xs[2], xs[3])
		},
		func() {
			convBackwardFilter(op.g, &op.s, slice[float64](v[0]), slice[float64](v[1]), slice[float64](dw), xs[0], xs[2], xs[3])
		})
	return dw, err
}

// channelSumOp reduces (N,C,...) to (C): the gradient of a per-channel bias.
type channelSumOp struct {
	opBase
	rank int // of the input; 4 when zero
	out  outBuf
	rows []float64
}

func (op *channelSumOp) Type() hm.Type {
	if op.rank == 0 {
		return fnType(1, 4)
	}
	return fnType(1, op.rank)
}
func (op *channelSumOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{shapeOf(in[0])[1]}, nil
}
func (op *channelSumOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	s := v[0].Shape()
	if len(s) == 2 {
		s = tensor.Shape{s[0], s[1], 1}
	}
	p := s.TotalSize() / (s[0] * s[1])
	db := op.out.get(dtypeOf(v[0]), s[1])
	err := dispatch(v[0],
		func() { sumPerChannel(slice[float32](v[0]), slice[float32](db), s[0], s[1], p, &op.rows) },
		func() { sumPerChannel(slice[float64](v[0]), slice[float64](db), s[0], s[1], p, &op.rows) })
	return db, err
}
