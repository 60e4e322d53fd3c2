"""genlab_torch: genlab's diffusion models and their training on PyTorch.

The networks (nets), the training step (diffusion), genlab checkpoints in
and out (checkpoint, safetensors), distributed training under torchrun
(train) and one replayed step for the equivalence test (replay). Needs
PyTorch (Debian: apt-get install python3-torch) and numpy, which it brings.
"""
