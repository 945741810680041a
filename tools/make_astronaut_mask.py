#!/usr/bin/env python3
"""Writes examples/astronaut-mask.png, a grey-level mask (white = the astronaut: head, suit and
helmet, drawn as ellipses over examples/astronaut.png, edges softened), and its complement
examples/astronaut-background.png, for the README's --style-mask picture.

usage: python3 tools/make_astronaut_mask.py [FOLDER]
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_mosaic import write_png  # noqa: E402


def mask(size=512):
    yy, xx = np.mgrid[0:size, 0:size].astype(float)

    def ellipse(cx, cy, rx, ry):
        return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1

    person = (ellipse(226, 100, 78, 90) | ellipse(200, 390, 180, 235) | ellipse(212, 225, 100, 80)
              | ellipse(395, 432, 118, 112))
    m = person.astype(float)
    for _ in range(6):   # soften the edges: a few 3×3 box blurs
        p = np.pad(m, 1, mode="edge")
        m = sum(p[i:i + size, j:j + size] for i in range(3) for j in range(3)) / 9
    grey = (255 * m).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


if __name__ == "__main__":
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "examples")
    m = mask()
    for name, image in [("astronaut-mask.png", m), ("astronaut-background.png", 255 - m)]:
        write_png(folder / name, image)
        print("wrote", folder / name)
