#!/usr/bin/env python3
"""Writes a small safetensors file the way the reference implementation lays
it out, for genlab's compatibility test; uses only json and struct.

Usage: write_safetensors.py FILE

Like the Rust safetensors crate, tensors are ordered by dtype size (largest
first) and then by name, the header is compact JSON with __metadata__ first,
padded with spaces to a multiple of 8 bytes. The tensors written are listed in
TENSORS below; the Go test expects exactly these values.
"""
import json
import struct
import sys

SIZES = {"U8": 1, "I16": 2, "F32": 4, "I32": 4, "F64": 8, "I64": 8}
FMT = {"U8": "B", "I16": "h", "F32": "f", "I32": "i", "F64": "d", "I64": "q"}

TENSORS = [
    ("model.bias", "F32", [3], [0.5, -1.25, 3.0]),
    ("model.weight", "F32", [2, 2], [1.0, 2.0, 3.0, 4.0]),
    ("labels", "U8", [4], [0, 1, 2, 255]),
    ("step", "I64", [], [123456789012]),
    ("betas", "F64", [2], [0.0001, 0.02]),
    ("offsets", "I16", [2, 1], [-3, 7]),
    ("counts", "I32", [0], []),
]
METADATA = {"format": "pt", "genlab.family": "diffusion", "note": "written by Python"}


def main():
    order = sorted(TENSORS, key=lambda t: (-SIZES[t[1]], t[0]))
    header = {"__metadata__": METADATA}
    chunks = []
    offset = 0
    for name, dtype, shape, values in order:
        raw = struct.pack("<%d%s" % (len(values), FMT[dtype]), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


if __name__ == "__main__":
    main()
