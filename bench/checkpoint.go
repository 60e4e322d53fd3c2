package bench

import (
	"encoding/json"
	"fmt"

	"genlab/diffusion"
	"genlab/models"
)

// Classes is the number of classes of ClassCheckpoint's network (MNIST's).
const Classes = 10

// ClassCheckpoint writes to path a freshly initialised class-conditional
// diffusion network for 28x28 grey digits (10 classes, the linear
// schedule of 1000 steps) at the named UNet size ("small" is the
// reference network's widths), seeded by seed, as a genlab checkpoint that
// `genlab sample` and python/genlab_torch both read. The speed of sampling
// does not depend on the weights' values, so the end-to-end benchmark
// samples from it instead of training a model first.
func ClassCheckpoint(path, size string, seed uint64) (*diffusion.Network, error) {
	cfg, err := diffusion.NewConfig(size, 1, 28, "class", Classes)
	if err != nil {
		return nil, err
	}
	cfg.Data = "mnist"
	net, err := diffusion.NewNetwork(cfg, seed)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	meta := models.Meta{Family: diffusion.Family, Config: raw, Step: 1, Extra: map[string]string{"genlab.data": "mnist"}}
	if err := models.SaveWeights(path, net.Params, meta); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return net, nil
}
