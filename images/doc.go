// Package images reads and writes genlab's images: PNG files carrying their
// generation parameters, sample grids, and the conversion between images
// and the float tensors models work on.
//
// # Files
//
// Load decodes a PNG or JPEG (via disintegration/imaging); every error names
// the file. Save writes a PNG atomically (temporary file, sync, rename), so
// a crash never leaves a half-written image, and stores the AUTOMATIC1111
// "parameters" text when given one. Go's image/png cannot write text chunks,
// so Encode splices one in right after IHDR: tEXt for Latin-1 text, iTXt for
// anything else, as PIL does. ReadParameters reads it back from any PNG
// written by genlab, A1111 or PIL (tEXt, zTXt or iTXt). SampleName gives
// genlab's file names (docs/formats.md), "00012-54.png" or "00012-54-c3.png".
//
// # Parameters
//
// Parameters is the A1111 text in structured form:
//
//	a small red circle at the top left
//	Negative prompt: blurry
//	Steps: 50, Sampler: DDIM, CFG scale: 2, Seed: 42, Size: 28x28, Model: ckpt-000500, Model hash: 0123456789, Family: diffusion
//
// String writes it and ParseParameters reads it back, tolerating what A1111
// and its imitators write (quoted values, unknown keys kept in order in
// Extra), so the UI can offer "reuse settings" for any PNG.
//
// # Grids and tensors
//
// Grid lays out tiles with ceil(sqrt(n)) columns and padding on all sides,
// as torchvision's make_grid does (genlab's grids use 2 px). FromFloats
// and ToFloats convert one CHW image with values in [0, 1] to and from an
// image. ModelHash gives the 10-hex-digit "Model hash" of a checkpoint.
//
// # Example
//
//	img := images.FromFloats(x, 1, 28, 28) // x: one sample, values in [0, 1]
//	p := images.Parameters{Steps: 50, Sampler: "DDIM", CFGScale: 2, Seed: 42,
//		Width: 28, Height: 28, Model: "ckpt-000500", Family: "diffusion"}
//	if err := images.Save("out/00000-42.png", img, p.String()); err != nil {
//		return err
//	}
//	text, err := images.ReadParameters("out/00000-42.png")
//	if err != nil {
//		return err
//	}
//	again, err := images.ParseParameters(text) // again == p
package images
