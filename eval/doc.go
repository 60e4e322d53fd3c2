// Package eval holds genlab's in-project judges and metrics: the MNIST
// classifier whose predictions and penultimate features score generated
// digits (class accuracy, class coverage, Fréchet distance on its
// features), since no pretrained Inception network can be had offline.
package eval
