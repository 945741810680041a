#!/usr/bin/env bash
# The test suite: parity (OpenCL vs CPU), gradients, weights, end to end. Uses the first
# OpenCL device (PoCL on machines without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 tools/embed_kernels.py --check || { echo "kernels/ changed: run python3 tools/embed_kernels.py" >&2; exit 1; }
swift build --build-tests
swift test --skip-build --disable-swift-testing "$@"
