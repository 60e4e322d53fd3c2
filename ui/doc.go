// Package ui is genlab's desktop app, on Gio: pick a model, set the knobs,
// watch the images form, keep what you like.
//
// The window has three columns. The left one lists the checkpoints found
// in the model folders (models/ and the run folders of `genlab train` in
// runs/ by default) with each one's family, size, data, step and weight
// count, and opens any checkpoint or genlab PNG by path; on a machine with
// no checkpoint it offers to train a quick one. Under the selected model
// it lists the fine-tunes trained on it (finetune.ForBase), each with a
// switch and a scale slider; Generate and the tasks draw with the ones
// switched on, as --lora does. The middle one holds the
// controls of the panel shown: Generate (seed or a list of seeds,
// count, steps, sampler, guidance, class or prompt, temperature, variation
// seed, as the model's family has them), X/Y plot (two knobs and their
// values, pipeline.XY), Inpaint, Super-res, Style and Edit. The right one shows the
// progress with its ETA, the live preview (diffusion's predicted clean
// image, every few steps), the mask canvas of inpainting, and the gallery,
// whose images save as PNGs with their A1111 parameters chunk. A video
// model's clips (and any animated PNG opened) play in the stage with
// Play/Pause and a frame slider, and save as animated PNGs.
//
// The parts are kept apart so they can be tested without a display:
//
//   - Scan and ReadEntry list checkpoints; Load makes a Model of any
//     family that draws images, and Model.Generate draws with Settings.
//   - Job runs work in a goroutine under a context; the window reads
//     Status snapshots and is told to redraw through a callback.
//   - Tasks is the set of task functions the panels call (package tasks
//     fills it in); Mask is the inpainting mask painted by the mouse.
//   - UI holds the state and widgets; UI.Layout handles a frame's events
//     and draws. Run (built with cgo) opens the window.
//
// A run from the command line:
//
//	genlab ui                      # lists models/ and runs/
//	genlab ui --models DIR --open runs/diffusion/ckpt-005000.safetensors
package ui
