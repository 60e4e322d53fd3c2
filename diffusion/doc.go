// Package diffusion is genlab's denoising diffusion model over plain
// float32 batches (NCHW images flattened, n images of dim = C*H*W values,
// data scaled to [−1, 1]) in two halves. The math: noise schedules, the
// forward process used by the training loss, samplers, classifier-free
// guidance and the variational bound in bits/dim. The network: Network,
// the UNet of package models as the noise predictor with the schedule it
// is trained on, and its trainer. The halves meet only through Model:
// the samplers know no network, the ε-prediction model is a function, so
// the same samplers drive the UNet, a test oracle or anything else.
//
// # Schedules
//
// A Schedule holds β_t, α_t and ᾱ_t for timesteps 0..T-1 (index t is the
// paper's t+1). Linear is DDPM's (Ho et al. 2020), Cosine is Improved
// DDPM's (Nichol & Dhariwal 2021); NewSchedule picks one by name.
//
// # Training
//
// Schedule.AddNoise forms x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, SampleTimesteps
// draws t, and Schedule.NoisyBatch does both for one batch; the network
// then regresses ε (the DDPM loss, computed in models).
//
// # Sampling
//
// A Sampler is one run's state: Timesteps lists the timesteps it visits
// (evenly spaced from T−1 down to 0, EvenTimesteps) and Step turns ε̂ at
// step i into the next x and the predicted x̂0. DDPM (ancestral, Ho et
// al. 2020), DDIM (Song et al. 2021, with η) and DPMSolver
// (DPM-Solver++(2M), Lu et al. 2022) implement it, one file each, and
// NewSampler picks one by name ("ddpm", "ddim", "dpmpp2m"). All clip x̂0 to
// [−1, 1] unless their ClipX0 field is turned off.
//
// Sample is the loop: it calls the model, applies classifier-free
// Guidance, steps, reports x̂0 to a callback for live previews and stops
// when its context is cancelled. Randomness is per image: InitialNoise and
// the stochastic steps draw image j's noise from rngs[j] only (ImageRNGs
// makes them from a seed, image i from seed+i), so an image is the same
// whatever batch it is generated in.
//
//	sched, _ := diffusion.NewSchedule("linear", 1000)
//	s, err := diffusion.NewSampler("ddim", sched, 50, 0)
//	if err != nil {
//		return err
//	}
//	rngs := diffusion.ImageRNGs(seed, 0, n)
//	x := make([]float32, n*dim)
//	diffusion.InitialNoise(x, rngs, dim)
//	err = diffusion.Sample(ctx, model, s, x, n, dim, rngs, nil, nil)
//
// # Networks and their conditions
//
// Network is genlab's UNet as the noise predictor, built from a Config
// whose Cond says what it is conditioned on: "none"; "class" (a class
// embedding added to the time embedding); "text" (a small transformer
// encoder of the caption, trained jointly, read through cross-attention,
// with two coordinate channels on the input so positions are easy to
// say); or "lowres" (SR3 super-resolution: the bicubic upsampling of the
// low-resolution image, LowResCondition, concatenated to the input).
// Class and text models drop their condition for a share of the training
// examples, so Generate can apply classifier-free guidance against the
// null class or the null prompt. CondModel turns a Network and a
// Condition into the Model the samplers call.
//
// # Likelihood
//
// Schedule.BitsPerDim evaluates the variational bound of Ho et al. 2020
// (eq. 5) with the discretized Gaussian decoder, in bits/dim, exactly over
// all T terms or as an unbiased stratified estimate from fewer;
// Schedule.VariationalBound reports its terms.
package diffusion
