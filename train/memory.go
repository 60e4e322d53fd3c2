package train

import (
	"fmt"

	"genlab/internal/memory"
)

// checkMemory refuses a run whose estimated memory exceeds the limit
// (MemAvailable, or --max-memory) before its first step allocates: the
// weights four times over (the model, its gradients and Adam's two
// moments) plus the EMA, the batch itself, and a batch of activations in
// the forward and backward passes, twice sampling's estimate (8 floats per
// pixel and channel of the widest conv; see cmd/genlab's requestBytes).
func checkMemory(t Trainee, o Options) error {
	w := t.Weights()
	width := int64(64)
	for _, s := range w.Shapes() {
		if len(s) == 4 {
			width = max(width, int64(s[0]))
		}
	}
	d := o.Data
	pixels := int64(d.H) * int64(d.W)
	need := memory.Add(
		memory.Mul(4*5, int64(w.Count())),
		memory.Mul(4, int64(o.Batch), int64(d.C), pixels),
		memory.Mul(2*4*8, int64(o.Batch), width, pixels),
	)
	return memory.Check(fmt.Sprintf("train: a %s run at a batch of %d %dx%d images", t.Family(), o.Batch, d.W, d.H), need)
}
