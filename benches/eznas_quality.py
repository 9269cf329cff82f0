"""EZNAS quality: discovered programs and EZNAS-A on held-out NAS-Bench-201 architectures.

Scores a held-out set of NB201 architectures (default: the 600 of
``sample_pool("nb201", 600, seed=20221)``, which the task datasets of
``benches/eznas_search.py`` exclude; the script checks that none of them is in any evolution
pool given with ``--stats``) on CIFAR-10, CIFAR-100 and ImageNet16-120 with

* EZNAS-A, the released program (the ``eznas`` proxy, PyTorch; equal to the program proxy),
* every program given with ``--program`` (``Program.load``; the statistics they use are
  collected once per network and every program evaluated on them, as
  :func:`zcnas.eznas.shards.score_program` does for one),
* synflow (NASLib flavor) and the parameter count (from the benchmark table),

each network built with its own seed and scored on batch 1 (the evolution setting) exactly as
the task datasets are collected: one real image per network (ImageNet16-120: CIFAR-10 images
average-pooled to 16x16, since no ImageNet16 pixels are available), the reference's
re-initialisation, gradients of the summed logits. Kendall tau (zcnas.stats, tau-b) against
each dataset's NB201 test accuracy. Scores are cached per (task, arch, proxy) in one JSON file
per task (``--cache`` prefix), so an interrupted run continues and tasks can run in parallel.

Run::

    .venv/bin/python benches/eznas_quality.py --stats eznas_stats/nb201-* \
        --program eznas_stats/best_program.json --cache eznas_stats/quality

The paper reports Kendall tau 0.65 / 0.65 / 0.61 for EZNAS-A on the full NB201 space.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from zcnas import proxies, stats
from zcnas.bench import load_nb201
from zcnas.eznas.shards import (
    _CLASSES,
    _net_seed,
    pool_archs,
    sample_pool,
    task_inputs,
)
from zcnas.eznas.stats import collect_network
from zcnas.spaces import nb201

TASKS = ("cifar10", "cifar100", "imagenet16")


def _save(cache: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(cache))
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=600, help="held-out architectures drawn")
    ap.add_argument("--limit", type=int, default=500, help="score the first LIMIT of them")
    ap.add_argument("--heldout-seed", type=int, default=20221)
    ap.add_argument("--stats", nargs="*", default=[], help="evolution pools to check against")
    ap.add_argument("--program", action="append", default=[], help="program JSON (repeatable)")
    ap.add_argument("--cache", default="eznas_quality", help="cache prefix (+ _<task>.json)")
    ap.add_argument("--report-only", action="store_true", help="print the table from the cache")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    held = sample_pool("nb201", args.n, seed=args.heldout_seed)[: args.limit]
    used = pool_archs(args.stats).get("nb201", set()) if args.stats else set()
    overlap = set(held) & used
    if overlap:
        raise SystemExit(f"{len(overlap)} held-out architectures are in an evolution pool")
    progs = {}
    if args.program:
        from zcnas.eznas.program import Program, evaluate_many

        for p in args.program:
            progs[f"program:{Path(p).stem}"] = Program.load(p)
    cache: dict = {}
    for task in args.tasks:
        p = Path(f"{args.cache}_{task}.json")
        cache[task] = json.loads(p.read_text())[task] if p.is_file() else {}
    table = load_nb201()
    t_start = time.perf_counter()
    for task in [] if args.report_only else args.tasks:
        cache_path = Path(f"{args.cache}_{task}.json")
        x_pool, _, _ = task_inputs("nb201", task)
        c = cache[task]
        last = time.perf_counter()
        for j, idx in enumerate(held):
            row = c.setdefault(str(idx), {})
            todo_px = [p for p in ("eznas", "synflow") if p not in row]
            todo_pg = [n for n in progs if n not in row]
            if not todo_px and not todo_pg:
                continue
            nseed = _net_seed(args.seed, idx)
            pick = np.sort(np.random.default_rng(nseed).choice(len(x_pool), 1, replace=False))
            x = x_pool[torch.from_numpy(pick)]
            torch.manual_seed(nseed)
            model = nb201.build(idx, num_classes=_CLASSES[task])
            if todo_px:
                row.update(proxies.score(model, x, proxies=todo_px, seed=nseed))
            if todo_pg:  # one collection of the terminals all programs need
                terms = sorted(set().union(*(progs[n].terminals for n in todo_pg)))
                st = collect_network(model, x, terminals=terms, seed=nseed)
                vals = evaluate_many([progs[n] for n in todo_pg], st)
                for n, v in zip(todo_pg, vals, strict=True):
                    row[n] = float(v)
            if time.perf_counter() - last > 30 or j == len(held) - 1:
                _save({task: c}, cache_path)
                last = time.perf_counter()
                print(f"{task}: {j + 1}/{len(held)} ({time.perf_counter() - t_start:.0f} s)",
                      flush=True)  # fmt: skip
        _save({task: c}, cache_path)
    names = ["eznas", *progs, "synflow", "params"]
    print(f"\nKendall tau vs NB201 test accuracy, {len(held)} held-out architectures, batch 1")
    print("proxy".ljust(28) + "".join(t.rjust(12) for t in args.tasks))
    for n in names:
        line = ("EZNAS-A (eznas)" if n == "eznas" else n).ljust(28)
        for task in args.tasks:
            acc = table.test_accuracy(task)[held]
            if n == "params":
                s = table[f"params_M_{task}"][held]
            else:
                s = np.array([cache[task][str(i)].get(n, math.nan) for i in held], dtype=float)
            ok = np.isfinite(s)
            tau = stats.kendall_tau(s[ok], acc[ok]) if ok.sum() > 2 else math.nan
            line += f"{tau:12.3f}" + ("" if ok.all() else f"({int(ok.sum())})")
        print(line)
    print("paper, EZNAS-A on the full space: 0.65 / 0.65 / 0.61")


if __name__ == "__main__":
    main()
