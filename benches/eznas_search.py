"""EZNAS search with the paper's hyperparameters on the four task datasets.

Task datasets (collected beforehand, e.g. by ``--collect``, which is not timed): 80 networks each,
batch 1, of NB201 x CIFAR-10 / CIFAR-100 / ImageNet16-120 (float32) and NAS-Bench-Macro x
CIFAR-10 (float16, Conv-BN-ReLU instances); the NB201 pools exclude the 600 held-out
architectures of ``benches/eznas_quality.py``. The search is the paper's (appendix 8.7): 15
generations, population 50, tournament 4, MU 25, lambda 50, crossover 0.4, mutation 0.4, depth
2..10, fitness = min over s = 4 task datasets of Kendall tau on 20 sampled networks.

Reports: wall time of the search (collection excluded), peak resident memory of this process
(``ru_maxrss``; torch is not imported unless ``--collect`` is given), statistics size on disk,
the hall of fame, and the best program's and EZNAS-A's Kendall tau on all 80 networks of each
task dataset. The best program is saved to ``--out``.

Run::

    .venv/bin/python benches/eznas_search.py --root eznas_stats [--collect] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

DATASETS = (
    ("nb201", "cifar10", 0, "float32"),
    ("nb201", "cifar100", 1, "float32"),
    ("nb201", "imagenet16", 2, "float32"),
    ("macro", "cifar10", 3, "float16"),
)
HELDOUT = {"n": 600, "seed": 20221}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def collect(root: Path, nets: int) -> None:
    import torch

    from zcnas.eznas.shards import collect_task, sample_pool

    torch.set_num_threads(1)
    held = sample_pool("nb201", HELDOUT["n"], seed=HELDOUT["seed"])
    for space, ds, seed, dtype in DATASETS:
        collect_task(space, ds, nets, root / f"{space}-{ds}", seed=seed, dtype=dtype,
                     exclude=held if space == "nb201" else None)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="eznas_stats")
    ap.add_argument("--collect", action="store_true", help="collect missing datasets first")
    ap.add_argument("--nets", type=int, default=80)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generations", type=int, default=15)
    ap.add_argument("--abs-tau", action="store_true")
    ap.add_argument("--out", default=None, help="best program (default ROOT/best_program.json)")
    args = ap.parse_args()
    root = Path(args.root)
    if args.collect:
        collect(root, args.nets)
    from zcnas import stats
    from zcnas.eznas.evolution import evaluate_stats, evolve
    from zcnas.eznas.program import EZNAS_A
    from zcnas.eznas.shards import load_manifest

    dirs = [root / f"{s}-{d}" for s, d, _, _ in DATASETS]
    size = 0
    for d in dirs:
        m = load_manifest(d)
        if len(m["networks"]) < args.nets:
            sys.exit(f"{d} has {len(m['networks'])} of {args.nets} networks; run --collect")
        size += sum((d / e["file"]).stat().st_size for e in m["networks"])
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    res = evolve([str(d) for d in dirs], generations=args.generations, seed=args.seed,
                 abs_tau=args.abs_tau, checkpoint=None, progress=True)  # fmt: skip
    wall = time.perf_counter() - t0
    rss1 = _rss_mb()
    best = res.hall_of_fame[0]
    out = Path(args.out) if args.out else root / "best_program.json"
    best.save(out)
    report = {
        "wall_s": wall,
        "peak_rss_mb": rss1,
        "rss_before_search_mb": rss0,
        "disk_gb": size / 1e9,
        "best": str(best),
        "best_sign": best.sign,
        "hall_of_fame": [str(p) for p in res.hall_of_fame[:10]],
        "tau_all_80": {},
    }
    for d in dirs:
        m = load_manifest(d)
        target = [e["ground_truth"][m["target"]] for e in m["networks"]]
        sc = evaluate_stats([best, EZNAS_A], str(d))
        report["tau_all_80"][d.name] = {
            n: stats.kendall_tau(sc[i], target, nan_policy="omit")
            for i, n in enumerate(("best", "EZNAS_A"))
        }
    for k in ("generation_stats", "history", "log"):
        if hasattr(res, k):
            try:
                report[k] = json.loads(json.dumps(getattr(res, k), default=str))
            except (TypeError, ValueError):
                pass
            break
    print(json.dumps(report, indent=1))
    (root / f"search_report_seed{args.seed}.json").write_text(json.dumps(report, indent=1))
    print(
        f"search: {wall:.1f} s wall (collection excluded), peak RSS {rss1:.0f} MB "
        f"(before the search {rss0:.0f} MB), statistics on disk {size / 1e9:.2f} GB"
    )


if __name__ == "__main__":
    main()
