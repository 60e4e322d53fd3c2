"""One training step on a given batch, for checking the PyTorch side
against genlab's (the test of one-step equivalence):

    python3 -m genlab_torch.replay --ckpt C --batch DIR --step K [--total N] --out OUT

loads checkpoint C (and its state file), takes DIR/pixels.npy (N,C,S,S in
[0,1]), DIR/eps.npy, DIR/t.npy and DIR/classes.npy or DIR/tokens.npy (the
conditions after dropout), runs Trainer.step_on(K, ...) on one process (in a run that ends at
--total) and
writes OUT/ckpt-K.safetensors and its state file.
"""

import argparse
import os

import numpy as np
import torch

from . import checkpoint
from .train import trainer_from


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--total", type=int, default=0, help="the step the run ends at, for a cosine learning rate (default --step)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    src = checkpoint.Loaded(a.ckpt)
    tr = trainer_from(src, a.total or a.step, torch.device("cpu"), False)
    arr = lambda name: torch.from_numpy(np.load(os.path.join(a.batch, name)))
    opt = lambda name: arr(name).long() if os.path.exists(os.path.join(a.batch, name)) else None
    losses = tr.step_on(a.step, arr("pixels.npy"), arr("eps.npy"), arr("t.npy").long(), opt("classes.npy"), opt("tokens.npy"))
    os.makedirs(a.out, exist_ok=True)
    print(checkpoint.save(a.out, a.step, tr, src, "pytorch (replay)"), losses["loss"])


if __name__ == "__main__":
    main()
