#!/usr/bin/env bash
# libFuzzer fuzzing of the two input parsers (see tools/fuzz/README.md):
#   image  nsio_read_file (Sources/CImageIO/imageio.c: PNG via libpng, JPEG via libjpeg-turbo)
#   nsw    ModelWeights.load (Sources/Engine/Network/ModelWeights.swift: the .nsw weights file)
#
# Usage: tools/fuzz.sh [seconds-per-target]        (default 60; both targets run side by side)
#
# Builds both harnesses under .build-fuzz/ (never .build/), writes fresh seed corpora, runs each
# target for the given time and prints one summary line per target. Exits 1 when any target
# reported a crash, leak, timeout, out-of-memory or sanitizer error (crash inputs are copied to
# $FUZZ_FINDINGS, default /tmp/fuzz-findings), 2 on a build or setup failure.
#
# Environment: FUZZ_TARGETS="image nsw" (subset), FUZZ_OUT (default .build-fuzz), FUZZ_FINDINGS,
# NSW_FUZZ_DIR (where the .nsw harness writes its one scratch file per process, default /dev/shm),
# FUZZ_KEEP_CORPUS=1 (continue from the previous run's corpus instead of starting from the seeds),
# FUZZ_NO_BUILD=1 (reuse the built harnesses).
# Needs: clang and swift (the Swift toolchain's clang has libFuzzer), libpng/libjpeg-turbo/zlib
# headers, python3, cjpeg (Debian libjpeg-turbo-progs), and what the Engine links (OpenCL,
# clblast, openblas), as for the main build.
set -uo pipefail

SECS=${1:-60}
[[ $SECS =~ ^[0-9]+$ && $SECS -gt 0 ]] || { echo "usage: $0 [seconds-per-target]" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
FINDINGS=${FUZZ_FINDINGS:-/tmp/fuzz-findings}
TARGETS=${FUZZ_TARGETS:-image nsw}
CC=${CC:-clang}
NSW_DIR=${NSW_FUZZ_DIR:-$( [[ -d /dev/shm ]] && echo /dev/shm || echo "$OUT")}  # the .nsw scratch files
mkdir -p "$OUT" "$FINDINGS"
rm -f "$OUT"/summary-*.txt

die() { echo "fuzz.sh: $*" >&2; exit 2; }
for tool in "$CC" swift python3; do command -v "$tool" >/dev/null || die "$tool not found"; done

# ---- build ----

IMAGE_BIN=$OUT/image/fuzz_image
NSW_BIN=$OUT/weights/release/FuzzWeights
if [[ -z ${FUZZ_NO_BUILD:-} ]]; then
    mkdir -p "$OUT/image"
    echo "== building image harness (clang, ASan+UBSan+libFuzzer)"
    # -fno-sanitize-recover makes a UBSan report fatal, so libFuzzer records it as a crash.
    "$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fuse-ld=lld \
        -I Sources/CImageIO/include Sources/CImageIO/imageio.c tools/fuzz/fuzz_image.c \
        -lpng16 -ljpeg -lz -o "$IMAGE_BIN" || die "image harness build failed"
    "$CC" -O1 tools/fuzz/gen_image_seeds.c -lpng16 -lz -o "$OUT/image/gen_image_seeds" \
        || die "image seed generator build failed"
    if [[ " $TARGETS " == *" nsw "* ]]; then
        echo "== building nsw harness (swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address)"
        # Both spellings are needed. --sanitize=fuzzer alone: SwiftPM then leaves main() to
        # libFuzzer (with only -Xswiftc it renames the entry point to FuzzWeights_main and the
        # link fails), but it passes -sanitize=fuzzer -sanitize=address as two flags and swiftc
        # keeps only the last, so no Swift code gets coverage. -Xswiftc -sanitize=fuzzer,address,
        # which comes after them, instruments every Swift target, Engine included.
        swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
            --package-path tools/fuzz --scratch-path "$OUT/weights" 2>&1 \
            | grep -Ev "^/usr/bin/ld.gold: warning: Cannot export local symbol|warning: variable .* was never mutated" \
            | grep -E "error|warning:|Compiling|Linking|Build complete" \
            ; [[ ${PIPESTATUS[0]} -eq 0 ]] || die "nsw harness build failed"
    fi
fi

# ---- seed corpora ----

SEEDS=$OUT/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS/image" "$SEEDS/nsw"
"$OUT/image/gen_image_seeds" "$SEEDS/image" || die "PNG seeds failed"
if command -v cjpeg >/dev/null; then
    python3 - "$SEEDS" <<'EOF'
import sys
d, w, h = sys.argv[1], 13, 9
open(f"{d}/s.ppm", "wb").write(b"P6 %d %d 255\n" % (w, h) + bytes((x * 19 + y * 7 + c * 50) % 256 for y in range(h) for x in range(w) for c in range(3)))
open(f"{d}/s.pgm", "wb").write(b"P5 %d %d 255\n" % (w, h) + bytes((x * 19 + y * 7) % 256 for y in range(h) for x in range(w)))
EOF
    i=0
    for opts in "-quality 75" "-progressive" "-arithmetic" "-restart 1" "-sample 1x1" "-sample 2x1" \
                "-optimize -dct float" "-grayscale" "-rgb" "-arithmetic -progressive -sample 1x1"; do
        # shellcheck disable=SC2086
        cjpeg $opts "$SEEDS/s.ppm" > "$SEEDS/image/jpeg$i.jpg" || die "cjpeg $opts failed"
        i=$((i + 1))
    done
    cjpeg "$SEEDS/s.pgm" > "$SEEDS/image/jpeg_pgm.jpg" || die "cjpeg failed"
    head -c 300 "$SEEDS/image/jpeg0.jpg" > "$SEEDS/image/jpeg_truncated.jpg"
    rm -f "$SEEDS/s.ppm" "$SEEDS/s.pgm"
else
    echo "fuzz.sh: cjpeg not found (apt-get install libjpeg-turbo-progs): no JPEG seeds" >&2
fi
python3 tools/fuzz/gen_nsw_seeds.py "$SEEDS/nsw" >/dev/null || die "nsw seeds failed"

# ---- run ----

# run_target NAME BINARY MAX_LEN DICT
# libFuzzer's fork mode (one worker process) with crashes, OOMs and timeouts ignored, so one finding
# does not end the run: every input that crashed, leaked, timed out or ran out of memory is kept as
# an artefact, copied to $FINDINGS and re-run once to save its report (NAME-ARTEFACT.txt).
# -malloc_limit_mb=256: no single allocation for a <=16 KiB input should come near that (the image
# harness allows 4 MP, 12 MB of RGB), so a larger one is reported as an out-of-memory finding.
run_target() {
    local name=$1 bin=$2 maxlen=$3 dict=$4
    local corpus=$OUT/corpus/$name art=$OUT/artifacts/$name/ log=$OUT/logs/$name.log
    local flags=(-max_len="$maxlen" -dict="$dict" -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=256)
    [[ -z ${FUZZ_KEEP_CORPUS:-} ]] && rm -rf "$corpus"
    rm -rf "$art"
    mkdir -p "$corpus" "$art" "$OUT/logs"
    local start=$SECONDS status=ok
    # fork mode leaves its workers' logs in the current folder: run from a scratch one
    (cd "$OUT/logs" && "$bin" "$corpus" "$SEEDS/$name" -fork=1 -ignore_crashes=1 -ignore_ooms=1 \
        -ignore_timeouts=1 -max_total_time="$SECS" -artifact_prefix="$art" "${flags[@]}") > "$log" 2>&1 \
        || status=FAIL
    local secs_run=$((SECONDS - start))
    local line execs cov ft corp found n=0
    line=$(grep -E "^#[0-9]+: cov: " "$log" | tail -1)
    execs=$(grep -oE "^#[0-9]+" <<< "$line" | tr -d '#')
    cov=$(grep -oE "cov: [0-9]+" <<< "$line" | grep -oE "[0-9]+")
    ft=$(grep -oE "ft: [0-9]+" <<< "$line" | grep -oE "[0-9]+")
    found=$(grep -oE "oom/timeout/crash: [0-9/]+" <<< "$line" | cut -d' ' -f2)
    [[ -z $line ]] && status=FAIL
    for f in "$art"*; do
        [[ -f $f ]] || continue
        status=FAIL
        n=$((n + 1))
        local dest=$FINDINGS/$name-$(basename "$f")
        cp -f "$f" "$dest"
        # re-run the artefact once to keep its sanitizer report (first 20 only)
        # (the image harness also saves the bytes as it decoded them, CRCs fixed: DEST.as-decoded)
        (( n <= 20 )) && (cd "$OUT/logs" && NSIO_FUZZ_SAVE_INPUT=$dest.as-decoded "$bin" "${flags[@]}" -runs=1 "$dest") \
            > "$dest.txt" 2>&1
        [[ -f $dest.as-decoded ]] && cmp -s "$dest" "$dest.as-decoded" && rm -f "$dest.as-decoded"
    done
    # a sanitizer report printed by the fork driver itself (not by an ignored worker) counts too
    grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:" "$log" \
        && status=FAIL
    printf '%-6s %-4s %ds, %s execs (%s/s), cov %s ft %s, corpus %s files, oom/timeout/crash %s, %d artefact(s)%s, log %s\n' \
        "$name" "$status" "$secs_run" "${execs:-?}" "$(( ${execs:-0} / (secs_run > 0 ? secs_run : 1) ))" \
        "${cov:-?}" "${ft:-?}" "$(find "$corpus" -type f | wc -l)" "${found:-?}" "$n" \
        "$( ((n > 0)) && echo " -> $FINDINGS/$name-*")" "$log" > "$OUT/summary-$name.txt"
    [[ $status == ok ]]
}

echo "== fuzzing for ${SECS}s per target: $TARGETS (artefacts under $OUT/artifacts, findings in $FINDINGS)"
pids=()
for t in $TARGETS; do
    case $t in
        image) run_target image "$IMAGE_BIN" 16384 "$ROOT/tools/fuzz/png.dict" & pids+=($!) ;;
        nsw)
            NSW_FUZZ_DIR=$NSW_DIR \
            LSAN_OPTIONS=suppressions=$ROOT/tools/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS} \
                run_target nsw "$NSW_BIN" 16384 "$ROOT/tools/fuzz/nsw.dict" & pids+=($!) ;;
        *) die "unknown target $t (image, nsw)" ;;
    esac
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
rm -f "$NSW_DIR"/nsw-fuzz-*.nsw 2>/dev/null
echo "== summary"
for t in $TARGETS; do cat "$OUT/summary-$t.txt"; done
exit $fail
