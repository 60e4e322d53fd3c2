#!/usr/bin/env python3
"""Independent safetensors reader for genlab's compatibility test.

Usage: read_safetensors.py FILE

Parses FILE with nothing but json and struct, checks the layout rules of the
format, and prints one JSON object:

  {"metadata": {...}, "data_start": N, "torch": bool, "safetensors": bool,
   "tensors": {name: {"dtype": .., "shape": [..], "offsets": [b, e],
                      "values": [..]}}}

Booleans are printed as 0/1. When torch is importable every tensor whose dtype
torch 1.13 has is also rebuilt with torch.frombuffer and compared; when the
safetensors package is importable, its safe_open must agree on names, dtypes,
shapes and metadata. Any disagreement exits non-zero with a message.
"""
import json
import struct
import sys

# dtype -> (struct format, size in bytes); BF16 is handled by hand.
FORMATS = {
    "BOOL": ("?", 1), "U8": ("B", 1), "I8": ("b", 1),
    "I16": ("h", 2), "U16": ("H", 2), "F16": ("e", 2), "BF16": (None, 2),
    "I32": ("i", 4), "U32": ("I", 4), "F32": ("f", 4),
    "I64": ("q", 8), "U64": ("Q", 8), "F64": ("d", 8),
}


def fail(msg):
    sys.exit("read_safetensors.py: " + msg)


def decode(dtype, raw, count):
    fmt, size = FORMATS[dtype]
    if fmt is None:  # bfloat16: the top half of a float32
        halves = struct.unpack("<%dH" % count, raw)
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in halves]
    values = list(struct.unpack("<%d%s" % (count, fmt), raw))
    if dtype == "BOOL":
        values = [int(v) for v in values]
    return values


def torch_check(name, dtype, shape, raw, values):
    import torch
    dtypes = {
        "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16,
        "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32,
        "F32": torch.float32, "I64": torch.int64, "F64": torch.float64,
    }
    if dtype not in dtypes or not raw:
        return
    t = torch.frombuffer(bytearray(raw), dtype=dtypes[dtype]).reshape(shape)
    if list(t.shape) != shape:
        fail("%s: torch shape %s, want %s" % (name, list(t.shape), shape))
    got = [float(v) if t.is_floating_point() else int(v) for v in t.flatten().tolist()]
    if got != values:
        fail("%s: torch reads %s, struct reads %s" % (name, got, values))


def main():
    if len(sys.argv) != 2:
        fail("usage: read_safetensors.py FILE")
    with open(sys.argv[1], "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        fail("header length %d beyond the file" % n)
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        fail("header does not start with '{'")
    if text.rstrip(" ") != text.rstrip():
        fail("header padded with something other than spaces")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            fail("duplicate keys in header")
        return dict(pairs)

    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", None) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        fail("metadata is not all strings")
    data = blob[8 + n:]

    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False

    tensors = {}
    spans = []
    for name, info in header.items():
        dtype, shape = info["dtype"], info["shape"]
        begin, end = info["data_offsets"]
        if dtype not in FORMATS:
            fail("%s: dtype %s unknown to this reader" % (name, dtype))
        count = 1
        for d in shape:
            count *= d
        if end - begin != count * FORMATS[dtype][1]:
            fail("%s: %d bytes for %s %s" % (name, end - begin, dtype, shape))
        raw = data[begin:end]
        values = decode(dtype, raw, count)
        if have_torch:
            torch_check(name, dtype, shape, raw, values)
        tensors[name] = {"dtype": dtype, "shape": shape, "offsets": [begin, end], "values": values}
        spans.append((begin, end))

    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            fail("hole or overlap at byte %d of the data" % pos)
        pos = end
    if pos != len(data):
        fail("data is %d bytes, tensors cover %d" % (len(data), pos))

    have_safetensors = False
    try:
        from safetensors import safe_open
        have_safetensors = True
    except ImportError:
        pass
    if have_safetensors:
        with safe_open(sys.argv[1], framework="pt") as f:
            if sorted(f.keys()) != sorted(tensors):
                fail("safetensors lists %s" % sorted(f.keys()))
            if (f.metadata() or {}) != metadata:
                fail("safetensors metadata %s" % f.metadata())

    json.dump({"metadata": metadata, "data_start": 8 + n, "torch": have_torch,
               "safetensors": have_safetensors, "tensors": tensors}, sys.stdout)


if __name__ == "__main__":
    main()
