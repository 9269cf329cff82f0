"""The ``zcnas`` command.

``zcnas demo`` shows the library on embedded real data; ``zcnas bench`` reads the embedded
benchmark tables; ``zcnas store`` imports, summarises and exports a score store; ``zcnas score``
scores architectures (in parallel with ``--workers``/``--backend``). ``zcnas analyze``,
``zcnas eznas`` and ``zcnas search`` are registered by their feature modules (below). Errors
in the input are reported on one line (``error: ...``, exit status 2) without a traceback.
Shared options (``--store``, ``--proxies``, ``--seed``/``--seeds``, ``--dataset``, ``--out``)
have one name and meaning in every subcommand (:mod:`zcnas._cliargs`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from zcnas import __version__
from zcnas._cliargs import (
    DEFAULT_STORE,
    add_dataset,
    add_out,
    add_proxies,
    add_store,
    proxy_list,
    store_path,
    use_help_formatter,
)
from zcnas._outputs import cli_console
from zcnas.exceptions import ZcnasError

__all__ = ["DEFAULT_STORE", "main"]

# Subcommands that live beside their feature. Each module defines ``register(subparsers)``,
# which adds its parsers with ``set_defaults(handler=...)``; a handler takes the parsed
# arguments and returns the exit status. Modules must import only the standard library at
# the top, so that ``zcnas --help`` stays fast.
COMMAND_MODULES = ("zcnas.analysis.cli", "zcnas.eznas.cli")
SEARCH_MODULES = ("zcnas.search.cli_zcpt", "zcnas.search.cli_evolution")


def _register(sub: Any, modules: tuple[str, ...]) -> None:
    import importlib

    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:  # the feature is not in this build; other errors raise
            if e.name and name.startswith(e.name):
                continue
            raise
        module.register(sub)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="zcnas", description="Zero-cost neural architecture search")
    ap.add_argument(
        "--version", action="version", version=f"zcnas {__version__}", help="print the version"
    )
    sub = ap.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="show zcnas on the embedded real benchmark data")
    add_dataset(
        demo,
        ("cifar10", "imagenet16"),
        help="NAS-Bench-Suite-Zero task for the proxy table",
        hidden=("--task",),
    )
    demo.add_argument(
        "--no-live", action="store_true", help="skip scoring networks live (the slow part)"
    )
    add_out(demo, help="folder for the demo's figure (default: $ZCNAS_DEMO_DIR or ./zcnas_demo)")

    sc = sub.add_parser("score", help="score architectures with zero-cost proxies")
    sc.add_argument(
        "--space",
        choices=("nb201", "macro", "nb101", "darts", "darts-c3", "tnb101-micro", "tnb101-macro"),
        default="nb201",
        help="search space: NAS-Bench-201, NAS-Bench-Macro, NAS-Bench-101, "
        "DARTS (NB301: NASLib's network, keyed by its encoding, no 'none' edges), darts-c3 "
        "(DARTS genotypes on the SWAP paper's DARTS-1000 network: C=3, one reduction cell on "
        "the image, no stem; CIFAR-10, keyed by genotype text, 'none' edges allowed) or "
        "TransNAS-Bench-101 micro/macro",
    )
    which = sc.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--arch",
        action="append",
        help="architecture (repeatable): nb201 index or arch string; macro 8 digits or index; "
        'nb101 NASLib\'s 56-integer tuple or \'{"matrix": ..., "ops": ...}\'; darts / '
        "darts-c3 a Genotype(...) text or NASLib's NB301 encoding; tnb101 its code",
    )
    which.add_argument(
        "--arch-file",
        metavar="PATH",
        help="file of architectures: one per line (blank and # lines skipped), or a .csv with "
        "an 'arch' or 'genotype' column",
    )
    which.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="score N architectures sampled uniformly from the whole space with --seed (nb101 "
        "/ darts: most then have no ground truth offline; --all scores the Suite-Zero ones). "
        "Another N draws another set, not a prefix: to grow a stored sample, list the "
        "architectures with --arch-file",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="score every architecture of the space (needs --store; nb101 / darts: the 500 / "
        "725 that NAS-Bench-Suite-Zero scored; darts-c3 has no list: use --arch-file)",
    )
    sc.add_argument(
        "--seed", type=int, default=0, help="seed of the sampling, weight init and proxies"
    )
    add_proxies(sc, help="comma-separated names (default: every registered proxy that applies)")
    add_dataset(sc, ("cifar10", "cifar100"), help="images scored on (NB201 only)")
    sc.add_argument(
        "--tnb-task",
        choices=(
            "autoencoder",
            "class_object",
            "class_scene",
            "jigsaw",
            "normal",
            "room_layout",
            "segmentsemantic",
        ),
        default="class_scene",
        help="TransNAS-Bench-101 task for --space tnb101-* (default class_scene; inputs are "
        "resized CIFAR-10 images with placeholder targets: no Taskonomy data offline)",
    )
    sc.add_argument("--flavor", help="reference flavor, e.g. naslib (default: each proxy's)")
    sc.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE.py|MODULE",
        help="your own proxies: a .py file or module that registers them (zcnas.proxies."
        "register) at import; repeatable; every worker loads it too",
    )
    sc.add_argument(
        "--proxy-errors",
        choices=("raise", "nan"),
        default="raise",
        help="a proxy that fails or does not apply on one network: raise (with --workers, "
        "--all or --backend the architecture is recorded as failed and the run goes on; "
        "in-process the run stops with an error naming it, what was scored before stays in "
        "--store) or nan (its score is NaN, the other proxies are kept)",
    )
    sc.add_argument(
        "--batch-size",
        type=int,
        help="real images per minibatch, at most the embedded ones (default: all, 30 "
        "CIFAR-10 or 25 CIFAR-100 images) or those of --images (default 32, "
        "NAS-Bench-Suite-Zero's batch size)",
    )
    sc.add_argument(
        "--images",
        metavar="FILE.npz",
        help="score on your own images instead of the embedded ones: a .npz with x uint8 "
        "(N, H, W, 3) and y labels, e.g. a CIFAR-10 test set; --batch-size of them (default "
        "32, Suite-Zero's) drawn with --seed, CIFAR mean/std; not for tnb101-*",
    )
    sc.add_argument(
        "--device",
        default="cpu",
        help="where networks are scored: cpu, cuda or cuda:N (built on the CPU, then moved; "
        "with --workers, every worker uses this device)",
    )
    add_store(
        sc,
        help="score store file: scores are written as they come and "
        "stored ones are skipped, so an interrupted run resumes (default: none)",
    )
    sc.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sc.add_argument(
        "--backend",
        choices=("local", "ray"),
        help="score in parallel: worker processes on this machine, or Ray (needs --store; "
        "default: in this process, or local with --all / --workers)",
    )
    sc.add_argument("--workers", type=int, help="parallel workers (default 1; implies --backend)")
    sc.add_argument(
        "--address",
        help="join a Ray cluster: 'auto' (the one `ray start --head` runs on this machine), "
        "HOST:PORT (its head node, port 6379 by default) or ray://HOST:10001; implies "
        "--backend ray (default: start Ray locally)",
    )
    sc.add_argument(
        "--retry-failed", action="store_true", help="re-score architectures recorded as failed"
    )

    bench = sub.add_parser("bench", help="query the embedded benchmarks")
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    info = bsub.add_parser("info", help="what a benchmark holds")
    info.add_argument(
        "benchmark", choices=("nb201", "macro"), help="NAS-Bench-201 or NAS-Bench-Macro"
    )
    query = bsub.add_parser("query", help="look architectures up in a benchmark")
    query.add_argument(
        "benchmark", choices=("nb201", "macro"), help="NAS-Bench-201 or NAS-Bench-Macro"
    )
    query.add_argument(
        "--arch",
        action="append",
        required=True,
        help="architecture: index, arch string, NASLib tuple or 6 digits (repeatable)",
    )
    add_dataset(query, help="dataset of the accuracies (NB201)")
    query.add_argument("--json", action="store_true", help="print JSON instead of a table")

    store = sub.add_parser("store", help="the score store (SQLite)")
    add_store(store)
    ssub = store.add_subparsers(dest="store_command", required=True)
    imp = ssub.add_parser("import", help="import NAS-Bench-Suite-Zero CSVs or NASLib zc_*.json")
    imp.add_argument(
        "paths",
        nargs="+",
        metavar="path",
        help="NAS-Bench-Suite-Zero *.csv files (or folders of them) or NASLib zc_<space>.json "
        "files",
    )
    imp.add_argument("--space", help="search space of JSON files (default: from zc_<space>.json)")
    imp.add_argument("--task", help="task of JSON files (default: every task in the file)")
    add_store(imp, sub=True)
    exp = ssub.add_parser("export", help="export to Parquet or CSV")
    exp.add_argument(
        "out_file",
        nargs="?",
        metavar="out",
        help="output file (default: zcnas_<table>.<format> in this folder)",
    )
    add_out(exp, help="output file (same as the positional argument)")
    exp.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="file format")
    exp.add_argument(
        "--table",
        choices=("scores", "ground_truth"),
        default="scores",
        help="proxy scores (one row per space, task, arch, proxy, flavor) or the ground truth",
    )
    add_store(exp, sub=True)
    info_p = ssub.add_parser("info", help="what the store holds")
    info_p.add_argument(
        "store_file", nargs="?", metavar="store", help="the store (same as --store)"
    )
    add_store(info_p, sub=True)

    _register(sub, COMMAND_MODULES)
    search = sub.add_parser("search", help="architecture search driven by zero-cost proxies")
    _register(search.add_subparsers(dest="search_command", required=True), SEARCH_MODULES)
    use_help_formatter(ap)
    return ap


def _macro(args: argparse.Namespace) -> dict[str, Any]:
    """`bench info/query macro`: print the summary, or return the queried rows."""
    from zcnas.spaces import macro

    t = macro.load_macro()
    if args.bench_command == "info":
        acc = t["mean_acc"]
        i = int(acc.argmax())
        print(
            f"NAS-Bench-Macro: {len(t):,} architectures (CIFAR-10, mean of 3 runs); "
            f"best {t['arch'][i]} {acc[i]:.2f}%\ncolumns: {', '.join(t.columns)}"
        )
        return {}
    idx = t.indices(args.arch)
    return {"index": idx} | {k: v[idx] for k, v in t.columns.items()}


def _bench(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zcnas.bench import load_nb201

    console = cli_console()
    if args.benchmark == "macro":
        rows = _macro(args)
        if not rows:
            return 0
        return _show(console, Table(title="NAS-Bench-Macro, CIFAR-10"), rows, args.json)
    t = load_nb201()
    if args.bench_command == "info":
        console.print(
            f"NAS-Bench-201: {len(t):,} architectures, "
            f"{len(set(t['iso_class'].tolist())):,} isomorphism classes, "
            f"{int(t['no_dead_branch'].sum()):,} without dead branches"
        )
        for d in ("cifar10", "cifar100", "imagenet16"):
            acc = t.test_accuracy(d)
            i = int(acc.argmax())
            console.print(f"  {d:<10} best test accuracy {acc[i]:.4f}% (index {i})")
        console.print("columns: " + ", ".join(sorted(t.columns)))
        return 0
    rows = t.query_many([_arch_arg(a) for a in args.arch], args.dataset)
    return _show(console, Table(title=f"NAS-Bench-201, {args.dataset}"), rows, args.json)


def _show(console: Any, table: Any, rows: dict[str, Any], as_json: bool) -> int:
    """Print queried rows (field -> array, one entry per architecture) as JSON or a table.

    Architecture strings are printed whole, each on its own line under the table (a table
    cell would cut or fold them at the terminal's width)."""
    n = len(rows["index"])
    if as_json:
        print(json.dumps([{k: v[i].item() for k, v in rows.items()} for i in range(n)]))
        return 0
    table.add_column("field")
    for i in range(n):
        table.add_column(str(rows["index"][i]), justify="right")
    for k, v in rows.items():
        if k not in ("arch_str", "arch"):
            table.add_row(k, *(_fmt(x) for x in v.tolist()))
    console.print(table)
    key = "arch_str" if "arch_str" in rows else "arch"
    for i in range(n):
        console.print(f"{rows['index'][i]}: {rows[key][i]}", soft_wrap=True, markup=False)
    return 0


def _arch_arg(a: str) -> Any:
    """A command-line architecture: up to 5 digits is an index (NB201 has 15,625), anything
    else (6 digits, a tuple, an arch string) is passed on as written."""
    return int(a) if a.isdigit() and len(a) <= 5 else a


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _default_proxies(args: argparse.Namespace) -> list[str]:
    """Every registered proxy that applies to the space's networks on the command's inputs
    (checked by :func:`zcnas.proxies.engine.applicable` on one network of the space): the
    default of ``--proxies``."""
    import torch

    from zcnas import proxies
    from zcnas.proxies.engine import applicable
    from zcnas.scoring import ArchScorer, sample_archs

    names = proxies.list_proxies()
    scorer = ArchScorer(
        args.space,
        names[:1],
        dataset=args.dataset,
        batch_size=args.batch_size,
        seed=args.seed,
        images=args.images,
    )
    build, x, y = scorer._setup()
    torch.manual_seed(args.seed)
    model = build(sample_archs(args.space, 1, args.seed)[0])
    extra = {}
    if args.space.startswith("tnb101"):
        from zcnas.spaces import tnb101

        extra["loss_fn"] = tnb101.loss_fn(args.dataset)
    return [n for n, a in applicable(model, x, y, names, **extra).items() if a.ok]


def _score(args: argparse.Namespace) -> int:
    from rich.progress import track

    from zcnas._malloc import keep_heap

    keep_heap()  # this process scores: keep freed activations in the heap
    from zcnas.scoring import sample_archs, score_architectures

    if args.space.startswith("tnb101"):
        args.dataset = args.tnb_task  # the TNB101 task plays the dataset's part
    from zcnas.proxies.plugins import load_plugins

    load_plugins(args.plugin)  # before the names are checked (and the default list made)
    names = proxy_list(args.proxies) or _default_proxies(args)
    if args.batch_size is not None and not args.space.startswith("tnb101") and not args.images:
        from zcnas.datasets import SHIPPED_IMAGES

        shipped = SHIPPED_IMAGES.get(args.dataset)
        if shipped is not None and not 1 <= args.batch_size <= shipped:
            from zcnas.exceptions import ZcnasError

            raise ZcnasError(
                f"--batch-size must be 1..{shipped} for {args.dataset}: zcnas ships "
                f"{shipped} real {args.dataset} images (got {args.batch_size})"
            )
    swaps = [n for n in names if n == "swap" or n.startswith("reg_swap")]
    if swaps and args.batch_size is not None and args.batch_size < 16:
        print(
            f"note: {', '.join(swaps)} count{'s' if len(swaps) == 1 else ''} distinct "
            "activation patterns of the batch's "
            f"samples, at most 2**{args.batch_size} = {2**args.batch_size}; below the paper's "
            "16 images most networks reach it and tie",
            file=sys.stderr,
        )
    if args.all:
        from zcnas.distributed import all_archs

        archs = all_archs(args.space)
    elif args.arch:
        archs = [_arch_arg(a) for a in args.arch]
    elif args.arch_file:
        from zcnas.scoring import read_arch_file

        archs = [_arch_arg(a) for a in read_arch_file(args.arch_file)]
    else:
        archs = sample_archs(args.space, args.sample, args.seed)
    console = cli_console(stderr=args.json)
    if args.backend or args.workers or args.all or args.address:
        return _score_parallel(args, archs, names, console)
    store = None
    if args.store:
        from zcnas.bench import ScoreStore

        store = ScoreStore(args.store)
    try:
        results = score_architectures(
            args.space,
            archs,
            names,
            dataset=args.dataset,
            flavor=args.flavor,
            seed=args.seed,
            batch_size=args.batch_size,
            store=store,
            progress=lambda it: track(it, description="scoring", console=cli_console(stderr=True)),
            device=args.device,
            proxy_errors=args.proxy_errors,
            plugins=args.plugin,
            images=args.images,
        )
        n_new = len(results)
        if store is not None and n_new < len(archs):
            # every requested architecture in request order, the skipped ones read back
            results = _stored_scores(args, archs, names, store)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(json.dumps(results))
        return 0
    console.print(
        f"scored {n_new} of {len(archs)} architectures"
        + (
            f" ({len(archs) - n_new} already in the store, read from it)"
            if n_new < len(archs)
            else ""
        )
    )
    _print_scores(args, names, results, console)
    return 0


def _print_scores(
    args: argparse.Namespace, names: list[str], results: dict[str, dict[str, float]], console: Any
) -> None:
    """The score table (first 20 architectures) and, on NB201 with at least 5 architectures,
    each proxy's Kendall tau against the NB201 test accuracy of ``--dataset``."""
    from rich.table import Table

    from zcnas import stats

    if not results:
        return
    keys = list(results)
    # the heading on its own line: a table title wraps to the table's width
    console.print(f"[bold]{args.space} {args.dataset}: proxy scores (higher = better)[/bold]")
    table = Table()
    table.add_column("arch")
    # NASLib's units (flavor macs: multiply-accumulates, in millions)
    macs = args.flavor == "macs"
    units = {"params": "params (M)", "flops": "flops (M MACs)" if macs else "flops (MFLOPs)"}
    for p in names:
        table.add_column(units.get(p, p), justify="right")
    for k in keys[:20]:
        table.add_row(k, *(f"{results[k][p]:.4g}" for p in names))
    if len(keys) > 20:
        table.caption = f"first 20 of {len(keys)} architectures"
    console.print(table)
    if args.space == "nb201" and len(keys) >= 5:
        from zcnas.bench import load_nb201

        acc = load_nb201().test_accuracy(args.dataset)[[int(k) for k in keys]]
        taus = ", ".join(
            f"{p} {stats.kendall_tau([results[k][p] for k in keys], acc, nan_policy='omit'):+.3f}"
            for p in names
        )
        console.print(f"Kendall τ vs NB201 {args.dataset} test accuracy: {taus}")


def _device_job(args: argparse.Namespace, names: list[str]) -> Any:
    """The workers' ArchScorer for ``--device`` other than the CPU, ``--proxy-errors nan``,
    ``--plugin`` or ``--images`` (None: the default job)."""
    if args.device == "cpu" and args.proxy_errors == "raise" and not (args.plugin or args.images):
        return None
    from zcnas.scoring import ArchScorer

    return ArchScorer(
        args.space,
        names,
        dataset=args.dataset,
        flavor=args.flavor,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
        proxy_errors=args.proxy_errors,
        plugins=args.plugin,
        images=args.images,
    )


def _score_parallel(
    args: argparse.Namespace, archs: list[Any], names: list[str], console: Any
) -> int:
    """`zcnas score` over worker processes or Ray (zcnas.distributed), streaming into --store."""
    from zcnas.bench import ScoreStore
    from zcnas.distributed import score_distributed

    if not args.store:
        raise ZcnasError("parallel scoring (--all, --backend, --workers) needs --store")
    if args.address and args.backend not in (None, "ray"):
        raise ZcnasError("--address is for the Ray backend")
    backend = args.backend or ("ray" if args.address else "local")
    with ScoreStore(args.store) as store:
        report = score_distributed(
            args.space,
            archs,
            names,
            store=store,
            backend=backend,
            workers=args.workers or 1,
            address=args.address,
            dataset=args.dataset,
            flavor=args.flavor,
            seed=args.seed,
            batch_size=args.batch_size,
            retry_failed=args.retry_failed,
            progress=cli_console(stderr=True),  # the bar on stderr, the results on stdout
            job=_device_job(args, names),
        )
        scores = _stored_scores(args, archs, names, store)
    summary = {
        "backend": report.backend,
        "workers": report.workers,
        "requested": report.n_requested,
        "already_stored": report.n_already_stored,
        "skipped_failed": report.n_skipped_failed,
        "scored": report.n_scored,
        "failed": report.n_failed,
        "elapsed_s": round(report.elapsed_s, 3),
        "archs_per_minute": round(report.archs_per_minute, 2) if report.n_scored else None,
        "failures": report.failures,
    }
    # exit 2 when an architecture failed in this run (the others are stored), as a serial run
    status = 2 if report.n_failed else 0
    if args.json:
        print(json.dumps({**summary, "scores": scores}))
        return status
    if not report.workers:  # nothing was left to score: no backend was started
        console.print(
            f"nothing to score: {report.n_already_stored} of {report.n_requested} architectures "
            f"already stored, {report.n_skipped_failed} skipped as failed before"
            + (" (--retry-failed scores them again)" if report.n_skipped_failed else "")
        )
    else:
        console.print(
            f"{report.backend} x{report.workers}: scored {report.n_scored} of "
            f"{report.n_requested} architectures ({report.n_already_stored} already stored, "
            f"{report.n_failed} failed, {report.n_skipped_failed} skipped as failed before) "
            f"in {report.elapsed_s:.1f} s"
        )
    for key, err in report.failures[:10]:
        console.print(f"  failed {key}: {err}", markup=False)
    if report.failures:
        console.print(
            "  a rerun skips the failed architectures unless --retry-failed is given (with "
            "--proxy-errors nan a failing proxy is stored as NaN and the others are kept)"
        )
    _print_scores(args, names, scores, console)
    return status


def _stored_scores(
    args: argparse.Namespace, archs: list[Any], names: list[str], store: Any
) -> dict[str, dict[str, float]]:
    """The requested architectures' stored scores of ``names`` in request order (one wide
    query; an architecture with none of them stored, e.g. recorded as failed, is left out)."""
    from zcnas.scoring import ArchScorer

    job = ArchScorer(args.space, names, dataset=args.dataset, flavor=args.flavor, seed=args.seed)
    try:
        wide = store.query(job.space_key, job.dataset, names, flavor=job.flavor_key)
    except ZcnasError:  # nothing stored under this task / flavor / proxies
        return {}
    rows = wide[names].to_dict("index")
    keys = (job.key(a) for a in archs)
    return {k: rows[k] for k in keys if k in rows}


def _store(args: argparse.Namespace) -> int:
    from zcnas.bench.store import cli_export, cli_import, cli_summary

    if getattr(args, "store_file", None):
        if getattr(args, "store", None) not in (None, args.store_file):
            raise ZcnasError(
                f"two stores given: {args.store_file} and --store {args.store}; give one"
            )
        args.store = args.store_file
    path = store_path(args)
    if args.store_command == "import":
        return cli_import(path, args.paths, space=args.space, task=args.task)
    if args.store_command == "export":
        if args.out and args.out_file and args.out != args.out_file:
            raise ZcnasError("give the output file once (positional or --out)")
        out = args.out or args.out_file or f"zcnas_{args.table}.{args.format}"
        return cli_export(path, out, format=args.format, table=args.table)
    return cli_summary(path)


def _format_warning(message: Any, category: type, *_: Any, **__: Any) -> str:
    """Warnings on the command line: one ``Category: message`` line, no source location."""
    return f"{category.__name__}: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``zcnas`` command; returns the exit status."""
    import warnings

    saved, warnings.formatwarning = warnings.formatwarning, _format_warning  # type: ignore[assignment]
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader closed the pipe (``zcnas score --json ... | head``): stop quietly with
        # status 1, as rich's console does for the tables, and keep the interpreter's final
        # flush of stdout from raising again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        warnings.formatwarning = saved


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        if hasattr(args, "handler"):
            return int(args.handler(args))
        if args.command == "demo":
            from zcnas import demo

            demo.run(task=args.dataset, live=not args.no_live, out_dir=args.out)
        elif args.command == "score":
            return _score(args)
        elif args.command == "bench":
            return _bench(args)
        elif args.command == "store":
            return _store(args)
    except ZcnasError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (RecursionError, UnicodeDecodeError, OverflowError) as e:
        # Input nested too deeply, not text, or a number beyond float64 that a reader did not
        # name itself: still one line and exit 2, never a traceback.
        print(f"error: {type(e).__name__}: {str(e)[:300]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
