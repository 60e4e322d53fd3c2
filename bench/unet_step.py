#!/usr/bin/python3
"""genlab's PyTorch twin of its reference UNet, for the performance comparison.
The network comes from genlab's PyTorch package, python/genlab_torch.

The network is the one models.ReferenceUNet builds in Go (and that
shared/reference/unet_step.py defines): 28x28x1 images, channels 32/64/64,
GroupNorm(8), SiLU, a 128-wide time embedding added in every residual block,
4-head self-attention at 7x7, nearest x2 upsampling then a 3x3 conv, skip
concatenations; 612,737 parameters under the same names as genlab's Params,
so a state_dict and genlab's weights map one to one.

    /usr/bin/python3 bench/unet_step.py [--threads 2] [--batch 64] [--n 10]

prints "params 612737", "forward_flops F" (one forward pass at the batch),
then "train_step_ms X" (forward, MSE against the noise, backward, Adam;
left out with --sample-only) and "sample_step_ms Y" (forward only), each
the median of --n timed steps after two warm-up steps.

    /usr/bin/python3 bench/unet_step.py --check DIR

instead loads genlab's weights and an input batch from DIR (written by
bench/torch_test.go: manifest.tsv with one "name<TAB>d0,d1,..." line per
tensor, params.f32 with their float32 values in that order, x.f32 and t.f32
with the images and timesteps), runs one forward pass and writes out.f32;
with a target.f32 also the gradients of the MSE against it, grads.f32 in
the manifest's order.
Needs Debian's PyTorch: apt-get install -y python3-torch
"""

import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# The network is genlab's PyTorch package's (python/genlab_torch/nets.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from genlab_torch.nets import PixelAttention, UNet  # noqa: E402


def ReferenceUNet():
    """The reference configuration of genlab's UNet (python/genlab_torch)."""
    return UNet()


def count(net):
    return sum(p.numel() for p in net.parameters())


def forward_flops(net, x, t):
    """The floating-point operations of one forward pass, counting a
    multiply-add as two: every convolution, linear layer and the attention's
    two batched products (the element-wise work is a few percent and not
    counted). genlab's network is the same, so both sides use this count."""
    total = 0

    def conv(m, inp, out):
        nonlocal total
        total += 2 * out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        nonlocal total
        total += 2 * out.numel() * m.in_features

    def attention(m, inp, out):
        nonlocal total
        n, c, h, w = inp[0].shape
        total += 2 * 2 * n * c * (h * w) ** 2  # QᵀK and V·Aᵀ, over all heads

    hooks = []
    for mod in net.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear))
        elif isinstance(mod, PixelAttention):
            hooks.append(mod.register_forward_hook(attention))
    with torch.no_grad():
        net(x, t)
    for h in hooks:
        h.remove()
    return total


def median_ms(step, n, warmup=2):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def read_f32(path, shape):
    with open(path, "rb") as f:
        data = f.read()
    t = torch.frombuffer(bytearray(data), dtype=torch.float32)
    return t.reshape(shape) if shape is not None else t


def check(net, d):
    """Load genlab's weights by name (strictly: same keys, same shapes), run
    one forward pass on the batch in d and write the output."""
    names, shapes = [], []
    with open(os.path.join(d, "manifest.tsv")) as f:
        for line in f:
            name, dims = line.rstrip("\n").split("\t")
            names.append(name)
            shapes.append(tuple(int(s) for s in dims.split(",")))
    flat = read_f32(os.path.join(d, "params.f32"), None)
    state, off = {}, 0
    for name, shape in zip(names, shapes):
        size = math.prod(shape)
        state[name] = flat[off:off + size].reshape(shape).clone()
        off += size
    if off != flat.numel():
        sys.exit(f"params.f32 has {flat.numel()} values, the manifest {off}")
    own = net.state_dict()
    for name, shape in zip(names, shapes):
        if name in own and tuple(own[name].shape) != shape:
            sys.exit(f"{name}: genlab {shape}, PyTorch {tuple(own[name].shape)}")
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        sys.exit(f"state_dict mismatch: missing {sorted(missing)}, unexpected {sorted(unexpected)}")
    t = read_f32(os.path.join(d, "t.f32"), None)
    x = read_f32(os.path.join(d, "x.f32"), (t.numel(), 1, 28, 28))
    y = net(x, t)
    with open(os.path.join(d, "out.f32"), "wb") as f:
        f.write(y.detach().contiguous().numpy().astype("<f4").tobytes())
    target = os.path.join(d, "target.f32")
    if os.path.exists(target):
        # The gradients of the MSE against target, in the manifest's order.
        F.mse_loss(y, read_f32(target, y.shape)).backward()
        grads = dict(net.named_parameters())
        with open(os.path.join(d, "grads.f32"), "wb") as f:
            for name in names:
                f.write(grads[name].grad.contiguous().numpy().astype("<f4").tobytes())
    print("loaded", len(names))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--n", type=int, default=10, help="timed steps per figure (median)")
    ap.add_argument("--sample-only", action="store_true", help="time the sampling step only")
    ap.add_argument("--check", metavar="DIR", help="load genlab's weights and batch from DIR, write DIR/out.f32 (and grads.f32)")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    net = ReferenceUNet()
    print("params", count(net), flush=True)
    if a.check:
        check(net, a.check)
        return

    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    x = torch.randn(a.batch, 1, 28, 28)
    t = torch.randint(0, 1000, (a.batch,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        noise = torch.randn_like(x)
        loss = F.mse_loss(net(x + noise, t), noise)
        loss.backward()
        opt.step()

    def sample_step():
        with torch.no_grad():
            net(x, t)

    print("forward_flops", forward_flops(net, x, t), flush=True)
    if not a.sample_only:
        print("train_step_ms", round(median_ms(train_step, a.n), 2), flush=True)
    print("sample_step_ms", round(median_ms(sample_step, a.n), 2), flush=True)


if __name__ == "__main__":
    main()
