#!/bin/bash
# Makes the README's video example in examples/video/: a slow pan and zoom across the astronaut
# photograph (tools/make_pan_clip.py, motion known exactly), stylised with the temporal term and
# without it, as a GIF and a strip of frames; prints the seconds per frame (CPU, and OpenCL on
# the first frames) and the flicker figure of both runs. About 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${NS:-.build/release/neural-style}
[ -x "$NS" ] || swift build -c release
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT=examples/video
mkdir -p "$OUT"
FRAMES=16
python3 tools/make_pan_clip.py examples/astronaut.png "$TMP/pan" --frames $FRAMES
COMMON=(--size 160 --iterations 60 --first-frame-iterations 150 --frame-rate 8)
set -x
"$NS" video "$TMP/pan" examples/starry_night.png -o "$OUT/astronaut-pan.gif" --keep-frames --backend cpu "${COMMON[@]}"
"$NS" video "$TMP/pan" examples/starry_night.png -o "$TMP/independent.gif" --keep-frames --temporal-weight 0 --frame-init content --backend cpu "${COMMON[@]}"
"$NS" video "$TMP/pan" examples/starry_night.png -o "$TMP/opencl" --frames 0:3 --backend opencl "${COMMON[@]}"
set +x
echo "flicker with the temporal term: $(python3 tools/make_pan_clip.py --flicker "$OUT/astronaut-pan.gif.frames" --frames $FRAMES)"
echo "flicker, independent frames:    $(python3 tools/make_pan_clip.py --flicker "$TMP/independent.gif.frames" --frames $FRAMES)"
python3 - "$OUT" <<'PY'
import sys, pathlib
sys.path.insert(0, "tools")
import numpy as np
from make_pan_clip import read_png
from make_mosaic import write_png
out = pathlib.Path(sys.argv[1])
frames = [read_png(out / "astronaut-pan.gif.frames" / f"frame-{t:05d}.png") for t in (0, 5, 10, 15)]
gap = np.full((frames[0].shape[0], 4, 3), 255.0)
strip = np.concatenate(sum([[f, gap] for f in frames], [])[:-1], axis=1)
write_png(out / "astronaut-pan-strip.png", strip.astype(np.uint8))
PY
cp "$TMP/independent.gif" "$OUT/astronaut-pan-independent.gif"
rm -rf "$OUT/astronaut-pan.gif.frames"
ls -la "$OUT"
