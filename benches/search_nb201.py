"""Proxy-driven search on NAS-Bench-201 (CIFAR-10): the evidence of issue 8.

Parts (``--part``):

* ``queries``: NAS-Bench-Suite-Zero Figure 5 setting. 200 benchmark queries (a query returns
  NASLib's CIFAR-10 validation accuracy; the incumbent's *test* accuracy is reported), over the
  9,445 cells NAS-Bench-Suite-Zero scored. Random search, aging evolution (P=20, S=5) plain
  and with a zero-cost warm-up (1,000 random cells scored by proxy, the best 20 start the
  population; EZNAS Figure 4 / Abdelfattah et al.), BANANAS and NPENAS (LightGBM ensemble of 3)
  with the architecture encoding, the 13 stored Suite-Zero proxies, or both as features.
  Proxy values are the stored Suite-Zero scores (no proxy is computed).
* ``random-candidates``: BANANAS with uniformly drawn candidates instead of mutations (100
  queries), encoding vs encoding + proxies.
* ``surrogate``: the surrogate alone: 100 training / 1,000 test cells, Spearman of the
  prediction (Suite-Zero Section 5 reports 0.640 -> 0.908 on NB201 CIFAR-100).
* ``aznas``: AZ-NAS Table 1 protocol (3,000 random cells per run, best by the aggregate, 5 runs)
  and AZ-NAS evolution (Algorithm 1), with stored Suite-Zero proxies in place of AZ-NAS's four.
* ``aznas-live``: AZ-NAS evolution with the four AZ-NAS proxies computed live (``aznas``
  flavor), cached in a score store (resumable): ``--iterations``, ``--top-k``, ``--runs``.

Run: ``.venv/bin/python benches/search_nb201.py --part queries --seeds 100 --pred-seeds 30``.
Results go to ``--out`` (JSON) and ``--plot`` (PNG).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from zcnas.bench import load_nb201, load_suite_zero_nb201
from zcnas.search.evolution import (
    aging_evolution,
    aznas_evolution,
    random_proxy_search,
    random_search,
)
from zcnas.search.predictor import _features, fit_gbdt, predictor_search
from zcnas.search.problem import LiveProxies, Oracle, SearchSpace, TableProxies
from zcnas.search.trajectory import mean_curve, plot

CHECK = (10, 20, 30, 50, 100, 150, 200)
ZC13 = list(load_suite_zero_nb201("cifar10").proxies)


def part_queries(seeds: int, pred_seeds: int, plot_path: str | None) -> dict:
    space = SearchSpace.nb201("suite_zero")
    oracle = Oracle("nb201", "cifar10", "valid")
    zc = TableProxies(ZC13)
    nwot = TableProxies(["nwot"])
    methods = {
        "random": (seeds, lambda s: random_search(space, oracle, budget=200, rng=s)),
        "aging": (seeds, lambda s: aging_evolution(space, oracle, budget=200, rng=s)),
        "aging + nwot warm-up": (
            seeds,
            lambda s: aging_evolution(space, oracle, budget=200, proxies=nwot, warmup=1000, rng=s),
        ),
        "aging + ZC13 warm-up": (
            seeds,
            lambda s: aging_evolution(space, oracle, budget=200, proxies=zc, warmup=1000, rng=s),
        ),
    }
    for strategy in ("bananas", "npenas"):
        for feats in ("encoding", "proxies", "both"):
            if strategy == "npenas" and feats == "proxies":
                continue

            def run(s, strategy=strategy, feats=feats):
                return predictor_search(
                    space, oracle, strategy=strategy, features=feats, proxies=zc, budget=200, rng=s
                )

            methods[f"{strategy} [{feats}]"] = (pred_seeds, run)
    out, trajs = {}, {}
    for name, (n, fn) in methods.items():
        t0 = time.perf_counter()
        runs = [fn(s).trajectory for s in range(n)]
        _, mean, se = mean_curve(runs, 200)
        out[name] = {
            "runs": n,
            "seconds_per_run": (time.perf_counter() - t0) / n,
            "mean": {q: float(mean[q - 1]) for q in CHECK},
            "se": {q: float(se[q - 1]) for q in CHECK},
        }
        trajs[name] = runs
        print(name, json.dumps(out[name]), flush=True)
    out["best_in_space"] = oracle.best_test(space.members)
    if plot_path:
        plot(
            trajs,
            plot_path,
            optimum=out["best_in_space"],
            title="NB201 CIFAR-10, 9,445 cells: query-based search",
            ylim=(92.5, 94.5),
        )
    return out


def part_random_candidates(seeds: int) -> dict:
    """BANANAS with uniformly drawn candidates (NASLib's random_sampling optimiser), 100
    queries: encoding vs encoding + the 13 Suite-Zero proxies."""
    space = SearchSpace.nb201("suite_zero")
    oracle = Oracle("nb201", "cifar10", "valid")
    zc = TableProxies(ZC13)
    out = {}
    for feats in ("encoding", "both"):
        runs = [
            predictor_search(
                space, oracle, features=feats, proxies=zc, budget=100, candidates="random", rng=s
            ).trajectory
            for s in range(seeds)
        ]
        _, m, se = mean_curve(runs, 100)
        out[feats] = {q: (float(m[q - 1]), float(se[q - 1])) for q in (10, 20, 30, 50, 100)}
        print(feats, out[feats], flush=True)
    return out


def part_surrogate(trials: int) -> dict:
    out = {}
    for task in ("cifar10", "imagenet16"):
        space = SearchSpace.nb201("suite_zero")
        oracle = Oracle("nb201", task, "valid")
        zc = TableProxies(ZC13, task=task)
        from scipy.stats import spearmanr

        rho = {f: [] for f in ("encoding", "proxies", "both")}
        for s in range(trials):
            archs = space.sample(1100, s, replace=False)
            tr, te = archs[:100], archs[100:]
            for f in rho:
                m = fit_gbdt(_features(space, zc, f, tr), oracle._fit[tr], seed=s)
                rho[f].append(spearmanr(m(_features(space, zc, f, te)), oracle._fit[te])[0])
        out[task] = {f: (float(np.mean(v)), float(np.std(v))) for f, v in rho.items()}
        print(task, out[task], flush=True)
    return out


def _report(arch_c10: list[int], arch_in16: list[int] | None = None) -> dict:
    t = load_nb201()
    res = {}
    for d in ("cifar10", "cifar100", "imagenet16"):
        idx = arch_in16 if (d == "imagenet16" and arch_in16 is not None) else arch_c10
        acc = t.test_accuracy(d)[idx]
        res[d] = (float(np.mean(acc)), float(np.std(acc)))
    return res


def part_aznas(runs: int) -> dict:
    space = SearchSpace.nb201("suite_zero")
    out = {}
    sets = {"ZC13": ZC13, "nwot+synflow+jacov+flops": ["nwot", "synflow", "jacov", "flops"]}
    for label, names in sets.items():
        c10, in16 = TableProxies(names, task="cifar10"), TableProxies(names, task="imagenet16")
        rp = [random_proxy_search(space, c10, n_samples=3000, rng=s).best_arch for s in range(runs)]
        rp16 = [
            random_proxy_search(space, in16, n_samples=3000, rng=s).best_arch for s in range(runs)
        ]
        ev = [
            aznas_evolution(space, c10, iterations=1000, top_k=64, rng=s).best_arch
            for s in range(runs)
        ]
        ev16 = [
            aznas_evolution(space, in16, iterations=1000, top_k=64, rng=s).best_arch
            for s in range(runs)
        ]
        out[label] = {
            "random 3000 + best aggregate": _report(rp, rp16),
            "AZ-NAS evolution T=1000 k=64": _report(ev, ev16),
        }
        print(label, json.dumps(out[label]), flush=True)
    return out


def part_aznas_live(runs: int, iterations: int, top_k: int, store_path: str) -> dict:
    from zcnas.bench import ScoreStore

    names = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    out = {"runs": []}
    with ScoreStore(store_path) as st:
        live = LiveProxies("nb201", names, store=st)
        space = SearchSpace.nb201()
        for s in range(runs):
            t0 = time.perf_counter()
            r = aznas_evolution(
                space, live, iterations=iterations, top_k=top_k, rng=s, progress=True
            )
            out["runs"].append(
                {
                    "seed": s,
                    "arch": r.best_arch,
                    "seconds": time.perf_counter() - t0,
                    "report": _report([r.best_arch]),
                }
            )
            print(json.dumps(out["runs"][-1]), flush=True)
        out["archs_computed"] = live.n_evals
        out["proxy_seconds"] = live.seconds
    out["summary"] = _report([r["arch"] for r in out["runs"]])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--part",
        choices=("queries", "random-candidates", "surrogate", "aznas", "aznas-live"),
        required=True,
    )
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--pred-seeds", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--store", default="aznas_live.sqlite")
    ap.add_argument("--out")
    ap.add_argument("--plot")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.part == "queries":
        res = part_queries(a.seeds, a.pred_seeds, a.plot)
    elif a.part == "random-candidates":
        res = part_random_candidates(a.pred_seeds)
    elif a.part == "surrogate":
        res = part_surrogate(20)
    elif a.part == "aznas":
        res = part_aznas(a.runs)
    else:
        res = part_aznas_live(a.runs, a.iterations, a.top_k, a.store)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
