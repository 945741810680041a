#!/usr/bin/env python3
"""Writes a slow pan and zoom across a photograph as PNG frames, with its exact motion: the
README's video example (a stand-in for real footage whose motion is known exactly).

Frame t shows the source around centre c_t at scale s_t (source pixels per frame pixel):
frame pixel (u, v) is source point c_t + s_t·(u − W/2, v − H/2), sampled bilinearly.

usage: python3 tools/make_pan_clip.py SOURCE.png OUTDIR [--frames 16] [--width 160] [--height 120]
       python3 tools/make_pan_clip.py --flicker STYLISED_DIR [same options]   # the flicker figure
The flicker figure is the mean squared difference (0–255 scale) between stylised frame t and
stylised frame t−1 moved by the true motion, over pixels visible in both, averaged over t.
"""
import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_mosaic import write_png  # noqa: E402


def read_png(path):
    """8-bit RGB/RGBA/grey PNG → H×W×3 float array (zlib + the five filters)."""
    import struct
    import zlib
    data = pathlib.Path(path).read_bytes()
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {0: 1, 2: 3, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = w * channels
    out = np.zeros((h, stride), np.int64)
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        f, line = raw[y * (stride + 1)], np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            b, c = prev[x], (prev[x - channels] if x >= channels else 0)
            if f == 0: v = line[x]
            elif f == 1: v = line[x] + a
            elif f == 2: v = line[x] + b
            elif f == 3: v = line[x] + (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                v = line[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))
            cur[x] = v & 255
        out[y], prev = cur, cur
    img = out.reshape(h, w, channels).astype(float)
    return np.repeat(img, 3, 2) if channels == 1 else img[:, :, :3]


def bilinear(img, x, y):
    h, w, _ = img.shape
    x, y = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    return (img[y0, x0] * (1 - fx) * (1 - fy) + img[y0, x1] * fx * (1 - fy)
            + img[y1, x0] * (1 - fx) * fy + img[y1, x1] * fx * fy)


def camera(t, n, source_w, source_h):
    """Centre and scale of frame t: pan left to right across the upper body, zooming in by 15 %."""
    k = t / max(n - 1, 1)
    cx, cy = source_w * (0.40 + 0.18 * k), source_h * (0.42 + 0.04 * k)
    return np.array([cx, cy]), 2.2 * (1 - 0.15 * k)


def frames(source, n, w, h):
    uu, vv = np.meshgrid(np.arange(w) - w / 2, np.arange(h) - h / 2)
    for t in range(n):
        c, s = camera(t, n, source.shape[1], source.shape[0])
        yield bilinear(source, c[0] + s * uu, c[1] + s * vv)


def flicker(stylised, n, w, h, source_w, source_h):
    uu, vv = np.meshgrid(np.arange(w) - w / 2, np.arange(h) - h / 2)
    errors = []
    for t in range(1, n):
        (c1, s1), (c0, s0) = camera(t, n, source_w, source_h), camera(t - 1, n, source_w, source_h)
        # where frame t's pixels were in frame t−1
        x = w / 2 + (c1[0] - c0[0] + s1 * uu) / s0
        y = h / 2 + (c1[1] - c0[1] + s1 * vv) / s0
        seen = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
        d = stylised[t] - bilinear(stylised[t - 1], x, y)
        errors.append(float((d[seen] ** 2).mean()))
    return float(np.mean(errors))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--flicker", action="store_true")
    ap.add_argument("--source-size", default="512x512", help="with --flicker: the source photograph's size")
    a = ap.parse_args()
    if a.flicker:
        sw, sh = map(int, a.source_size.split("x"))
        folder = pathlib.Path(a.paths[0])
        stylised = [read_png(folder / f"frame-{t:05d}.png") for t in range(a.frames)]
        print(f"{flicker(stylised, a.frames, a.width, a.height, sw, sh):.1f}")
    else:
        source, out = read_png(a.paths[0]), pathlib.Path(a.paths[1])
        out.mkdir(parents=True, exist_ok=True)
        for t, f in enumerate(frames(source, a.frames, a.width, a.height)):
            write_png(out / f"frame-{t:03d}.png", np.clip(f.round(), 0, 255).astype(np.uint8))
        print(f"wrote {a.frames} frames to {out}")
