#!/usr/bin/env bash
# The test suite: weight converter, parity (OpenCL vs CPU), gradients, weights, end to end, the
# studio's API; then, when no filter is given, the studio in a real browser. Uses the first OpenCL
# device (PoCL on machines without a GPU). Tests that need the pretrained weights are skipped
# until `python3 tools/fetch_weights.py` has run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 tools/embed_kernels.py --check || { echo "kernels/ or web/ changed: run python3 tools/embed_kernels.py" >&2; exit 1; }
python3 -m unittest tools/test_fetch_weights.py
swift build --build-tests
swift test --skip-build --disable-swift-testing "$@"
if [ $# -eq 0 ]; then
  python3 tools/studio_browser_test.py --binary .build/debug/neural-style --artifacts .build/studio-artifacts
fi
