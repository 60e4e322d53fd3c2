package flow

import (
	"fmt"
	"math"

	"genlab/models"

	"gonum.org/v1/gonum/mat"
)

// The flow outside a graph, in float64: the inverse (sampling) has to undo
// the layers one at a time, each coupling needing its network's output on
// the half it left alone, so the coupling networks and priors are compiled
// one by one and everything else runs here. The forward direction is here
// too, for actnorm's data-dependent initialisation and to check the graph.

// hostNets are the coupling networks and priors of weights p, each its own
// graph for one batch size.
type hostNets struct {
	coupling [][]netRun
	prior    []netRun
}

// netRun is one compiled network: input "x", output out.
type netRun struct {
	m   *models.Machine
	out *models.Node
}

func (r netRun) run(x []float64) ([]float64, error) {
	switch d := r.m.Input("x").Data().(type) {
	case []float32:
		for i, v := range x {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, x)
	}
	if err := r.m.Run(); err != nil {
		return nil, err
	}
	switch d := r.out.Value().Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, nil
	case []float64:
		return append([]float64(nil), d...), nil
	}
	return nil, fmt.Errorf("flow: network output of type %T", r.out.Value().Data())
}

func (n *Network) hostNets(p *models.Params, batch int) (*hostNets, error) {
	key := graphKey{p, batch}
	if h, ok := n.hosts[key]; ok {
		return h, nil
	}
	compile := func(in, side int, fwd func(g *models.Graph, x *models.Node) *models.Node) (netRun, error) {
		g := models.NewGraph(p)
		out := fwd(g, g.Input("x", batch, in, side, side))
		m, err := g.Compile(nil)
		if err != nil {
			return netRun{}, err
		}
		return netRun{m: m, out: out}, nil
	}
	h := &hostNets{}
	for _, lv := range n.levels {
		var runs []netRun
		for _, st := range lv.steps {
			r, err := compile(lv.channels/2, lv.side, st.net.fwd)
			if err != nil {
				return nil, err
			}
			runs = append(runs, r)
		}
		h.coupling = append(h.coupling, runs)
		if lv.prior != nil {
			r, err := compile(lv.channels/2, lv.side, lv.prior.Fwd)
			if err != nil {
				return nil, err
			}
			h.prior = append(h.prior, r)
		}
	}
	n.hosts[key] = h
	return h, nil
}

// channels returns channels [lo,hi) of x (n,c,p).
func channels(x []float64, n, c, p, lo, hi int) []float64 {
	w := hi - lo
	out := make([]float64, n*w*p)
	for i := 0; i < n; i++ {
		copy(out[i*w*p:(i+1)*w*p], x[(i*c+lo)*p:(i*c+hi)*p])
	}
	return out
}

// setChannels writes v (n,hi−lo,p) into channels [lo,hi) of x (n,c,p).
func setChannels(x, v []float64, n, c, p, lo, hi int) {
	w := hi - lo
	for i := 0; i < n; i++ {
		copy(x[(i*c+lo)*p:(i*c+hi)*p], v[i*w*p:(i+1)*w*p])
	}
}

// mix applies the c×c matrix w to the channels of x (n,c,p): the 1×1 conv.
func mix(w, x []float64, n, c, p int) []float64 {
	out := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for r := 0; r < c; r++ {
			dst := out[(i*c+r)*p : (i*c+r+1)*p]
			for k := 0; k < c; k++ {
				wk := w[r*c+k]
				src := x[(i*c+k)*p : (i*c+k+1)*p]
				for q, v := range src {
					dst[q] += wk * v
				}
			}
		}
	}
	return out
}

// invConv is the weight of a step's 1×1 convolution, c×c row-major.
func invConv(p *models.Params, step string) []float64 {
	ic := step + ".invconv"
	pv := vals(p, ic+".perm")
	perm := make([]int, len(pv))
	for i, v := range pv {
		perm[i] = int(math.Round(v))
	}
	return ComposeLU(vals(p, ic+".lower"), vals(p, ic+".upper"), vals(p, ic+".logs"), perm, vals(p, ic+".sign"))
}

func inverse(w []float64, c int) ([]float64, error) {
	var inv mat.Dense
	if err := inv.Inverse(mat.NewDense(c, c, append([]float64(nil), w...))); err != nil {
		return nil, fmt.Errorf("flow: 1×1 convolution is not invertible: %w", err)
	}
	out := make([]float64, c*c)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			out[i*c+j] = inv.At(i, j)
		}
	}
	return out, nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// logSigmoid is log σ(x) = −softplus(−x), without overflow.
func logSigmoid(x float64) float64 {
	if x < -30 {
		return x
	}
	return -math.Log1p(math.Exp(-x))
}

// encode maps a batch in logit space (batch,C,S,S) to its latents, each
// image's standardised by its prior so that they are N(0,I) under the
// model (Dim values per image: each factored-out half in level order,
// then the last level's output), and the per-image log|det| of that map.
// With init, every actnorm is first set from the statistics of its input
// on this batch (Glow's data-dependent initialisation), in order.
func (n *Network) encode(p *models.Params, x []float64, batch int, init bool) (eps, logdet []float64, err error) {
	hs, err := n.hostNets(p, batch)
	if err != nil {
		return nil, nil, err
	}
	D := n.Dim()
	eps, logdet = make([]float64, batch*D), make([]float64, batch)
	h := append([]float64(nil), x...)
	C, side := n.Config.InChannels, n.Config.Size
	off := 0
	for l, lv := range n.levels {
		y := make([]float64, len(h))
		SqueezeData(h, y, batch, C, side, side, false)
		h, C, side = y, lv.channels, lv.side
		P := side * side
		for k, st := range lv.steps {
			if init {
				initActNorm(p, st.name, h, batch, C, P)
			}
			logs, bias := vals(p, st.name+".actnorm.logs"), vals(p, st.name+".actnorm.bias")
			for i := 0; i < batch; i++ {
				for c := 0; c < C; c++ {
					s := math.Exp(logs[c])
					row := h[(i*C+c)*P : (i*C+c+1)*P]
					for q := range row {
						row[q] = (row[q] + bias[c]) * s
					}
				}
			}
			h = mix(invConv(p, st.name), h, batch, C, P)
			shared := 0.0
			for c := 0; c < C; c++ {
				shared += logs[c]
			}
			for _, v := range vals(p, st.name+".invconv.logs") {
				shared += v
			}
			out, err := hs.coupling[l][k].run(channels(h, batch, C, P, 0, C/2))
			if err != nil {
				return nil, nil, err
			}
			half := C / 2 * P
			for i := 0; i < batch; i++ {
				xb := h[(i*C+C/2)*P : (i+1)*C*P]
				t, r := out[i*C*P:i*C*P+half], out[i*C*P+half:(i+1)*C*P]
				ld := float64(P) * shared
				for q := range xb {
					a := r[q] + CouplingShift
					xb[q] = (xb[q] + t[q]) * sigmoid(a)
					ld += logSigmoid(a)
				}
				logdet[i] += ld
			}
		}
		if lv.prior != nil {
			keep := channels(h, batch, C, P, 0, C/2)
			pr, err := hs.prior[l].run(keep)
			if err != nil {
				return nil, nil, err
			}
			half := C / 2 * P
			for i := 0; i < batch; i++ {
				z := h[(i*C+C/2)*P : (i+1)*C*P]
				m, ls := pr[i*C*P:i*C*P+half], pr[i*C*P+half:(i+1)*C*P]
				dst := eps[i*D+off : i*D+off+half]
				for q := range z {
					dst[q] = (z[q] - m[q]) * math.Exp(-ls[q])
					logdet[i] -= ls[q]
				}
			}
			off += half
			h, C = keep, C/2
			continue
		}
		for i := 0; i < batch; i++ {
			copy(eps[i*D+off:(i+1)*D], h[i*C*P:(i+1)*C*P])
		}
	}
	return eps, logdet, nil
}

// initActNorm sets a step's actnorm so that its output on x (batch,C,P)
// has zero mean and unit variance per channel.
func initActNorm(p *models.Params, step string, x []float64, batch, C, P int) {
	logs, bias := make([]float64, C), make([]float64, C)
	for c := 0; c < C; c++ {
		var s, ss float64
		for i := 0; i < batch; i++ {
			for _, v := range x[(i*C+c)*P : (i*C+c+1)*P] {
				s += v
				ss += v * v
			}
		}
		m := float64(batch * P)
		mean := s / m
		std := math.Sqrt(max(ss/m-mean*mean, 0))
		bias[c], logs[c] = -mean, -math.Log(std+1e-6)
	}
	setVals(p, step+".actnorm.logs", logs)
	setVals(p, step+".actnorm.bias", bias)
}

// decode is encode's inverse: latents (batch × Dim) back to logit space.
func (n *Network) decode(p *models.Params, eps []float64, batch int) ([]float64, error) {
	hs, err := n.hostNets(p, batch)
	if err != nil {
		return nil, err
	}
	D, L := n.Dim(), len(n.levels)
	offs := make([]int, L)
	off := 0
	for l, lv := range n.levels {
		offs[l] = off
		if lv.prior != nil {
			off += lv.channels / 2 * lv.side * lv.side
		}
	}
	top := n.levels[L-1]
	C, P := top.channels, top.side*top.side
	h := make([]float64, batch*C*P)
	for i := 0; i < batch; i++ {
		copy(h[i*C*P:(i+1)*C*P], eps[i*D+offs[L-1]:(i+1)*D])
	}
	for l := L - 1; l >= 0; l-- {
		lv := n.levels[l]
		C, P = lv.channels, lv.side*lv.side
		if lv.prior != nil {
			keep := h
			pr, err := hs.prior[l].run(keep)
			if err != nil {
				return nil, err
			}
			half := C / 2 * P
			h = make([]float64, batch*C*P)
			setChannels(h, keep, batch, C, P, 0, C/2)
			for i := 0; i < batch; i++ {
				z := h[(i*C+C/2)*P : (i+1)*C*P]
				m, ls := pr[i*C*P:i*C*P+half], pr[i*C*P+half:(i+1)*C*P]
				e := eps[i*D+offs[l] : i*D+offs[l]+half]
				for q := range z {
					z[q] = m[q] + math.Exp(ls[q])*e[q]
				}
			}
		}
		for k := len(lv.steps) - 1; k >= 0; k-- {
			st := lv.steps[k]
			out, err := hs.coupling[l][k].run(channels(h, batch, C, P, 0, C/2))
			if err != nil {
				return nil, err
			}
			half := C / 2 * P
			for i := 0; i < batch; i++ {
				yb := h[(i*C+C/2)*P : (i+1)*C*P]
				t, r := out[i*C*P:i*C*P+half], out[i*C*P+half:(i+1)*C*P]
				for q := range yb {
					yb[q] = yb[q]/sigmoid(r[q]+CouplingShift) - t[q]
				}
			}
			winv, err := inverse(invConv(p, st.name), C)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
			h = mix(winv, h, batch, C, P)
			logs, bias := vals(p, st.name+".actnorm.logs"), vals(p, st.name+".actnorm.bias")
			for i := 0; i < batch; i++ {
				for c := 0; c < C; c++ {
					s := math.Exp(-logs[c])
					row := h[(i*C+c)*P : (i*C+c+1)*P]
					for q := range row {
						row[q] = row[q]*s - bias[c]
					}
				}
			}
		}
		y := make([]float64, len(h))
		SqueezeData(h, y, batch, C/4, 2*lv.side, 2*lv.side, true)
		h = y
	}
	return h, nil
}
