#!/usr/bin/env bash
# Packages a release build with the shared libraries it needs, for running on another x86-64
# Linux machine (for example one with a GPU and its vendor's OpenCL driver but no Swift):
#   bash tools/package.sh [OUT_DIR]          (default: dist/neural-style; also OUT_DIR.tar.gz)
#   OUT_DIR/neural-style devices             (the wrapper sets LD_LIBRARY_PATH)
# The binary and libraries are stripped; the tarball (about 35 MB) is what to copy: on the other
# machine, tar -xzf neural-style.tar.gz && neural-style/gpu-check.sh results
# The OpenCL loader (libOpenCL.so.1) is bundled; the device driver is the target machine's own
# ICD (/etc/OpenCL/vendors/*.icd, or OCL_ICD_VENDORS pointing at a folder of .icd files).
# PoCL is deliberately not bundled. Weights are not bundled: copy a .nsw file and pass
# --weights, or use --model random for timing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist/neural-style}"
swift build -c release --static-swift-stdlib
bin=".build/release/neural-style"
rm -rf "$out"
mkdir -p "$out/lib"
cp "$bin" "$out/lib/neural-style"
# every shared library the binary pulls in, except the C runtime the target already has
ldd "$bin" | awk '/=> \// { print $3 }' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libgcc_s.so*|libstdc++.so*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done
cat > "$out/neural-style" <<'WRAP'
#!/usr/bin/env bash
here="$(cd "$(dirname "$0")" && pwd)"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$here/lib/neural-style" "$@"
WRAP
chmod +x "$out/neural-style"
cp tools/gpu-check.sh "$out/"
# CLBlast's tuners (clblast-utils), for gpu-check.sh --tune; they use the bundled libraries
mkdir -p "$out/tuners"
for t in clblast_tuner_xgemm clblast_tuner_xgemm_direct; do
  if command -v "$t" >/dev/null; then cp "$(command -v "$t")" "$out/tuners/"; fi
done
strip "$out/lib/neural-style"
strip --strip-unneeded "$out"/lib/*.so* "$out"/tuners/* 2>/dev/null || true
tar -czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
du -sh "$out" "$out.tar.gz"
echo "packaged into $out and $out.tar.gz; try: $out/neural-style devices"
