"""SWAP / reg-SWAP / MeCo against the DARTS-1000 accuracies of the SWAP repository (sample).

Run: ``.venv/bin/python benches/swap_darts.py [--n 50] [--repeats 8] [--seed 0] [--layers 1]
[--stem] [--out f.json]``.

The SWAP paper's protocol (pym1024/SWAP ``correlation.py``): each genotype of
``darts_1000_cifar10.csv`` built as ``Network(3, 10, 1, genotype)`` -- C=3 and a single cell,
which DARTS' rule makes a reduction cell, reading the image with no stem, i.e.
``darts.build(g, C=3, layers=1, stem=False)`` (the default here; ``--layers 3 --stem`` is the
stem + 3-cell network of the first reading, "C=3, one cell per stage") -- Gaussian
re-initialisation before each repeat, 16 input images (the first 16 CIFAR-10 training
images), SWAP = mean over 32 repeats; the repository reports Spearman 0.93 over all 1,000
architectures. Here: ``--n`` architectures drawn with a fixed seed, 16 CIFAR-10 test images
(JPEG-decoded copy, drawn with the same seed, CIFAR mean/std normalised; the reference used
training images) and ``--repeats`` repeats (fewer than 32 to fit a shared 2-core machine).
Reports Spearman and Kendall tau of swap, reg_swap (zcnas's default mu/sigma), meco and
meco_opt vs ``cifar10_valid``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from zcnas import stats
from zcnas.datasets import CIFAR_MEAN, CIFAR_STD
from zcnas.proxies import swap_meco
from zcnas.spaces import darts

DATA = Path(os.environ.get("ZCNAS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = DATA / "data"


def load(n: int, seed: int):
    with open(DATA / "darts" / "darts_1000_cifar10.csv") as f:
        rows = list(csv.DictReader(f))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(rows), size=n, replace=False)) if n < len(rows) else None
    rows = [rows[i] for i in pick] if pick is not None else rows
    imgs = np.load(DATA / "images" / "cifar10_test_jpeg_10000.npz")
    idx = rng.choice(len(imgs["y"]), size=16, replace=False)
    x = torch.from_numpy(imgs["x"][idx]).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    return rows, x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--C", type=int, default=3, help="initial channels (paper: 3)")
    ap.add_argument("--layers", type=int, default=1, help="cells (SWAP's network: 1)")
    ap.add_argument(
        "--stem", action="store_true", help="add the DARTS stem (SWAP's network has none)"
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows, x = load(args.n, args.seed)
    acc = np.array([float(r["cifar10_valid"]) for r in rows])
    names = ("swap", "reg_swap", "meco", "meco_opt")
    vals = {k: np.zeros(len(rows)) for k in names}
    t0 = time.perf_counter()
    for i, r in enumerate(rows):
        torch.manual_seed(int(r["id"]))
        g = darts.parse_genotype(r["genotype"])
        net = darts.build(g, C=args.C, layers=args.layers, num_classes=10, stem=args.stem)
        s = swap_meco.swap_score(net, x, repeats=args.repeats, seed=int(r["id"]))
        vals["swap"][i] = s
        vals["reg_swap"][i] = s * swap_meco.reg_factor(
            net, swap_meco.REG_MU_K, swap_meco.REG_SIGMA_K
        )
        vals["meco"][i] = swap_meco.meco_score(net, x[:1])
        vals["meco_opt"][i] = swap_meco.meco_score(net, x[:1], opt=True, seed=int(r["id"]))
    secs = time.perf_counter() - t0
    out = {
        "n": len(rows),
        "repeats": args.repeats,
        "seed": args.seed,
        "C": args.C,
        "layers": args.layers,
        "stem": args.stem,
        "seconds": round(secs, 1),
        "spearman": {k: stats.spearman(v, acc) for k, v in vals.items()},
        "kendall": {k: stats.kendall_tau(v, acc) for k, v in vals.items()},
        "paper_spearman_swap_full_protocol": 0.93,
    }
    print(json.dumps(out, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
