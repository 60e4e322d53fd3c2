package flow

import (
	"fmt"
	"math"

	"genlab/models"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layers of a multi-scale normalizing flow (RealNVP, Dinh et al. 2017;
// Glow, Kingma & Dhariwal 2018) as gorgonia ops: the squeeze, actnorm, the
// LU-parameterised weight of the invertible 1×1 convolution, the affine
// coupling with its log-determinant, and the Gaussian log-density of the
// latents. Log-determinants and densities come out per sample, shape (N).

// The layers are differentiable gorgonia ops, their gradients ops too.
var (
	_ gorgonia.SDOp = (*squeezeOp)(nil)
	_ gorgonia.SDOp = (*actNormOp)(nil)
	_ gorgonia.SDOp = (*luWeightOp)(nil)
	_ gorgonia.SDOp = (*couplingOp)(nil)
	_ gorgonia.SDOp = (*couplingLogDetOp)(nil)
	_ gorgonia.SDOp = (*gaussOp)(nil)
	_ gorgonia.Op   = (*actNormGradOp)(nil)
	_ gorgonia.Op   = (*luWeightGradOp)(nil)
	_ gorgonia.Op   = (*couplingGradOp)(nil)
	_ gorgonia.Op   = (*couplingLogDetGradOp)(nil)
	_ gorgonia.Op   = (*gaussGradOp)(nil)
)

// CouplingShift is added to the raw log-scale before the sigmoid of an
// affine coupling, as in Glow: σ(0 + 2) ≈ 0.88, so a coupling whose
// network's last conv starts at zero begins close to the identity.
const CouplingShift = 2

// Squeeze2x folds every 2×2 block of pixels into channels: (N,C,H,W) →
// (N,4C,H/2,W/2), output channel 4c + 2dy + dx at (i,j) holding input
// channel c at (2i+dy, 2j+dx), the order of Glow's squeeze2d.
func Squeeze2x(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, fmt.Errorf("flow: squeeze wants NCHW with even H and W, got %v", s)
	}
	return gorgonia.ApplyOp(&squeezeOp{OpBase: models.NewOpBase("Squeeze2x", 1)}, x)
}

// Unsqueeze2x is Squeeze2x's inverse: (N,4C,H,W) → (N,C,2H,2W).
func Unsqueeze2x(x *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[1]%4 != 0 {
		return nil, fmt.Errorf("flow: unsqueeze wants NCHW with channels divisible by 4, got %v", s)
	}
	return gorgonia.ApplyOp(&squeezeOp{OpBase: models.NewOpBase("Unsqueeze2x", 1), inverse: true}, x)
}

// squeezeOp is a permutation, so its derivative is its inverse.
type squeezeOp struct {
	models.OpBase
	inverse bool
	out     models.OutBuf
}

func (op *squeezeOp) Type() hm.Type { return models.FnType(4, 4) }
func (op *squeezeOp) outShape(s tensor.Shape) tensor.Shape {
	if op.inverse {
		return tensor.Shape{s[0], s[1] / 4, 2 * s[2], 2 * s[3]}
	}
	return tensor.Shape{s[0], 4 * s[1], s[2] / 2, s[3] / 2}
}
func (op *squeezeOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.outShape(models.ShapeOf(in[0])), nil
}
func (op *squeezeOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	big := v[0].Shape() // the unsqueezed shape
	y := op.out.Get(models.DtypeOf(v[0]), op.outShape(big)...)
	if op.inverse {
		big = op.outShape(big)
	}
	return y, models.Dispatch(v[0],
		func() {
			SqueezeData(models.Slice[float32](v[0]), models.Slice[float32](y), big[0], big[1], big[2], big[3], op.inverse)
		},
		func() {
			SqueezeData(models.Slice[float64](v[0]), models.Slice[float64](y), big[0], big[1], big[2], big[3], op.inverse)
		})
}
func (op *squeezeOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	var d *gorgonia.Node
	var err error
	if op.inverse {
		d, err = Squeeze2x(grad)
	} else {
		d, err = Unsqueeze2x(grad)
	}
	return gorgonia.Nodes{d}, err
}

// SqueezeData squeezes x (n,c,h,w) into y (n,4c,h/2,w/2), or with inverse
// unsqueezes x (n,4c,h/2,w/2) into y (n,c,h,w): the op's kernel, also what
// a flow's inverse runs outside a graph.
func SqueezeData[T models.Float](x, y []T, n, c, h, w int, inverse bool) {
	ho, wo := h/2, w/2
	for i := 0; i < n*c; i++ {
		big := i * h * w
		small := i * 4 * ho * wo
		for dy := 0; dy < 2; dy++ {
			for dx := 0; dx < 2; dx++ {
				plane := small + (2*dy+dx)*ho*wo
				for r := 0; r < ho; r++ {
					row := big + (2*r+dy)*w + dx
					for q := 0; q < wo; q++ {
						if inverse {
							y[row+2*q] = x[plane+r*wo+q]
						} else {
							y[plane+r*wo+q] = x[row+2*q]
						}
					}
				}
			}
		}
	}
}

// ActNorm is Glow's activation normalisation, y = (x + b)·exp(logs) with
// one bias and log-scale per channel: x (N,C,...), logs and b (C). Its
// log-determinant, positions·Σ logs, is the same for every sample.
func ActNorm(x, logs, b *gorgonia.Node) (*gorgonia.Node, error) {
	s := x.Shape()
	if len(s) < 2 || logs.Shape().TotalSize() != s[1] || b.Shape().TotalSize() != s[1] {
		return nil, fmt.Errorf("flow: actnorm of %v with log-scale %v and bias %v", s, logs.Shape(), b.Shape())
	}
	return gorgonia.ApplyOp(&actNormOp{OpBase: models.NewOpBase("ActNorm", 3), rank: len(s)}, x, logs, b)
}

type actNormOp struct {
	models.OpBase
	rank int
	out  models.OutBuf
}

func (op *actNormOp) Type() hm.Type { return models.FnType(op.rank, op.rank, 1, 1) }
func (op *actNormOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return models.ShapeOf(in[0]).Clone(), nil
}
func (op *actNormOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := models.NCP(v[0].Shape())
	y := op.out.Get(models.DtypeOf(v[0]), v[0].Shape()...)
	return y, models.Dispatch(v[0],
		func() {
			actNorm(models.Slice[float32](v[0]), models.Slice[float32](v[1]), models.Slice[float32](v[2]), models.Slice[float32](y), n, c, p)
		},
		func() {
			actNorm(models.Slice[float64](v[0]), models.Slice[float64](v[1]), models.Slice[float64](v[2]), models.Slice[float64](y), n, c, p)
		})
}
func actNorm[T models.Float](x, logs, b, y []T, n, c, p int) {
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			s, bb := T(math.Exp(float64(logs[ch]))), b[ch]
			o := (i*c + ch) * p
			for k, v := range x[o : o+p] {
				y[o+k] = (v + bb) * s
			}
		}
	}
}
func (op *actNormOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	ds := make(gorgonia.Nodes, 3)
	for which := range ds {
		g := &actNormGradOp{OpBase: models.NewOpBase(fmt.Sprintf("ActNormGrad%d", which), 4), rank: op.rank, which: which}
		d, err := gorgonia.ApplyOp(g, in[0], in[1], in[2], grad)
		if err != nil {
			return nil, err
		}
		ds[which] = d
	}
	return ds, nil
}

// actNormGradOp, from (x, logs, b, dy), gives dx = dy·e^logs (which 0),
// dlogs = Σ dy·(x+b)·e^logs (1) or db = Σ dy·e^logs (2), the sums per
// channel over samples and positions.
type actNormGradOp struct {
	models.OpBase
	rank, which int
	out         models.OutBuf
}

func (op *actNormGradOp) Type() hm.Type {
	if op.which == 0 {
		return models.FnType(op.rank, op.rank, 1, 1, op.rank)
	}
	return models.FnType(1, op.rank, 1, 1, op.rank)
}
func (op *actNormGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.which == 0 {
		return models.ShapeOf(in[0]).Clone(), nil
	}
	return tensor.Shape{models.ShapeOf(in[0])[1]}, nil
}
func (op *actNormGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := models.NCP(v[0].Shape())
	var y *tensor.Dense
	if op.which == 0 {
		y = op.out.Get(models.DtypeOf(v[0]), v[0].Shape()...)
	} else {
		y = op.out.Get(models.DtypeOf(v[0]), c)
	}
	return y, models.Dispatch(v[0],
		func() {
			actNormGrad(op.which, models.Slice[float32](v[0]), models.Slice[float32](v[1]), models.Slice[float32](v[2]), models.Slice[float32](v[3]), models.Slice[float32](y), n, c, p)
		},
		func() {
			actNormGrad(op.which, models.Slice[float64](v[0]), models.Slice[float64](v[1]), models.Slice[float64](v[2]), models.Slice[float64](v[3]), models.Slice[float64](y), n, c, p)
		})
}
func actNormGrad[T models.Float](which int, x, logs, b, dy, out []T, n, c, p int) {
	if which == 0 {
		for i := 0; i < n; i++ {
			for ch := 0; ch < c; ch++ {
				s := T(math.Exp(float64(logs[ch])))
				o := (i*c + ch) * p
				for k, d := range dy[o : o+p] {
					out[o+k] = d * s
				}
			}
		}
		return
	}
	for ch := 0; ch < c; ch++ {
		var sum float64
		for i := 0; i < n; i++ {
			o := (i*c + ch) * p
			if which == 1 {
				bb := float64(b[ch])
				for k, d := range dy[o : o+p] {
					sum += float64(d) * (float64(x[o+k]) + bb)
				}
			} else {
				for _, d := range dy[o : o+p] {
					sum += float64(d)
				}
			}
		}
		out[ch] = T(sum * math.Exp(float64(logs[ch])))
	}
}

// LUWeight composes the weight of Glow's invertible 1×1 convolution from
// its LU parameters, W = P·(I + L)·(U + diag(sign·exp(logs))), as a
// (C,C,1,1) conv weight: l and u (C,C) give the strictly lower and strictly
// upper parts (their other entries are ignored), logs (C) the log of |diag
// U|. perm (C) holds the row permutation (row i of W is row perm[i] of
// L·U) and sign (C) the signs of diag U; both are fixed at initialisation,
// so the op does not differentiate with respect to them. log|det W| = Σ logs.
func LUWeight(l, u, logs, perm, sign *gorgonia.Node) (*gorgonia.Node, error) {
	c := logs.Shape().TotalSize()
	if !l.Shape().Eq(tensor.Shape{c, c}) || !u.Shape().Eq(tensor.Shape{c, c}) || perm.Shape().TotalSize() != c || sign.Shape().TotalSize() != c {
		return nil, fmt.Errorf("flow: LU weight from l %v, u %v, logs %v, perm %v, sign %v", l.Shape(), u.Shape(), logs.Shape(), perm.Shape(), sign.Shape())
	}
	return gorgonia.ApplyOp(&luWeightOp{OpBase: models.NewOpBase(fmt.Sprintf("LUWeight(%d)", c), 5), c: c}, l, u, logs, perm, sign)
}

type luWeightOp struct {
	models.OpBase
	c int
}

func (op *luWeightOp) DiffWRT(int) []bool { return []bool{true, true, true, false, false} }
func (op *luWeightOp) Type() hm.Type      { return models.FnType(4, 2, 2, 1, 1, 1) }
func (op *luWeightOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.c, op.c, 1, 1}, nil
}

// luParts reads the op's five inputs as float64.
func luParts(v []gorgonia.Value) (l, u, logs []float64, perm []int, sign []float64) {
	f := func(x gorgonia.Value) []float64 {
		switch d := x.Data().(type) {
		case []float32:
			out := make([]float64, len(d))
			for i, y := range d {
				out[i] = float64(y)
			}
			return out
		case []float64:
			return d
		}
		return nil
	}
	p := f(v[3])
	perm = make([]int, len(p))
	for i, x := range p {
		perm[i] = int(math.Round(x))
	}
	return f(v[0]), f(v[1]), f(v[2]), perm, f(v[4])
}

func (op *luWeightOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	l, u, logs, perm, sign := luParts(v)
	if err := checkPerm(perm); err != nil {
		return nil, err
	}
	w := ComposeLU(l, u, logs, perm, sign)
	t := tensor.New(tensor.Of(models.DtypeOf(v[0])), tensor.WithShape(op.c, op.c, 1, 1))
	setFloat64s(t, w)
	return t, nil
}

func checkPerm(perm []int) error {
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return fmt.Errorf("flow: LU weight: %v is not a permutation", perm)
		}
		seen[p] = true
	}
	return nil
}

func setFloat64s(t *tensor.Dense, v []float64) {
	switch d := t.Data().(type) {
	case []float32:
		for i, x := range v {
			d[i] = float32(x)
		}
	case []float64:
		copy(d, v)
	}
}

// luFactors returns I + strict lower part of l, and strict upper part of u
// plus diag(sign·exp(logs)), row-major c×c.
func luFactors(l, u, logs, sign []float64) (L, U []float64) {
	c := len(logs)
	L, U = make([]float64, c*c), make([]float64, c*c)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			switch {
			case j < i:
				L[i*c+j] = l[i*c+j]
			case j == i:
				L[i*c+j] = 1
				U[i*c+j] = sign[i] * math.Exp(logs[i])
			default:
				U[i*c+j] = u[i*c+j]
			}
		}
	}
	return L, U
}

// ComposeLU is the matrix LUWeight builds, row-major c×c, in float64.
func ComposeLU(l, u, logs []float64, perm []int, sign []float64) []float64 {
	c := len(logs)
	L, U := luFactors(l, u, logs, sign)
	w := make([]float64, c*c)
	for i := 0; i < c; i++ {
		r := perm[i] // row i of W is row perm[i] of L·U
		for j := 0; j < c; j++ {
			var s float64
			for k := 0; k <= min(r, j); k++ {
				s += L[r*c+k] * U[k*c+j]
			}
			w[i*c+j] = s
		}
	}
	return w
}

func (op *luWeightOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	ds := make(gorgonia.Nodes, 5)
	for which := 0; which < 3; which++ {
		g := &luWeightGradOp{OpBase: models.NewOpBase(fmt.Sprintf("LUWeightGrad%d(%d)", which, op.c), 6), c: op.c, which: which}
		d, err := gorgonia.ApplyOp(g, in[0], in[1], in[2], in[3], in[4], grad)
		if err != nil {
			return nil, err
		}
		ds[which] = d
	}
	return ds, nil
}

// luWeightGradOp: with A = L·U and W = P·A, dA = Pᵀ·dW; then dl is the
// strictly lower part of dA·Uᵀ (which 0), du the strictly upper part of
// Lᵀ·dA (1), and dlogs the diagonal of Lᵀ·dA times sign·exp(logs) (2).
type luWeightGradOp struct {
	models.OpBase
	c, which int
}

func (op *luWeightGradOp) Type() hm.Type {
	if op.which == 2 {
		return models.FnType(1, 2, 2, 1, 1, 1, 4)
	}
	return models.FnType(2, 2, 2, 1, 1, 1, 4)
}
func (op *luWeightGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.which == 2 {
		return tensor.Shape{op.c}, nil
	}
	return tensor.Shape{op.c, op.c}, nil
}
func (op *luWeightGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	l, u, logs, perm, sign := luParts(v[:5])
	c := op.c
	var dw []float64
	switch d := v[5].Data().(type) {
	case []float32:
		dw = make([]float64, len(d))
		for i, x := range d {
			dw[i] = float64(x)
		}
	case []float64:
		dw = d
	}
	L, U := luFactors(l, u, logs, sign)
	dA := make([]float64, c*c)
	for i := 0; i < c; i++ {
		copy(dA[perm[i]*c:(perm[i]+1)*c], dw[i*c:(i+1)*c])
	}
	var res []float64
	switch op.which {
	case 0: // dL = dA·Uᵀ, strictly lower
		res = make([]float64, c*c)
		for i := 0; i < c; i++ {
			for j := 0; j < i; j++ {
				var s float64
				for k := j; k < c; k++ {
					s += dA[i*c+k] * U[j*c+k]
				}
				res[i*c+j] = s
			}
		}
	case 1, 2: // dU = Lᵀ·dA
		res = make([]float64, c*c)
		for i := 0; i < c; i++ {
			for j := i; j < c; j++ {
				var s float64
				for k := i; k < c; k++ {
					s += L[k*c+i] * dA[k*c+j]
				}
				res[i*c+j] = s
			}
		}
		if op.which == 1 {
			for i := 0; i < c; i++ {
				res[i*c+i] = 0
			}
		} else {
			d := make([]float64, c)
			for i := range d {
				d[i] = res[i*c+i] * sign[i] * math.Exp(logs[i])
			}
			res = d
		}
	}
	shape := []int{c, c}
	if op.which == 2 {
		shape = []int{c}
	}
	t := tensor.New(tensor.Of(models.DtypeOf(v[0])), tensor.WithShape(shape...))
	setFloat64s(t, res)
	return t, nil
}

// AffineCoupling is the transformed half of Glow's affine coupling,
// y = (x + t)·σ(r + CouplingShift), where h = [t; r] stacks the shift and
// the raw log-scale on the channel axis: x (N,C,...), h (N,2C,...).
func AffineCoupling(x, h *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkCoupling(x.Shape(), h.Shape()); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(&couplingOp{OpBase: models.NewOpBase("AffineCoupling", 2), rank: x.Dims()}, x, h)
}

func checkCoupling(xs, hs tensor.Shape) error {
	if len(xs) < 2 || len(hs) != len(xs) || hs[0] != xs[0] || hs[1] != 2*xs[1] || !tensor.Shape(hs[2:]).Eq(tensor.Shape(xs[2:])) {
		return fmt.Errorf("flow: coupling of %v by shift and log-scale %v", xs, hs)
	}
	return nil
}

type couplingOp struct {
	models.OpBase
	rank int
	out  models.OutBuf
}

func (op *couplingOp) Type() hm.Type { return models.FnType(op.rank, op.rank, op.rank) }
func (op *couplingOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return models.ShapeOf(in[0]).Clone(), nil
}
func (op *couplingOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := models.NCP(v[0].Shape())
	y := op.out.Get(models.DtypeOf(v[0]), v[0].Shape()...)
	return y, models.Dispatch(v[0],
		func() {
			coupling(models.Slice[float32](v[0]), models.Slice[float32](v[1]), models.Slice[float32](y), n, c, p)
		},
		func() {
			coupling(models.Slice[float64](v[0]), models.Slice[float64](v[1]), models.Slice[float64](y), n, c, p)
		})
}
func coupling[T models.Float](x, h, y []T, n, c, p int) {
	models.ParallelFor(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			xo, to := i*c*p, 2*i*c*p
			ro := to + c*p
			for k := 0; k < c*p; k++ {
				y[xo+k] = (x[xo+k] + h[to+k]) * models.Sigmoid(h[ro+k]+CouplingShift)
			}
		}
	})
}
func (op *couplingOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	ds := make(gorgonia.Nodes, 2)
	for which := range ds {
		g := &couplingGradOp{OpBase: models.NewOpBase(fmt.Sprintf("AffineCouplingGrad%d", which), 3), rank: op.rank, which: which}
		d, err := gorgonia.ApplyOp(g, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		ds[which] = d
	}
	return ds, nil
}

// couplingGradOp, from (x, h, dy) with s = σ(r+2): dx = dy·s (which 0), or
// dh = [dy·s; dy·(x+t)·s·(1−s)] (which 1).
type couplingGradOp struct {
	models.OpBase
	rank, which int
	out         models.OutBuf
}

func (op *couplingGradOp) Type() hm.Type { return models.FnType(op.rank, op.rank, op.rank, op.rank) }
func (op *couplingGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return models.ShapeOf(in[op.which]).Clone(), nil
}
func (op *couplingGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := models.NCP(v[0].Shape())
	y := op.out.Get(models.DtypeOf(v[0]), v[op.which].Shape()...)
	return y, models.Dispatch(v[0],
		func() {
			couplingGrad(op.which, models.Slice[float32](v[0]), models.Slice[float32](v[1]), models.Slice[float32](v[2]), models.Slice[float32](y), n, c, p)
		},
		func() {
			couplingGrad(op.which, models.Slice[float64](v[0]), models.Slice[float64](v[1]), models.Slice[float64](v[2]), models.Slice[float64](y), n, c, p)
		})
}
func couplingGrad[T models.Float](which int, x, h, dy, out []T, n, c, p int) {
	models.ParallelFor(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			xo, to := i*c*p, 2*i*c*p
			ro := to + c*p
			for k := 0; k < c*p; k++ {
				s := models.Sigmoid(h[ro+k] + CouplingShift)
				d := dy[xo+k] * s
				if which == 0 {
					out[xo+k] = d
					continue
				}
				out[to+k] = d
				out[ro+k] = d * (x[xo+k] + h[to+k]) * (1 - s)
			}
		}
	})
}

// CouplingLogDet is the log-determinant of AffineCoupling per sample,
// Σ log σ(r + CouplingShift) over the log-scale half of h (N,2C,...): (N).
func CouplingLogDet(h *gorgonia.Node) (*gorgonia.Node, error) {
	s := h.Shape()
	if len(s) < 2 || s[1]%2 != 0 {
		return nil, fmt.Errorf("flow: coupling log-determinant of %v: want an even channel count", s)
	}
	return gorgonia.ApplyOp(&couplingLogDetOp{OpBase: models.NewOpBase("CouplingLogDet", 1), rank: len(s)}, h)
}

type couplingLogDetOp struct {
	models.OpBase
	rank int
}

func (op *couplingLogDetOp) Type() hm.Type { return models.FnType(1, op.rank) }
func (op *couplingLogDetOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{models.ShapeOf(in[0])[0]}, nil
}
func (op *couplingLogDetOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c2, p := models.NCP(v[0].Shape())
	y := tensor.New(tensor.Of(models.DtypeOf(v[0])), tensor.WithShape(n))
	return y, models.Dispatch(v[0],
		func() { couplingLogDet(models.Slice[float32](v[0]), models.Slice[float32](y), n, c2/2, p) },
		func() { couplingLogDet(models.Slice[float64](v[0]), models.Slice[float64](y), n, c2/2, p) })
}

func couplingLogDet[T models.Float](h, y []T, n, c, p int) {
	for i := 0; i < n; i++ {
		ro := (2*i + 1) * c * p
		var s float64
		for _, r := range h[ro : ro+c*p] {
			s += logSigmoid(float64(r) + CouplingShift)
		}
		y[i] = T(s)
	}
}
func (op *couplingLogDetOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(&couplingLogDetGradOp{OpBase: models.NewOpBase("CouplingLogDetGrad", 2), rank: op.rank}, in[0], grad)
	return gorgonia.Nodes{d}, err
}

// couplingLogDetGradOp: dh = [0; dl·(1 − σ(r+2))] from (h, dl).
type couplingLogDetGradOp struct {
	models.OpBase
	rank int
	out  models.OutBuf
}

func (op *couplingLogDetGradOp) Type() hm.Type { return models.FnType(op.rank, op.rank, 1) }
func (op *couplingLogDetGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return models.ShapeOf(in[0]).Clone(), nil
}
func (op *couplingLogDetGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c2, p := models.NCP(v[0].Shape())
	y := op.out.Get(models.DtypeOf(v[0]), v[0].Shape()...)
	return y, models.Dispatch(v[0],
		func() {
			couplingLogDetGrad(models.Slice[float32](v[0]), models.Slice[float32](v[1]), models.Slice[float32](y), n, c2/2, p)
		},
		func() {
			couplingLogDetGrad(models.Slice[float64](v[0]), models.Slice[float64](v[1]), models.Slice[float64](y), n, c2/2, p)
		})
}
func couplingLogDetGrad[T models.Float](h, dl, out []T, n, c, p int) {
	for i := 0; i < n; i++ {
		to := 2 * i * c * p
		ro := to + c*p
		clear(out[to:ro])
		for k, r := range h[ro : ro+c*p] {
			out[ro+k] = dl[i] * (1 - models.Sigmoid(r+CouplingShift))
		}
	}
}

// GaussianLogDensity is Σ log N(z; m, e^{2·logs}) per sample of z (N,C,...),
// with h = [m; logs] (N,2C,...) stacked on the channel axis, or the
// standard normal when h is nil: (N), in nats.
func GaussianLogDensity(z, h *gorgonia.Node) (*gorgonia.Node, error) {
	if h == nil {
		if z.Dims() < 2 {
			return nil, fmt.Errorf("flow: Gaussian density of %v", z.Shape())
		}
		return gorgonia.ApplyOp(&gaussOp{OpBase: models.NewOpBase("GaussianLogDensity", 1), rank: z.Dims()}, z)
	}
	if err := checkCoupling(z.Shape(), h.Shape()); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(&gaussOp{OpBase: models.NewOpBase("GaussianLogDensity", 2), rank: z.Dims()}, z, h)
}

var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

type gaussOp struct {
	models.OpBase
	rank int
}

func (op *gaussOp) Type() hm.Type {
	if op.Arity() == 1 {
		return models.FnType(1, op.rank)
	}
	return models.FnType(1, op.rank, op.rank)
}
func (op *gaussOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{models.ShapeOf(in[0])[0]}, nil
}
func (op *gaussOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := models.NCP(v[0].Shape())
	y := tensor.New(tensor.Of(models.DtypeOf(v[0])), tensor.WithShape(n))
	return y, models.Dispatch(v[0],
		func() {
			gaussLogDensity(models.Slice[float32](v[0]), hOf[float32](v), models.Slice[float32](y), n, c, p)
		},
		func() {
			gaussLogDensity(models.Slice[float64](v[0]), hOf[float64](v), models.Slice[float64](y), n, c, p)
		})
}
func hOf[T models.Float](v []gorgonia.Value) []T {
	if len(v) < 2 {
		return nil
	}
	return models.Slice[T](v[1])
}

// GaussianLogDensityData is the op's kernel: per sample of z (n,c,p),
// Σ log N(z; m, e^{2·logs}) with h = [m; logs] (n,2c,p), or the standard
// normal when h is nil.
func GaussianLogDensityData[T models.Float](z, h []T, n, c, p int) []float64 {
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		zo := i * c * p
		var s float64
		for k := 0; k < c*p; k++ {
			x := float64(z[zo+k])
			if h != nil {
				m, ls := float64(h[2*zo+k]), float64(h[2*zo+c*p+k])
				e := (x - m) * math.Exp(-ls)
				s += -0.5*e*e - ls
			} else {
				s += -0.5 * x * x
			}
		}
		out[i] = s - float64(c*p)*halfLog2Pi
	}
	return out
}

func gaussLogDensity[T models.Float](z, h, y []T, n, c, p int) {
	for i, v := range GaussianLogDensityData(z, h, n, c, p) {
		y[i] = T(v)
	}
}

func (op *gaussOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	ds := make(gorgonia.Nodes, len(in))
	for which := range ds {
		g := &gaussGradOp{OpBase: models.NewOpBase(fmt.Sprintf("GaussianLogDensityGrad%d/%d", which, len(in)), len(in)+1), rank: op.rank, which: which}
		d, err := gorgonia.ApplyOp(g, append(append(gorgonia.Nodes{}, in...), grad)...)
		if err != nil {
			return nil, err
		}
		ds[which] = d
	}
	return ds, nil
}

// gaussGradOp, from (z, [h,] dl) with e = (z−m)·e^{−logs}: dz = −dl·e·e^{−logs}
// (which 0), or dh = [dl·e·e^{−logs}; dl·(e² − 1)] (which 1).
type gaussGradOp struct {
	models.OpBase
	rank, which int
	out         models.OutBuf
}

func (op *gaussGradOp) Type() hm.Type {
	if op.Arity() == 2 {
		return models.FnType(op.rank, op.rank, 1)
	}
	return models.FnType(op.rank, op.rank, op.rank, 1)
}
func (op *gaussGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return models.ShapeOf(in[op.which]).Clone(), nil
}
func (op *gaussGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	n, c, p := models.NCP(v[0].Shape())
	y := op.out.Get(models.DtypeOf(v[0]), v[op.which].Shape()...)
	dl := v[len(v)-1]
	return y, models.Dispatch(v[0],
		func() {
			gaussGrad(op.which, models.Slice[float32](v[0]), hOf[float32](v[:len(v)-1]), models.Slice[float32](dl), models.Slice[float32](y), n, c, p)
		},
		func() {
			gaussGrad(op.which, models.Slice[float64](v[0]), hOf[float64](v[:len(v)-1]), models.Slice[float64](dl), models.Slice[float64](y), n, c, p)
		})
}
func gaussGrad[T models.Float](which int, z, h, dl, out []T, n, c, p int) {
	for i := 0; i < n; i++ {
		zo, d := i*c*p, float64(dl[i])
		for k := 0; k < c*p; k++ {
			x := float64(z[zo+k])
			if h == nil {
				out[zo+k] = T(-d * x)
				continue
			}
			m, ls := float64(h[2*zo+k]), float64(h[2*zo+c*p+k])
			inv := math.Exp(-ls)
			e := (x - m) * inv
			if which == 0 {
				out[zo+k] = T(-d * e * inv)
			} else {
				out[2*zo+k] = T(d * e * inv)
				out[2*zo+c*p+k] = T(d * (e*e - 1))
			}
		}
	}
}
