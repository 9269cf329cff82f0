"""``zcnas eznas``: collect task datasets, evolve programs, show a program.

::

    zcnas eznas collect --space nb201 --task cifar10 --nets 80 --out stats/
    zcnas eznas evolve --stats stats/ --generations 15 --seed 0 --out program.json
    zcnas eznas evolve --over-scores --store scores.db --tasks nasbench201/cifar10 --out f.json
    zcnas eznas show program.json [--stats stats/]

Only the standard library is imported at module level (``zcnas --help`` stays fast).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from zcnas._cliargs import add_dataset

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``eznas`` command and its subcommands to the ``zcnas`` parser."""
    ez = subparsers.add_parser(
        "eznas", help="EZNAS: evolve zero-cost proxies by genetic programming"
    )
    sub = ez.add_subparsers(dest="eznas_command", required=True)

    c = sub.add_parser("collect", help="collect a task dataset (statistics + ground truth)")
    c.add_argument(
        "--space",
        choices=("nb201", "macro"),
        default="nb201",
        help="benchmark the networks come from: NAS-Bench-201 or NAS-Bench-Macro",
    )
    add_dataset(
        c,
        help="dataset whose test accuracy is the target (macro: cifar10 only)",
        hidden=("--task",),
    )
    c.add_argument(
        "--nets", type=int, default=80, help="networks in the pool (the paper's setting)"
    )
    c.add_argument("--out", required=True, help="output directory (resumes if it exists)")
    c.add_argument("--seed", type=int, default=0, help="pool, init, image and noise seed")
    c.add_argument("--batch-size", type=int, default=1, help="images in D (the paper's setting)")
    c.add_argument(
        "--dtype",
        choices=("float32", "float16"),
        default="float32",
        help="precision the statistics are stored in (float16 halves the disk use)",
    )
    c.add_argument(
        "--pattern",
        choices=("relu-conv-bn", "conv-bn-relu"),
        help="instance structure (default: relu-conv-bn for nb201, conv-bn-relu for macro)",
    )
    c.add_argument(
        "--gradient",
        choices=("sum-of-logits", "cross-entropy"),
        default="sum-of-logits",
        help="what the recorded gradients are of: the sum of the logits (the paper) or the "
        "cross-entropy loss",
    )
    c.add_argument(
        "--exclude",
        help="file of architectures never to draw (JSON list, or one per line), e.g. a "
        "held-out evaluation set",
    )
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(handler=_collect)

    e = sub.add_parser("evolve", help="evolve programs on task datasets (Rust core)")
    e.add_argument(
        "--stats",
        action="append",
        nargs="+",
        help="task dataset directories (repeatable; not with --over-scores)",
    )
    e.add_argument(
        "--over-scores",
        action="store_true",
        help="score-level GP: evolve formulas over the stored proxy scores of --store "
        "(zcnas.eznas.scores) instead of programs over network statistics",
    )
    from zcnas._cliargs import add_store

    add_store(e, help="score store with ground truth (--over-scores)")
    e.add_argument(
        "--tasks",
        nargs="+",
        metavar="SPACE/TASK",
        help="--over-scores: tasks of the store (default: every task with ground truth)",
    )
    e.add_argument(
        "--proxies",
        nargs="+",
        help="--over-scores: terminal proxies, comma- or space-separated (default: every "
        "proxy all the tasks have)",
    )
    e.add_argument(
        "--holdout",
        type=float,
        default=0.5,
        help="--over-scores: share of each task's architectures kept out of the search",
    )
    e.add_argument(
        "--aggregate",
        choices=("min", "mean"),
        default="min",
        help="--over-scores: how the per-task Kendall taus make one fitness",
    )
    e.add_argument(
        "--parsimony",
        type=float,
        default=0.001,
        help="--over-scores: fitness penalty per formula node",
    )
    e.add_argument(
        "--pool-free",
        action="store_true",
        help="--over-scores: only formulas without Rank/Zscore (raw scores and logs), which "
        "score one network alone with no reference pool (e.g. for Zero-Cost-PT supernets)",
    )
    e.add_argument(
        "--archs-per-task", type=int, default=500, help="--over-scores: archs per fitness tau"
    )
    e.add_argument(
        "--generations",
        type=int,
        help="generations after the initial population (default 15 with --stats, the "
        "paper's; 40 with --over-scores, as evolve_scores)",
    )
    e.add_argument(
        "--population",
        type=int,
        help="programs per generation (default 50 with --stats; 200 with --over-scores)",
    )
    e.add_argument(
        "--tournament",
        type=int,
        help="tournament size of selection (default 4 with --stats; 5 with --over-scores)",
    )
    e.add_argument("--mu", type=int, help="--stats: parents per generation (default 25)")
    e.add_argument("--lam", type=int, help="--stats: lambda, offspring per generation (default 50)")
    e.add_argument("--cxpb", type=float, help="--stats: crossover probability (default 0.4)")
    e.add_argument("--mutpb", type=float, help="--stats: mutation probability (default 0.4)")
    e.add_argument(
        "--min-depth",
        type=int,
        help="--stats: smallest height of a fresh random program (default 2)",
    )
    e.add_argument("--max-depth", type=int, help="--stats: height limit of children (default 10)")
    e.add_argument(
        "-s", type=int, help="--stats: task datasets drawn per fitness, min tau (default 4)"
    )
    e.add_argument(
        "--nets-per-eval", type=int, help="--stats: networks per fitness tau (default 20)"
    )
    e.add_argument(
        "--abs-tau",
        action="store_true",
        help="--stats: fitness on |tau| as the reference (sign kept)",
    )
    e.add_argument("--seed", type=int, default=0, help="seed of every random draw of the search")
    e.add_argument(
        "--checkpoint", help="--stats: checkpoint file, written each generation and resumed"
    )
    e.add_argument("--out", default="eznas_program.json", help="where the best program goes")
    e.add_argument("--top", type=int, default=5, help="hall-of-fame entries to print")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.set_defaults(handler=_evolve)

    s = sub.add_parser("show", help="print a program; with --stats, its Kendall tau there")
    s.add_argument(
        "program", help="program JSON file, or a released program's name (eznas_a, EZNAS_A)"
    )
    s.add_argument("--stats", nargs="+", help="task dataset directories to evaluate it on")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=_show)


def _read_archs(path: str) -> list[Any]:
    from zcnas.exceptions import ZcnasError

    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ZcnasError(f"cannot read --exclude file {path}: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not isinstance(data, list):
        raise ZcnasError(f"--exclude file {path} must hold a JSON list or one arch per line")
    return [int(a) if isinstance(a, str) and a.isdigit() and len(a) <= 5 else a for a in data]


def _collect(args: argparse.Namespace) -> int:
    import torch

    from zcnas.eznas.shards import collect_task, load_manifest

    if torch.get_num_threads() > 2:
        torch.set_num_threads(2)  # batch-1 networks: more threads only add overhead
    out = collect_task(
        args.space,
        args.dataset,
        args.nets,
        args.out,
        seed=args.seed,
        batch_size=args.batch_size,
        dtype=args.dtype,
        exclude=_read_archs(args.exclude) if args.exclude else None,
        progress=not args.no_progress,
        pattern=args.pattern,
        gradient=args.gradient,
    )
    m = load_manifest(out)
    size = sum((out / e["file"]).stat().st_size for e in m["networks"])
    inst = sum(e["n_instances"] for e in m["networks"])
    print(
        f"{out}: {len(m['networks'])} networks, {inst} {m['pattern']} instances, "
        f"{size / 1e9:.2f} GB ({m['dtype']}), target {m['target']}"
    )
    return 0


def _stats_dirs(groups: list[list[str]]) -> list[str]:
    return [d for g in groups for d in g]


def _evolve_scores(args: argparse.Namespace) -> int:
    import os

    from zcnas._cliargs import proxy_list, store_path, task_pairs
    from zcnas.analysis.data import load_tasks
    from zcnas.exceptions import ZcnasError
    from zcnas.eznas.scores import evolve_scores

    path = store_path(args)
    if not os.path.isfile(path):
        raise ZcnasError(f"score store {path} does not exist")
    pairs = task_pairs(args.tasks, "--tasks")
    tasks = load_tasks(path, pairs)
    # options left out keep evolve_scores' own defaults
    sizes = {k: getattr(args, k) for k in ("population", "generations", "tournament")}
    res = evolve_scores(
        tasks,
        proxies=[p for v in args.proxies for p in proxy_list(v)] if args.proxies else None,
        holdout=args.holdout,
        seed=args.seed,
        archs_per_task=args.archs_per_task,
        aggregate=args.aggregate,
        parsimony=args.parsimony,
        pool_free=args.pool_free,
        **{k: v for k, v in sizes.items() if v is not None},
    )
    res.best.save(args.out)
    print(
        f"{len(tasks)} tasks, {len(res.proxies)} proxies ({', '.join(res.proxies)}); "
        f"{res.evaluations} formulas in {res.seconds:.1f} s; best -> {args.out}"
    )
    for i, p in enumerate(res.programs[: args.top]):
        ho = res.heldout[i]
        ho_txt = "n/a" if not (ho == ho).any() else f"{float(min(ho)):+.4f}"
        print(f"{i + 1:>2}. fitness {p.fitness:+.4f}  held-out min tau {ho_txt}  {p}")
    return 0


#: Defaults of the options only the statistics-level search (--stats) reads.
_STATS_ONLY = {
    "mu": 25,
    "lam": 50,
    "cxpb": 0.4,
    "mutpb": 0.4,
    "min_depth": 2,
    "max_depth": 10,
    "s": 4,
    "nets_per_eval": 20,
}


def _or(value: Any, default: Any) -> Any:
    """An option's value, or the default of the search mode when it was left out."""
    return default if value is None else value


def _evolve(args: argparse.Namespace) -> int:
    from zcnas._outputs import check_output_file
    from zcnas.eznas.evolution import evolve

    check_output_file(args.out, option="--out", suffixes=(".json",))  # before the search
    if args.over_scores:
        from zcnas.exceptions import ZcnasError

        for opt, val in (("--stats", args.stats), ("--checkpoint", args.checkpoint)):
            if val:
                raise ZcnasError(
                    f"{opt} is for the statistics-level search; --over-scores reads --store "
                    "(a score-level search takes seconds and is not checkpointed)"
                )
        given = [k for k in _STATS_ONLY if getattr(args, k) is not None]
        given += ["abs_tau"] if args.abs_tau else []
        if given:
            opts = ", ".join("-s" if k == "s" else "--" + k.replace("_", "-") for k in given)
            raise ZcnasError(f"{opts}: only the statistics-level search (--stats) reads them")
        return _evolve_scores(args)
    if not args.stats:
        from zcnas.exceptions import ZcnasError

        raise ZcnasError("zcnas eznas evolve needs --stats DIR (or --over-scores --store DB)")
    for k, v in _STATS_ONLY.items():
        setattr(args, k, _or(getattr(args, k), v))
    if args.pool_free:
        from zcnas.exceptions import ZcnasError

        raise ZcnasError("--pool-free is for the score-level search (--over-scores)")
    if args.checkpoint:
        check_output_file(args.checkpoint, option="--checkpoint")

    res = evolve(
        _stats_dirs(args.stats),
        generations=_or(args.generations, 15),
        population=_or(args.population, 50),
        tournament=_or(args.tournament, 4),
        mu=args.mu,
        lam=args.lam,
        cxpb=args.cxpb,
        mutpb=args.mutpb,
        min_depth=args.min_depth,
        max_depth=args.max_depth,
        s=args.s,
        nets_per_eval=args.nets_per_eval,
        abs_tau=args.abs_tau,
        seed=args.seed,
        checkpoint=args.checkpoint,
        progress=not args.no_progress,
    )
    hof = list(res.hall_of_fame)
    if not hof:
        print("no valid program was found")
        return 1
    hof[0].save(args.out)
    for h in res.history:
        best = h.get("best")
        print(
            f"gen {h.get('generation')}: best {'-' if best is None else f'{best:+.4f}'}, "
            f"mean {_num(h.get('mean'))}, valid {h.get('n_valid')}, {_num(h.get('seconds'))} s"
        )
    print(f"evolution: {res.wall_time:.1f} s; best program -> {args.out}")
    for i, p in enumerate(hof[: args.top]):
        fit = "n/a" if p.fitness is None else f"{p.fitness:+.4f}"
        print(f"{i + 1:>2}. fitness {fit}  sign {int(p.sign):+d}  {p}")
    return 0


def _num(v: Any) -> str:
    return "-" if v is None else f"{float(v):.3f}"


def _show(args: argparse.Namespace) -> int:
    from zcnas.eznas.program import EZNAS_A, Program

    released = {"eznas_a": EZNAS_A, "eznas-a": EZNAS_A}
    prog = released.get(args.program.lower())
    if prog is None:
        if not Path(args.program).exists():
            from zcnas.exceptions import ZcnasError

            raise ZcnasError(
                f"{args.program!r} is neither a program file nor a released program "
                f"({', '.join(sorted(released))})"
            )
        if '"zcnas-score-program"' in Path(args.program).read_text(errors="replace")[:200]:
            return _show_score_program(args)
        prog = Program.load(args.program)
    out: dict[str, Any] = {
        "formula": str(prog),
        "terminals": sorted(prog.terminals),
        "sign": int(prog.sign),
        "program": json.loads(prog.to_json()),
    }
    if args.stats:
        from zcnas import stats as zstats
        from zcnas.eznas.evolution import evaluate_stats
        from zcnas.eznas.shards import load_manifest, manifest_targets

        out["kendall_tau"] = {}
        for d in args.stats:
            m = load_manifest(d)
            scores = evaluate_stats([prog], d)[0]
            target = manifest_targets(m)  # NaN where a network has no ground truth
            ok = sum(1 for v, t in zip(scores, target, strict=True) if v == v and t == t)
            tau = zstats.kendall_tau(scores, target, nan_policy="omit") if ok >= 2 else None
            out["kendall_tau"][str(d)] = {"target": m["target"], "tau": tau, "n": ok}
    if args.json:
        print(json.dumps(out))
        return 0
    print(out["formula"])
    print(f"terminals: {', '.join(out['terminals'])}; sign {out['sign']:+d} (higher = better)")
    for d, r in out.get("kendall_tau", {}).items():
        tau = "n/a" if r["tau"] is None else f"{r['tau']:+.4f}"
        print(f"  {d}: Kendall tau vs {r['target']} = {tau} on {r['n']} networks")
    return 0


def _show_score_program(args: argparse.Namespace) -> int:
    """``zcnas eznas show`` for a score-level program (``zcnas.eznas.scores``)."""
    from zcnas.exceptions import ZcnasError
    from zcnas.eznas.scores import ScoreProgram

    if args.stats:
        raise ZcnasError(
            "--stats evaluates statistics programs; a score program is evaluated on a store's "
            "tasks in Python: ScoreProgram.load(path).evaluate_scores(task) with "
            "zcnas.analysis.load_task"
        )
    prog = ScoreProgram.load(args.program)
    out = {
        "formula": prog.formula(),
        "expr": prog.expr,
        "proxies": list(prog.proxies),
        "size": prog.size,
        "uses_pool": prog.uses_pool,
        "reference_rows": None
        if prog.reference is None
        else len(next(iter(prog.reference.values()))),
        "fitness": prog.fitness,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(out["formula"])
    nodes = "1 node" if out["size"] == 1 else f"{out['size']} nodes"
    print(f"proxies: {', '.join(out['proxies'])}; {nodes} (higher = better)")
    if prog.fitness is not None:
        print(f"search fitness (Kendall tau on its fitness architectures): {prog.fitness:+.4f}")
    if prog.uses_pool:
        print(
            f"rank/zscore against a stored reference pool of {out['reference_rows']} architectures"
        )
    else:
        print("pool-free: scores one architecture alone (usable for Zero-Cost-PT supernets)")
    return 0
