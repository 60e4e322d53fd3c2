"""A reader and writer of safetensors files, the format genlab's checkpoints use.

The format is an 8-byte little-endian header length, a JSON header mapping
each tensor name to its dtype, shape and byte range (plus "__metadata__",
string to string), then the tensors' bytes. genlab writes float32 tensors
only, so float32 is what this module reads and writes; anything else is
refused with the tensor's name.
"""

import json
import os
import struct
import tempfile

import torch

_DTYPES = {"F32": torch.float32}


class FormatError(Exception):
    pass


def read(path):
    """Returns ({name: float32 tensor}, {key: value}) with the tensors in
    file order (dicts keep insertion order)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise FormatError(f"{path}: too short for a safetensors file")
    (hlen,) = struct.unpack("<Q", raw[:8])
    if 8 + hlen > len(raw):
        raise FormatError(f"{path}: truncated header")
    try:
        header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    except ValueError as e:
        raise FormatError(f"{path}: header is not JSON: {e}") from None
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + hlen:]
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype = _DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise FormatError(f"{path}: tensor {name} is {info.get('dtype')}; genlab writes F32 only")
        lo, hi = info["data_offsets"]
        shape = [int(d) for d in info["shape"]]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=dtype) if hi > lo else torch.empty(0, dtype=dtype)
        n = 1
        for d in shape:
            n *= d
        if t.numel() != n:
            raise FormatError(f"{path}: tensor {name} has {t.numel()} values for shape {shape}")
        tensors[name] = t.reshape(shape)
    return tensors, metadata


def write(path, tensors, metadata):
    """Writes tensors ({name: tensor}, in the dict's order) as float32 and
    metadata (strings) to path atomically: a temporary file in the same
    folder, synced, then renamed over path."""
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    blobs, off = [], 0
    for name, t in tensors.items():
        b = t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # the data starts 8-byte aligned
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
