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

Run: ``.venv/bin/python benches/eznas_interpreter.py --stats /path/to/nb201-cifar10``
(a task dataset written by ``zcnas eznas collect``).
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stats", type=Path, required=True)
    ap.add_argument("--programs", type=int, default=40)
    ap.add_argument("--networks", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    nets = list(range(1, args.networks + 1))
    progs = programs(args.stats, args.programs, args.seed)
    n_evals = len(progs) * len(nets)
    print(f"{len(progs)} programs x {len(nets)} networks = {n_evals} evaluations ({args.stats})")

    evaluate_stats(progs, args.stats, networks=nets)  # warm the page cache
    res = {}
    for threads in (1, 2):
        _native.set_num_threads(threads)
        t0 = time.perf_counter()
        rust = evaluate_stats(progs, args.stats, networks=nets)
        res[f"rust_{threads}t"] = time.perf_counter() - t0
    _native.set_num_threads(1)
    t0 = time.perf_counter()
    single = np.vstack([evaluate_stats([p], args.stats, networks=nets) for p in progs])
    res["rust_1t_one_program_at_a_time"] = time.perf_counter() - t0
    _native.set_num_threads(2)
    ref, res["numpy"] = numpy_scores(progs, args.stats, nets)

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
        print(f"{k:32s} {v:8.2f} s  {n_evals / v:9.1f} evals/s  x{res['numpy'] / v:6.1f} vs numpy")


if __name__ == "__main__":
    main()
