"""Speed of the shared-pass engine against one call per proxy (NASLib's way), NB201 at batch 30.

For each of ``--n`` NAS-Bench-201 networks (the fidelity sample, seed 0): all 13
NAS-Bench-Suite-Zero proxies through one ``zcnas.score`` call (passes planned together; the
cross-entropy gradient, grasp, the input Jacobian and the ReLU codes come from one forward),
then each proxy in its own call (every call runs its own passes, as NASLib's per-proxy
``find_measures`` does). Same process, same model, same 30 real CIFAR-10 images, naslib flavor.
The first network is run once untimed to warm up.

    python benches/engine_speed_nb201.py --n 5 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from zcnas import proxies
from zcnas.bench import load_suite_zero_nb201
from zcnas.datasets import cifar_batch
from zcnas.spaces import nb201

PROXIES = load_suite_zero_nb201().proxies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    ap.add_argument(
        "--others",
        action="store_true",
        help="also time every other registered proxy alone (default flavors; AZ-NAS's four "
        "together, as they share one pass)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    console = Console()
    sz = load_suite_zero_nb201("cifar10")
    rng = np.random.default_rng(args.seed)
    archs = sz.index[np.sort(rng.choice(len(sz.index), size=args.n, replace=False))]
    x, y = cifar_batch("cifar10")
    names = list(PROXIES)

    def one(a: int) -> tuple[float, dict[str, float]]:
        torch.manual_seed(int(a))
        model = nb201.build(int(a), C=16, N=5, num_classes=10)
        t = time.perf_counter()
        proxies.score(model, x, y, proxies=names, flavor="naslib")
        shared = time.perf_counter() - t
        alone = {}
        for p in names:
            t = time.perf_counter()
            proxies.score(model, x, y, proxies=[p], flavor="naslib")
            alone[p] = time.perf_counter() - t
        return shared, alone

    one(int(archs[0]))  # warm-up
    shared, per = 0.0, dict.fromkeys(names, 0.0)
    for a in archs:
        s, alone = one(int(a))
        shared += s
        for p, v in alone.items():
            per[p] += v
    separate = sum(per.values())
    n = len(archs)
    table = Table(title=f"ms/arch, NB201 C=16 N=5, batch {x.shape[0]}, {args.threads} thread(s)")
    table.add_column("proxy")
    table.add_column("alone", justify="right")
    for p in names:
        table.add_row(p, f"{per[p] / n * 1e3:.0f}")
    table.add_row("[b]sum of separate calls", f"{separate / n * 1e3:.0f}")
    table.add_row("[b]one shared call", f"{shared / n * 1e3:.0f}")
    console.print(table)
    console.print(f"shared / separate = {shared / separate:.1%} (issue target: at most 40%)")
    others: dict[str, float] = {}
    if args.others:
        groups = [[p] for p in proxies.list_proxies() if p not in names and not p.startswith("az_")]
        groups.append([p for p in proxies.list_proxies() if p.startswith("az_")])
        for group in groups:
            total = 0.0
            for a in archs:
                torch.manual_seed(int(a))
                model = nb201.build(int(a), C=16, N=5, num_classes=10)
                t = time.perf_counter()
                proxies.score(model, x, y, proxies=group, seed=0)
                total += time.perf_counter() - t
            others["+".join(group)] = total / n * 1e3
        t2 = Table(title="other proxies alone, ms/arch (default flavors)")
        t2.add_column("proxy")
        t2.add_column("ms/arch", justify="right")
        for k, v in others.items():
            t2.add_row(k, f"{v:.0f}")
        console.print(t2)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(
                {
                    "n": n,
                    "threads": args.threads,
                    "shared_ms": shared / n * 1e3,
                    "separate_ms": separate / n * 1e3,
                    "ratio": shared / separate,
                    "per_proxy_ms": {p: v / n * 1e3 for p, v in per.items()},
                    "other_proxies_ms": others,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
