// Package torch hands a genlab diffusion checkpoint to the PyTorch package
// in python/genlab_torch and takes its checkpoints back.
//
// Export writes a folder that package reads: the checkpoint and its
// training state under their own names (ckpt.safetensors,
// ckpt.state.safetensors), the config as config.json, and the dataset as
// NumPy .npy files (images.npy, float32 NCHW in [0,1]; labels.npy or
// tokens.npy, int64, for a class or text model). Training there
// (torchrun, DistributedDataParallel) writes genlab checkpoints with the
// same genlab.* metadata plus genlab.trained_by; TrainedBy reads it.
//
//	sum, err := torch.Export("runs/x/ckpt-005000.safetensors", "export", set, 0)
package torch
