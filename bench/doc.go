// Package bench holds genlab's comparison with PyTorch: unet_step.py, the
// reference UNet in PyTorch under genlab's parameter names, and compare.sh,
// which runs models' benchmarks and that script in one go and prints the
// ratio. Its test checks that the two networks are the same: equal
// parameter counts, genlab's weights loading into PyTorch by name, and equal
// outputs for equal weights and inputs. ddim_sample.py is genlab's DDIM
// sampler loop on that network, for compare.sh's end-to-end row (genlab
// sample against it); ClassCheckpoint writes the checkpoint both draw from,
// and a test checks the loop's pixels against genlab's Generate.
package bench
