"""Score every NAS-Bench-201 network (15,625) with NAS-Bench-Suite-Zero's 13 proxies on one GPU.

Several networks are in flight at once: ``--workers`` processes (the local backend of
:func:`zcnas.distributed.score_distributed`), each with its own CUDA context, take networks
from one queue; an NB201 network at batch 30 leaves most of an H100/H200 idle, so the
workers' kernels and their Python/CPU work (building networks, the Rust kernels, which get
CPU copies of the codes and Jacobians they need) overlap. Every score streams into a
:class:`~zcnas.bench.ScoreStore` as it comes, so an interrupted run resumes where it
stopped (run the same command again). Networks are built and initialised on the CPU (seeded,
as ``zcnas score`` does) and moved to the device; values equal the CPU ones up to float
rounding.

At the end it prints the wall time, the networks per minute, the projected time for all
15,625, and the Kendall tau-b of each proxy against the embedded NB201 CIFAR-10 test accuracy
of the scored networks (a sanity check of the GPU values against known figures).

    python benches/gpu_nb201_all.py --device cuda --workers 12 --store /tmp/nb201_gpu.db
    python benches/gpu_nb201_all.py --device cuda --workers 12 --limit 2000  # a sample
    python benches/gpu_nb201_all.py --device cpu --workers 2 --limit 4       # CPU-only check
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

N_NB201 = 15_625


def run(
    *,
    device: str = "cuda",
    workers: int = 8,
    limit: int | None = None,
    seed: int = 0,
    store_path: str | Path | None = None,
    proxy_names: list[str] | None = None,
    batch_size: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Score NB201 networks on ``device`` with ``workers`` in flight; returns the figures.

    Args:
        device: ``cuda``, ``cuda:N`` or ``cpu``.
        workers: worker processes (networks in flight).
        limit: score a seeded uniform sample of this many networks (default: all 15,625).
        seed: sampling, weight-init and proxy seed.
        store_path: the score store (default: a fresh temporary file).
        proxy_names: proxies (default: NAS-Bench-Suite-Zero's 13).
        batch_size: CIFAR-10 images per minibatch (default all 30 embedded).
        progress: show the progress bar.

    Returns:
        ``{"device", "workers", "n", "elapsed_s", "archs_per_min", "projected_all_min",
        "kendall_tau": {proxy: tau-b vs CIFAR-10 test accuracy}, "load"}``.

    Raises:
        ZcnasError: a device torch cannot use, or too many worker deaths.
    """
    from zcnas import stats
    from zcnas.bench import ScoreStore, load_suite_zero_nb201
    from zcnas.distributed import score_distributed
    from zcnas.scoring import ArchScorer

    names = list(proxy_names or load_suite_zero_nb201().proxies)
    if limit is None or limit >= N_NB201:
        archs = list(range(N_NB201))
    else:
        rng = np.random.default_rng(seed)
        archs = sorted(int(a) for a in rng.choice(N_NB201, size=int(limit), replace=False))
    job = ArchScorer("nb201", names, seed=seed, batch_size=batch_size, device=device)
    tmp = None
    if store_path is None:
        tmp = tempfile.TemporaryDirectory()
        store_path = Path(tmp.name) / "nb201_gpu.db"
    try:
        store = ScoreStore(store_path)
        t0 = time.perf_counter()
        report = score_distributed(
            "nb201", archs, names, store=store, workers=workers, job=job, progress=progress
        )
        elapsed = time.perf_counter() - t0
        table = store.query("nasbench201", "cifar10", names, flavor=job.flavor_key)
        store.close()
    finally:
        if tmp is not None:
            tmp.cleanup()
    taus = {}
    for p in names:
        both = table[[p, "test_accuracy"]].dropna()
        if len(both) >= 3:
            taus[p] = float(stats.kendall_tau(both[p].to_numpy(), both["test_accuracy"].to_numpy()))
    rate = report.n_scored / max(elapsed, 1e-9) * 60.0
    return {
        "device": device,
        "workers": workers,
        "n": len(archs),
        "n_scored": report.n_scored,
        "n_failed": report.n_failed,
        "elapsed_s": elapsed,
        "archs_per_min": rate,
        "projected_all_min": N_NB201 / rate if rate else float("inf"),
        "kendall_tau": taus,
        "load": os.getloadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    ap.add_argument("--workers", type=int, default=8, help="networks in flight (processes)")
    ap.add_argument("--limit", type=int, default=None, help="a seeded sample (default: all)")
    ap.add_argument("--seed", type=int, default=0, help="sampling, weight-init, proxy seed")
    ap.add_argument("--store", default=None, help="score store (default: a temporary file)")
    ap.add_argument("--batch-size", type=int, default=None, help="images (default: all 30)")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    from zcnas.exceptions import ZcnasError

    try:
        res = run(
            device=args.device,
            workers=min(args.workers, args.limit or args.workers),
            limit=args.limit,
            seed=args.seed,
            store_path=args.store,
            batch_size=args.batch_size,
        )
    except ZcnasError as e:
        raise SystemExit(f"error: {e}") from None
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
