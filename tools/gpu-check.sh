#!/usr/bin/env bash
# The device check to run on a GPU machine from a package made by tools/package.sh:
#   bash gpu-check.sh [RESULTS_DIR] [--tune]
# Lists devices, runs the parity check on the default (GPU) device (also with the Winograd
# kernels), then the operation and iteration benchmarks with random weights (also with Winograd);
# everything is also written to RESULTS_DIR. Each benchmark has a time limit. With --tune as the
# second argument it also tunes CLBlast for the GPU and our own kernels (neural-style tune), and
# benchmarks with each tuning.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-results}"
tune="${2:-}"   # --tune: also run CLBlast's tuners (about 4 more minutes) and benchmark with their results
mkdir -p "$out"
ns="$here/neural-style"
# NVIDIA's OpenCL driver without a registered ICD: point the loader at it
if ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 && [ -z "${OCL_ICD_VENDORS:-}" ]; then
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
    if [ -e "$d/libnvidia-opencl.so.1" ]; then
      mkdir -p "$here/icd"
      echo "$d/libnvidia-opencl.so.1" > "$here/icd/nvidia.icd"
      export OCL_ICD_VENDORS="$here/icd"
      break
    fi
  done
fi
"$ns" devices 2>&1 | tee "$out/devices.txt"
"$ns" devices --json > "$out/devices.json" 2>&1
"$ns" check 2>&1 | tail -n 200 > "$out/check.txt"; echo "check: $(tail -n 1 "$out/check.txt")"
# the Winograd kernels (off by default on GPUs) on every table shape, with CLBlast's GEMMs
NEURAL_STYLE_CL_PARAMETERS=winogradMinChannels=4 "$ns" check 2>&1 | tail -n 200 > "$out/check-winograd.txt"
echo "check (Winograd): $(tail -n 1 "$out/check-winograd.txt")"
"$ns" bench ops --backend opencl --size 512 2>&1 | tee "$out/bench-ops.txt" | tail -n 5
timeout 300 "$ns" bench iterations --backend opencl --sizes 512,1024,2048,4096 --iterations 5 --warmup 2 --json > "$out/bench.json" 2>&1
cat "$out/bench.json"
# the same with Winograd F(4×4, 3×3) for ≥ 64 channels (GEMMs by CLBlast): is it the better default here?
NEURAL_STYLE_CL_PARAMETERS=winogradMinChannels=64 timeout 300 "$ns" bench iterations --backend opencl \
  --sizes 512,2048 --iterations 5 --warmup 2 --json > "$out/bench-winograd.json" 2>&1
cat "$out/bench-winograd.json"
# 500 L-BFGS iterations at 512² end to end (random weights, synthetic images)
start=$(date +%s.%N)
timeout 200 "$ns" bench iterations --backend opencl --sizes 512 --iterations 500 --warmup 0 --json > "$out/bench-500.json" 2>&1
end=$(date +%s.%N)
echo "500 iterations at 512: $(awk "BEGIN { print $end - $start }") s wall" | tee "$out/500.txt"
# CLBlast tuned for this GPU (CLBlast's own tuners, bundled by package.sh), then the same benchmark
if [ "$tune" = "--tune" ] && [ -x "$here/tuners/clblast_tuner_xgemm" ]; then
  mkdir -p "$out/clblast-tuning"
  (cd "$out/clblast-tuning" && export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" &&
    timeout 150 "$here/tuners/clblast_tuner_xgemm" -precision 32 -m 1024 -n 1024 -k 1024 -fraction 0.25 > xgemm.log 2>&1;
    timeout 90 "$here/tuners/clblast_tuner_xgemm_direct" -precision 32 -m 256 -n 256 -k 256 -fraction 0.1 > xgemm_direct.log 2>&1)
  ls "$out/clblast-tuning"
  NEURAL_STYLE_CLBLAST_TUNING="$out/clblast-tuning" timeout 200 "$ns" bench iterations --backend opencl --sizes 512,2048 \
    --iterations 5 --warmup 2 --json > "$out/bench-tuned.json" 2>&1
  cat "$out/bench-tuned.json"
fi
# our own kernels tuned for this GPU (neural-style tune: verified candidates, saved per device),
# then the same benchmark with the tuned file
if [ "$tune" = "--tune" ]; then
  NEURAL_STYLE_TUNING="$out/tuning" timeout 300 "$ns" tune --size 512 --budget 3m --clblast off > "$out/tune.txt" 2>&1
  tail -n 3 "$out/tune.txt"
  NEURAL_STYLE_TUNING="$out/tuning" timeout 200 "$ns" bench iterations --backend opencl --sizes 512,2048 \
    --iterations 5 --warmup 2 --json > "$out/bench-tuned-kernels.json" 2>&1
  cat "$out/bench-tuned-kernels.json"
fi
