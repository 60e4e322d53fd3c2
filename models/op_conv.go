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
// shifted source idx+off lies inside the plane.
func (g convGeom) shiftRange(i, j, w, p int) (off, lo, hi, dj int) {
	di, dj := i-g.pad, j-g.pad
	off = di*w + dj
	return off, max(0, -off), min(p, p-off), dj
}

// clearWrapped zeroes the entries of a shifted plane row whose column ox+dj
// fell off the left or right edge (and so wrapped to the neighbouring line).
func clearWrapped[T Float](dst []T, h, w, dj int) {
	switch {
	case dj > 0:
		for oy := 0; oy < h; oy++ {
			for ox := w - dj; ox < w; ox++ {
				dst[oy*w+ox] = 0
			}
		}
	case dj < 0:
		for oy := 0; oy < h; oy++ {
			for ox := 0; ox < -dj; ox++ {
				dst[oy*w+ox] = 0
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
					copy(row[lo:hi], xc[lo+off:hi+off])
					clear(row[hi:])
					clearWrapped(row, h, w, dj)
					continue
				}
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.stride - g.pad + i
					dst := row[oy*wo : (oy+1)*wo]
					if iy < 0 || iy >= h {
						clear(dst)
						continue
					}
					src := xc[iy*w : (iy+1)*w]
					for ox := range dst {
						ix := ox*g.stride - g.pad + j
						if ix < 0 || ix >= w {
							dst[ox] = 0
						} else {
							dst[ox] = src[ix]
						}
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
					clearWrapped(row, h, w, dj)
					axpy(1, row[lo:hi], dc[lo+off:hi+off])
					continue
				}
				for oy := 0; oy < ho; oy++ {
					iy := oy*g.stride - g.pad + i
					if iy < 0 || iy >= h {
						continue
					}
					src := row[oy*wo : (oy+1)*wo]
					dst := dc[iy*w : (iy+1)*w]
					for ox, v := range src {
						ix := ox*g.stride - g.pad + j
						if ix >= 0 && ix < w {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

// scratch holds one buffer per worker, grown on demand and kept between steps.
type scratch[T Float] struct{ bufs [][]T }

func (s *scratch[T]) get(worker, n int) []T {
	for len(s.bufs) <= worker {
		s.bufs = append(s.bufs, nil)
	}
	if cap(s.bufs[worker]) < n {
		s.bufs[worker] = make([]T, n)
	}
	return s.bufs[worker][:n]
}

type convScratch struct {
	f32 scratch[float32]
	f64 scratch[float64]
}

func scratchFor[T Float](s *convScratch) *scratch[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(&s.f32).(*scratch[T])
	}
	return any(&s.f64).(*scratch[T])
}

// convForward: y[n] = W·col(x[n]) + b, one image per GEMM, images split
// over the workers.
func convForward[T Float](g convGeom, s *convScratch, x, wt, b, y []T, n, h, w int) {
	ho, wo := g.outSize(h, w)
	p, kk := ho*wo, g.cin*g.k*g.k
	parallelFor(n, func(worker, lo, hi int) {
		var col []T
		if !g.pointwise() {
			col = scratchFor[T](s).get(worker, kk*p)
		}
		for i := lo; i < hi; i++ {
			xi := x[i*g.cin*h*w : (i+1)*g.cin*h*w]
			yi := y[i*g.cout*p : (i+1)*g.cout*p]
			for c := 0; c < g.cout; c++ {
				row := yi[c*p : (c+1)*p]
				for q := range row {
					row[q] = b[c]
				}
			}
			src := xi
			if !g.pointwise() {
				im2col(g, xi, h, w, col)
				src = col
			}
			gemm(false, false, g.cout, p, kk, 1, wt, kk, src, p, 1, yi, p)
		}
	})
}

// convBackwardData: dx[n] = col2im(Wᵀ·dy[n]).
func convBackwardData[T Float](g convGeom, s *convScratch, wt, dy, dx []T, n, h, w int) {
	ho, wo := g.outSize(h, w)
	p, kk := ho*wo, g.cin*g.k*g.k
	parallelFor(n, func(worker, lo, hi int) {
		var col []T
		if !g.pointwise() {
			col = scratchFor[T](s).get(worker, kk*p)
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

// convBackwardFilter: dW = Σₙ dy[n]·col(x[n])ᵀ, each worker summing its own
// images into its own buffer, then the buffers in worker order (so the
// result is the same every run on the same machine).
func convBackwardFilter[T Float](g convGeom, s *convScratch, x, dy, dw []T, n, h, w int) {
	ho, wo := g.outSize(h, w)
	p, kk := ho*wo, g.cin*g.k*g.k
	nw := min(workers, n)
	parts := make([][]T, nw)
	parallelFor(n, func(worker, lo, hi int) {
		buf := scratchFor[T](s).get(worker, g.cout*kk+kk*p)
		acc, col := buf[:g.cout*kk], buf[g.cout*kk:]
		clear(acc)
		for i := lo; i < hi; i++ {
			xi := x[i*g.cin*h*w : (i+1)*g.cin*h*w]
			dyi := dy[i*g.cout*p : (i+1)*g.cout*p]
			src := xi
			if !g.pointwise() {
				im2col(g, xi, h, w, col)
				src = col
			}
			gemm(false, true, g.cout, kk, p, 1, dyi, p, src, p, 1, acc, kk)
		}
		parts[worker] = acc
	})
	copy(dw, parts[0])
	for _, part := range parts[1:] {
		for i, v := range part {
			dw[i] += v
		}
	}
}

// sumPerChannel: db[c] = Σₙ Σₚ dy[n,c,p].
func sumPerChannel[T Float](dy, db []T, n, c, p int) {
	clear(db)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			var s T
			for _, v := range dy[(i*c+ch)*p : (i*c+ch+1)*p] {
				s += v
			}
			db[ch] += s
		}
	}
}

// conv2dOp: y = conv(x, W) + b; inputs x (N,Cin,H,W), W (Cout,Cin,k,k), b (Cout).
type conv2dOp struct {
	opBase
	g   convGeom
	out outBuf
	s   convScratch
}

// Conv2d applies a 2-D convolution with bias to x (NCHW) the way PyTorch's
// nn.Conv2d does (cross-correlation, zero padding).
func Conv2d(x, w, b *Node, stride, pad int) (*Node, error) {
	ws := w.Shape()
	if len(ws) != 4 || ws[2] != ws[3] {
		return nil, fmt.Errorf("models: conv weight must be (out,in,k,k), got %v", ws)
	}
	if xs := x.Shape(); len(xs) != 4 || xs[1] != ws[1] {
		return nil, fmt.Errorf("models: conv input %v does not match weight %v", xs, ws)
	}
	g := convGeom{cin: ws[1], cout: ws[0], k: ws[2], stride: stride, pad: pad}
	op := &conv2dOp{opBase: opBase{name: fmt.Sprintf("Conv2d%+v", g), arity: 3}, g: g}
	return gorgonia.ApplyOp(op, x, w, b)
}

func (op *conv2dOp) Type() hm.Type { return fnType(4, 4, 4, 1) }

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
			convForward(op.g, &op.s, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](y), xs[0], xs[2], xs[3])
		},
		func() {
			convForward(op.g, &op.s, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](y), xs[0], xs[2], xs[3])
		})
	return y, err
}

func (op *conv2dOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	dx, err := gorgonia.ApplyOp(&convDataGradOp{opBase{"Conv2dDataGrad" + op.name[6:], 3}, op.g, outBuf{}, convScratch{}}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(&convFilterGradOp{opBase{"Conv2dFilterGrad" + op.name[6:], 2}, op.g, outBuf{}, convScratch{}}, in[0], grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(&channelSumOp{opBase: opBase{"ChannelSum", 1}}, grad)
	if err != nil {
		return nil, err
	}
	return Nodes{dx, dw, db}, nil
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
		func() { sumPerChannel(slice[float32](v[0]), slice[float32](db), s[0], s[1], p) },
		func() { sumPerChannel(slice[float64](v[0]), slice[float64](db), s[0], s[1], p) })
	return db, err
}
