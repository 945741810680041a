#!/usr/bin/env python3
"""Writes examples/mosaic.png: a synthetic stained-glass style image (Voronoi cells in bold
colours with dark lead lines), made from a fixed seed so it is reproducible and free of any
copyright. The second style for the README's multi-style and mask pictures.

usage: python3 tools/make_mosaic.py [OUT.png] [--size 512]
"""
import argparse
import pathlib
import struct
import zlib

import numpy as np


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    pathlib.Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                   + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def mosaic(size, cells=90, seed=7):
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, size, (cells, 2))
    palette = np.array([[200, 30, 40], [240, 190, 30], [30, 90, 180], [20, 140, 90], [240, 240, 220],
                        [120, 40, 150], [230, 110, 30]], float)
    colours = palette[rng.integers(0, len(palette), cells)] + rng.normal(0, 12, (cells, 3))
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    d = np.stack([np.hypot(xx - px, yy - py) for px, py in points])   # cells × H × W
    order = np.argsort(d, axis=0)
    nearest, second = np.take_along_axis(d, order[:1], 0)[0], np.take_along_axis(d, order[1:2], 0)[0]
    img = colours[order[0]]
    # light falls off towards each cell's edge, like thick glass
    img *= (0.75 + 0.25 * np.clip(1 - nearest / (size / 12), 0, 1))[..., None]
    img[(second - nearest) < size / 170] = [25, 22, 20]                # lead lines
    return np.clip(img, 0, 255).astype(np.uint8)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=str(pathlib.Path(__file__).resolve().parent.parent / "examples/mosaic.png"))
    ap.add_argument("--size", type=int, default=512)
    a = ap.parse_args()
    write_png(a.out, mosaic(a.size))
    print("wrote", a.out)
