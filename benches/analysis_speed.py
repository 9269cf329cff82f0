"""`zcnas analyze` speed: the 2026-11-23 path against the current one, side by side.

Runs :func:`zcnas.analysis.report.run_analysis` + :func:`write_report` on the same
NAS-Bench-Suite-Zero tasks twice per round, in one process:

* ``baseline``: the path of the 2026-11-23 measurement: every LightGBM fit in this process
  (``workers=1``), the Dataset binned with OpenMP's default thread team and the booster
  round-tripped through model text (``lgb.train`` defaults): :func:`zcnas.analysis.surrogate.
  fit_surrogate` is swapped for a copy of that version for the baseline runs only.
* ``current``: ``AnalysisConfig(workers=W)`` (default: one per usable CPU) and today's fit.

Every table of the two runs must be equal (checked; the script fails otherwise). Prints the
seconds of every step, the CPU seconds of all processes (the work, which the machine's load
does not change much), the end-to-end ratio and the load average before and after. Scripts
that use ``workers > 1`` must guard their entry point (``if __name__ == "__main__":``): the
pool's workers are spawned.

Usage::

    .venv/bin/python benches/analysis_speed.py [--tasks NB201-CF10,NB101-CF10,...]
        [--rounds 1] [--workers 2] [--trials 100] [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from zcnas.analysis import surrogate as S
from zcnas.analysis.data import load_tasks
from zcnas.analysis.report import AnalysisConfig, markdown_table, run_analysis, write_report
from zcnas.bench.importers import import_suite_zero
from zcnas.bench.store import ScoreStore
from zcnas.exceptions import ZcnasError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "suite_zero"
TASKS = "NB201-CF10,NB101-CF10,TNB101_MICRO-SCENE"


def fit_surrogate_2026_11_23(x, y, *, seed=0, rounds=S.DEFAULT_ROUNDS, params=None):
    """fit_surrogate as measured on 2026-11-23 (Dataset without num_threads, text round trip)."""
    import lightgbm as lgb

    xa = np.ascontiguousarray(x, dtype=np.float64)
    ya = np.ascontiguousarray(y, dtype=np.float64)
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ZcnasError("features and targets must be finite")
    p = {**S.DEFAULT_PARAMS, **dict(params or {}), "seed": int(seed)}
    ds = lgb.Dataset(
        xa,
        label=ya,
        params={"verbose": -1, "min_data_in_bin": p["min_data_in_bin"]},
        free_raw_data=True,
    )
    booster = lgb.train(p, ds, num_boost_round=int(rounds))
    return S.Surrogate(booster, xa.shape[1], p, int(rounds))


def load(data: str, labels: list[str] | None):
    with tempfile.TemporaryDirectory() as d:
        with ScoreStore(os.path.join(d, "s.db"), synchronous="NORMAL") as store:
            import_suite_zero(store, data)
            tasks = load_tasks(store)
    if labels:
        tasks = [t for t in tasks if t.label in labels]
        if len(tasks) != len(labels):
            raise SystemExit(f"unknown task label among {labels}")
    return tasks


def run(tasks, cfg: AnalysisConfig, baseline: bool) -> tuple[dict[str, float], dict]:
    real = S.fit_surrogate
    if baseline:
        S.fit_surrogate = fit_surrogate_2026_11_23
    try:
        c0 = _cpu()
        t0 = time.perf_counter()
        res = run_analysis(tasks, cfg)
        with tempfile.TemporaryDirectory() as d:
            write_report(res, d, title="speed")
        total = time.perf_counter() - t0
        cpu = _cpu() - c0
    finally:
        S.fit_surrogate = real
    return {**res.timings, "end_to_end": total, "cpu_s_all_processes": cpu}, res.tables


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers, once the
    pool has shut down at the end of run_analysis)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--tasks", default=TASKS, help="comma-separated labels ('all': 19)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--workers", type=int, default=S.usable_cpus())
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="the settings of `analyze --quick`")
    args = ap.parse_args()
    labels = None if args.tasks == "all" else args.tasks.split(",")
    tasks = load(args.data, labels)
    cfg = dict(surrogate_trials=args.trials)
    if args.quick:
        cfg.update(
            bootstrap=10,
            surrogate_trials=10,
            entropy_random=20,
            ablation_trials=1,
            entropy_strategies=("sturges",),
        )
    print(f"{len(tasks)} tasks: {', '.join(t.label for t in tasks)}; load {os.getloadavg()}")
    rows = {}
    for r in range(args.rounds):
        for name, baseline, workers in (("baseline", True, 1), ("current", False, args.workers)):
            la = os.getloadavg()[0]
            t, tables = run(tasks, AnalysisConfig(workers=workers, **cfg), baseline)
            t["load_1min_before"] = la
            rows[f"{name} r{r}"] = t
            print(f"{name} round {r}: {t['end_to_end']:.1f} s (load {la:.2f})", flush=True)
            if name == "baseline":
                ref = tables
            else:
                assert set(tables) == set(ref)
                for k in ref:
                    pd.testing.assert_frame_equal(tables[k], ref[k], check_exact=True)
    df = pd.DataFrame(rows)
    print(markdown_table(df, digits=1))
    for r in range(args.rounds):
        b, c = df[f"baseline r{r}"], df[f"current r{r}"]
        print(
            f"round {r}: end to end {b.end_to_end / c.end_to_end:.2f}x, "
            f"surrogate {b.surrogate / c.surrogate:.2f}x, CPU seconds "
            f"{b.cpu_s_all_processes / c.cpu_s_all_processes:.2f}x (workers={args.workers})"
        )
    print("tables identical: yes; load average now", os.getloadavg())


if __name__ == "__main__":
    main()
