"""genlab's diffusion networks in PyTorch: the UNet of models/unet.go
(class-, text- and image-conditioned) and the text encoder of
models/textencoder.go, under the same parameter names, so a genlab
checkpoint's tensors are this module's state_dict one to one.

Every op is written as genlab computes it (channel-major attention with the
channels split into contiguous heads, GroupNorm eps 1e-5, float64 sinusoids),
so both sides agree to float32 rounding.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def time_embedding(t, dim):
    """[sin(t*f_i), cos(t*f_i)] with f_i = 10000^(-i/half), in float64 as
    genlab's models.SinusoidalEmbedding computes it."""
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64, device=t.device)
    f = torch.exp(-math.log(10000.0) * i / half)
    arg = t.to(torch.float64).unsqueeze(1) * f.unsqueeze(0)
    return torch.cat((torch.sin(arg), torch.cos(arg)), dim=1).to(torch.float32)


def conv3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1)


def attend(q, k, v, heads):
    """genlab's models.Attention: q (N,C,Pq), k and v (N,C,Pk), C split into
    heads of C/heads contiguous channels; softmax(qᵀk/√d) mixes the values.
    Returns (N,C,Pq)."""
    n, c, pq = q.shape
    pk = k.shape[2]
    d = c // heads
    q = q.reshape(n, heads, d, pq)
    k = k.reshape(n, heads, d, pk)
    v = v.reshape(n, heads, d, pk)
    weights = torch.softmax(q.transpose(-1, -2) @ k / math.sqrt(d), dim=-1)  # (n, heads, Pq, Pk)
    return (v @ weights.transpose(-1, -2)).reshape(n, c, pq)                 # (n, heads, d, Pq)


class Residual(nn.Module):
    """n1 -> silu -> c1, plus t(silu(emb)) per channel, n2 -> silu -> c2,
    plus the input (through the 1x1 conv skip when the width changes)."""

    def __init__(self, cin, cout, emb, groups=8):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, cin)
        self.c1 = conv3(cin, cout)
        self.t = nn.Linear(emb, cout)
        self.n2 = nn.GroupNorm(groups, cout)
        self.c2 = conv3(cout, cout)
        self.skip = nn.Conv2d(cin, cout, kernel_size=1) if cin != cout else None

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(F.silu(e)).view(h.shape[0], -1, 1, 1)
        h = self.c2(F.silu(self.n2(h)))
        return h + (x if self.skip is None else self.skip(x))


class PixelAttention(nn.Module):
    """x + out(multi-head attention over the pixels of qkv(norm(x)));
    the qkv channels are q, then k, then v, each split into heads."""

    def __init__(self, channels, heads=4, groups=8):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, kernel_size=1)
        self.out = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x):
        n, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(n, 3 * c, h * w)
        mixed = attend(qkv[:, :c], qkv[:, c:2 * c], qkv[:, 2 * c:], self.heads)
        return x + self.out(mixed.reshape(n, c, h, w))


class CrossAttention(nn.Module):
    """x + out(attention of q(norm(x)) over k(ctx), v(ctx)): every pixel
    reads a context sequence (N,L,D) such as a caption's encodings."""

    def __init__(self, channels, ctx_dim, heads=4, groups=8):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.q = nn.Conv2d(channels, channels, kernel_size=1)
        self.k = nn.Linear(ctx_dim, channels)
        self.v = nn.Linear(ctx_dim, channels)
        self.out = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x, ctx):
        n, c, h, w = x.shape
        q = self.q(self.norm(x)).reshape(n, c, h * w)
        k = self.k(ctx).transpose(1, 2)
        v = self.v(ctx).transpose(1, 2)
        return x + self.out(attend(q, k, v, self.heads).reshape(n, c, h, w))


class UNet(nn.Module):
    """genlab's three-level UNet (models.UNetConfig): C channels at S, 2C at
    S/2, 2C at S/4 with self-attention (and cross-attention with a context)
    between two residual blocks. cfg is the "unet" object of a genlab
    diffusion config; missing fields take the reference network's values."""

    def __init__(self, cfg=None):
        super().__init__()
        cfg = dict(cfg or {})
        ref = {"in_channels": 1, "size": 28, "channels": 32, "time_dim": 128, "heads": 4, "groups": 8}
        for k, v in ref.items():
            if not cfg.get(k):
                cfg[k] = v
        self.cfg = cfg
        ch, td, gr, heads = cfg["channels"], cfg["time_dim"], cfg["groups"], cfg["heads"]
        self.tdim = td
        self.temb = nn.Sequential(nn.Linear(td, td), nn.SiLU(), nn.Linear(td, td))
        classes = cfg.get("classes", 0) or 0
        # One row per class plus the "no class" of guidance.
        self.class_emb = nn.Embedding(classes + 1, td) if classes > 0 else None
        self.inc = conv3(cfg["in_channels"] + (cfg.get("cond_channels", 0) or 0), ch)
        self.d1 = Residual(ch, ch, td, gr)
        self.down1 = conv3(ch, ch, stride=2)
        self.d2 = Residual(ch, 2 * ch, td, gr)
        self.down2 = conv3(2 * ch, 2 * ch, stride=2)
        self.m1 = Residual(2 * ch, 2 * ch, td, gr)
        self.attn = PixelAttention(2 * ch, heads, gr)
        ctx = cfg.get("context_dim", 0) or 0
        self.cross = CrossAttention(2 * ch, ctx, heads, gr) if ctx > 0 else None
        self.m2 = Residual(2 * ch, 2 * ch, td, gr)
        self.u2 = Residual(4 * ch, 2 * ch, td, gr)
        self.up2 = conv3(2 * ch, 2 * ch)
        self.u1 = Residual(4 * ch, ch, td, gr)
        self.up1 = conv3(ch, ch)
        self.u0 = Residual(2 * ch, ch, td, gr)
        self.outn = nn.GroupNorm(gr, ch)
        self.outc = conv3(ch, cfg["in_channels"])

    def forward(self, x, t, classes=None, context=None, image=None):
        """x (N,C,S,S); t (N) timesteps; classes (N) indices (the null
        class is `classes` of the config); context (N,L,D); image
        (N,cond_channels,S,S) concatenated to x."""
        e = self.temb(time_embedding(t, self.tdim))
        if self.class_emb is not None:
            if classes is None:
                raise ValueError("a class-conditional UNet needs class indices")
            e = e + self.class_emb(classes)
        if self.cross is not None and context is None:
            raise ValueError("a cross-attention UNet needs a context")
        if self.inc.in_channels != x.shape[1]:
            if image is None:
                raise ValueError("a UNet with cond_channels needs a conditioning image")
            x = torch.cat((x, image), dim=1)
        h0 = self.d1(self.inc(x), e)
        h1 = self.d2(self.down1(h0), e)
        h2 = self.down2(h1)
        h = self.attn(self.m1(h2, e))
        if self.cross is not None:
            h = self.cross(h, context)
        h = self.m2(h, e)
        h = self.u2(torch.cat((h, h2), dim=1), e)
        h = self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.u1(torch.cat((h, h1), dim=1), e)
        h = self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.u0(torch.cat((h, h0), dim=1), e)
        return self.outc(F.silu(self.outn(h)))


class TextLayer(nn.Module):
    """h + out(attn(ln1(h))), then h + fc2(silu(fc1(ln2(h))))."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim, eps=1e-5)
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.ln2 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, h):
        a = self.ln1(h)
        seq = lambda m: m(a).transpose(1, 2)  # channel-major (N,D,L)
        o = attend(seq(self.q), seq(self.k), seq(self.v), self.heads)
        h = h + self.out(o.transpose(1, 2))
        return h + self.fc2(F.silu(self.fc1(self.ln2(h))))


class TextEncoder(nn.Module):
    """models.TextEncoder: token and position embeddings, pre-LayerNorm
    transformer layers, a final LayerNorm; (N,L) token ids -> (N,L,D).
    cfg is the "text" object of a genlab diffusion config."""

    def __init__(self, cfg):
        super().__init__()
        d, length = cfg["dim"], cfg["length"]
        self.length = length
        self.tok = nn.Embedding(len(cfg["vocab"]) + 1, d)  # id 0 is padding, word i is id i+1
        self.pos = nn.Embedding(length, d)
        self.layers = nn.ModuleList(TextLayer(d, cfg["heads"]) for _ in range(cfg["layers"]))
        self.norm = nn.LayerNorm(d, eps=1e-5)

    def forward(self, tokens):
        pos = torch.arange(self.length, device=tokens.device)
        h = self.tok(tokens) + self.pos(pos).unsqueeze(0)
        for layer in self.layers:
            h = layer(h)
        return self.norm(h)


def coordinates(n, s, device=None):
    """Each pixel's x (channel 0) and y (channel 1), from -1 at the first
    pixel to 1 at the last: the CoordConv channels of a text model."""
    r = (2 * torch.arange(s, device=device) - (s - 1)).to(torch.float32) / float(s - 1)
    xs = r.view(1, s).expand(s, s)
    ys = r.view(s, 1).expand(s, s)
    return torch.stack((xs, ys)).unsqueeze(0).expand(n, 2, s, s)


class Network(UNet):
    """A genlab diffusion network: the UNet plus, for a text model, its text
    encoder under "text." (trained jointly). cfg is the whole config."""

    def __init__(self, cfg):
        cond = cfg.get("cond") or "none"
        if cond == "lowres":
            raise ValueError("super-resolution (cond lowres) models train in genlab only")
        super().__init__(cfg["unet"])
        self.cond = cond
        self.coords = bool(cfg.get("coords"))
        self.text = TextEncoder(cfg["text"]) if cfg.get("text") else None

    def forward(self, x, t, classes=None, tokens=None):
        context = self.text(tokens) if self.text is not None else None
        image = coordinates(x.shape[0], x.shape[2], x.device) if self.coords else None
        return super().forward(x, t, classes=classes, context=context, image=image)
