"""genlab's diffusion training (diffusion/trainer.go, train/optimizer.go)
in PyTorch: the simple loss of Ho et al. (2020) with a linear or cosine
schedule, AdamW with linear warm-up (then constant or cosine), global
gradient-norm clipping, and an EMA of the weights that sampling uses."""

import math

import torch
import torch.nn.functional as F


def linear_betas(T, start, end):
    """Linearly spaced betas (Ho et al. 2020), scaled by 1000/T by the caller."""
    if T == 1:
        return [start]
    return [start + t * ((end - start) / (T - 1)) for t in range(T)]


def cosine_betas(T, s=0.008):
    """Nichol & Dhariwal (2021): ᾱ(u) = cos²((u+s)/(1+s)·π/2), betas capped at 0.999."""
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return [min(1 - f((t + 1) / T) / f(t / T), 0.999) for t in range(T)]


def schedule(name, T):
    """ᾱ_t for t = 0..T-1, float64, as diffusion.NewSchedule computes it."""
    if name == "linear":
        scale = 1000 / T
        betas = linear_betas(T, 1e-4 * scale, 0.02 * scale)
    elif name == "cosine":
        betas = cosine_betas(T)
    else:
        raise ValueError(f"unknown schedule {name!r}: want linear or cosine")
    prod, out = 1.0, []
    for b in betas:
        prod *= 1 - b
        out.append(prod)
    return torch.tensor(out, dtype=torch.float64)


def add_noise(alphas_cumprod, x0, eps, t):
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, in float64 then rounded, as genlab's AddNoise."""
    ab = alphas_cumprod.to(x0.device)[t].view(-1, 1, 1, 1)
    return (ab.sqrt() * x0.double() + (1 - ab).sqrt() * eps.double()).to(torch.float32)


class Trainer:
    """One network, its optimizer and EMA, stepping as genlab's Trainer.

    cfg is the genlab diffusion config (dict); net the Network (or its DDP
    wrapper, whose .module is the Network); total the step the run ends at
    (for the cosine learning rate)."""

    def __init__(self, cfg, net, total):
        self.cfg = cfg
        self.net = net
        self.module = getattr(net, "module", net)
        self.total = total
        self.alphas_cumprod = schedule(cfg.get("schedule") or "linear", cfg["timesteps"])
        # genlab's AdamW without weight decay is PyTorch's Adam.
        self.opt = torch.optim.Adam(self.module.parameters(), lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8, foreach=False)
        self.ema = {n: p.detach().clone() for n, p in self.module.named_parameters()}
        self.null_class = (cfg["unet"].get("classes") or 0)

    def lr(self, step):
        """train.Optimizer.LR at a 1-based step."""
        base, warm = self.cfg["lr"], self.cfg.get("warmup") or 0
        if warm > 0 and step <= warm:
            return base * step / warm
        if self.cfg.get("cosine_lr") and self.total > warm:
            f = (step - warm) / (self.total - warm)
            return base * 0.5 * (1 + math.cos(math.pi * min(f, 1)))
        return base

    def draw(self, x0, classes, tokens, gen):
        """What genlab's Step draws from its per-step stream: t ~ U{0..T-1},
        ε ~ N(0,I), and each condition dropped (to the null class or the
        null prompt) with probability cond_drop."""
        n = x0.shape[0]
        t = torch.randint(0, self.cfg["timesteps"], (n,), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        p = self.cfg.get("cond_drop") or 0
        if p > 0:
            drop = torch.rand(n, generator=gen) < p
            if classes is not None:
                classes = torch.where(drop, torch.full_like(classes, self.null_class), classes)
            if tokens is not None:
                tokens = torch.where(drop.view(-1, 1), torch.zeros_like(tokens), tokens)
        return t, eps, classes, tokens

    def step_on(self, step, pixels, eps, t, classes=None, tokens=None):
        """One training step on a given batch: pixels in [0,1] (N,C,S,S),
        the noise and timesteps, the (already dropped) conditions. The
        equivalent of genlab's Trainer.StepOn. Returns the losses."""
        dev = next(self.module.parameters()).device
        x0 = 2 * pixels.to(dev) - 1
        eps, t = eps.to(dev), t.to(dev)
        xt = add_noise(self.alphas_cumprod, x0, eps, t)
        kw = {}
        if classes is not None:
            kw["classes"] = classes.to(dev)
        if tokens is not None:
            kw["tokens"] = tokens.to(dev)
        self.opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(self.net(xt, t, **kw), eps)
        loss.backward()
        params = [p for p in self.module.parameters()]
        norm = grad_norm(params)
        clip = self.cfg.get("clip") or 0
        if clip > 0 and norm > clip:
            s = clip / (norm + 1e-6)
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(s)
        lr = self.lr(step)
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.opt.step()
        decay = self.cfg.get("ema", 0.999)
        if self.cfg.get("ema_warmup"):
            decay = min(decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for n, p in self.module.named_parameters():
                self.ema[n].mul_(decay).add_(p.detach(), alpha=1 - decay)
        return {"loss": loss.item(), "grad_norm": norm, "lr": lr}

    # The optimizer state as genlab keeps it: moments by parameter name and
    # one step count.
    def adam_state(self):
        st = {}
        step = 0
        for n, p in self.module.named_parameters():
            s = self.opt.state.get(p)
            if s:
                st[n] = (s["exp_avg"], s["exp_avg_sq"])
                step = int(s["step"].item() if torch.is_tensor(s["step"]) else s["step"])
        return step, st

    def set_adam_state(self, step, moments):
        for n, p in self.module.named_parameters():
            if n in moments:
                m, v = moments[n]
                self.opt.state[p] = {
                    "step": torch.tensor(float(step)),
                    "exp_avg": m.to(p.device).clone().reshape(p.shape),
                    "exp_avg_sq": v.to(p.device).clone().reshape(p.shape),
                }


def grad_norm(params):
    """The global L2 norm of the gradients, summed in float64 as genlab's ClipGradNorm."""
    ss = 0.0
    for p in params:
        if p.grad is not None:
            ss += float(p.grad.double().pow(2).sum())
    return math.sqrt(ss)
