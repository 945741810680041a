#!/usr/bin/env bash
# Final loss after the same number of evaluations, the first releases' L-BFGS (Armijo backtracking,
# no preconditioner) against the default (strong Wolfe search, pyramid preconditioner): both
# example pairs (each image as content and as style), content and random init, α = 1, 5, 50.
#   bash tools/compare-line-search.sh [SIZE] [ITERATIONS] [SAMPLES]   (default 192, 100 and 1; CPU backend)
# Prints one line per run with both totals and the default's relative difference, then the median
# and the worst case. CANDIDATE="flags" compares those optimiser flags instead of the default
# (CANDIDATE="--preconditioner none" gives the strong Wolfe search alone, as measured before the
# pyramid; the columns keep their names).
#
# At 100 evaluations the runs are far from converged, and a change in the last bits of the
# starting point sends one along another path, ±5 % away. SAMPLES > 1 starts each case from that
# many points and takes the median of its relative differences as the case's figure: from random
# noise, --seed 0 … SAMPLES−1; from the content image, sample 0 is the image itself and sample
# k ≥ 1 the image with the red value of pixel (k, k) moved by one level (--init PATH; the content
# target stays the photograph). Perturbed images need Pillow (tools/requirements-bench.txt).
#
# Each case's line also compares the worst of its samples: the highest final loss over the starting
# points, Armijo's against the default's.
#
# Where torch is installed (tools/requirements-bench.txt, with Pillow), sample 0's line also gives
# PyTorch's LBFGS(line_search_fn="strong_wolfe") on the same objective at the same budget
# (tools/pytorch_lbfgs.py; its images are resized by Pillow and its noise is torch's, so it is
# a reference, not a bit-for-bit twin). COMPARE_TORCH=0 leaves that column out.
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-192}"; its="${2:-100}"; samples="${3:-1}"
swift build -c release >/dev/null
bin=.build/release/neural-style
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
runs=(); cases=()
declare -A flags=([armijo]="--line-search armijo --preconditioner none" [default]="${CANDIDATE:-}")
# the final total from a --json report on stdin; b's relative difference from a, in per cent
json_total() { python3 -c "import json,sys; print(json.load(sys.stdin)['total'])"; }
percent() { python3 -c "print('%+.2f' % (100 * ($2 / $1 - 1)))"; }
torch=0; [ "${COMPARE_TORCH:-1}" != 0 ] && python3 -c "import torch, PIL" 2>/dev/null && torch=1
for pair in "astronaut starry_night" "starry_night astronaut"; do
  set -- $pair
  for init in content random; do
    for sw in 1 5 50; do
      case_diffs=(); worst_armijo=0; worst_default=0
      for ((k = 0; k < samples; k++)); do
        start=(--init "$init" --seed "$k")
        if [ "$init" = content ] && [ "$k" -gt 0 ]; then
          python3 - "examples/$1.png" "$out/start.png" "$k" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
k = int(sys.argv[3]); r, g, b = im.getpixel((k, k))
im.putpixel((k, k), (r + 1 if r < 255 else r - 1, g, b))
im.save(sys.argv[2])
EOF
          start=(--init "$out/start.png")
        fi
        line="$1/$2 init=$init α=$sw sample=$k"
        declare -A total
        for ls in armijo default; do
          total[$ls]=$("$bin" stylize "examples/$1.png" "examples/$2.png" -o "$out/o.png" --size "$size" --iterations "$its" \
            "${start[@]}" --style-weight "$sw" ${flags[$ls]} --backend cpu --json 2>/dev/null | json_total)
          line="$line $ls=${total[$ls]}"
        done
        d=$(percent "${total[armijo]}" "${total[default]}")
        runs+=("$d"); case_diffs+=("$d")
        worst_armijo=$(python3 -c "print(max($worst_armijo, ${total[armijo]}))")
        worst_default=$(python3 -c "print(max($worst_default, ${total[default]}))")
        line="$line default-vs-armijo=${d}%"
        if [ "$torch" = 1 ] && [ "$k" = 0 ]; then
          pt=$(python3 tools/pytorch_lbfgs.py "examples/$1.png" "examples/$2.png" --size "$size" --evaluations "$its" \
            --init "$init" --alpha "$sw" | json_total)
          line="$line pytorch-strong-wolfe=$pt"
        fi
        echo "$line"
      done
      m=$(python3 -c "import statistics,sys; print('%+.2f' % statistics.median(float(x) for x in sys.argv[1:]))" "${case_diffs[@]}")
      cases+=("$m")
      if [ "$samples" -gt 1 ]; then
        w=$(percent "$worst_armijo" "$worst_default")
        echo "$1/$2 init=$init α=$sw median of $samples samples: ${m}%; worst sample: armijo=$worst_armijo default=$worst_default (${w}%)"
      fi
    done
  done
done
summary() { python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[2:]]; print('%s: median %+.2f %%, worst %+.2f %%' % (sys.argv[1], statistics.median(v), max(v)))" "$@"; }
summary "cases (each the median of $samples samples)" "${cases[@]}"
if [ "$samples" -gt 1 ]; then summary "single runs" "${runs[@]}"; fi
exit 0
