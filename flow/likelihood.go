package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"genlab/datasets"
	"genlab/models"
)

// The flow models images y in [0,1)^D, 8-bit pixels dequantised as
// (k + u)/256 with u ~ U[0,1), through the logit pre-processing of
// RealNVP, x = logit(α + (1−2α)·y), whose Jacobian counts in the
// likelihood: log p(y) = log p(x) + Σ log|dx/dy| with
//
//	dx/dy = (1−2α) / (s·(1−s)),  s = α + (1−2α)·y.
//
// Bits per dimension are those of the 8-bit data on [0,256)^D:
// (−log p(y) + D·log 256) / (D·log 2).

// toLogit maps y (batch × Dim) to the flow's input and returns each
// image's Σ log|dx/dy|.
func (n *Network) toLogit(y []float32) (x, logdet []float64) {
	y64 := make([]float64, len(y))
	for i, v := range y {
		y64[i] = float64(v)
	}
	return n.toLogit64(y64)
}

func (n *Network) toLogit64(y []float64) (x, logdet []float64) {
	D := n.Dim()
	a := n.Config.Alpha
	x, logdet = make([]float64, len(y)), make([]float64, len(y)/D)
	for i, v := range y {
		s := a + (1-2*a)*v
		x[i] = math.Log(s) - math.Log1p(-s)
		logdet[i/D] += math.Log(1-2*a) - math.Log(s) - math.Log1p(-s)
	}
	return x, logdet
}

// fromLogit maps the flow's input space back to y, clamped to [0,1].
func (n *Network) fromLogit(x []float64) []float32 {
	a := n.Config.Alpha
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(min(1, max(0, (sigmoid(v)-a)/(1-2*a))))
	}
	return y
}

// chunk is the most images one graph run takes.
const chunk = 64

func (n *Network) images(y []float32) (int, error) {
	D := n.Dim()
	if len(y) == 0 || len(y)%D != 0 {
		return 0, fmt.Errorf("flow: %d values is not a whole number of images of %d", len(y), D)
	}
	return len(y) / D, nil
}

// LogLikelihood is the exact log-density in nats of each image y in
// [0,1)^D (continuous, e.g. dequantised pixels) under the flow with
// weights p, logit pre-processing included.
func (n *Network) LogLikelihood(p *models.Params, y []float32) ([]float64, error) {
	if _, err := n.images(y); err != nil {
		return nil, err
	}
	y64 := make([]float64, len(y))
	for i, v := range y {
		y64[i] = float64(v)
	}
	return n.logLikelihood(p, y64)
}

func (n *Network) logLikelihood(p *models.Params, y []float64) ([]float64, error) {
	D := n.Dim()
	count := len(y) / D
	out := make([]float64, 0, count)
	for lo := 0; lo < count; lo += chunk {
		hi := min(count, lo+chunk)
		x, ld := n.toLogit64(y[lo*D : hi*D])
		e, err := n.evalGraph(p, hi-lo)
		if err != nil {
			return nil, err
		}
		setInput(e.m, "x", x)
		if err := e.m.Run(); err != nil {
			return nil, err
		}
		for i, v := range floats(e.logp) {
			out = append(out, v+ld[i])
		}
	}
	return out, nil
}

// BitsPerDim is the model's exact bits per dimension on 8-bit images
// (pixels in [0,1], taken as k/255), each dequantised once with noise from
// seed: the mean over images of (−log p(y) + D·log 256)/(D·log 2), an
// unbiased estimate of the dequantisation bound on the discrete data's
// negative log-likelihood.
func (n *Network) BitsPerDim(p *models.Params, pix []float32, seed uint64) (float64, error) {
	y := make([]float32, len(pix))
	datasets.Dequantize(y, pix, rand.New(rand.NewPCG(seed, 0xb1d)))
	lp, err := n.LogLikelihood(p, y)
	if err != nil {
		return 0, err
	}
	s := 0.0
	for _, v := range lp {
		s += v
	}
	return n.bitsPerDim(s / float64(len(lp))), nil
}

// bitsPerDim converts a mean log-density of y in nats to bits/dim of the
// 8-bit data.
func (n *Network) bitsPerDim(logp float64) float64 {
	D := float64(n.Dim())
	return (-logp + D*math.Log(256)) / (D * math.Ln2)
}

// Encode maps images y in [0,1)^D to their latents, N(0,I) under the model
// (Dim values per image).
func (n *Network) Encode(p *models.Params, y []float32) ([]float32, error) {
	count, err := n.images(y)
	if err != nil {
		return nil, err
	}
	D := n.Dim()
	out := make([]float32, 0, len(y))
	for lo := 0; lo < count; lo += chunk {
		hi := min(count, lo+chunk)
		x, _ := n.toLogit(y[lo*D : hi*D])
		eps, _, err := n.encode(p, x, hi-lo, false)
		if err != nil {
			return nil, err
		}
		for _, v := range eps {
			out = append(out, float32(v))
		}
	}
	return out, nil
}

// Decode maps latents back to images in [0,1] (Encode's inverse).
func (n *Network) Decode(p *models.Params, eps []float32) ([]float32, error) {
	count, err := n.images(eps)
	if err != nil {
		return nil, err
	}
	D := n.Dim()
	out := make([]float32, 0, len(eps))
	for lo := 0; lo < count; lo += chunk {
		hi := min(count, lo+chunk)
		e := make([]float64, (hi-lo)*D)
		for i, v := range eps[lo*D : hi*D] {
			e[i] = float64(v)
		}
		x, err := n.decode(p, e, hi-lo)
		if err != nil {
			return nil, err
		}
		out = append(out, n.fromLogit(x)...)
	}
	return out, nil
}

// setInput fills a graph input from float64 values.
func setInput(m *models.Machine, name string, v []float64) {
	switch d := m.Input(name).Data().(type) {
	case []float32:
		for i, x := range v {
			d[i] = float32(x)
		}
	case []float64:
		copy(d, v)
	}
}

// floats reads a node's value as float64.
func floats(n *models.Node) []float64 {
	switch d := n.Value().Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	case float32:
		return []float64{float64(d)}
	case float64:
		return []float64{d}
	}
	return nil
}
