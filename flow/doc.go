// Package flow is genlab's normalizing flow: a multi-scale Glow/RealNVP
// flow (Dinh et al., "Density estimation using Real NVP", 2017; Kingma &
// Dhariwal, "Glow", 2018) with an exact log-likelihood.
//
// Images y in [0,1)^D (8-bit pixels dequantised with uniform noise) are
// mapped by the logit pre-processing x = logit(α + (1−2α)·y) (α = 1e-4,
// see Config.Alpha), then through Levels scales. Each scale squeezes 2×2 blocks of pixels into channels
// and runs Depth steps of
//
//	actnorm (per-channel affine, initialised from the first batch)
//	invertible 1×1 convolution, W = P·L·U with log|det W| = Σ log|diag U|
//	affine coupling: y_b = (x_b + t(x_a))·σ(r(x_a) + 2), x_a unchanged
//
// (for MNIST, 1×28×28 → 4×14×14 → factor out 2×14×14 → 8×7×7)
// and every scale but the last factors out half of its channels as a
// latent whose Gaussian prior is conditioned on the other half. The last
// scale's output is N(0,I). The coupling networks are built from the
// shared blocks of package models (convolutions, GroupNorm + SiLU,
// residual blocks); the flow's own layers (squeeze, actnorm, the LU
// weight, the coupling and its log-determinant, the Gaussian prior) are
// gorgonia ops in op.go, written with the op kit of package models and
// checked against finite differences like the ops there, so training gets
// its gradients from autodiff.
//
// log p(y) sums the latents' log-densities and every log-determinant,
// the logit's included; BitsPerDim adds the 256-level discretisation to
// report bits per dimension of the 8-bit data. Sampling draws the latents
// at a temperature and runs the flow backwards.
//
//	net, _ := flow.NewNetwork(flow.DefaultConfig(1, 28), 1)
//	tr, _ := flow.NewTrainer(net, steps)      // a train.Trainee
//	bpd, _ := net.BitsPerDim(net.Params, testPixels, 1)
//	pix, _ := net.Sample(net.Params, 16, 0, 0.7)
package flow
