"""Speed of the shared-pass engine against one call per proxy (NASLib's way), NB201 at batch 30.

For each of ``--n`` NAS-Bench-201 networks (the fidelity sample, seed 0): all 13
NAS-Bench-Suite-Zero proxies through one ``zcnas.score`` call (passes planned together; the
cross-entropy gradient, grasp, the input Jacobian and the ReLU codes come from one forward),
then each proxy in its own call (every call runs its own passes, as NASLib's per-proxy
``find_measures`` does). Same process, same model, same 30 real CIFAR-10 images, naslib flavor.
The first network is run once untimed to warm up.

    python benches/engine_speed_nb201.py --n 5 --threads 1
    python benches/engine_speed_nb201.py --n 5 --baseline f81e6a1 --rounds 3

``--baseline REV`` times the same shared call side by side against an earlier revision of
zcnas's Python code (``git archive REV python`` into a temporary folder, with this checkout's
compiled extension): worker processes for the two versions alternate, round after round, on
the same architectures and images, and the figures are per-architecture medians over rounds
of the call's wall time and of its thread CPU time (the latter is less disturbed by other
processes on a shared machine). The garbage collector is collected before and disabled
during each timed call, in both versions.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from zcnas import proxies
from zcnas.bench import load_suite_zero_nb201
from zcnas.datasets import cifar_batch
from zcnas.spaces import nb201

PROXIES = load_suite_zero_nb201().proxies


def _timed(fn) -> tuple[float, float]:
    gc.collect()
    gc.disable()
    try:
        t, c = time.perf_counter(), time.thread_time()
        fn()
        return time.perf_counter() - t, time.thread_time() - c
    finally:
        gc.enable()


def worker(n: int, seed: int, threads: int, separate: bool) -> dict:
    """Time the shared call (and, with ``separate``, one call per proxy) in this process."""
    torch.set_num_threads(threads)
    sz = load_suite_zero_nb201("cifar10")
    rng = np.random.default_rng(seed)
    archs = sz.index[np.sort(rng.choice(len(sz.index), size=n, replace=False))]
    x, y = cifar_batch("cifar10")
    names = list(PROXIES)
    models = {}
    for a in archs:
        torch.manual_seed(int(a))
        models[int(a)] = nb201.build(int(a), C=16, N=5, num_classes=10)
    proxies.score(models[int(archs[0])], x, y, proxies=names, flavor="naslib")  # warm-up
    out: dict = {"shared": {}, "separate": {}, "values": {}}
    for a, m in models.items():
        vals: dict = {}
        out["shared"][a] = _timed(
            lambda m=m, vals=vals: vals.update(
                proxies.score(m, x, y, proxies=names, flavor="naslib")
            )
        )
        out["values"][a] = vals
        if separate:
            w = c = 0.0
            for p in names:
                dw, dc = _timed(
                    lambda m=m, p=p: proxies.score(m, x, y, proxies=[p], flavor="naslib")
                )
                w, c = w + dw, c + dc
            out["separate"][a] = (w, c)
    return out


def _export(rev: str, root: Path) -> Path:
    """``python/`` of revision ``rev`` under ``root``, with this checkout's compiled extension."""
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev, "python"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    import zcnas._native as native

    shutil.copy(native.__file__, root / "python" / "zcnas" / Path(native.__file__).name)
    return root / "python"


def side_by_side(args: argparse.Namespace, console: Console) -> dict:
    """Alternate worker processes of this checkout and of ``args.baseline``."""
    here = str(Path(__file__).resolve().parents[1] / "python")
    with tempfile.TemporaryDirectory() as tmp:
        base = str(_export(args.baseline, Path(tmp)))
        runs: dict[str, list[dict]] = {"current": [], "baseline": []}
        for r in range(args.rounds):
            order = [("current", here), ("baseline", base)]
            for label, path in order if r % 2 == 0 else order[::-1]:
                env = dict(os.environ, PYTHONPATH=path)
                cmd = [sys.executable, __file__, "--worker", "--n", str(args.n)]
                cmd += ["--seed", str(args.seed), "--threads", str(args.threads)]
                if args.separate:
                    cmd.append("--separate")
                res = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True)
                if res.returncode:
                    raise SystemExit(f"{label} worker failed:\n{res.stderr[-3000:]}")
                runs[label].append(json.loads(res.stdout.strip().splitlines()[-1]))
                console.print(f"round {r + 1} {label}: done")
    summary: dict = {"rounds": args.rounds, "n": args.n, "load": os.getloadavg()}
    for label, rs in runs.items():
        archs = list(rs[0]["shared"])
        for kind in ("shared", "separate"):
            if not rs[0][kind]:
                continue
            for i, clock in enumerate(("wall", "cpu")):
                per_arch = [np.median([r[kind][a][i] for r in rs]) for a in archs]
                summary[f"{label}_{kind}_{clock}_ms"] = float(np.median(per_arch) * 1e3)
    cur, old = runs["current"][0]["values"], runs["baseline"][0]["values"]
    summary["max_rel_diff"] = {
        p: max(abs(cur[a][p] - old[a][p]) / max(abs(old[a][p]), 1e-30) for a in cur)
        for p in PROXIES
    }
    table = Table(title=f"NB201 13-proxy shared call, median ms/arch over {args.n} archs")
    table.add_column("")
    for c in ("wall", "cpu"):
        table.add_column(c, justify="right")
    for key in ("baseline_shared", "current_shared", "baseline_separate", "current_separate"):
        if f"{key}_wall_ms" in summary:
            table.add_row(key, *(f"{summary[f'{key}_{c}_ms']:.0f}" for c in ("wall", "cpu")))
    console.print(table)
    for c in ("wall", "cpu"):
        gain = summary[f"baseline_shared_{c}_ms"] / summary[f"current_shared_{c}_ms"]
        console.print(f"speed-up {c}: {gain:.2f}x")
        if f"current_separate_{c}_ms" in summary:
            ratio = summary[f"current_shared_{c}_ms"] / summary[f"current_separate_{c}_ms"]
            console.print(f"current shared / separate ({c}): {ratio:.1%}")
    console.print(f"largest relative difference per proxy: {summary['max_rel_diff']}")
    console.print(f"load average: {summary['load']}")
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    ap.add_argument("--baseline", default=None, help="git revision to time side by side")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (--baseline)")
    ap.add_argument("--separate", action="store_true", help="also one call per proxy")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--others",
        action="store_true",
        help="also time every other registered proxy alone (default flavors; AZ-NAS's four "
        "together, as they share one pass)",
    )
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.n, args.seed, args.threads, args.separate)))
        return
    console = Console()
    if args.baseline:
        summary = side_by_side(args, console)
        if args.out:
            Path(args.out).write_text(json.dumps(summary, indent=1))
        return
    torch.set_num_threads(args.threads)
    sz = load_suite_zero_nb201("cifar10")
    rng = np.random.default_rng(args.seed)
    archs = sz.index[np.sort(rng.choice(len(sz.index), size=args.n, replace=False))]
    x, y = cifar_batch("cifar10")
    names = list(PROXIES)

    def one(a: int) -> tuple[float, dict[str, float]]:
        torch.manual_seed(int(a))
        model = nb201.build(int(a), C=16, N=5, num_classes=10)
        t = time.perf_counter()
        proxies.score(model, x, y, proxies=names, flavor="naslib")
        shared = time.perf_counter() - t
        alone = {}
        for p in names:
            t = time.perf_counter()
            proxies.score(model, x, y, proxies=[p], flavor="naslib")
            alone[p] = time.perf_counter() - t
        return shared, alone

    one(int(archs[0]))  # warm-up
    shared, per = 0.0, dict.fromkeys(names, 0.0)
    for a in archs:
        s, alone = one(int(a))
        shared += s
        for p, v in alone.items():
            per[p] += v
    separate = sum(per.values())
    n = len(archs)
    table = Table(title=f"ms/arch, NB201 C=16 N=5, batch {x.shape[0]}, {args.threads} thread(s)")
    table.add_column("proxy")
    table.add_column("alone", justify="right")
    for p in names:
        table.add_row(p, f"{per[p] / n * 1e3:.0f}")
    table.add_row("[b]sum of separate calls", f"{separate / n * 1e3:.0f}")
    table.add_row("[b]one shared call", f"{shared / n * 1e3:.0f}")
    console.print(table)
    console.print(f"shared / separate = {shared / separate:.1%} (issue target: at most 40%)")
    others: dict[str, float] = {}
    if args.others:
        groups = [[p] for p in proxies.list_proxies() if p not in names and not p.startswith("az_")]
        groups.append([p for p in proxies.list_proxies() if p.startswith("az_")])
        for group in groups:
            total = 0.0
            for a in archs:
                torch.manual_seed(int(a))
                model = nb201.build(int(a), C=16, N=5, num_classes=10)
                t = time.perf_counter()
                proxies.score(model, x, y, proxies=group, seed=0)
                total += time.perf_counter() - t
            others["+".join(group)] = total / n * 1e3
        t2 = Table(title="other proxies alone, ms/arch (default flavors)")
        t2.add_column("proxy")
        t2.add_column("ms/arch", justify="right")
        for k, v in others.items():
            t2.add_row(k, f"{v:.0f}")
        console.print(t2)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(
                {
                    "n": n,
                    "threads": args.threads,
                    "shared_ms": shared / n * 1e3,
                    "separate_ms": separate / n * 1e3,
                    "ratio": shared / separate,
                    "per_proxy_ms": {p: v / n * 1e3 for p, v in per.items()},
                    "other_proxies_ms": others,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
