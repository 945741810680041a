#!/usr/bin/env bash
# The GPU path, checked without a GPU: the parity table (its `simulator` shapes, which reach every
# kernel and every vector and remainder branch) on the Oclgrind simulator, with its data-race,
# out-of-bounds and API checks (and uninitialised values where Oclgrind copes), once with each
# parameter profile:
#   gpu            what a GPU gets: im2col + CLBlast, 256-wide reductions
#   cpu            what a CPU device gets: the direct kernels, Winograd from 64 channels
#   cpu-winograd   the convolutions again with winogradMinChannels=4 (our batched GEMM)
#   gpu-winograd   the same with the products in CLBlast's strided batched SGEMM
# Fails on any parity failure or any Oclgrind report on our kernels or API use. Reports on
# CLBlast's own kernels are listed apart (not ours to fix) and do not fail the check.
#   bash tools/oclgrind-check.sh [PASS …]        (default: all four; NEURAL_STYLE_BIN picks the binary,
#                                                 OCLGRIND_CHECK_ONLY=OP restricts the cases like check --only)
# Oclgrind gets no system-wide ICD entry (it reports itself as CPU, GPU and accelerator at once,
# so --backend auto would pick it): the loader is pointed at it here only.
set -uo pipefail
cd "$(dirname "$0")/.."
lib="$(dpkg -L oclgrind 2>/dev/null | grep 'liboclgrind-rt-icd.so$' | head -n 1)"
if [ -z "$lib" ]; then echo "oclgrind-check: Oclgrind is not installed (apt-get install oclgrind)" >&2; exit 1; fi
bin="${NEURAL_STYLE_BIN:-.build/debug/neural-style}"
if [ ! -x "$bin" ]; then swift build >/dev/null || exit 1; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "$lib" > "$work/oclgrind.icd"
export OCL_ICD_VENDORS="$work" OCLGRIND_DATA_RACES=1 OCLGRIND_CHECK_API=1
export OCLGRIND_MAX_ERRORS=1000000000 OCLGRIND_NUM_THREADS="$(nproc)"
# our kernels' names, from the sources; anything else named in a report is CLBlast's
# (every function returning void: kernels, and a few helpers that never appear as a report's kernel)
ours="$(grep -hoE '\bvoid[[:space:]]+[A-Za-z_0-9]+[[:space:]]*\(' kernels/*.cl | sed -E 's/void[[:space:]]+//; s/[[:space:]]*\(//' | sort -u | tr '\n' ' ')"
passes=("$@")
[ ${#passes[@]} -eq 0 ] && passes=(gpu cpu cpu-winograd gpu-winograd)
failed=0
for pass in "${passes[@]}"; do
  args=(check --table simulator)
  [ -n "${OCLGRIND_CHECK_ONLY:-}" ] && args+=(--only "$OCLGRIND_CHECK_ONLY")
  case "$pass" in
    # The uninitialised-value plugin runs in the gpu pass only: on the vectorised direct and
    # Winograd kernels Oclgrind 21.10 crashes inside it (a segfault in a memcpy of
    # Uninitialized::instructionExecuted), and on conv3x3_direct it also flags vector builtins
    # (mad, vstore) whose every lane is initialised (its issue 126). There only races, bounds
    # and the API are checked.
    gpu) profile=gpu; params=""; uninit=1 ;;
    # fma=on in the cpu pass: PoCL and GPUs report CL_FP_FMA and run the register-blocked kernels
    # with fma(), Oclgrind does not report it (so the gpu pass runs their mad() form)
    cpu) profile=cpu; params="fma=on"; uninit=0 ;;
    cpu-winograd) uninit=0; profile=cpu; params="winogradMinChannels=4"; [ -z "${OCLGRIND_CHECK_ONLY:-}" ] && args+=(--only conv3x3) ;;
    gpu-winograd) uninit=0; profile=gpu; params="winogradMinChannels=4"; [ -z "${OCLGRIND_CHECK_ONLY:-}" ] && args+=(--only conv3x3) ;;
    *) echo "oclgrind-check: unknown pass $pass (gpu, cpu, cpu-winograd, gpu-winograd)" >&2; exit 1 ;;
  esac
  start=$(date +%s)
  NEURAL_STYLE_CL_PROFILE="$profile" NEURAL_STYLE_CL_PARAMETERS="$params" OCLGRIND_LOG="$work/$pass.log" \
    OCLGRIND_UNINITIALIZED="$uninit" "$bin" "${args[@]}" > "$work/$pass.out" 2>&1
  rc=$?
  touch "$work/$pass.log"
  # each report: a message line, then a tab-indented "Kernel: NAME" (API errors have "Function:")
  awk -v ours="$ours" '
    BEGIN { n = split(ours, k, " "); for (i = 1; i <= n; i++) mine[k[i]] = 1 }
    /^[^\t ]/ && !/^Oclgrind: / { msg = $0; sub(/ (at|address) .*/, "", msg); pending = 1; next }
    /^\tKernel: / && pending { count[($2 in mine ? "ours" : "clblast") "\t" $2 ": " msg]++; pending = 0; next }
    /^\tFunction: / && pending { count["ours\tAPI " $2 ": " msg]++; pending = 0 }
    END { for (key in count) print count[key] "\t" key }' "$work/$pass.log" | sort -k2,2 -k1,1nr > "$work/$pass.reports"
  own=$(awk -F'\t' '$2 == "ours" { s += $1 } END { print s + 0 }' "$work/$pass.reports")
  theirs=$(awk -F'\t' '$2 == "clblast" { s += $1 } END { print s + 0 }' "$work/$pass.reports")
  summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/$pass.out" | tail -n 1)"
  checks="races, bounds, API$([ "$uninit" = 1 ] && echo ', uninitialised values')"
  echo "oclgrind-check $pass ($profile profile${params:+, $params}; $checks): ${summary:-no summary (exit $rc)}; Oclgrind reports on our kernels: $own, on CLBlast's: $theirs ($(( $(date +%s) - start )) s)"
  awk -F'\t' '{ printf "    %s %7d  %s\n", ($2 == "ours" ? "OURS   " : "CLBlast"), $1, $3 }' "$work/$pass.reports"
  if [ "$rc" -ne 0 ] || [ -z "$summary" ] || [ "$own" -ne 0 ]; then
    failed=$((failed + 1))
    grep -E 'fail|error' "$work/$pass.out" | head -n 20 | sed 's/^/    /'
  fi
done
echo "oclgrind-check: $(( ${#passes[@]} - failed )) of ${#passes[@]} passes clean"
[ "$failed" -eq 0 ]
