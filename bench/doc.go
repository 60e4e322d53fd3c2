// Package bench holds genlab's comparison with PyTorch: unet_step.py, the
// reference UNet in PyTorch under genlab's parameter names, and compare.sh,
// which runs models' benchmarks and that script in one go and prints the
// ratio. Its test checks that the two networks are the same: equal
// parameter counts, genlab's weights loading into PyTorch by name, and equal
// outputs for equal weights and inputs.
package bench
