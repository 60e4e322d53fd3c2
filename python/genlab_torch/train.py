"""Train a genlab diffusion checkpoint on PyTorch's distributed engine and
write genlab checkpoints back.

    genlab export --to pytorch --ckpt runs/x/ckpt-005000.safetensors --out export/
    PYTHONPATH=python torchrun --standalone --nproc_per_node 2 -m genlab_torch.train \\
        --from export/ --steps 6000 --out runs/x-torch

(Debian's torchrun, PyTorch 1.13 on Python 3.11, also needs -r 1 -t 1:
it cannot parse its own default --redirects 0.)

--from is the folder `genlab export --to pytorch` wrote (checkpoint, its
training state when there is one, config.json, the dataset as .npy);
--steps is the step the run ends at, as in `genlab train`. Every process
takes batch/world images per step (the global batch stays the config's,
so its learning rate still fits); DistributedDataParallel averages the
gradients (gloo on CPU, NCCL on GPUs). Process 0 writes
ckpt-STEP.safetensors and its .state.safetensors every --save-every steps
and at the end, with the source's genlab.* metadata and
genlab.trained_by, so `genlab sample`, the tasks and the app read them,
and `genlab train diffusion --resume` goes on from them.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from . import checkpoint
from .diffusion import Trainer


def load_data(d, cfg):
    """The exported dataset: images.npy (N,C,S,S float32 in [0,1]), and
    labels.npy (N) or tokens.npy (N,L) for a class or text model."""
    x = torch.from_numpy(np.load(os.path.join(d, "images.npy")))
    u = cfg["unet"]
    want = (u["in_channels"], u["size"], u["size"])
    if x.dim() != 4 or tuple(x.shape[1:]) != want:
        sys.exit(f"{d}/images.npy holds {tuple(x.shape)}, the model takes (N,{','.join(map(str, want))})")
    labels = tokens = None
    if cfg.get("cond") == "class":
        labels = torch.from_numpy(np.load(os.path.join(d, "labels.npy"))).long()
    if cfg.get("cond") == "text":
        tokens = torch.from_numpy(np.load(os.path.join(d, "tokens.npy"))).long()
    return x, labels, tokens


def find_checkpoint(d):
    path = os.path.join(d, "ckpt.safetensors")
    if not os.path.exists(path):
        sys.exit(f"{d}: no ckpt.safetensors; write the folder with genlab export --to pytorch")
    return path


def trainer_from(src, total, device, ddp):
    net = src.network().to(device)
    model = net
    if ddp:
        model = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    tr = Trainer(src.config, model, total)
    for n, p in src.weights.items():
        tr.ema[n] = p.to(device).clone()
    tr.set_adam_state(src.adam_step, src.moments)
    return tr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="src", required=True, help="the folder genlab export --to pytorch wrote")
    ap.add_argument("--out", required=True, help="run folder for the checkpoints (created)")
    ap.add_argument("--steps", type=int, required=True, help="the step the run ends at")
    ap.add_argument("--save-every", type=int, default=0, help="checkpoint every N steps (default: at the end only)")
    ap.add_argument("--seed", type=int, default=0, help="data order and per-step noise")
    ap.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu or cuda")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads per process (default: cores/processes)")
    a = ap.parse_args(argv)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(a.threads or max(1, (os.cpu_count() or 1) // max(1, world)))
    ddp = world > 1
    if ddp:
        dist.init_process_group("nccl" if cuda else "gloo")

    src = checkpoint.Loaded(find_checkpoint(a.src))
    cfg = src.config
    if a.steps <= src.step:
        sys.exit(f"{src.path} is at step {src.step} already; ask for more --steps than that")
    batch = cfg["batch"]
    if batch % world:
        sys.exit(f"the config's batch {batch} does not split over {world} processes")
    x, labels, tokens = load_data(a.src, cfg)
    per = batch // world
    if x.shape[0] < batch:
        sys.exit(f"the dataset holds {x.shape[0]} images, fewer than one batch of {batch}")
    tr = trainer_from(src, a.steps, device, ddp)
    if rank == 0:
        os.makedirs(a.out, exist_ok=True)
        print(f"training {src.path} (step {src.step}) to step {a.steps} on {world} process(es), "
              f"{'nccl' if cuda else 'gloo' if ddp else 'one process'}, {per} images each per step", flush=True)
    how = f"pytorch {torch.__version__}, {world} process(es), {'cuda' if cuda else 'cpu'}"
    steps_per_epoch = x.shape[0] // batch
    began = time.time()
    log = []
    for step in range(src.step + 1, a.steps + 1):
        k = step - src.step - 1
        epoch, pos = divmod(k, steps_per_epoch)
        # Every process draws the same permutation of the epoch and takes
        # its own slice of the step's global batch.
        perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(a.seed * 1_000_003 + epoch))
        idx = perm[pos * batch + rank * per: pos * batch + (rank + 1) * per]
        gen = torch.Generator().manual_seed((a.seed * 1_000_003 + step) * 4099 + rank)
        cl = labels[idx] if labels is not None else None
        tk = tokens[idx] if tokens is not None else None
        t, eps, cl, tk = tr.draw(x[idx], cl, tk, gen)
        losses = tr.step_on(step, x[idx], eps, t, cl, tk)
        if ddp:
            l = torch.tensor([losses["loss"]], device=device)
            dist.all_reduce(l)
            losses["loss"] = l.item() / world
        if not np.isfinite(losses["loss"]):
            sys.exit(f"step {step}: loss is not finite ({losses['loss']})")
        log.append((step, losses, time.time() - began))
        if rank == 0 and (step == a.steps or (a.save_every and step % a.save_every == 0)):
            path = checkpoint.save(a.out, step, tr, src, how)
            write_log(os.path.join(a.out, "loss.csv"), log)
            print(f"step {step} loss {losses['loss']:.4f}: saved {path}", flush=True)
    if ddp:
        dist.barrier()
        dist.destroy_process_group()


def write_log(path, rows):
    """loss.csv as genlab writes it: step, loss, the other values sorted,
    seconds; the rows of an earlier session in the same file are kept up to
    where this one starts."""
    header = "step,loss,grad_norm,lr,seconds\n"
    kept = []
    if os.path.exists(path):
        with open(path) as f:
            lines = f.readlines()
        if lines and lines[0] == header:
            kept = [l for l in lines[1:] if l.endswith("\n") and l.split(",")[0].isdigit() and int(l.split(",")[0]) < rows[0][0]]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(header)
        f.writelines(kept)
        for step, l, s in rows:
            f.write(f"{step},{l['loss']:.7g},{l['grad_norm']:.7g},{l['lr']:.7g},{s:.2f}\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
