#!/bin/bash
# Makes the README's perceptual-control pictures in examples/controls/: the plain result, a
# two-style blend, the three colour modes, a masked two-style image and the feature means, each at 256 px with the
# normalised VGG-19 on the CPU backend. Each command is printed as it runs (the README quotes
# them). About 9 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${NS:-.build/release/neural-style}
[ -x "$NS" ] || swift build -c release
OUT=examples/controls
mkdir -p "$OUT"
C=examples/astronaut.png S=examples/starry_night.png M=examples/mosaic.png
COMMON=(--size 256 --iterations 200 --backend cpu)
run() { echo "+ neural-style $*" | sed "s|$NS ||"; "$NS" "$@" "${COMMON[@]}" 2>&1 | tail -1; }
run stylize $C $S -o $OUT/plain.png
run stylize $C $S $M --style-blend-weights 1,1 -o $OUT/blend.png
run stylize $C $S --preserve-color luminance -o $OUT/luminance.png
run stylize $C $S --preserve-color histogram -o $OUT/histogram.png
run stylize $C $S --preserve-color post -o $OUT/post.png
run stylize $C $S $M --style-mask 1:examples/astronaut-mask.png --style-mask 2:examples/astronaut-background.png -o $OUT/masked.png
run stylize $C $S --style-mean-weight 1 -o $OUT/means.png
