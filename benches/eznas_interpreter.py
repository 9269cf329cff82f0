"""EZNAS interpreter throughput: program x network evaluations per second, the Rust
interpreter against the plain numpy interpreter (``zcnas.eznas.reference``), on the same
programs and the same shards.

The programs imitate one generation of the search: ``--programs/2`` random valid programs
(ramped half-and-half, heights 2..6, valid = finite on the first network, as the search
requires) plus as many children of them by one-point crossover and subtree mutation, and the
released EZNAS-A. Both interpreters read the shards from disk (numpy: ``safetensors.numpy``
loads each shard once per network; Rust: positioned reads of the needed tensors) and compute
the network score (mean over instances of the mean of the program output) in float64. Scores
are checked to agree (NaN pattern equal, finite values to about 1e-6 relative).

The networks are the first ``--networks`` of the pool (positions 0..n-1 of the manifest; fewer
if the pool is smaller). Each timing is the fastest of ``--repeat`` runs, printed with its
process CPU time (all threads; less sensitive than wall time to other processes' load).
With ``--rss`` the resident memory of a Rust-only evaluation of the same programs is
measured in a fresh child process: peak RSS (``VmHWM``) and the largest anonymous /
file-backed parts seen by sampling ``/proc/self/status`` every 5 ms (the mapped pages of a
memory-mapped shard count as file-backed while they are mapped).

Run: ``.venv/bin/python benches/eznas_interpreter.py --stats /path/to/nb201-cifar10``
(a task dataset written by ``zcnas eznas collect``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from zcnas import _native
from zcnas.eznas import reference
from zcnas.eznas.evolution import evaluate_stats
from zcnas.eznas.program import EZNAS_A, Program


def programs(stats: Path, n: int, seed: int) -> list[Program]:
    rng = np.random.default_rng(seed)
    base: list[str] = []
    k = 0
    while len(base) < n // 2:
        cand = _native.eznas_random_trees(4 * n, seed + k, 2, 6)
        k += 1
        ok = np.isfinite(evaluate_stats(cand, stats, networks=[0])[:, 0])
        base += [c for c, v in zip(cand, ok, strict=True) if v][: n // 2 - len(base)]
    kids = []
    for i in range(n - len(base) - 1):
        a, b = base[rng.integers(len(base))], base[rng.integers(len(base))]
        child = (
            _native.eznas_crossover(a, b, seed + i)[0]
            if i % 2 == 0
            else _native.eznas_mutate(a, seed + i)
        )
        kids.append(child)
    return [Program(e) for e in base + kids] + [EZNAS_A]


def numpy_scores(progs: list[Program], stats: Path, nets: list[int]) -> tuple[np.ndarray, float]:
    from safetensors.numpy import load_file

    manifest = json.loads((stats / "manifest.json").read_text())
    out = np.empty((len(progs), len(nets)))
    t0 = time.perf_counter()
    trees = [reference.parse(p.expr) for p in progs]
    for j, n in enumerate(nets):
        entry = manifest["networks"][n]
        raw = load_file(str(stats / entry["file"]))
        insts = [
            {t: raw[f"{i:03d}/{t}"].astype(np.float64) for t in manifest["terminals"]}
            for i in range(entry["n_instances"])
        ]
        for k, tree in enumerate(trees):
            out[k, j] = reference.score(tree, insts)
    return out, time.perf_counter() - t0


def _status_kb(*keys: str) -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in keys:
            out[k] = int(v.split()[0])
    return out


def rss_child(exprs_file: Path, stats: Path, nets: list[int]) -> None:
    """Child process of ``--rss``: evaluate with Rust only, print the memory figures as JSON."""
    progs = [Program(e) for e in json.loads(exprs_file.read_text())]
    before = _status_kb("VmRSS")["VmRSS"]
    peak = {"RssAnon": 0, "RssFile": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            st = _status_kb("RssAnon", "RssFile")
            for k in peak:
                peak[k] = max(peak[k], st[k])
            time.sleep(0.005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _native.set_num_threads(2)
    evaluate_stats(progs, stats, networks=nets)
    done.set()
    th.join()
    res = {"rss_before_kb": before, "vmhwm_kb": _status_kb("VmHWM")["VmHWM"]}
    res.update({f"peak_{k}_kb": v for k, v in peak.items()})
    print(json.dumps(res))


def measure_rss(progs: list[Program], stats: Path, nets: list[int]) -> dict[str, int]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([p.expr for p in progs], f)
    try:
        cmd = [sys.executable, __file__, "--stats", str(stats), "--rss-child", f.name]
        cmd += ["--networks", ",".join(map(str, nets))]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    finally:
        Path(f.name).unlink()
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stats", type=Path, required=True)
    ap.add_argument("--programs", type=int, default=40)
    ap.add_argument("--networks", default="8", help="first N networks of the pool")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="timings: fastest of N runs")
    ap.add_argument("--rss", action="store_true", help="also measure resident memory")
    ap.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.stats, [int(v) for v in args.networks.split(",")])
        return
    pool = len(json.loads((args.stats / "manifest.json").read_text())["networks"])
    if int(args.networks) > pool:
        print(f"the pool has {pool} networks; using all of them")
    nets = list(range(min(int(args.networks), pool)))
    progs = programs(args.stats, args.programs, args.seed)
    n_evals = len(progs) * len(nets)
    print(f"{len(progs)} programs x {len(nets)} networks = {n_evals} evaluations ({args.stats})")

    evaluate_stats(progs, args.stats, networks=nets)  # warm the page cache
    res: dict[str, float] = {}
    cpu: dict[str, float] = {}  # process CPU time (all threads) of the fastest run

    def timed(key: str, f):  # type: ignore[no-untyped-def]
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            v = f()
            t, c = time.perf_counter() - t0, time.process_time() - c0
            if t < res.get(key, np.inf):
                res[key], cpu[key] = t, c
        return v

    for threads in (1, 2):
        _native.set_num_threads(threads)
        rust = timed(f"rust_{threads}t", lambda: evaluate_stats(progs, args.stats, networks=nets))
    _native.set_num_threads(1)
    single = timed(
        "rust_1t_one_program_at_a_time",
        lambda: np.vstack([evaluate_stats([p], args.stats, networks=nets) for p in progs]),
    )
    _native.set_num_threads(2)
    for _ in range(args.repeat):
        c0 = time.process_time()
        ref, t = numpy_scores(progs, args.stats, nets)
        if t < res.get("numpy", np.inf):
            res["numpy"], cpu["numpy"] = t, time.process_time() - c0

    same_nan = np.array_equal(np.isnan(rust), np.isnan(ref))
    fin = np.isfinite(rust) & np.isfinite(ref)
    # Relative difference, with an absolute floor for values that are rounding noise around 0
    # (e.g. the mean of a normalised tensor).
    rel = np.max(np.abs(rust[fin] - ref[fin]) / np.maximum(np.abs(ref[fin]), 1e-9))
    assert np.array_equal(single, rust, equal_nan=True)
    print(
        f"valid (finite) entries {int(fin.sum())}/{rust.size}; NaN pattern equal: {same_nan}; "
        f"max relative difference {rel:.2e}"
    )
    for k, v in res.items():
        print(
            f"{k:32s} {v:8.2f} s  {n_evals / v:9.1f} evals/s  x{res['numpy'] / v:6.1f} vs numpy"
            f"   (CPU {cpu[k]:6.2f} s)"
        )
    if args.rss:
        m = {k: v / 1024 for k, v in measure_rss(progs, args.stats, nets).items()}
        print(
            f"Rust evaluation, 2 threads, fresh process: RSS before {m['rss_before_kb']:.0f} MB, "
            f"peak (VmHWM) {m['vmhwm_kb']:.0f} MB, largest anonymous "
            f"{m['peak_RssAnon_kb']:.0f} MB, largest file-backed {m['peak_RssFile_kb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
