#!/usr/bin/env bash
# Installs the system packages neural-style needs, when missing (Debian/Ubuntu, run as root or with sudo).
set -euo pipefail
packages=(ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev clblast-utils libpng-dev libjpeg62-turbo-dev
          libopenblas-dev zlib1g-dev oclgrind ffmpeg libopencv-video-dev libsqlite3-dev chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null; then
  echo "setup: Swift 5.9 or newer is required (https://www.swift.org/install)" >&2
  exit 1
fi
# The studio's browser test (tools/studio_browser_test.py) drives Debian's Chromium with Selenium.
if ! python3 -c "import selenium" 2>/dev/null; then
  echo "setup: installing selenium (pip)"
  python3 -m pip install -q -r "$(dirname "$0")/requirements-test.txt"
fi
