// Package tasks does what people want done to images with genlab's
// generators: inpainting, image editing (image-to-image), style transfer,
// super-resolution and text-to-image. It is the only glue between the
// models and the CLI and UI, which turn their settings into a task's
// Params and call its one entry point:
//
//	Inpaint(ctx, InpaintParams) (image.Image, error)   RePaint (inpaint.go)
//	Edit(ctx, EditParams) (image.Image, error)         SDEdit (edit.go)
//	Style(ctx, StyleParams) (image.Image, error)       Gatys et al. (style.go)
//
// Every task takes the user's own images of any size and colour model:
// FitImage pads one to a square and fits it to the model's frame, and
// Frame puts the result back at the image's size (imageio.go). Under the
// entry points are batch functions over model-range tensors (Repaint,
// SDEdit, StyleTransfer, InferClasses, NameClasses) that the evaluations
// use.
//
// # Evaluation
//
// Each task is evaluated on held-out data beside naive baselines
// (baseline.go: mean-fill, blur-fill, blending, colour transfer) with the
// measures of metrics.go (PSNR; SSIM with the Gaussian window of Wang et
// al. 2004; the in-project classifier's accuracy). EvalTasks lists the
// evaluations; RunEval runs them and WriteTable puts every task's rows in
// one Markdown table, as `genlab eval-tasks` does:
//
//	env := &tasks.EvalEnv{Ckpts: map[string]string{"ckpt": "runs/diffusion-small/ckpt-005000.safetensors"},
//		ClassifierPath: "runs/classifier/classifier.safetensors", N: 200, InpaintGuidance: 2, Guidance: 3}
//	results, _, err := tasks.RunEval(ctx, env, []string{"inpaint"})
//	if err != nil {
//		return err
//	}
//	return tasks.WriteTable(os.Stdout, results)
//
// A new task's evaluation is an EvalTask appended to EvalTasks (from an
// init function in the task's own file, if need be): the CLI makes a flag
// for its checkpoint and the table gains its rows and columns.
package tasks
