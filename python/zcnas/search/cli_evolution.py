"""``zcnas search aznas | aging | random | predictor``: proxy-driven searches on the embedded
benchmarks, printing the selected architecture and writing the trajectory and its plot.

Proxies come from the package's stored tables (``--proxy-source table``: NAS-Bench-Suite-Zero's
13 NASLib proxies for the 9,445 NB201 cells it scored, and the benchmark's params / flops) or
are computed live (``--proxy-source live``, any registered proxy, cached in ``--store``).
Only the standard library is imported at module level.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from zcnas._cliargs import add_dataset, add_proxies, add_seeds, add_store, proxy_list, seed_list

AZNAS_PROXIES = "az_expressivity,az_progressivity,az_trainability,az_complexity"


def _common(p: argparse.ArgumentParser, *, proxies_default: str | None) -> None:
    p.add_argument(
        "--space",
        choices=("nb201", "macro"),
        default="nb201",
        help="benchmark searched: NAS-Bench-201 or NAS-Bench-Macro",
    )
    add_dataset(p, help="benchmark dataset of the accuracies and tables")
    p.add_argument(
        "--subset",
        choices=("all", "suite_zero"),
        default=None,
        help="NB201 cells to search (default: suite_zero with table proxies or a validation "
        "metric, else all)",
    )
    p.add_argument(
        "--metric",
        choices=("valid", "test"),
        default=None,
        help="accuracy a query returns (default: valid where the table has it, else test)",
    )
    add_proxies(
        p,
        default=proxies_default,
        help="comma-separated proxy names (aznas default: AZ-NAS's four with --proxy-source "
        "live; nwot,synflow,jacov,flops from the tables, which do not store AZ-NAS's proxies)",
    )
    p.add_argument(
        "--proxy-source",
        choices=("table", "live"),
        default="table",
        help="stored scores (NAS-Bench-Suite-Zero, params/flops) or computed live",
    )
    add_store(p, help="score store caching live proxy scores (default: none)")
    add_seeds(p)
    p.add_argument("--max-flops", type=float, help="FLOPs budget (millions; default: no limit)")
    p.add_argument(
        "--max-params", type=float, help="parameter budget (millions; default: no limit)"
    )
    p.add_argument(
        "--max-latency", type=float, help="HW-NAS-Bench latency budget (ms; default: no limit)"
    )
    p.add_argument(
        "--device",
        default="edgegpu",
        help="HW-NAS-Bench device of --max-latency (edgegpu, raspi4, edgetpu, pixel3, "
        "eyeriss, fpga)",
    )
    p.add_argument(
        "--out", help="write the trajectories (.json, or .csv for one run; default: none)"
    )
    p.add_argument("--plot", help="write the mean trajectory plot (.png/.pdf/.svg; default: none)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def register(subparsers: Any) -> None:
    """Add ``aznas``, ``aging``, ``random`` and ``predictor`` under ``zcnas search``."""
    az = subparsers.add_parser("aznas", help="AZ-NAS evolutionary search (Algorithm 1)")
    _common(az, proxies_default=None)
    az.add_argument("--iterations", type=int, default=500, help="T: candidates scored")
    az.add_argument("--top-k", type=int, default=64, help="k: mutation parents")
    az.add_argument(
        "--aggregation",
        default="nonlinear",
        choices=("nonlinear", "linear", "borda", "majority"),
        help="rank aggregation (zcnas.rankagg): nonlinear (AZ-NAS eq. 12), linear (the "
        "paper's ablation), borda or majority",
    )
    az.set_defaults(handler=_run, algo="aznas")

    ag = subparsers.add_parser("aging", help="aging (regularized) evolution")
    _common(ag, proxies_default=None)
    ag.add_argument(
        "--budget",
        type=int,
        default=200,
        help="benchmark queries (proxy evaluations with --fitness proxy)",
    )
    ag.add_argument("--population", type=int, default=20, help="P: population size")
    ag.add_argument("--sample-size", type=int, default=5, help="S: tournament size")
    ag.add_argument(
        "--fitness",
        choices=("accuracy", "proxy"),
        default="accuracy",
        help="what ranks the population: the benchmark accuracy (a query) or the proxies",
    )
    ag.add_argument("--warmup", type=int, default=0, help="proxy-scored warm-up samples")
    ag.add_argument("--move-candidates", type=int, default=1, help="children ranked by proxy")
    ag.set_defaults(handler=_run, algo="aging")

    rs = subparsers.add_parser(
        "random", help="random search (queries), or best-by-proxy of N samples with --proxies"
    )
    _common(rs, proxies_default=None)
    rs.add_argument("--budget", type=int, default=200, help="queries, or samples with --proxies")
    rs.set_defaults(handler=_run, algo="random")

    pr = subparsers.add_parser("predictor", help="BANANAS/NPENAS-style, boosted-tree surrogate")
    _common(pr, proxies_default=None)
    pr.add_argument(
        "--strategy",
        choices=("bananas", "npenas"),
        default="bananas",
        help="which candidates are queried: bananas (Thompson sampling over the ensemble) or "
        "npenas (largest ensemble mean)",
    )
    pr.add_argument(
        "--features",
        choices=("encoding", "proxies", "both"),
        default="encoding",
        help="surrogate inputs: the architecture encoding, the proxy scores, or both",
    )
    pr.add_argument("--budget", type=int, default=200, help="benchmark queries in all")
    pr.add_argument("--n-init", type=int, default=10, help="initial uniformly drawn queries")
    pr.add_argument("--batch-size", type=int, default=10, help="queries per iteration")
    pr.add_argument(
        "--candidates", type=int, default=100, help="mutated candidates proposed per iteration"
    )
    pr.set_defaults(handler=_run, algo="predictor")


def _build(args: argparse.Namespace) -> tuple[Any, ...]:
    from zcnas.exceptions import ZcnasError
    from zcnas.search.problem import (
        Constraint,
        LiveProxies,
        Oracle,
        SearchSpace,
        TableProxies,
    )

    names = proxy_list(args.proxies)
    if args.algo == "aznas" and not names:
        names = (
            AZNAS_PROXIES.split(",")
            if args.proxy_source == "live"
            else ["nwot", "synflow", "jacov", "flops"]
        )
    store = None
    proxies = None
    if names:
        if args.proxy_source == "table":
            proxies = TableProxies(names, args.space, args.dataset)
        else:
            if args.store:
                from zcnas.bench import ScoreStore

                store = ScoreStore(args.store)
            if args.dataset == "imagenet16":
                raise ZcnasError("live proxies are computed on CIFAR images: use cifar10/100")
            proxies = LiveProxies(args.space, names, dataset=args.dataset, store=store)
    metric = args.metric
    if metric is None:
        metric = "valid" if args.space == "nb201" and args.dataset != "cifar100" else "test"
    subset = args.subset
    if subset is None:
        table_sz = proxies is not None and args.proxy_source == "table" and args.space == "nb201"
        subset = "suite_zero" if (metric == "valid" or table_sz) else "all"
    if args.space == "macro":
        if subset == "suite_zero":
            raise ZcnasError("--subset suite_zero is an NB201 subset")
        space = SearchSpace.macro()
    else:
        space = SearchSpace.nb201(None if subset == "all" else subset)
    oracle = Oracle(args.space, args.dataset, metric)
    constraint = Constraint(
        args.space,
        args.dataset,
        max_flops_m=args.max_flops,
        max_params_m=args.max_params,
        max_latency_ms=args.max_latency,
        device=args.device,
    )
    if constraint.active:
        space = constraint.restrict(space)  # so that best_in_space is within budget too
        return space, oracle, proxies, constraint, store
    return space, oracle, proxies, None, store


def _one(args: argparse.Namespace, space: Any, oracle: Any, proxies: Any, c: Any, seed: int):
    from zcnas.exceptions import ZcnasError
    from zcnas.search import evolution, predictor

    if args.algo == "aznas":
        return evolution.aznas_evolution(
            space,
            proxies,
            iterations=args.iterations,
            top_k=args.top_k,
            method=args.aggregation,
            constraint=c,
            oracle=oracle,
            rng=seed,
            progress=len(seed_list(args)) == 1,
        )
    if args.algo == "aging":
        return evolution.aging_evolution(
            space,
            oracle,
            budget=args.budget,
            population_size=args.population,
            sample_size=args.sample_size,
            fitness=args.fitness,
            proxies=proxies,
            warmup=args.warmup,
            move_candidates=args.move_candidates,
            constraint=c,
            rng=seed,
        )
    if args.algo == "random":
        if proxies is not None:
            return evolution.random_proxy_search(
                space, proxies, n_samples=args.budget, oracle=oracle, constraint=c, rng=seed
            )
        return evolution.random_search(space, oracle, budget=args.budget, constraint=c, rng=seed)
    if args.algo == "predictor":
        return predictor.predictor_search(
            space,
            oracle,
            strategy=args.strategy,
            features=args.features,
            proxies=proxies,
            budget=args.budget,
            n_init=args.n_init,
            batch_size=args.batch_size,
            n_candidates=args.candidates,
            constraint=c,
            rng=seed,
        )
    raise ZcnasError(f"unknown search {args.algo!r}")


def _check_outputs(args: argparse.Namespace, n_runs: int) -> None:
    from zcnas._optional import require
    from zcnas._outputs import check_output_file
    from zcnas.exceptions import ZcnasError

    if args.out:
        out = check_output_file(args.out, option="--out", suffixes=(".json", ".csv"))
        if out.suffix.lower() == ".csv" and n_runs > 1:
            raise ZcnasError(f"--out {out}: a .csv file holds one run; use .json for {n_runs}")
    if args.plot:
        check_output_file(args.plot, option="--plot", suffixes=(".png", ".pdf", ".svg"))
        require("matplotlib", "--plot")


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from zcnas.search.trajectory import plot

    seeds = seed_list(args)
    _check_outputs(args, len(seeds))  # before the search: a bad path must not lose its result
    space, oracle, proxies, constraint, store = _build(args)
    try:
        results = [_one(args, space, oracle, proxies, constraint, seed) for seed in seeds]
    finally:
        if store is not None:
            store.close()
    trajs = [r.trajectory for r in results]
    from zcnas.spaces import macro, nb201

    def name(a: int) -> str:
        return nb201.index_to_str(a) if args.space == "nb201" else macro.index_to_str(a)

    summary = {
        "search": trajs[0].method,
        "budget": trajs[0].budget,
        "evaluations": len(trajs[0]),
        "runs": [
            {
                "seed": seeds[i],
                "arch": r.best_arch,
                "arch_str": name(r.best_arch),
                "test_accuracy": r.best_test,
            }
            for i, r in enumerate(results)
        ],
        "mean_test_accuracy": float(np.mean([r.best_test for r in results])),
        "best_in_space": oracle.best_test(space.members),
    }
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() == ".json" or len(trajs) > 1:
            out.write_text(json.dumps([t.to_dict() for t in trajs]))
        else:
            trajs[0].save(out)
    if args.plot:
        plot(
            {trajs[0].method: trajs},
            args.plot,
            optimum=summary["best_in_space"],
            title=f"{args.space} {args.dataset}",
        )
    if args.json:
        print(json.dumps(summary))
        return 0
    from zcnas._outputs import cli_console

    con = cli_console(soft_wrap=True, markup=False)
    for run in summary["runs"]:
        con.print(
            f"seed {run['seed']}: {run['arch_str']} (index {run['arch']}), "
            f"{args.dataset} test accuracy {run['test_accuracy']:.2f}%"
        )
    con.print(
        f"{summary['search']}: {summary['evaluations']} {summary['budget']}, mean test accuracy "
        f"{summary['mean_test_accuracy']:.2f}% (best in the searched space "
        f"{summary['best_in_space']:.2f}%)"
    )
    return 0
