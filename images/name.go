package images

import "fmt"

// SampleName returns genlab's file name for the i-th image of a run:
// "NNNNN-SEED.png", or "NNNNN-SEED-cK.png" for class K >= 0 (pass a
// negative class for unconditional images). seed is the image's own seed,
// seed+i for the i-th image of a run, so the name alone reproduces it.
func SampleName(i int, seed int64, class int) string {
	if class >= 0 {
		return fmt.Sprintf("%05d-%d-c%d.png", i, seed, class)
	}
	return fmt.Sprintf("%05d-%d.png", i, seed)
}
