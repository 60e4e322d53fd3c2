// Package train is the training loop every genlab generator shares: data
// order, per-step randomness, checkpoints (every N steps, the last K kept,
// exact resume), NaN stops, sample grids from fixed seeds, loss.csv and the
// loss plot. A family supplies a Trainee: its own step, its weights and
// state, and its sampler; the loop owns everything around them.
package train
