// Package vae is genlab's variational autoencoder: a convolutional encoder
// and decoder from residual blocks over a spatial latent (Latent × Size/4 ×
// Size/4), a diagonal Gaussian posterior, and a decoder likelihood that is a
// proper distribution on 8-bit pixels: a per-pixel discretised logistic
// (PixelCNN++, one component) on values scaled to [-1,1].
//
// Training minimises the negative ELBO per image in nats with the KL term
// warmed up linearly (β from 0 to 1 over kl_warmup steps). Evaluation gives
// the ELBO and the importance-weighted bound of Burda et al. (2016) with K
// samples, in nats per image or bits per dimension; generation gives
// samples, reconstructions and latent interpolations.
package vae
