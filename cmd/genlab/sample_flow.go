package main

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"genlab/flow"
	"genlab/images"

	"github.com/urfave/cli/v2"
)

// flowGenerator drives a flow checkpoint: samples at --temperature, and
// the exact bits/dim.
func flowGenerator(c *cli.Context, verb string, g *generator, base images.Parameters) (*generator, error) {
	temp := c.Float64("temperature")
	if math.IsNaN(temp) || temp < 0 || temp > 2 {
		return nil, userErrorf("%s: --temperature %g: want 0 to 2 (1 samples the model, 0.7 is Glow's choice)", verb, temp)
	}
	net, err := flow.LoadNetwork(g.ckpt)
	if err != nil {
		return nil, err
	}
	cfg := net.Config
	g.channels, g.size = cfg.InChannels, cfg.Size
	g.draw = func(ctx context.Context, seeds []uint64, _ []int, progress func(int, int)) ([]float32, error) {
		const chunk = 64
		out := make([]float32, 0, len(seeds)*net.Dim())
		for lo := 0; lo < len(seeds); lo += chunk {
			pix, err := net.SampleSeeds(ctx, net.Params, seeds[lo:min(len(seeds), lo+chunk)], temp)
			if err != nil {
				return nil, err
			}
			out = append(out, pix...)
			if progress != nil {
				progress(min(len(seeds), lo+chunk), len(seeds))
			}
		}
		return out, nil
	}
	g.settings = func(seed uint64, class int) images.Parameters {
		p := base
		p.Seed, p.Width, p.Height = int64(seed), g.size, g.size
		p.Extra = append(p.Extra, images.Field{Key: "Temperature", Value: strconv.FormatFloat(temp, 'g', -1, 64)})
		return p
	}
	g.bpd = func(ctx context.Context, pix []float32, n int, seed uint64) (float64, string, error) {
		bpd, err := flowBitsPerDim(ctx, net, pix, n, seed)
		return bpd, "exact, one dequantisation per image", err
	}
	return g, nil
}

// flowBitsPerDim is the flow's exact bits/dim on n images (pixels in
// [0,1], taken as 8-bit), in chunks with their own dequantisation noise so
// that it can stop between them.
func flowBitsPerDim(ctx context.Context, net *flow.Network, pix []float32, n int, seed uint64) (float64, error) {
	const chunk = 200
	sum := 0.0
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hi := min(n, lo+chunk)
		b, err := net.BitsPerDim(net.Params, pix[lo*net.Dim():hi*net.Dim()], seed+uint64(lo))
		if err != nil {
			return 0, fmt.Errorf("flow bits/dim: %w", err)
		}
		sum += b * float64(hi-lo)
	}
	return sum / float64(n), nil
}
