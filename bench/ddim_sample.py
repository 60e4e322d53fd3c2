#!/usr/bin/python3
"""genlab's DDIM sampling loop in PyTorch, for the end-to-end comparison
with `genlab sample` (bench/compare.sh).

    /usr/bin/python3 bench/ddim_sample.py --ckpt C [--n 64] [--batch 64]
        [--steps 50] [--class 3] [--guidance 2] [--threads 2]

loads the genlab checkpoint C (its EMA weights, the ones `genlab sample`
uses) into python/genlab_torch's Network, then draws --n images of class
--class in batches of --batch with deterministic DDIM (eta 0) of --steps
steps under classifier-free guidance, as genlab's diffusion.Generate does:
for each step the conditional pass and then the unconditional one (the null
class), each of the whole batch, eps = eps_u + g (eps_c - eps_u) (one pass
at g = 1 or 0), the DDIM update of diffusion/ddim.go with x0 clipped to
[-1, 1] and eps re-derived from it, pixels (x+1)/2 clipped to [0, 1]. It
prints "load_s", the seconds from the start of the script (after Python
itself started, before `import torch`) to the loaded network, and
"sample_s", the seconds of the sampling loop with the pixels in memory.

    /usr/bin/python3 bench/ddim_sample.py --ckpt C --check DIR ...

instead starts from the initial noise in DIR/x.f32 (n x 1 x 28 x 28
float32, genlab's per-image noise) with the classes of DIR/classes.txt
(one a line, the null class for none) and writes the pixels to DIR/out.f32,
for bench/torch_test.go to compare with genlab's.
Needs Debian's PyTorch: apt-get install -y python3-torch
"""

import time

START = time.perf_counter()

import argparse  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from genlab_torch.checkpoint import Loaded, load_strict  # noqa: E402
from genlab_torch.diffusion import schedule  # noqa: E402
from genlab_torch.nets import Network  # noqa: E402


def even_timesteps(T, steps):
    """diffusion.EvenTimesteps: numpy.linspace(0, T-1, steps).round()[::-1],
    rounding half to even (Python's round)."""
    if steps == 1:
        return [T - 1]
    stride = (T - 1) / (steps - 1)
    return [round(j * stride) for j in range(steps - 1, -1, -1)]


def guided(net, x, t, classes, null, g):
    """Classifier-free guidance as diffusion.Guidance.Guided: the
    conditional pass, then the unconditional one, combined in float64."""
    if g == 0:
        return net(x, t, classes=null)
    c = net(x, t, classes=classes)
    if g == 1:
        return c
    u = net(x, t, classes=null).double()
    return (u + g * (c.double() - u)).to(torch.float32)


def ddim(net, alphas_cumprod, x, classes, null, steps, g):
    """Deterministic DDIM (diffusion.DDIM with Eta 0 and ClipX0) from x_T."""
    ts = even_timesteps(len(alphas_cumprod), steps)
    n = x.shape[0]
    for i, t in enumerate(ts):
        eps = guided(net, x, torch.full((n,), t, dtype=torch.long), classes, null, g).double()
        a = float(alphas_cumprod[t])
        a_prev = float(alphas_cumprod[ts[i + 1]]) if i + 1 < len(ts) else 1.0
        xd = x.double()
        sa, sb = math.sqrt(a), math.sqrt(1 - a)
        x0 = ((xd - sb * eps) / sa).clamp(-1, 1).to(torch.float32).double()
        e = (xd - sa * x0) / sb
        x = (math.sqrt(a_prev) * x0 + math.sqrt(max(0.0, 1 - a_prev)) * e).to(torch.float32)
    return x


def read_f32(path):
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True, help="a class-conditional genlab diffusion checkpoint")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--class", dest="cls", type=int, default=3)
    ap.add_argument("--guidance", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--check", metavar="DIR", help="start from DIR/x.f32 and DIR/classes.txt, write DIR/out.f32")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    ck = Loaded(a.ckpt)
    cfg = ck.config
    k = cfg["unet"].get("classes") or 0
    if k < 1:
        sys.exit(f"{a.ckpt}: not a class-conditional network")
    net = Network(cfg)
    load_strict(net, ck.weights, a.ckpt)  # the EMA weights, as genlab sample
    net.eval()
    ac = schedule(cfg.get("schedule") or "linear", cfg["timesteps"])
    dim = net.cfg["in_channels"] * net.cfg["size"] ** 2
    shape = (net.cfg["in_channels"], net.cfg["size"], net.cfg["size"])
    print("load_s", round(time.perf_counter() - START, 3), flush=True)

    if a.check:
        with open(os.path.join(a.check, "classes.txt")) as f:
            classes = torch.tensor([int(s) for s in f.read().split()], dtype=torch.long)
        x = read_f32(os.path.join(a.check, "x.f32")).reshape((len(classes),) + shape)
    else:
        classes = torch.full((a.n,), a.cls, dtype=torch.long)
        x = torch.randn((a.n,) + shape, generator=torch.Generator().manual_seed(1))
    began = time.perf_counter()
    out = torch.empty(x.shape[0], dim)
    with torch.no_grad():
        for lo in range(0, x.shape[0], a.batch):
            hi = min(x.shape[0], lo + a.batch)
            null = torch.full((hi - lo,), k, dtype=torch.long)
            y = ddim(net, ac, x[lo:hi], classes[lo:hi], null, a.steps, a.guidance)
            out[lo:hi] = ((y + 1) / 2).clamp(0, 1).reshape(hi - lo, dim)
    print("sample_s", round(time.perf_counter() - began, 3), flush=True)
    if a.check:
        with open(os.path.join(a.check, "out.f32"), "wb") as f:
            f.write(out.contiguous().numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
