package models

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// FrameAttention is multi-head scaled dot-product attention over the F
// frames of each clip at every pixel, in the frames' own layout: qkv
// (B·F, 3C, H, W) holds each frame's queries, keys and values (channels
// [0,C), [C,2C) and [2C,3C)), and the result is (B·F, C, H, W).
//
// It computes what FramesToSequences, three channel slices, Attention and
// SequencesToFrames compute, without their copies, and with loops that run
// along the pixels of a plane: a clip's sequences are a few frames long, so
// the per-pixel matrix products Attention would make are too small for a
// BLAS call to pay for itself, while a plane's pixels are contiguous. As
// Attention, it is two ops, the weights A (B, heads, F, F, H·W) and the
// mix, so the backward pass reads A instead of recomputing it.
func FrameAttention(qkv *Node, frames, heads int) (*Node, error) {
	s := qkv.Shape()
	if len(s) != 4 || frames < 1 || heads < 1 || s[0]%frames != 0 || s[1]%3 != 0 || s[1]/3%heads != 0 {
		return nil, fmt.Errorf("models: frame attention of %v over %d frames with %d heads", s, frames, heads)
	}
	g := frameAttnGeom{frames: frames, heads: heads, d: s[1] / 3 / heads, p: s[2] * s[3], b: s[0] / frames}
	g.scale = 1 / math.Sqrt(float64(g.d))
	a, err := gorgonia.ApplyOp(&frameAttnWeightsOp{opBase: opBase{fmt.Sprintf("FrameAttentionWeights(%d,%d)", frames, heads), 1}, g: g}, qkv)
	if err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(&frameAttnMixOp{opBase: opBase{fmt.Sprintf("FrameAttentionMix(%d,%d,%dx%d)", frames, heads, s[2], s[3]), 2}, g: g, h: s[2], w: s[3]}, a, qkv)
}

// frameAttnGeom: b clips of frames frames, heads heads of d channels, p
// pixels per plane.
type frameAttnGeom struct {
	frames, heads, d, p, b int
	scale                  float64
}

// plane is the pixels of channel ch (of 3C) of frame f of clip i in qkv.
func (g frameAttnGeom) plane(i, f, ch int) int { return ((i*g.frames+f)*3*g.heads*g.d + ch) * g.p }

// row is A[i, h, f, j, :] (or dA's): the weights of frame f on frame j.
func (g frameAttnGeom) row(i, h, f, j int) int {
	return (((i*g.heads+h)*g.frames+f)*g.frames + j) * g.p
}

// frameAttnWeightsOp: qkv -> A = softmax over j of scale·Σ_c q_f·k_j.
type frameAttnWeightsOp struct {
	opBase
	g   frameAttnGeom
	out outBuf
}

func (op *frameAttnWeightsOp) Type() hm.Type { return fnType(5, 4) }
func (op *frameAttnWeightsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	g := op.g
	return tensor.Shape{g.b, g.heads, g.frames, g.frames, g.p}, nil
}
func (op *frameAttnWeightsOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	g := op.g
	a := op.out.get(dtypeOf(v[0]), g.b, g.heads, g.frames, g.frames, g.p)
	return a, dispatch(v[0],
		func() { frameAttnWeights(g, slice[float32](v[0]), slice[float32](a)) },
		func() { frameAttnWeights(g, slice[float64](v[0]), slice[float64](a)) })
}

func frameAttnWeights[T Float](g frameAttnGeom, qkv, a []T) {
	c := g.heads * g.d
	parallelFor(g.b*g.heads, func(_, lo, hi int) {
		for ih := lo; ih < hi; ih++ {
			i, h := ih/g.heads, ih%g.heads
			for f := range g.frames {
				for j := range g.frames {
					s := a[g.row(i, h, f, j):][:g.p]
					clear(s)
					for ch := h * g.d; ch < (h+1)*g.d; ch++ {
						q, k := qkv[g.plane(i, f, ch):][:g.p], qkv[g.plane(i, j, c+ch):][:g.p]
						for x := range s {
							s[x] += q[x] * k[x]
						}
					}
				}
				softmaxFrames(g, a[g.row(i, h, f, 0):][:g.frames*g.p], T(g.scale))
			}
		}
	})
}

// softmaxFrames scales the F rows of p pixels in r (one query frame's
// logits against each key frame) and turns them into softmax weights over
// the frames at each pixel.
func softmaxFrames[T Float](g frameAttnGeom, r []T, scale T) {
	_, f32 := any(r).([]float32)
	for x := range g.p {
		m := r[x]
		for j := 1; j < g.frames; j++ {
			m = max(m, r[j*g.p+x])
		}
		var sum float64
		for j := range g.frames {
			// float32 through expf, as every softmax here: math.Exp takes
			// another path on CPUs with FMA, and the bytes would differ.
			var e float64
			if f32 {
				e = float64(expf(float32(scale * (r[j*g.p+x] - m))))
			} else {
				e = math.Exp(float64(scale * (r[j*g.p+x] - m)))
			}
			r[j*g.p+x] = T(e)
			sum += e
		}
		inv := T(1 / sum)
		for j := range g.frames {
			r[j*g.p+x] *= inv
		}
	}
}

// SymDiff: dq_f = scale·Σ_j dS_fj·k_j and dk_j = scale·Σ_f dS_fj·q_f with
// dS = A∘(dA − Σ_j A∘dA), the softmax's backward pass; v gets none here.
func (op *frameAttnWeightsOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	d, err := gorgonia.ApplyOp(&frameAttnWeightsGradOp{opBase: opBase{"FrameAttentionWeightsGrad" + op.name, 3}, g: op.g, h: in[0].Shape()[2], w: in[0].Shape()[3]}, in[0], out, grad)
	return Nodes{d}, err
}

type frameAttnWeightsGradOp struct {
	opBase
	g    frameAttnGeom
	h, w int
	out  outBuf
	s    convScratch
}

func (op *frameAttnWeightsGradOp) Type() hm.Type { return fnType(4, 4, 5, 5) }
func (op *frameAttnWeightsGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0]).Clone(), nil
}
func (op *frameAttnWeightsGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	g := op.g
	d := op.out.get(dtypeOf(v[0]), g.b*g.frames, 3*g.heads*g.d, op.h, op.w)
	return d, dispatch(v[0],
		func() {
			frameAttnWeightsGrad(op, slice[float32](v[0]), slice[float32](v[1]), slice[float32](v[2]), slice[float32](d))
		},
		func() {
			frameAttnWeightsGrad(op, slice[float64](v[0]), slice[float64](v[1]), slice[float64](v[2]), slice[float64](d))
		})
}

func frameAttnWeightsGrad[T Float](op *frameAttnWeightsGradOp, qkv, a, da, d []T) {
	g := op.g
	c, scale := g.heads*g.d, T(g.scale)
	sc := scratchFor[T](&op.s)
	parallelFor(g.b*g.heads, func(worker, lo, hi int) {
		ds := sc.get(worker, g.frames*g.frames*g.p) // dS of one clip and head
		for ih := lo; ih < hi; ih++ {
			i, h := ih/g.heads, ih%g.heads
			for f := range g.frames {
				ar, dar := a[g.row(i, h, f, 0):][:g.frames*g.p], da[g.row(i, h, f, 0):][:g.frames*g.p]
				dsr := ds[f*g.frames*g.p:][:g.frames*g.p]
				for x := range g.p {
					var dot T
					for j := range g.frames {
						dot += ar[j*g.p+x] * dar[j*g.p+x]
					}
					for j := range g.frames {
						dsr[j*g.p+x] = scale * ar[j*g.p+x] * (dar[j*g.p+x] - dot)
					}
				}
			}
			for ch := h * g.d; ch < (h+1)*g.d; ch++ {
				for f := range g.frames {
					dq, dk, dv := d[g.plane(i, f, ch):][:g.p], d[g.plane(i, f, c+ch):][:g.p], d[g.plane(i, f, 2*c+ch):][:g.p]
					clear(dq)
					clear(dk)
					clear(dv)
					for j := range g.frames {
						k, q := qkv[g.plane(i, j, c+ch):][:g.p], qkv[g.plane(i, j, ch):][:g.p]
						dsFJ, dsJF := ds[(f*g.frames+j)*g.p:][:g.p], ds[(j*g.frames+f)*g.p:][:g.p]
						for x := range dq {
							dq[x] += dsFJ[x] * k[x]
							dk[x] += dsJF[x] * q[x]
						}
					}
				}
			}
		}
	})
}

// frameAttnMixOp: (A, qkv) -> o_f = Σ_j A_fj·v_j.
type frameAttnMixOp struct {
	opBase
	g    frameAttnGeom
	h, w int
	out  outBuf
}

func (op *frameAttnMixOp) Type() hm.Type { return fnType(4, 5, 4) }
func (op *frameAttnMixOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	g := op.g
	return tensor.Shape{g.b * g.frames, g.heads * g.d, op.h, op.w}, nil
}
func (op *frameAttnMixOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	g := op.g
	o := op.out.get(dtypeOf(v[0]), g.b*g.frames, g.heads*g.d, op.h, op.w)
	return o, dispatch(v[0],
		func() { frameAttnMix(g, slice[float32](v[0]), slice[float32](v[1]), slice[float32](o)) },
		func() { frameAttnMix(g, slice[float64](v[0]), slice[float64](v[1]), slice[float64](o)) })
}

func frameAttnMix[T Float](g frameAttnGeom, a, qkv, o []T) {
	c := g.heads * g.d
	parallelFor(g.b*g.heads, func(_, lo, hi int) {
		for ih := lo; ih < hi; ih++ {
			i, h := ih/g.heads, ih%g.heads
			for ch := h * g.d; ch < (h+1)*g.d; ch++ {
				for f := range g.frames {
					out := o[((i*g.frames+f)*c+ch)*g.p:][:g.p]
					clear(out)
					for j := range g.frames {
						w, v := a[g.row(i, h, f, j):][:g.p], qkv[g.plane(i, j, 2*c+ch):][:g.p]
						for x := range out {
							out[x] += w[x] * v[x]
						}
					}
				}
			}
		}
	})
}

// SymDiff: dA_fj = Σ_c do_f·v_j, and dv_j = Σ_f A_fj·do_f into the v
// channels of qkv's gradient (zero in its q and k channels).
func (op *frameAttnMixOp) SymDiff(in Nodes, out, grad *Node) (Nodes, error) {
	da, err := gorgonia.ApplyOp(&frameAttnMixGradOp{opBase: opBase{"FrameAttentionMixGrad(A)" + op.name, 2}, g: op.g, h: op.h, w: op.w}, in[1], grad)
	if err != nil {
		return nil, err
	}
	dqkv, err := gorgonia.ApplyOp(&frameAttnMixGradOp{opBase: opBase{"FrameAttentionMixGrad(v)" + op.name, 2}, g: op.g, h: op.h, w: op.w, wrtV: true}, in[0], grad)
	return Nodes{da, dqkv}, err
}

// frameAttnMixGradOp: dA from (qkv, do), or qkv's gradient from (A, do).
type frameAttnMixGradOp struct {
	opBase
	g    frameAttnGeom
	h, w int
	wrtV bool
	out  outBuf
}

func (op *frameAttnMixGradOp) Type() hm.Type {
	if op.wrtV {
		return fnType(4, 5, 4)
	}
	return fnType(5, 4, 4)
}
func (op *frameAttnMixGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	g := op.g
	if op.wrtV {
		return tensor.Shape{g.b * g.frames, 3 * g.heads * g.d, op.h, op.w}, nil
	}
	return tensor.Shape{g.b, g.heads, g.frames, g.frames, g.p}, nil
}
func (op *frameAttnMixGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	s, _ := op.InferShape()
	r := op.out.get(dtypeOf(v[0]), s...)
	return r, dispatch(v[0],
		func() { frameAttnMixGrad(op, slice[float32](v[0]), slice[float32](v[1]), slice[float32](r)) },
		func() { frameAttnMixGrad(op, slice[float64](v[0]), slice[float64](v[1]), slice[float64](r)) })
}

func frameAttnMixGrad[T Float](op *frameAttnMixGradOp, x, do, r []T) {
	g := op.g
	c := g.heads * g.d
	dOut := func(i, f, ch int) []T { return do[((i*g.frames+f)*c+ch)*g.p:][:g.p] }
	parallelFor(g.b*g.heads, func(_, lo, hi int) {
		for ih := lo; ih < hi; ih++ {
			i, h := ih/g.heads, ih%g.heads
			if !op.wrtV { // x is qkv; r is dA
				for f := range g.frames {
					for j := range g.frames {
						s := r[g.row(i, h, f, j):][:g.p]
						clear(s)
						for ch := h * g.d; ch < (h+1)*g.d; ch++ {
							dof, v := dOut(i, f, ch), x[g.plane(i, j, 2*c+ch):][:g.p]
							for p := range s {
								s[p] += dof[p] * v[p]
							}
						}
					}
				}
				continue
			}
			// x is A; r is qkv's gradient, v channels only.
			for ch := h * g.d; ch < (h+1)*g.d; ch++ {
				for j := range g.frames {
					clear(r[g.plane(i, j, ch):][:g.p])
					clear(r[g.plane(i, j, c+ch):][:g.p])
					dv := r[g.plane(i, j, 2*c+ch):][:g.p]
					clear(dv)
					for f := range g.frames {
						w, dof := x[g.row(i, h, f, j):][:g.p], dOut(i, f, ch)
						for p := range dv {
							dv[p] += w[p] * dof[p]
						}
					}
				}
			}
		}
	})
}
