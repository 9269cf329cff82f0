"""``zcnas search zc-pt``: Zero-Cost-PT from the command line (see :mod:`zcnas.search.zc_pt`).

Example::

    zcnas search zc-pt --space nb201 --proxies nwot --proposals 10 --validate 100 \\
        --order random --seeds 0,1,2,3

prints, per seed, the architecture found with its benchmark accuracy and rank (NB201: test
accuracy on CIFAR-10/100 and ImageNet16-120, rank among 15,625 on CIFAR-10; NAS-Bench-Macro:
mean CIFAR-10 accuracy and rank among 6,561; DARTS: the genotype).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from zcnas._cliargs import add_proxies, add_seeds, add_store, proxy_list, seed_list
from zcnas.search import ZC_PT_METHODS, ZC_PT_ORDERS


def register(subparsers: Any) -> None:
    """Add the ``zc-pt`` parser to ``zcnas search``."""
    p = subparsers.add_parser(
        "zc-pt", help="Zero-Cost-PT: perturbation-based operation scoring on a supernet"
    )
    p.add_argument(
        "--space",
        choices=("nb201", "macro", "darts"),
        default="nb201",
        help="supernet: NAS-Bench-201, NAS-Bench-Macro or DARTS",
    )
    add_proxies(
        p,
        default="nwot",
        help="proxy names, one search each (default nwot: the reference's eval-mode NASWOT "
        "score, its 'jacob'); a path to a score-program JSON (zcnas eznas evolve "
        "--over-scores --pool-free --out F.json) searches with that formula",
    )
    p.add_argument("--flavor", help="proxy flavor (nwot: zcpt (default), naslib, ...)")
    p.add_argument(
        "--method",
        choices=ZC_PT_METHODS,
        default="zc-pt",
        help="operation scoring: zc-pt (perturbation, the paper) or disc-zc (discretisation "
        "baseline)",
    )
    p.add_argument("--proposals", type=int, default=10, help="N: proposal iterations")
    p.add_argument("--validate", type=int, default=100, help="V: validation minibatches")
    p.add_argument(
        "--order", choices=ZC_PT_ORDERS, default="random", help="order the edges are decided in"
    )
    add_seeds(p)
    p.add_argument("--batch-size", type=int, help="images per minibatch (default: all 30)")
    p.add_argument("--no-augment", action="store_true", help="no crop/flip augmentation")
    p.add_argument("--C", type=int, help="NB201 / DARTS supernet channels (default 16)")
    p.add_argument("--N", type=int, help="NB201 cells per stage (default 5)")
    p.add_argument("--layers", type=int, help="DARTS cells (default 8)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    add_store(p, help="score store to receive the validation totals (default: none)")
    p.add_argument("--json", action="store_true", help="print JSON results")
    p.set_defaults(handler=run)


def _describe(space: str, arch: str) -> dict[str, Any]:
    if space == "nb201":
        from zcnas.bench import load_nb201
        from zcnas.search.zc_pt import nb201_rank

        t = load_nb201()
        out: dict[str, Any] = {"index": t.query(arch)["index"]}
        for ds in ("cifar10", "cifar100", "imagenet16"):
            out[f"{ds}_test_acc"] = t.query(arch, ds)["test_accuracy"]
        out["rank_cifar10"] = nb201_rank(arch)
        return out
    if space == "macro":
        import numpy as np

        from zcnas.spaces.macro import load_macro, to_index

        t = load_macro()
        acc = t["mean_acc"]
        i = to_index(arch)
        return {
            "mean_acc": float(acc[i]),
            "rank": int((acc > acc[i]).sum()) + 1,
            "params_M": float(np.asarray(t["params"])[i]) / 1e6,
        }
    return {}


def _program_proxy(name: str) -> str:
    """``name``, or for a ``.json`` score-program file the proxy it is registered as (its file
    stem, replacing an earlier program of that name)."""
    if not name.endswith(".json"):
        return name
    import os

    from zcnas.eznas.scores import ScoreProgram

    if not os.path.isfile(name):
        from zcnas.exceptions import ZcnasError

        raise ZcnasError(f"--proxies: score-program file {name} does not exist")
    proxy = os.path.splitext(os.path.basename(name))[0]
    ScoreProgram.load(name).register(proxy, overwrite=True)
    return proxy


def run(args: argparse.Namespace) -> int:
    """Handler of ``zcnas search zc-pt``."""
    import torch
    from rich.table import Table

    from zcnas._outputs import cli_console
    from zcnas.search.zc_pt import search

    seeds = seed_list(args)
    names = [_program_proxy(n) for n in proxy_list(args.proxies)]
    if not names:
        from zcnas.exceptions import ZcnasError

        raise ZcnasError("--proxies is empty")
    if args.threads is not None:
        if args.threads < 1:
            from zcnas.exceptions import ZcnasError

            raise ZcnasError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    kwargs: dict[str, Any] = {}
    for name in ("C", "N", "layers"):
        v = getattr(args, name)  # supernet sizes; stand-alone networks use the same
        if v is not None:
            kwargs[name] = v
    store = None
    if args.store:
        from zcnas.bench import ScoreStore

        store = ScoreStore(args.store)
    console = cli_console(stderr=args.json)
    results = []
    try:
        for proxy, seed in ((p, s) for p in names for s in seeds):
            r = search(
                args.space,
                proxy,
                flavor=args.flavor,
                proposals=args.proposals,
                validate_rounds=args.validate,
                order=args.order,
                method=args.method,
                seed=seed,
                batch_size=args.batch_size,
                augment=not args.no_augment,
                supernet_kwargs=kwargs,
                progress=not args.json,
                store=store,
            )
            d = {
                "proxy": proxy,
                "seed": seed,
                "best": r.best,
                "unique": len(r.unique),
                "time_s": r.time_propose_s + r.time_validate_s,
            }
            d.update(_describe(args.space, r.best))
            results.append(d)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(json.dumps(results))
        return 0
    title = (
        f"Zero-Cost-PT ({args.method}, {args.proxies}) on {args.space}: N={args.proposals}, "
        f"V={args.validate}, order={args.order}, torch threads={torch.get_num_threads()}"
    )
    table = Table(title=title)
    keys = [k for k in results[0] if k != "best"]
    short = {"cifar10": "C10 %", "cifar100": "C100 %", "imagenet16": "IN16 %"}
    for k in keys:  # short headers: the table stays readable at 80 columns
        table.add_column(short.get(k, k.replace("rank_", "rank ")), justify="right")
    for d in results:
        table.add_row(*(f"{d[k]:.2f}" if isinstance(d[k], float) else str(d[k]) for k in keys))
    console.print(table)
    for d in results:
        console.print(f"{d['proxy']} seed {d['seed']}: {d['best']}", soft_wrap=True, markup=False)
    return 0
