// Package checkpoint reads and writes genlab checkpoints in the safetensors
// format, so that PyTorch and every safetensors reader can load the weights
// and genlab can load theirs.
//
// # Format
//
// A safetensors file is
//
//	8 bytes    N, the header length, little-endian uint64
//	N bytes    JSON header, starting with '{', padded at the end with spaces
//	rest       tensor data: raw little-endian, row-major bytes
//
// The header maps each tensor name to
//
//	{"dtype": "F32", "shape": [16, 1, 3, 3], "data_offsets": [begin, end]}
//
// with offsets relative to the start of the data, and may hold a
// "__metadata__" object of strings. Write emits compact JSON with the tensors
// sorted by name, stored contiguously in that order, and pads the header so
// the data starts at a multiple of 8 bytes. Readers accept any tensor order
// (the reference implementation sorts by dtype first) as long as the tensors
// tile the data exactly.
//
// # Checking
//
// A checkpoint that is truncated, corrupt or not what its header says is
// refused with a *FormatError naming the file and the mismatch, e.g.
//
//	checkpoint: run/ckpt-000500.safetensors: truncated: header says 2458948 data bytes, file has 1024
//
// The reader refuses: files shorter than 8 bytes; a header longer than
// MaxHeaderSize or than the file; a header that is not UTF-8, not JSON or not
// an object; duplicate names; non-string metadata; unknown dtypes; missing,
// negative or non-integer dimensions and offsets; a byte span that is not
// product(shape)*sizeof(dtype); holes and overlaps between tensors; and data
// shorter or longer than the last tensor's end. Memory is allocated by the
// bytes actually present, never by what a header claims, and no input makes
// the reader panic (see FuzzRead).
//
// File.CheckShapes compares the tensors with what a model expects and
// returns a *ShapeError listing every missing, unexpected and mis-shaped
// tensor; File.CheckFormat checks the genlab.format version.
//
// # genlab metadata
//
// genlab stores KeyFamily, KeyConfig (JSON), KeyStep and KeyFormat
// (FormatVersion) in __metadata__. Weight names follow PyTorch's dotted style,
// e.g. "down.0.res.conv1.weight".
//
// # Saving
//
// Save is atomic: it writes a temporary file beside the target, syncs it and
// renames it into place, so a crash never leaves a truncated checkpoint under
// the final name.
//
// # Example
//
//	f := &checkpoint.File{
//		Metadata: map[string]string{
//			checkpoint.KeyFamily: "diffusion",
//			checkpoint.KeyStep:   "500",
//			checkpoint.KeyFormat: strconv.Itoa(checkpoint.FormatVersion),
//		},
//		Tensors: []checkpoint.Tensor{
//			checkpoint.F32("conv.weight", []int{2, 1, 1, 1}, []float32{0.5, -1}),
//		},
//	}
//	if err := checkpoint.Save("run/ckpt-000500.safetensors", f); err != nil {
//		return err
//	}
//	g, err := checkpoint.Load("run/ckpt-000500.safetensors")
//	if err != nil {
//		return err // names the file and what is wrong with it
//	}
//	if err := g.CheckShapes(map[string][]int{"conv.weight": {2, 1, 1, 1}}); err != nil {
//		return err
//	}
//	w, _ := g.Get("conv.weight")
//	weights, err := w.Float32s()
package checkpoint
