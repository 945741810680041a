#!/usr/bin/env python3
"""Side-by-side benchmark: the same style-transfer iteration in PyTorch and in neural-style.

Workload (identical on both sides):

* VGG-19 up to relu5_1: 3x3 convolutions (pad 1, bias) + ReLU + 2x2 max-pool, float32,
  input 3xSxS in network space (BGR, 0..255 minus the mean).
* L = (1/(C.H.W)).||F - P||^2 at relu4_2
    + alpha . sum_l (1/|L|) . (1/C_l^2) . ||G_l - A_l||^2 over relu1_1 .. relu5_1,
      G = F.F^T / (H.W)
    + beta . sum (x[i+1,j] - x[i,j])^2 + (x[i,j+1] - x[i,j])^2,   alpha = 5, beta = 1e-8.
* Targets P, A from random content / style images, computed once per size; x starts at the
  content image.
* Weights: He-initialised random, N(0, 2/(9.Cin)), zero bias (or --weights PATH.nsw).
* torch.optim.LBFGS(history_size=100, max_iter=N, lr=1, line_search_fn=None), one .step().
  Time per iteration = difference between consecutive closure calls (L-BFGS's own work
  included), warm-up evaluations dropped, median reported.

Our side runs in the same process tree, interleaved per size:
``neural-style bench iterations --sizes S --backend cpu --model random --iterations N
--warmup W --json`` (and ``--backend opencl`` with --opencl; with --opencl-untuned also
NEURAL_STYLE_TUNING=off, the shipped defaults beside the tuned file).

Usage:
    python3 tools/compare_pytorch.py                       # sizes 128,256,512, 2 threads
    python3 tools/compare_pytorch.py --sizes 64,128 --iterations 3 --warmup 1
    python3 tools/compare_pytorch.py --threads 8 --rounds 3 --opencl --json out.json
    python3 tools/compare_pytorch.py --omp-wait-policy passive   # on a busy machine

On a machine with other load, torch's spinning OpenMP threads can make it several times
slower (seen on a busy 2-core box: 1.1 s instead of 0.05 s per iteration at 64x64); the
script warns when the load average is high, and --omp-wait-policy passive avoids most of it.

Needs: ``pip install torch`` (see tools/requirements-bench.txt) and a release build
(``swift build -c release``). torch is used by this script only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEAN_BGR = (103.939, 116.779, 123.68)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
LAST_LAYER = "relu5_1"
ALPHA = 5.0
BETA = 1e-8
LBFGS_HISTORY = 100
# VGG-19 conv layers per block, and block widths
VGG19_BLOCKS = (2, 2, 4, 4, 4)
BLOCK_WIDTH = (64, 128, 256, 512, 512)


def die(msg: str):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


# --------------------------------------------------------------------------
# Architecture (shared by both sides' bookkeeping)
# --------------------------------------------------------------------------

def vgg19_layers():
    """[(kind, name, cin, cout)] in network order, up to and including LAST_LAYER."""
    out = []
    cin = 3
    for b, (n, width) in enumerate(zip(VGG19_BLOCKS, BLOCK_WIDTH), start=1):
        for i in range(1, n + 1):
            out.append(("conv", f"conv{b}_{i}", cin, width))
            out.append(("relu", f"relu{b}_{i}", width, width))
            cin = width
            if f"relu{b}_{i}" == LAST_LAYER:
                return out
        out.append(("pool", f"pool{b}", cin, cin))
    return out


def iteration_gflop(size: int) -> float:
    """Analytic GFLOP per iteration, the same count as neural-style's iterationFlops:
    each conv 2x (forward + input gradient) of 2.Cout.Cin.9.H.W, plus 6.C^2.H.W per Gram
    (forward, and backward as one C x C by C x HW product)."""
    h = w = size
    total = 0.0
    c = 3
    for kind, name, cin, cout in vgg19_layers():
        if kind == "conv":
            total += 2 * 2 * cout * cin * 9 * h * w
            c = cout
        elif kind == "pool":
            h //= 2
            w //= 2
        if name in STYLE_LAYERS:
            total += 6 * c * c * h * w
    return total / 1e9


# --------------------------------------------------------------------------
# Machine
# --------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def read_status_kb(field: str):
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def loadavg():
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def reset_peak_rss() -> bool:
    """Resets VmHWM (and with it ru_maxrss) to the current RSS; Linux >= 4.0."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def fmt_bytes(n) -> str:
    if not n:
        return "?"
    if n >= 10 * 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB"


# --------------------------------------------------------------------------
# PyTorch side
# --------------------------------------------------------------------------

def import_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        die("PyTorch is not installed: run `pip install torch` "
            "(or `pip install -r tools/requirements-bench.txt`); it is needed by this script only")
    return torch


class TorchVGG:
    """VGG-19 to relu5_1 with fixed (non-trainable) weights."""

    def __init__(self, torch, weights, channels_last: bool, dtype):
        self.torch = torch
        self.channels_last = channels_last
        self.layers = vgg19_layers()
        self.params = {}
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        for kind, name, cin, cout in self.layers:
            if kind != "conv":
                continue
            w, b = weights[name]
            w = torch.as_tensor(w, dtype=dtype).reshape(cout, cin, 3, 3).contiguous(memory_format=fmt)
            b = torch.as_tensor(b, dtype=dtype).contiguous()
            w.requires_grad_(False)
            b.requires_grad_(False)
            self.params[name] = (w, b)

    def to_input(self, x):
        if self.channels_last:
            return x.contiguous(memory_format=self.torch.channels_last)
        return x

    def features(self, x, wanted):
        """{name: activation} for the names in wanted; stops after the deepest one."""
        F = self.torch.nn.functional
        out = {}
        last = max(i for i, l in enumerate(self.layers) if l[1] in wanted)
        h = self.to_input(x)
        for i, (kind, name, _, _) in enumerate(self.layers[:last + 1]):
            if kind == "conv":
                w, b = self.params[name]
                h = F.conv2d(h, w, b, stride=1, padding=1)
            elif kind == "relu":
                h = F.relu(h, inplace=True)
            else:
                h = F.max_pool2d(h, kernel_size=2, stride=2)
            if name in wanted:
                out[name] = h
        return out


def random_weights_np(seed: int):
    """He initialisation, N(0, 2/(9.Cin)), zero bias; float32 numpy arrays (OIHW)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    weights = {}
    for kind, name, cin, cout in vgg19_layers():
        if kind == "conv":
            std = math.sqrt(2.0 / (9 * cin))
            weights[name] = ((rng.standard_normal((cout, cin, 3, 3)) * std).astype(np.float32),
                             np.zeros(cout, np.float32))
    return weights


def nsw_weights_np(path: str):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from weights_format import NSWError, read_nsw
    finally:
        sys.path.pop(0)
    try:
        manifest, tensors = read_nsw(path)
    except NSWError as e:
        die(str(e))
    if manifest["architecture"] != "vgg19":
        die(f"{path}: architecture {manifest['architecture']}, this benchmark needs vgg19")
    import numpy as np
    weights = {}
    for kind, name, cin, cout in vgg19_layers():
        if kind == "conv":
            w, b = tensors[name]
            weights[name] = (np.array(w, np.float32), np.array(b, np.float32))  # writable copies
    return manifest, weights


def network_image(torch, size: int, gen, dtype):
    """A random RGB image in 0..255 mapped to network space: BGR minus the mean; 1x3xSxS."""
    rgb = torch.rand((3, size, size), generator=gen, dtype=torch.float64) * 255
    bgr = rgb.flip(0) - torch.tensor(MEAN_BGR, dtype=torch.float64).view(3, 1, 1)
    return bgr.unsqueeze(0).to(dtype).contiguous()


def gram(torch, f):
    """G = F.F^T / (H.W) for a 1xCxHxW activation, without copying channels-last data."""
    _, c, h, w = f.shape
    if f.is_contiguous(memory_format=torch.channels_last) and not f.is_contiguous():
        m = f.permute(0, 2, 3, 1).reshape(h * w, c)   # a view: (HW) x C
        return (m.t() @ m) / (h * w)
    m = f.reshape(c, h * w)
    return (m @ m.t()) / (h * w)


class TorchObjective:
    def __init__(self, torch, net: TorchVGG, content, style, alpha: float = ALPHA, beta: float = BETA):
        self.torch = torch
        self.net = net
        self.alpha = alpha
        self.beta = beta
        with torch.no_grad():
            self.P = net.features(content, {CONTENT_LAYER})[CONTENT_LAYER].clone()
            sf = net.features(style, set(STYLE_LAYERS))
            self.A = {n: gram(torch, sf[n]).clone() for n in STYLE_LAYERS}
        self.wanted = set(STYLE_LAYERS) | {CONTENT_LAYER}

    def terms(self, x):
        """(total, content, style, tv, style per layer) as tensors."""
        torch = self.torch
        f = self.net.features(x, self.wanted)
        fc = f[CONTENT_LAYER]
        content = ((fc - self.P) ** 2).sum() / fc.numel()          # 1/(C.H.W), batch 1
        per_layer = []
        for n in STYLE_LAYERS:
            g = gram(torch, f[n])
            c = g.shape[0]
            per_layer.append(((g - self.A[n]) ** 2).sum() / (c * c))
        style = sum(per_layer) * (self.alpha / len(STYLE_LAYERS))
        dv = x[:, :, 1:, :] - x[:, :, :-1, :]
        dh = x[:, :, :, 1:] - x[:, :, :, :-1]
        tv = (dv ** 2).sum() + (dh ** 2).sum()
        return content + style + self.beta * tv, content, style, tv, per_layer


def torch_reference_terms(torch, weights, content, style, x):
    """Independent float64 NCHW loss, written straight from the definition (loops, einsum)."""
    F = torch.nn.functional
    d = torch.float64
    ws = {n: (torch.as_tensor(w, dtype=d), torch.as_tensor(b, dtype=d)) for n, (w, b) in weights.items()}

    def acts(img):
        out, h = {}, img.to(d)
        for kind, name, _, _ in vgg19_layers():
            if kind == "conv":
                h = F.conv2d(h, *ws[name], padding=1)
            elif kind == "relu":
                h = torch.clamp(h, min=0)
            else:
                h = F.max_pool2d(h, 2)
            out[name] = h
        return out

    ax, ac, as_ = acts(x), acts(content), acts(style)
    fx, fp = ax[CONTENT_LAYER][0], ac[CONTENT_LAYER][0]
    C, H, W = fx.shape
    content_t = float(((fx - fp) ** 2).sum()) / (C * H * W)
    style_t, per = 0.0, []
    for n in STYLE_LAYERS:
        a, s = ax[n][0], as_[n][0]
        c, h, w = a.shape
        G = torch.einsum("ihw,jhw->ij", a, a) / (h * w)
        A = torch.einsum("ihw,jhw->ij", s, s) / (h * w)
        v = float(((G - A) ** 2).sum()) / (c * c)
        per.append(v)
        style_t += ALPHA * (1.0 / len(STYLE_LAYERS)) * v
    xi = x[0].to(d)
    tv = 0.0
    _, h, w = xi.shape
    for i in range(h):
        for j in range(w):
            dv = xi[:, i + 1, j] - xi[:, i, j] if i + 1 < h else torch.zeros(3, dtype=d)
            dh = xi[:, i, j + 1] - xi[:, i, j] if j + 1 < w else torch.zeros(3, dtype=d)
            tv += float((dv ** 2).sum() + (dh ** 2).sum())
    return content_t + style_t + BETA * tv, content_t, style_t, tv, per


def torch_check(torch, weights, channels_last: bool, size: int = 32) -> bool:
    """Loss terms at x = content (32x32) and a comparison of the benchmark's float32 path with
    an independent float64 implementation at a perturbed x."""
    gen = torch.Generator().manual_seed(1234)
    net = TorchVGG(torch, weights, channels_last, torch.float32)
    content = network_image(torch, size, gen, torch.float32)
    style = network_image(torch, size, gen, torch.float32)
    obj = TorchObjective(torch, net, content, style)
    with torch.no_grad():
        L, c, s, tv, per = obj.terms(content)
    print(f"torch loss check ({size}x{size}, x = content): total {float(L):.6g}  content {float(c):.6g}  "
          f"style {float(s):.6g} (alpha/5 x [{', '.join(f'{float(v):.4g}' for v in per)}])  "
          f"tv {float(tv):.6g} (x beta = {BETA * float(tv):.3g})")
    x = content + 8 * torch.randn(content.shape, generator=gen)
    with torch.no_grad():
        got = [float(v) for v in obj.terms(x)[:4]]
    ref = torch_reference_terms(torch, weights, content, style, x)[:4]
    ok = True
    names = ("total", "content", "style", "tv")
    worst = 0.0
    for n, g, r in zip(names, got, ref):
        rel = abs(g - r) / max(abs(r), 1e-30)
        worst = max(worst, rel)
        if not rel < 1e-3:
            ok = False
            print(f"  MISMATCH {n}: float32 path {g:.8g}, float64 reference {r:.8g} (rel {rel:.2e})")
    print(f"torch loss check vs independent float64 definition (x = content + noise): "
          f"{'ok' if ok else 'FAILED'} (worst rel. difference {worst:.1e})")
    return ok


def torch_run(torch, net, size, iterations, warmup, seed):
    """One timed L-BFGS step on the torch side; returns a result dict."""
    gen = torch.Generator().manual_seed(seed + size)
    content = network_image(torch, size, gen, torch.float32)
    style = network_image(torch, size, gen, torch.float32)
    before = read_status_kb("VmRSS:")
    reset = reset_peak_rss()
    t0 = time.perf_counter()
    obj = TorchObjective(torch, net, content, style)
    setup = time.perf_counter() - t0
    x = content.clone().requires_grad_(True)
    # N iterations evaluate the closure N times (the last one does not re-evaluate), so
    # warmup + iterations timed intervals need warmup + iterations + 1 evaluations.
    # Zero tolerances: no early stop unless the gradient or step is exactly zero.
    opt = torch.optim.LBFGS([x], lr=1, max_iter=warmup + iterations + 1, history_size=LBFGS_HISTORY,
                            line_search_fn=None, tolerance_grad=0.0, tolerance_change=0.0)
    stamps, losses = [], []

    def closure():
        stamps.append(time.perf_counter())
        opt.zero_grad(set_to_none=True)
        loss = obj.terms(x)[0]
        loss.backward()
        losses.append(float(loss.detach()))
        return loss

    opt.step(closure)
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]
    timed = intervals[warmup:]
    if len(timed) < iterations:
        print(f"warning: torch L-BFGS stopped after {len(stamps)} evaluations; "
              f"{len(timed)} timed intervals instead of {iterations}", file=sys.stderr)
    return {
        "size": size,
        "iterations": len(timed),
        "medianSeconds": statistics.median(timed) if timed else math.nan,
        "minSeconds": min(timed) if timed else math.nan,
        "allSeconds": intervals,
        "setupSeconds": setup,
        "firstLoss": losses[0] if losses else None,
        "lastLoss": losses[-1] if losses else None,
        "peakRSSBytes": read_status_kb("VmHWM:") if reset else None,   # since the reset above
        "ruMaxRSSBytes": maxrss_bytes(),   # getrusage; the same as VmHWM where the reset worked
        "rssBeforeBytes": before,          # torch, its libraries and the weights, before this size
    }


# --------------------------------------------------------------------------
# Our side
# --------------------------------------------------------------------------

def as_float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def ours_run(binary, backend, size, iterations, warmup, model, env, device):
    """One `bench iterations` run; backend "opencl-untuned" is the OpenCL backend with
    NEURAL_STYLE_TUNING=off (the shipped defaults, not the device's file from `tune`)."""
    if backend == "opencl-untuned":
        backend, env = "opencl", dict(env, NEURAL_STYLE_TUNING="off")
    cmd = [str(binary), "bench", "iterations", "--sizes", str(size), "--backend", backend,
           "--model", model, "--iterations", str(iterations), "--warmup", str(warmup), "--json"]
    if device and backend == "opencl":
        cmd += ["--device", device]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        p.wait()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if p.returncode != 0:
        msg = (stderr.strip() or stdout.strip()).splitlines()
        raise RuntimeError(f"`{' '.join(cmd)}` exited with {p.returncode}: "
                           f"{msg[-1] if msg else '(no output)'}")
    start = stdout.find("[")
    try:
        rows = json.loads(stdout[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        rows = None
    if not rows:
        raise RuntimeError(f"`{' '.join(cmd)}` printed no JSON array: {stdout[:200]!r}")
    r = dict(rows[0])
    for k in ("medianSeconds", "minSeconds", "gflopPerIteration", "gflops"):
        r[k] = as_float(r.get(k))   # Swift's JSONEncoder writes non-finite values as "nan"
    r["command"] = cmd
    return r


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_sizes(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        die(f"--sizes takes integers separated by commas (got {text!r})")
    if not sizes or any(s < 16 or s > 8192 for s in sizes):
        die("--sizes takes sizes between 16 and 8192")
    return sizes


def med(vals):
    vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(vals) if vals else math.nan


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Benchmark one style-transfer L-BFGS iteration in PyTorch and in neural-style, "
                    "interleaved in the same run.")
    ap.add_argument("--sizes", default="128,256,512", help="comma-separated square sizes (default 128,256,512)")
    ap.add_argument("--iterations", type=int, default=5, help="timed iterations per size (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed warm-up iterations per size (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads, and OPENBLAS_NUM_THREADS for ours (default 2)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat each torch/ours pair R times; medians of medians (default 1)")
    ap.add_argument("--binary", default=str(ROOT / ".build/release/neural-style"), help="neural-style binary")
    ap.add_argument("--opencl", action="store_true", help="also run ours with --backend opencl")
    ap.add_argument("--opencl-untuned", action="store_true",
                    help="also run ours with --backend opencl and NEURAL_STYLE_TUNING=off: the shipped defaults "
                         "beside --opencl's tuned parameters (after `neural-style tune`)")
    ap.add_argument("--device", help="OpenCL device for ours (passed as --device)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                    help="torch activations and weights in channels-last memory format (default on)")
    ap.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True,
                    help="pin this process (and so ours, its child) to --threads CPUs when there are more "
                         "(default on; ours also uses Dispatch threads, which follow the CPU count)")
    ap.add_argument("--weights", help="a VGG-19 .nsw file for the torch side (default: He-initialised random); "
                                      "ours gets --model <its model> with NEURAL_STYLE_WEIGHTS set to its folder "
                                      "when the file is named <model>.nsw")
    ap.add_argument("--omp-wait-policy", choices=("default", "passive", "active"), default="default",
                    help="set OMP_WAIT_POLICY for torch's OpenMP threads (default: leave as is). On a loaded "
                         "machine spinning OpenMP threads can make torch several times slower; passive avoids that")
    ap.add_argument("--seed", type=int, default=0, help="seed for torch's random weights and images")
    ap.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                    help="check the torch loss at 32x32 first (default on)")
    ap.add_argument("--json", metavar="PATH", help="write all numbers to PATH")
    args = ap.parse_args(argv)

    sizes = parse_sizes(args.sizes)
    if args.iterations < 1 or args.warmup < 0 or args.threads < 1 or args.rounds < 1:
        die("--iterations, --threads and --rounds must be >= 1, --warmup >= 0")
    if args.warmup == 0:
        print("warning: with --warmup 0 ours times one interval fewer (its first evaluation has no "
              "start stamp) and both sides include first-call set-up", file=sys.stderr)
    binary = Path(args.binary)
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        die(f"{binary} not found or not executable: build it with `swift build -c release` "
            f"(in {ROOT}), or pass --binary PATH")

    pinned = None
    if args.pin and hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if args.threads < len(cpus):
            pinned = cpus[:args.threads]
            os.sched_setaffinity(0, pinned)
        elif args.threads > len(cpus):
            print(f"warning: --threads {args.threads} > {len(cpus)} CPUs available", file=sys.stderr)

    # Environment for ours (set before torch starts its pools; the child inherits affinity).
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        env.setdefault(var, str(args.threads))

    if args.omp_wait_policy != "default":
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()   # read when torch loads OpenMP
    torch = import_torch()
    torch.set_num_threads(args.threads)

    model = "random"
    if args.weights:
        manifest, weights = nsw_weights_np(args.weights)
        wpath = Path(args.weights).resolve()
        if wpath.name == f"{manifest['model']}.nsw":
            model = manifest["model"]
            env["NEURAL_STYLE_WEIGHTS"] = str(wpath.parent)
        else:
            print(f"note: {wpath.name} is not named <model>.nsw; ours uses --model random "
                  f"(timing does not depend on the weight values)", file=sys.stderr)
        weights_desc = f"{wpath} ({manifest['model']})"
    else:
        weights = random_weights_np(args.seed)
        weights_desc = "random He-initialised (torch: numpy seed %d; ours: its own seed)" % args.seed

    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs"
          + (f", pinned to CPUs {','.join(map(str, pinned))}" if pinned else ""))
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads, "
          f"{'channels-last' if args.channels_last else 'NCHW'}, float32, "
          f"mkldnn {'on' if torch.backends.mkldnn.is_available() else 'off'}); "
          f"ours: {binary} (OPENBLAS_NUM_THREADS={env['OPENBLAS_NUM_THREADS']})")
    omp = os.environ.get("OMP_WAIT_POLICY")
    if omp:
        print(f"torch OMP_WAIT_POLICY={omp}")
    load = loadavg()
    if load is not None and load > 0.5 * len(pinned or os.sched_getaffinity(0)):
        print(f"warning: the machine is busy (load average {load:.1f} on {os.cpu_count()} CPUs): the numbers "
              f"will be noisy, torch's especially (its OpenMP threads spin; see --omp-wait-policy)")
    print(f"weights: {weights_desc}; iterations {args.iterations}, warm-up {args.warmup}, "
          f"rounds {args.rounds}, L-BFGS history {LBFGS_HISTORY}")

    check_ok = None
    if args.check:
        check_ok = torch_check(torch, weights, args.channels_last)
    net = TorchVGG(torch, weights, args.channels_last, torch.float32)

    backends = ["cpu"] + (["opencl"] if args.opencl else []) + (["opencl-untuned"] if args.opencl_untuned else [])
    results = []
    failures = []
    for size in sizes:
        rounds = []
        for r in range(args.rounds):
            one = {"loadavgBefore": loadavg()}
            one["torch"] = torch_run(torch, net, size, args.iterations, args.warmup, args.seed)
            for b in backends:
                try:
                    one[b] = ours_run(binary, b, size, args.iterations, args.warmup, model, env, args.device)
                except RuntimeError as e:
                    failures.append(str(e))
                    print(f"warning: {e}", file=sys.stderr)
                    one[b] = None
            one["loadavgAfter"] = loadavg()
            rounds.append(one)
        gflop = next((o[b]["gflopPerIteration"] for o in rounds for b in backends if o.get(b)), None)
        analytic = iteration_gflop(size)
        if gflop is None:
            gflop = analytic
        row = {"size": size, "gflopPerIteration": gflop, "gflopPerIterationPython": analytic, "rounds": rounds}
        t = med([o["torch"]["medianSeconds"] for o in rounds])
        row["torch"] = {"medianSeconds": t, "minSeconds": min(o["torch"]["minSeconds"] for o in rounds),
                        "gflops": gflop / t if t > 0 else math.nan,
                        "peakRSSBytes": max((o["torch"]["peakRSSBytes"] or 0) for o in rounds) or None,
                        "ruMaxRSSBytes": max(o["torch"]["ruMaxRSSBytes"] for o in rounds),
                        "rssBeforeBytes": min((o["torch"]["rssBeforeBytes"] or 0) for o in rounds) or None}
        for b in backends:
            rs = [o[b] for o in rounds if o.get(b)]
            if not rs:
                row[b] = None
                continue
            m = med([x["medianSeconds"] for x in rs])
            row[b] = {"medianSeconds": m, "minSeconds": min(x["minSeconds"] for x in rs),
                      "gflops": gflop / m if m > 0 else math.nan, "ratioToTorch": m / t if t > 0 else math.nan,
                      "peakHostBytes": max((x.get("peakHostBytes") or 0) for x in rs) or None,
                      "peakDeviceBytes": max((x.get("peakDeviceBytes") or 0) for x in rs) or None,
                      "device": rs[0].get("device")}
        results.append(row)
        print_size(row, backends, args.rounds)
        sys.stdout.flush()

    if abs(results[0]["gflopPerIteration"] - results[0]["gflopPerIterationPython"]) > 1e-6 * results[0]["gflopPerIteration"]:
        print(f"note: ours counts {results[0]['gflopPerIteration']:.3f} GFLOP/iteration, this script "
              f"{results[0]['gflopPerIterationPython']:.3f}; the table uses ours")

    if args.json:
        doc = {
            "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "pinnedCPUs": pinned,
                        "platform": platform.platform(), "python": platform.python_version()},
            "torch": {"version": torch.__version__, "threads": torch.get_num_threads(),
                      "channelsLast": args.channels_last,
                      "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"), "mkldnn": torch.backends.mkldnn.is_available()},
            "ours": {"binary": str(binary), "model": model,
                     "env": {k: env[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}},
            "settings": {"sizes": sizes, "iterations": args.iterations, "warmup": args.warmup,
                         "threads": args.threads, "rounds": args.rounds, "lbfgsHistory": LBFGS_HISTORY,
                         "alpha": ALPHA, "beta": BETA, "weights": weights_desc, "seed": args.seed},
            "torchLossCheck": check_ok,
            "results": results,
            "failures": failures,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n")
        print(f"wrote {args.json}")
    if failures or check_ok is False:
        return 1
    return 0


def print_size(row, backends, rounds):
    size = row["size"]
    print(f"\nsize {size}x{size}: {row['gflopPerIteration']:.2f} GFLOP/iteration"
          + (f", median of {rounds} rounds" if rounds > 1 else ""))
    print(f"  {'':20}{'s/iter':>10}{'min':>10}{'ours/torch':>12}{'GFLOP/s':>10}{'peak RSS':>11}{'peak dev':>11}")
    t = row["torch"]
    print(f"  {'torch':20}{t['medianSeconds']:>10.4f}{t['minSeconds']:>10.4f}{'1.00':>12}{t['gflops']:>10.1f}"
          f"{fmt_bytes(t['peakRSSBytes'] or t['ruMaxRSSBytes']):>11}{'-':>11}"
          + (f"   (torch RSS before the run: {fmt_bytes(t['rssBeforeBytes'])})" if t.get("rssBeforeBytes") else ""))
    for b in backends:
        o = row[b]
        if o is None:
            print(f"  {'ours ' + b:20}  failed (see warnings)")
            continue
        print(f"  {'ours ' + b:20}{o['medianSeconds']:>10.4f}{o['minSeconds']:>10.4f}{o['ratioToTorch']:>12.2f}"
              f"{o['gflops']:>10.1f}{fmt_bytes(o['peakHostBytes']):>11}"
              f"{fmt_bytes(o['peakDeviceBytes']) if o['peakDeviceBytes'] else '-':>11}")


if __name__ == "__main__":
    sys.exit(main())
