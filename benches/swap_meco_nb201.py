"""SWAP and MeCo on NAS-Bench-201 architectures against the benchmark's test accuracy.

Run: ``.venv/bin/python benches/swap_meco_nb201.py [--n 200] [--repeats 4] [--seed 0]
[--out f.json]``.

``--n`` architectures drawn uniformly (fixed seed) from the 15,625 NB201 cells, each built as
the benchmark network (C=16, N=5; CIFAR-10: 10 classes, CIFAR-100: 100) with PyTorch's default
init seeded by its index. MeCo / MeCo_opt: a forward of the first packaged real test image
(the reference's batch of 1, default init, train mode). SWAP: the first 16 packaged images,
Gaussian re-init, mean of ``--repeats`` repeats (the paper: 32). Reports Spearman and Kendall
vs the embedded test accuracy on CIFAR-10 and CIFAR-100 (MeCo paper: Spearman about 0.89 and
0.88 on the whole space).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from zcnas import stats
from zcnas.bench import load_nb201
from zcnas.datasets import cifar_batch
from zcnas.proxies import swap_meco
from zcnas.spaces import nb201


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    archs = nb201.sample(args.n, rng=args.seed, replace=False)
    table = load_nb201()
    report: dict = {"n": args.n, "repeats": args.repeats, "seed": args.seed}
    for ds, classes in (("cifar10", 10), ("cifar100", 100)):
        x, _ = cifar_batch(ds, 16)
        acc = table.test_accuracy(ds)[archs]
        vals = {k: np.zeros(args.n) for k in ("swap", "meco", "meco_opt")}
        t0 = time.perf_counter()
        for i, a in enumerate(archs):
            torch.manual_seed(int(a))
            net = nb201.build(int(a), num_classes=classes)
            vals["swap"][i] = swap_meco.swap_score(net, x, repeats=args.repeats, seed=int(a))
            vals["meco"][i] = swap_meco.meco_score(net, x[:1])
            vals["meco_opt"][i] = swap_meco.meco_score(net, x[:1], opt=True, seed=int(a))
        report[ds] = {
            "seconds": round(time.perf_counter() - t0, 1),
            "spearman": {k: stats.spearman(v, acc) for k, v in vals.items()},
            "kendall": {k: stats.kendall_tau(v, acc) for k, v in vals.items()},
        }
        print(ds, json.dumps(report[ds]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
