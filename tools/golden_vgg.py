#!/usr/bin/env python3
"""Independent numpy forward pass of vgg19-normalised.nsw on a small fixed
input; writes Tests/EngineTests/Fixtures/vgg19_golden.json for the Swift tests.

    python3 tools/golden_vgg.py [--weights PATH] [--out PATH]

Network: conv 3x3, stride 1, zero pad 1, + bias; ReLU; max-pool 2x2 stride 2
(floor mode).  Everything is computed in float64 from the float32 weights and
the float32-rounded input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weights_format as wf  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "Tests" / "EngineTests" / "Fixtures" / "vgg19_golden.json"
MODEL = "vgg19-normalised"
C, H, W = 3, 20, 24
INPUT_FORMULA = ("x[c,h,w] = 100*sin(0.37*(c+1)*h + 0.21*w) + 20*cos(0.13*h*w + c), "
                 "c in 0..2, h in 0..19, w in 0..23; computed in float64, then rounded to float32")
RECORD = ("conv1_1", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1")
N_SAMPLES = 16


def make_input():
    c = np.arange(C, dtype=np.float64)[:, None, None]
    h = np.arange(H, dtype=np.float64)[None, :, None]
    w = np.arange(W, dtype=np.float64)[None, None, :]
    x = 100.0 * np.sin(0.37 * (c + 1) * h + 0.21 * w) + 20.0 * np.cos(0.13 * h * w + c)
    return x.astype(np.float32)


def conv3x3(x, weight, bias):
    """x (Cin,H,W) float64, weight (Cout,Cin,3,3), bias (Cout,) -> (Cout,H,W)."""
    cin, h, w = x.shape
    xp = np.zeros((cin, h + 2, w + 2))
    xp[:, 1:-1, 1:-1] = x
    out = np.zeros((weight.shape[0], h, w))
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("oc,chw->ohw", weight[:, :, ky, kx], xp[:, ky:ky + h, kx:kx + w])
    return out + bias[:, None, None]


def maxpool2(x):
    c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, :h2 * 2, :w2 * 2].reshape(c, h2, 2, w2, 2)
    return x.max(axis=(2, 4))


def sample_indices(n):
    # round(k*(n-1)/15) in exact integer arithmetic (no ties can occur)
    return [(2 * k * (n - 1) + 15) // 30 for k in range(N_SAMPLES)]


def summarise(name, a):
    flat = a.reshape(-1)
    idx = sample_indices(flat.size)
    return {
        "name": name,
        "shape": [int(d) for d in a.shape],
        "sum": float(flat.sum()),
        "sum_sq": float((flat * flat).sum()),
        "sample_indices": idx,
        "samples": [float(flat[i]) for i in idx],
    }


def forward(tensors, x):
    """Run vgg19 up to relu5_1; return {layer name: float64 activation}."""
    acts = {}
    h = x.astype(np.float64)
    for name, cin, cout in wf.arch_layers("vgg19"):
        block, idx = (int(v) for v in name[4:].split("_"))
        if idx == 1 and block > 1:
            h = maxpool2(h)
        w, b = tensors[name]
        h = conv3x3(h, w.astype(np.float64), b.astype(np.float64))
        acts[name] = h
        h = np.maximum(h, 0.0)
        acts[f"relu{block}_{idx}"] = h
        if name == "conv5_1":
            break
    return acts


def compute_golden(manifest, tensors):
    if manifest["model"] != MODEL or manifest["dtype"] != "float32":
        raise SystemExit(f"error: need a float32 {MODEL}.nsw (got {manifest['model']}, {manifest['dtype']}); "
                         f"run python3 tools/fetch_weights.py --models {MODEL}")
    x = make_input()
    acts = forward(tensors, x)
    x64 = x.astype(np.float64)
    return {
        "model": MODEL,
        "weights_source": manifest["source"],
        "weights_payload_crc32": manifest["payload_crc32"],
        "input": {
            "shape": [C, H, W],
            "layout": "CHW",
            "space": "network input: BGR, 0..255 scale, mean-subtracted",
            "formula": INPUT_FORMULA,
            "sum": float(x64.sum()),
            "sample_indices": sample_indices(x.size),
            "samples": [float(v) for v in x64.reshape(-1)[sample_indices(x.size)]],
        },
        "network": "conv3x3 stride 1 zero-pad 1 + bias, ReLU, max-pool 2x2 stride 2 floor mode",
        "compute": "float64",
        "sample_rule": "flat index round(k*(N-1)/15), k=0..15, row-major CHW",
        "layers": [summarise(n, acts[n]) for n in RECORD],
    }


def to_json(obj):
    """Indented JSON with numeric arrays kept on one line."""
    text = json.dumps(obj, indent=1)
    text = re.sub(r"\[\s+([-+0-9.eE,\s]+?)\s+\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
    return text + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", type=Path, default=None,
                    help="path to vgg19-normalised.nsw (default: the fetch_weights.py cache dir)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    path = args.weights or wf.default_weights_dir() / f"{MODEL}.nsw"
    try:
        manifest, tensors = wf.read_nsw(path)
    except wf.NSWError as e:
        print(f"error: {e}; run python3 tools/fetch_weights.py --models {MODEL}", file=sys.stderr)
        return 1
    golden = compute_golden(manifest, tensors)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = to_json(golden)
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text)} bytes)")
    for L in golden["layers"]:
        print(f"  {L['name']:8s} {str(L['shape']):15s} sum {L['sum']:.6g}  sum_sq {L['sum_sq']:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
