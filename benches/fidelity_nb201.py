"""Fidelity and speed of zcnas's NAS-Bench-Suite-Zero proxies on real NB201 architectures.

Run: ``.venv/bin/python benches/fidelity_nb201.py [--n 200] [--seed 0] [--out results.json]``.

1. Sample ``n`` architectures (fixed seed) among the 9,445 NB201 cells without dead branches
   that NAS-Bench-Suite-Zero scored, build each benchmark network (C=16, N=5, 10 classes,
   PyTorch default init seeded by the index), and score the 13 proxies with the ``naslib``
   flavor on the 30 real CIFAR-10 images shipped with zcnas (NASLib used a batch of 32 random
   training images: a different minibatch, so per-architecture values differ).
2. Report, per proxy, Kendall tau vs ``cifar10_valid_naslib`` for zcnas and for the Suite-Zero
   values on the same architectures, and the Spearman correlation between the two.
3. Time the shared-pass engine (all proxies in one call) against one call per proxy (each
   proxy's passes run separately, as NASLib does), on the first ``--n-speed`` architectures.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from rich.console import Console
from rich.progress import track
from rich.table import Table

from zcnas import proxies, stats
from zcnas.bench import load_nb201, load_suite_zero_nb201
from zcnas.datasets import cifar_batch
from zcnas.spaces import nb201

#: NAS-Bench-Suite-Zero's 13 proxies, as named in its embedded score table.
PROXIES = load_suite_zero_nb201().proxies


def build(index: int) -> torch.nn.Module:
    torch.manual_seed(index)
    return nb201.build(int(index), C=16, N=5, num_classes=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--n-speed", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    console = Console()
    sz = load_suite_zero_nb201("cifar10")
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(len(sz.index), size=args.n, replace=False))
    archs = sz.index[rows]
    truth = load_nb201()["cifar10_valid_naslib"][archs]
    x, y = cifar_batch("cifar10")

    ours = np.full((args.n, len(PROXIES)), np.nan)
    t0 = time.perf_counter()
    for i, a in enumerate(track(archs, description="scoring", console=console)):
        s = proxies.score(build(a), x, y, proxies=list(PROXIES), flavor="naslib", seed=args.seed)
        ours[i] = [s[p] for p in PROXIES]
    wall = time.perf_counter() - t0

    ref = np.column_stack([sz.proxy(p)[rows] for p in PROXIES])
    table = Table(title=f"NB201 CIFAR-10, {args.n} architectures, naslib flavor")
    for col in ("proxy", "τ zcnas", "τ Suite-Zero", "|Δτ|", "ρ(zcnas, Suite-Zero)"):
        table.add_column(col, justify="right" if col != "proxy" else "left")
    report = {"n": args.n, "seed": args.seed, "archs": archs.tolist(), "proxies": {}}
    for j, p in enumerate(PROXIES):
        t_ours = stats.kendall_tau(ours[:, j], truth, nan_policy="omit")
        t_ref = stats.kendall_tau(ref[:, j], truth, nan_policy="omit")
        rho = stats.spearman(ours[:, j], ref[:, j], nan_policy="omit")
        report["proxies"][p] = {"tau_zcnas": t_ours, "tau_suite_zero": t_ref, "spearman": rho}
        table.add_row(
            p, f"{t_ours:+.3f}", f"{t_ref:+.3f}", f"{abs(t_ours - t_ref):.3f}", f"{rho:+.3f}"
        )
    console.print(table)
    console.print(f"scoring wall time {wall:.1f} s ({wall / args.n * 1e3:.0f} ms/arch, all 13)")

    # Speed: shared passes vs one call per proxy, same models and batch.
    n_speed = min(args.n_speed, args.n)
    shared, separate = 0.0, 0.0
    per_proxy = dict.fromkeys(PROXIES, 0.0)
    for a in archs[:n_speed]:
        model = build(a)
        t = time.perf_counter()
        proxies.score(model, x, y, proxies=list(PROXIES), flavor="naslib")
        shared += time.perf_counter() - t
        for p in PROXIES:
            t = time.perf_counter()
            proxies.score(model, x, y, proxies=[p], flavor="naslib")
            dt = time.perf_counter() - t
            per_proxy[p] += dt
            separate += dt
    report["speed"] = {
        "n": n_speed,
        "shared_ms_per_arch": shared / n_speed * 1e3,
        "separate_ms_per_arch": separate / n_speed * 1e3,
        "ratio": shared / separate,
        "per_proxy_ms_per_arch": {p: v / n_speed * 1e3 for p, v in per_proxy.items()},
    }
    console.print(
        f"shared engine {shared / n_speed * 1e3:.0f} ms/arch vs one call per proxy "
        f"{separate / n_speed * 1e3:.0f} ms/arch: {shared / separate:.0%} of the separate time"
    )
    console.print(
        "per proxy alone (ms/arch): "
        + ", ".join(f"{p} {v / n_speed * 1e3:.0f}" for p, v in per_proxy.items())
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
