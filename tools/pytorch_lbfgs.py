#!/usr/bin/env python3
"""PyTorch's L-BFGS with its strong Wolfe line search on our stylisation objective: the reference
column of tools/compare-line-search.sh (issue 13).

    python3 tools/pytorch_lbfgs.py CONTENT STYLE --size 192 --evaluations 100 --init content --alpha 5

Prints one JSON object: the final total loss and its terms, and the evaluations used.

The objective is the one tools/compare_pytorch.py checks against ours (content at relu4_2 with
1/(C.H.W), style over relu1_1..relu5_1 with weights alpha/5 and 1/C^2, l2 TV with beta), here
with the fetched vgg19-normalised weights and the two images resized as ours are (longest side
--size, the style image to the content's longest side), by Pillow's Lanczos filter. Random init is
N(0, 16^2) in network space, as ours, but from torch's generator, so it is not the same noise.
torch.optim.LBFGS(history_size=100, lr=1, line_search_fn="strong_wolfe", max_iter=max_eval=N,
tolerance_grad=tolerance_change=0): N loss-and-gradient evaluations at most, as our --iterations.

Needs torch and Pillow (tools/requirements-bench.txt). Used by tools only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import compare_pytorch as cp  # noqa: E402  (the network, objective and weights loader)


def load(path: str, longest: int):
    """The image at `longest` pixels on its longest side, in network space (BGR minus the mean)."""
    import numpy as np
    from PIL import Image
    img = Image.open(path).convert("RGB")
    s = longest / max(img.size)
    size = (max(1, round(img.size[0] * s)), max(1, round(img.size[1] * s)))
    rgb = np.asarray(img.resize(size, Image.LANCZOS), np.float64)            # H x W x 3
    bgr = rgb[:, :, ::-1] - np.array(cp.MEAN_BGR)
    return bgr.transpose(2, 0, 1)[None].astype(np.float32).copy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("content")
    ap.add_argument("style")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--evaluations", type=int, default=100)
    ap.add_argument("--init", choices=["content", "random"], default="content")
    ap.add_argument("--alpha", type=float, default=5.0)
    ap.add_argument("--beta", type=float, default=cp.BETA)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--weights", default=os.path.join(
        os.environ.get("NEURAL_STYLE_WEIGHTS", os.path.expanduser("~/.cache/neural-style/weights")),
        "vgg19-normalised.nsw"))
    a = ap.parse_args(argv)
    torch = cp.import_torch()
    torch.set_num_threads(a.threads)
    _, weights = cp.nsw_weights_np(a.weights)
    net = cp.TorchVGG(torch, weights, channels_last=False, dtype=torch.float32)
    content = torch.as_tensor(load(a.content, a.size))
    style = torch.as_tensor(load(a.style, max(content.shape[2:])))
    objective = cp.TorchObjective(torch, net, content, style, alpha=a.alpha, beta=a.beta)

    if a.init == "content":
        x = content.clone()
    else:
        gen = torch.Generator().manual_seed(a.seed)
        x = 16 * torch.randn(content.shape, generator=gen)
    x.requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=a.evaluations, max_eval=a.evaluations, history_size=100,
                            tolerance_grad=0, tolerance_change=0, line_search_fn="strong_wolfe")
    count = [0]

    def closure():
        opt.zero_grad()
        total = objective.terms(x)[0]
        total.backward()
        count[0] += 1
        return total

    opt.step(closure)
    with torch.no_grad():
        total, c, s, tv, _ = objective.terms(x)
    print(json.dumps({"total": float(total), "content": float(c), "style": float(s), "tv": float(a.beta * tv),
                      "evaluations": count[0], "torch": torch.__version__}))


if __name__ == "__main__":
    main()
