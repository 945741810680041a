#!/usr/bin/env python3
"""Writes the .nsw fuzzer's seed corpus (standard library only; see docs/weights.md).

A real .nsw file is 30-80 MB, far over a useful fuzzing input, so the seeds are small files that
reach as far into ModelWeights.load as a small file can:

* header-only files with a complete, valid manifest and a missing payload ("truncated");
* files whose manifest says payload_bytes 0 / crc 0 and that end at the payload start: they pass
  the size, padding and CRC checks and fail at the first tensor;
* files with a real conv1_1 payload (float32 and float16) and a correct CRC: conv1_1 is read and
  converted, the load fails at conv1_2; one variant holds a NaN;
* a few broken variants (manifest length, keys, input spec, dtype, architecture).

Usage: gen_nsw_seeds.py OUTDIR
"""

import json
import math
import struct
import sys
import zlib
from pathlib import Path

MAGIC = b"NSWGHT01"
BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
WIDTHS = (64, 128, 256, 512, 512)


def arch_layers(arch):
    out, cin = [], 3
    for b, (n, width) in enumerate(zip(BLOCKS[arch], WIDTHS), start=1):
        for i in range(1, n + 1):
            out.append((f"conv{b}_{i}", cin, width))
            cin = width
    return out


def align(n, a=64):
    return (n + a - 1) // a * a


def manifest(arch, dtype, payload_bytes=None, crc=None, **override):
    elem = 4 if dtype == "float32" else 2
    layers, cursor = [], 0
    for name, cin, cout in arch_layers(arch):
        entry = {"name": name, "in": cin, "out": cout}
        for key, shape in (("weight", [cout, cin, 3, 3]), ("bias", [cout])):
            off = align(cursor)
            nbytes = math.prod(shape) * elem
            entry[key] = {"shape": shape, "offset": off, "bytes": nbytes}
            cursor = off + nbytes
        layers.append(entry)
    m = {
        "format": "neural-style-weights", "version": 1,
        "model": "vgg19-normalised" if arch == "vgg19" else "vgg16",
        "architecture": arch, "dtype": dtype,
        "input": {"channels": "BGR", "scale": 255, "mean": [103.939, 116.779, 123.68]},
        "source": "fuzz seed", "license": "test data",
        "layers": layers,
        "payload_bytes": cursor if payload_bytes is None else payload_bytes,
        "payload_crc32": 0 if crc is None else crc,
    }
    m.update(override)
    return {k: v for k, v in m.items() if v is not None}


def nsw(m, payload=b"", mlen=None, pad_byte=0):
    body = json.dumps(m, separators=(",", ":")).encode()
    head = MAGIC + struct.pack("<Q", len(body) if mlen is None else mlen) + body
    head += bytes([pad_byte]) * (align(len(head)) - len(head))
    return head + payload


def conv1_1_payload(dtype, nan=False):
    """conv1_1's weight (64·3·3·3) and bias (64), each at a 64-byte-aligned offset."""
    fmt = "<f" if dtype == "float32" else "<e"
    w = b"".join(struct.pack(fmt, ((i * 37) % 101 - 50) / 100.0) for i in range(64 * 27))
    if nan:
        w = struct.pack(fmt, float("nan")) + w[len(struct.pack(fmt, 0.0)):]
    w += bytes(align(len(w)) - len(w))
    b = b"".join(struct.pack(fmt, i / 64.0) for i in range(64))
    return w + b


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    seeds = {}
    for arch in ("vgg19", "vgg16"):
        for dtype in ("float32", "float16"):
            seeds[f"{arch}_{dtype}_truncated"] = nsw(manifest(arch, dtype, crc=123456789))
    seeds["vgg19_empty_payload"] = nsw(manifest("vgg19", "float32", payload_bytes=0, crc=0))
    seeds["vgg16_empty_payload_f16"] = nsw(manifest("vgg16", "float16", payload_bytes=0, crc=0))
    for dtype in ("float32", "float16"):
        for nan in (False, True):
            p = conv1_1_payload(dtype, nan)
            m = manifest("vgg19", dtype, payload_bytes=len(p), crc=zlib.crc32(p))
            seeds[f"vgg19_conv1_1_{dtype}{'_nan' if nan else ''}"] = nsw(m, p)
    # broken variants, each failing one check
    seeds["no_layers"] = nsw(manifest("vgg19", "float32", payload_bytes=0, crc=0, layers=[]))
    seeds["extra_key"] = nsw(manifest("vgg19", "float32", payload_bytes=0, crc=0, extra=1))
    seeds["missing_key"] = nsw(manifest("vgg16", "float32", payload_bytes=0, crc=0, license=None))
    seeds["bad_input"] = nsw(manifest("vgg16", "float32", payload_bytes=0, crc=0,
                                      input={"channels": "RGB", "scale": 1, "mean": [0, 0, 0]}))
    seeds["bad_dtype"] = nsw(manifest("vgg16", "bfloat16", payload_bytes=0, crc=0))
    seeds["bad_arch"] = nsw(manifest("vgg19", "float32", payload_bytes=0, crc=0, architecture="resnet50"))
    seeds["bad_version"] = nsw(manifest("vgg19", "float32", payload_bytes=0, crc=0, version=2))
    seeds["nonzero_padding"] = nsw(manifest("vgg19", "float32", payload_bytes=0, crc=0), pad_byte=1)
    seeds["huge_mlen"] = nsw({"format": "x"}, mlen=0xFFFFFFFFFFFFFFF0)
    seeds["magic_only"] = MAGIC + bytes(8)
    for name, data in seeds.items():
        (out / f"{name}.nsw").write_bytes(data)
    print(f"{len(seeds)} seeds, {min(map(len, seeds.values()))}..{max(map(len, seeds.values()))} bytes")


if __name__ == "__main__":
    main()
