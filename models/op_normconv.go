package models

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The inference path's fusion of "conv(silu(norm(x)))", which opens both
// halves of every residual block and closes the UNet: with the direct conv
// kernel (float32 with cgo), each image is normalised straight into the
// padded planes the conv reads, in the cache of the worker that then
// convolves it, so the normalised activations are never written out,
// read back and copied into those planes. The values are GroupNormSiLU's
// and Conv2dAdd's to the byte (the same kernels' arithmetic on each
// element). There is no backward pass: training keeps the separate ops,
// whose gradients need the normalised activations.

// normConvOp: Conv2dAdd(GroupNormSiLU(x, γ, β), W, b, e, r); inputs x, γ,
// β, W, b, then e and r when present.
type normConvOp struct {
	opBase
	gn   groupNormOp // groups, eps and the statistics of the last run
	conv conv2dOp    // geometry, the adds, output and scratch
	norm outBuf      // the normalised activations, where not fused
}

// NormSiLUConv is Conv2dAdd(GroupNormSiLU(x, gamma, beta, groups, eps), w,
// b, e, r, stride, pad) for graphs that are only run forward
// (Graph.ForInference); e and r may be nil.
func NormSiLUConv(x, gamma, beta *Node, groups int, eps float64, w, b, e, r *Node, stride, pad int) (*Node, error) {
	s := x.Shape()
	if len(s) != 4 || groups <= 0 || s[1]%groups != 0 || gamma.Shape().TotalSize() != s[1] || beta.Shape().TotalSize() != s[1] {
		return nil, fmt.Errorf("models: GroupNorm(%d groups) of %v with scale %v and shift %v", groups, s, gamma.Shape(), beta.Shape())
	}
	c, err := newConv2dOp(x, w, stride, pad)
	if err != nil {
		return nil, err
	}
	in, err := c.withAdds(Nodes{x, gamma, beta, w, b}, e, r)
	if err != nil {
		return nil, err
	}
	op := &normConvOp{
		opBase: opBase{stateful("NormSiLUConv(%d,%g)%v%v%+v", groups, eps, c.addChan, c.addRes, c.g), len(in)},
		gn:     groupNormOp{groups: groups, eps: eps, rank: 4, silu: true},
		conv:   *c,
	}
	return gorgonia.ApplyOp(op, in...)
}

func (op *normConvOp) Type() hm.Type {
	in := []int{4, 1, 1, 4, 1}
	if op.conv.addChan {
		in = append(in, 2)
	}
	if op.conv.addRes {
		in = append(in, 4)
	}
	return fnType(4, in...)
}

func (op *normConvOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.conv.InferShape(in[0])
}

func (op *normConvOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	xs := v[0].Shape()
	n, c, p := ncp(xs)
	op.gn.mean, op.gn.rstd = grow(op.gn.mean, n*op.gn.groups), grow(op.gn.rstd, n*op.gn.groups)
	g := op.conv.g
	ho, wo := g.outSize(xs[2], xs[3])
	y := op.conv.out.get(dtypeOf(v[0]), n, g.cout, ho, wo)
	if x, ok := v[0].(*tensor.Dense).Data().([]float32); ok && directConv && g.directable() {
		e, r := convExtras[float32](&op.conv, shiftInputs(v))
		normConvDirect(op, x, slice[float32](v[1]), slice[float32](v[2]), slice[float32](v[3]), slice[float32](v[4]), e, r,
			slice[float32](y), n, xs[2], xs[3])
		return y, nil
	}
	z := op.norm.get(dtypeOf(v[0]), xs...)
	return y, dispatch(v[0],
		func() {
			groupNormForward(&op.gn, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](z), n, c, p)
			e, r := convExtras[float32](&op.conv, shiftInputs(v))
			convForwardAdd(g, &op.conv.s, &op.conv.sw, slice[float32](z), slice[float32](v[3]), slice[float32](v[4]), e, r,
				slice[float32](y), n, xs[2], xs[3])
		},
		func() {
			groupNormForward(&op.gn, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](z), n, c, p)
			e, r := convExtras[float64](&op.conv, shiftInputs(v))
			convForwardAdd(g, &op.conv.s, &op.conv.sw, slice[float64](z), slice[float64](v[3]), slice[float64](v[4]), e, r,
				slice[float64](y), n, xs[2], xs[3])
		})
}

// shiftInputs drops x and γ, so that the adds sit at index 3 as in
// conv2dOp's inputs, where convExtras finds them.
func shiftInputs(v []gorgonia.Value) []gorgonia.Value { return v[2:] }

// normConvDirect is normConvOp's fused path: the direct conv of each image
// with its padded planes filled by the normalisation instead of a copy,
// its groups split over the workers when the batch is smaller than they.
func normConvDirect(op *normConvOp, x, gamma, beta, wt, b, e, r, y []float32, n, h, w int) {
	g := op.conv.g
	groups, pin := op.gn.groups, g.cin*h*w
	sg := newShiftGeom(g, h, w)
	directImages(g, sg, &op.conv.s, &op.conv.sw, wt, b, e, r, y, n, groups, func(xp []float32, i, lo, hi int) {
		gnSiLUPad32(sg, x[i*pin:(i+1)*pin], gamma, beta, xp, op.gn.mean[i*groups:(i+1)*groups],
			op.gn.rstd[i*groups:(i+1)*groups], lo, hi, g.cin/groups, op.gn.eps)
	})
}

// gnSiLUPadGo is gnSiLUPad32 in Go (groupNormForwardRange's arithmetic;
// xp's borders must be zero, see k_gn_silu_pad):
// the pure-Go build's instance and the tests' reference.
func gnSiLUPadGo(sg shiftGeom, x, gamma, beta, xp []float32, mean, rstd []float64, lo, hi, cg int, eps float64) {
	p := sg.h * sg.w
	m := cg * p
	for gi := lo; gi < hi; gi++ {
		xs := x[gi*m : (gi+1)*m]
		mu := sumF64(xs) / float64(m)
		rs := 1 / math.Sqrt(sqDevF64(xs, mu)/float64(m)+eps)
		mean[gi], rstd[gi] = mu, rs
		for j := 0; j < cg; j++ {
			ch := gi*cg + j
			a, b := gnAffine(gamma[ch], beta[ch], mu, rs)
			plane := xp[ch*sg.pp+sg.pad*sg.wq+sg.pad:]
			for row := 0; row < sg.h; row++ {
				affineRow(xs[j*p+row*sg.w:j*p+(row+1)*sg.w], plane[row*sg.wq:row*sg.wq+sg.w], a, b)
			}
			span := plane[:(sg.h-1)*sg.wq+sg.w] // zeros between the rows stay zeros
			siluRow(span, nil, span)
		}
	}
}

// upConvOp: Conv2d(Upsample2x(x), W, b), the UNet's way up, for graphs
// that are only run forward: with the direct conv kernel each image is
// upsampled straight into the padded planes the conv reads, without the
// four-times-larger upsampled activations written out and copied in. The
// values are the two ops' to the byte (copies and the same conv).
type upConvOp struct {
	opBase
	conv conv2dOp
	up   outBuf // the upsampled activations, where not fused
}

// UpsampleConv is Conv2d(Upsample2x(x), w, b, stride, pad) for graphs that
// are only run forward (Graph.ForInference).
func UpsampleConv(x, w, b *Node, stride, pad int) (*Node, error) {
	xs := x.Shape()
	if len(xs) != 4 {
		return nil, fmt.Errorf("models: upsample wants NCHW, got %v", xs)
	}
	ws := w.Shape()
	if len(ws) != 4 || ws[2] != ws[3] || ws[1] != xs[1] {
		return nil, fmt.Errorf("models: conv input %v does not match weight %v", xs, ws)
	}
	g := convGeom{cin: ws[1], cout: ws[0], k: ws[2], stride: stride, pad: pad}
	op := &upConvOp{opBase: opBase{stateful("UpsampleConv%+v", g), 3}, conv: conv2dOp{g: g}}
	if _, err := op.InferShape(xs); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, w, b)
}

func (op *upConvOp) Type() hm.Type { return fnType(4, 4, 4, 1) }

func (op *upConvOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	return op.conv.InferShape(tensor.Shape{s[0], s[1], 2 * s[2], 2 * s[3]})
}

func (op *upConvOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	xs := v[0].Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	g := op.conv.g
	ho, wo := g.outSize(2*h, 2*w)
	y := op.conv.out.get(dtypeOf(v[0]), n, g.cout, ho, wo)
	if x, ok := v[0].(*tensor.Dense).Data().([]float32); ok && directConv && g.directable() {
		sg := newShiftGeom(g, 2*h, 2*w)
		directImages(g, sg, &op.conv.s, &op.conv.sw, slice[float32](v[1]), slice[float32](v[2]), nil, nil, slice[float32](y), n, c,
			func(xp []float32, i, lo, hi int) { upsampleIntoPlanes(sg, x[i*c*h*w:(i+1)*c*h*w], xp, lo, hi) })
		return y, nil
	}
	z := op.up.get(dtypeOf(v[0]), n, c, 2*h, 2*w)
	return y, dispatch(v[0],
		func() {
			upsample(false, slice[float32](v[0]), slice[float32](z), n*c, h, w)
			convForward(g, &op.conv.s, &op.conv.sw, slice[float32](z), slice[float32](v[1]), slice[float32](v[2]), slice[float32](y), n, 2*h, 2*w)
		},
		func() {
			upsample(false, slice[float64](v[0]), slice[float64](z), n*c, h, w)
			convForward(g, &op.conv.s, &op.conv.sw, slice[float64](z), slice[float64](v[1]), slice[float64](v[2]), slice[float64](y), n, 2*h, 2*w)
		})
}

// upsampleIntoPlanes repeats each pixel of channels [lo,hi) of one image x
// (sg.h/2 × sg.w/2 each) into a 2×2 block of the interiors of the padded
// planes xp.
func upsampleIntoPlanes(sg shiftGeom, x, xp []float32, lo, hi int) {
	h, w := sg.h/2, sg.w/2
	for ch := lo; ch < hi; ch++ {
		in := x[ch*h*w : (ch+1)*h*w]
		plane := xp[ch*sg.pp+sg.pad*sg.wq+sg.pad:]
		for iy := 0; iy < h; iy++ {
			row := plane[2*iy*sg.wq : 2*iy*sg.wq+2*w]
			for ix, v := range in[iy*w : (iy+1)*w] {
				row[2*ix], row[2*ix+1] = v, v
			}
			copy(plane[(2*iy+1)*sg.wq:(2*iy+1)*sg.wq+2*w], row)
		}
	}
}
