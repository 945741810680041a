#!/usr/bin/env bash
# Final loss after the same number of evaluations, Armijo against strong Wolfe line search:
# both example pairs (each image as content and as style), content and random init, α = 1, 5, 50.
#   bash tools/compare-line-search.sh [SIZE] [ITERATIONS]     (default 192 and 100; CPU backend)
# Prints one line per case with both totals and Wolfe's relative difference, then the median.
# Where torch is installed (tools/requirements-bench.txt, with Pillow), each line also gives
# PyTorch's LBFGS(line_search_fn="strong_wolfe") on the same objective at the same budget
# (tools/pytorch_lbfgs.py; its images are resized by Pillow and its noise is torch's, so it is
# a reference, not a bit-for-bit twin).
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-192}"; its="${2:-100}"
swift build -c release >/dev/null
bin=.build/release/neural-style
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
diffs=()
torch=0; python3 -c "import torch, PIL" 2>/dev/null && torch=1
for pair in "astronaut starry_night" "starry_night astronaut"; do
  set -- $pair
  for init in content random; do
    for sw in 1 5 50; do
      line="$1/$2 init=$init α=$sw"
      declare -A total
      for ls in armijo wolfe; do
        total[$ls]=$("$bin" stylize "examples/$1.png" "examples/$2.png" -o "$out/o.png" --size "$size" --iterations "$its" \
          --init "$init" --style-weight "$sw" --line-search "$ls" --backend cpu --json 2>/dev/null \
          | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
        line="$line $ls=${total[$ls]}"
      done
      d=$(python3 -c "print('%+.2f' % (100 * (${total[wolfe]} / ${total[armijo]} - 1)))")
      diffs+=("$d")
      line="$line wolfe-vs-armijo=${d}%"
      if [ "$torch" = 1 ]; then
        pt=$(python3 tools/pytorch_lbfgs.py "examples/$1.png" "examples/$2.png" --size "$size" --evaluations "$its" \
          --init "$init" --alpha "$sw" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
        line="$line pytorch-strong-wolfe=$pt"
      fi
      echo "$line"
    done
  done
done
python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print('median %+.2f %%, worst %+.2f %%' % (statistics.median(v), max(v)))" "${diffs[@]}"
