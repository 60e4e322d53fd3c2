package flow

import (
	"context"
	"fmt"

	"genlab/internal/noise"
	"genlab/models"
)

// Sample draws n images from the flow with weights p at a temperature:
// image i's latents are temperature·ε with ε ~ N(0,I) from its own RNG
// seeded seed+i (noise.RNG), decoded to pixels in [0,1], NCHW.
// Temperature 1 samples the model; lower values (Glow uses 0.7) trade
// diversity for cleaner images.
func (n *Network) Sample(p *models.Params, count int, seed uint64, temperature float64) ([]float32, error) {
	return n.SampleSeeds(context.Background(), p, noise.Seeds(seed, count), temperature)
}

// SampleSeeds is Sample for images with seeds of their own: image i is the
// image Sample makes from seeds[i], whatever the batch.
func (n *Network) SampleSeeds(ctx context.Context, p *models.Params, seeds []uint64, temperature float64) ([]float32, error) {
	if len(seeds) < 1 {
		return nil, fmt.Errorf("flow: sample %d images: need at least one", len(seeds))
	}
	if !(temperature >= 0) {
		return nil, fmt.Errorf("flow: temperature %g: want 0 or more", temperature)
	}
	D := n.Dim()
	out := make([]float32, 0, len(seeds)*D)
	for lo := 0; lo < len(seeds); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(len(seeds), lo+chunk)
		eps := make([]float64, (hi-lo)*D)
		for i, s := range seeds[lo:hi] {
			rng := noise.RNG(s)
			for j := 0; j < D; j++ {
				eps[i*D+j] = temperature * rng.NormFloat64()
			}
		}
		x, err := n.decode(p, eps, hi-lo)
		if err != nil {
			return nil, err
		}
		out = append(out, n.fromLogit(x)...)
	}
	return out, nil
}
