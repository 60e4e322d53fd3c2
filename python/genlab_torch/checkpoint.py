"""genlab checkpoints in and out: a weights file (the EMA weights under the
model's parameter names, config and step in "genlab.*" metadata) and,
beside it, its training state (ckpt-N.state.safetensors: raw weights as
"model.NAME", Adam's moments as "adam.m.NAME"/"adam.v.NAME",
genlab.adam_step, the data loader's position)."""

import json
import os

import torch

from . import safetensors
from .nets import Network

FORMAT_VERSION = 1
TRAINED_BY = "genlab.trained_by"  # who trained the checkpoint last; genlab's own files leave it out


def state_path(weights):
    if not weights.endswith(".safetensors"):
        raise ValueError(f"{weights}: want a .safetensors checkpoint")
    return weights[: -len(".safetensors")] + ".state.safetensors"


def ckpt_name(step):
    return f"ckpt-{step:06d}.safetensors"


class Loaded:
    """A genlab diffusion checkpoint read back: config (dict), metadata, the
    EMA weights, and, when the state file is there, the raw weights, Adam's
    moments and step count."""

    def __init__(self, path):
        self.path = path
        self.weights, self.metadata = safetensors.read(path)
        md = self.metadata
        try:
            fmt = int(md.get("genlab.format", ""))
        except ValueError:
            raise safetensors.FormatError(f"{path}: not a genlab checkpoint (no genlab.format)") from None
        if fmt > FORMAT_VERSION:
            raise safetensors.FormatError(f"{path}: checkpoint format {fmt} is newer than this package reads ({FORMAT_VERSION})")
        if md.get("genlab.family") != "diffusion":
            raise safetensors.FormatError(f"{path}: a {md.get('genlab.family')!r} checkpoint; the PyTorch side trains diffusion models")
        self.config = json.loads(md["genlab.config"])
        self.step = int(md.get("genlab.step", "0"))
        self.raw, self.moments, self.adam_step, self.state_metadata = None, {}, 0, {}
        sp = state_path(path)
        if os.path.exists(sp):
            st, smd = safetensors.read(sp)
            self.state_metadata = smd
            self.raw = {k[len("model."):]: v for k, v in st.items() if k.startswith("model.")}
            for k, v in st.items():
                if k.startswith("adam.m."):
                    n = k[len("adam.m."):]
                    self.moments[n] = (v, st["adam.v." + n])
            self.adam_step = int(smd.get("genlab.adam_step", "0"))

    def network(self):
        """The Network of the config with the raw weights (the EMA weights
        when there is no state file), loaded strictly by name and shape."""
        net = Network(self.config)
        load_strict(net, self.raw if self.raw is not None else self.weights, self.path)
        return net


def load_strict(net, tensors, path):
    own = net.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    bad = [f"{n}: file {list(tensors[n].shape)}, model {list(own[n].shape)}" for n in own if n in tensors and tensors[n].shape != own[n].shape]
    if missing or extra or bad:
        raise safetensors.FormatError(f"{path}: tensors do not fit the config: missing {missing}, unexpected {extra}, mis-shaped {bad}")
    net.load_state_dict({n: tensors[n] for n in own})


def save(out, step, trainer, src, trained_by, loader_position=None):
    """Writes ckpt-STEP.safetensors (EMA weights) and its state file in out,
    with src's genlab.* metadata, the new step, and who trained it; returns
    the weights path. The state first: a weights file without its state
    would look resumable."""
    net = trainer.module
    names = [n for n, _ in net.named_parameters()]
    md = {k: v for k, v in src.metadata.items() if k.startswith("genlab.")}
    md["genlab.step"] = str(step)
    md["genlab.format"] = str(FORMAT_VERSION)
    md[TRAINED_BY] = trained_by
    adam_step, moments = trainer.adam_state()
    st = {"model." + n: p.detach() for n, p in net.named_parameters()}
    for n in names:
        if n in moments:
            st["adam.m." + n], st["adam.v." + n] = moments[n]
    smd = dict(md)
    smd["genlab.adam_step"] = str(adam_step)
    epoch, lstep = loader_position or (src.state_metadata.get("genlab.loader_epoch", "0"), src.state_metadata.get("genlab.loader_step", "0"))
    smd["genlab.loader_epoch"], smd["genlab.loader_step"] = str(epoch), str(lstep)
    path = os.path.join(out, ckpt_name(step))
    safetensors.write(state_path(path), st, smd)
    safetensors.write(path, {n: trainer.ema[n] for n in names}, md)
    return path
