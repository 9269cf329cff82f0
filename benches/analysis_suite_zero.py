"""The whole analysis suite on the 19 NAS-Bench-Suite-Zero space/task pairs.

Imports every CSV of ``../shared/data/suite_zero/`` into a temporary score store, runs
:func:`zcnas.analysis.report.run_analysis` (correlations with bootstrap CIs, average ranks and
performance profiles, proxy/benchmark similarity, conditional entropy with both bin rules, bias
and de-biasing, surrogates, ensembles), writes the report folder and prints the headline
tables with the runtime of each step.

Usage::

    .venv/bin/python benches/analysis_suite_zero.py [--out /tmp/zcnas_analysis_suite_zero]
        [--trials 100] [--bootstrap 100] [--data ../shared/data/suite_zero] [--workers N]

``--workers`` (default: one per usable CPU) runs the surrogate fits on a process pool; the
tables do not depend on it.

Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from zcnas.analysis.data import load_tasks
from zcnas.analysis.report import AnalysisConfig, markdown_table, run_analysis, write_report
from zcnas.analysis.surrogate import usable_cpus
from zcnas.bench.importers import import_suite_zero
from zcnas.bench.store import ScoreStore

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "suite_zero"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default="/tmp/zcnas_analysis_suite_zero")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--bootstrap", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=usable_cpus())
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "suite_zero.db")
        t0 = time.perf_counter()
        with ScoreStore(db, synchronous="NORMAL") as store:
            counts = import_suite_zero(store, args.data)
            t_import = time.perf_counter() - t0
            t0 = time.perf_counter()
            tasks = load_tasks(store)
            t_load = time.perf_counter() - t0
    print(f"imported {len(counts)} space/task pairs in {t_import:.1f} s, loaded in {t_load:.1f} s")
    cfg = AnalysisConfig(
        bootstrap=args.bootstrap,
        surrogate_trials=args.trials,
        seed=args.seed,
        workers=args.workers,
    )
    print(f"load average before: {os.getloadavg()}; workers: {args.workers}")
    res = run_analysis(tasks, cfg, progress=False, log=print)
    report = write_report(res, args.out, title="zcnas analysis of NAS-Bench-Suite-Zero (19 tasks)")
    t_total = time.perf_counter() - t_all
    T = res.tables
    print(markdown_table(T["tasks"]))
    print(markdown_table(T["spearman"], digits=2))
    print(markdown_table(T["average_ranks"], digits=2))
    s = T["surrogate_summary"]
    print(markdown_table(s.set_index(["task", "features"]), digits=3))
    print(markdown_table(T["best_ensembles"], index=False))
    timings = {"import": t_import, "load": t_load, **res.timings, "end_to_end": t_total}
    print(markdown_table(pd.DataFrame({"seconds": timings}).rename_axis("step"), digits=1))
    print(f"report: {report}; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
