// Package gan is genlab's generative adversarial networks: a DCGAN-family
// generator and discriminator built from the models blocks, trained with the
// hinge loss and Adam, one discriminator and one generator update per step.
// Sampling uses an exponential moving average of the generator's weights.
package gan
