"""Score-level GP (zcnas.eznas.scores) under an honest protocol, against the baselines.

Parts (``--part``, default ``split,loto,nb201``; also ``live``, ``nb201big``, ``lso``,
``search``):

* ``split``: every NAS-Bench-Suite-Zero task (28 with ``suite_zero_extra/``): one random half
  (the selection half of :func:`zcnas.analysis.ensembles.evaluate_ensembles`, same seed, same
  permutation) for the search, Kendall tau on the other half, against the best single proxy
  and the best rank-aggregated ensemble chosen on the same half, the AZ-NAS aggregate
  (non-linear log-rank sum) of all proxies, and the LightGBM surrogate trained on 100
  labelled architectures of the selection half.
* ``loto``: leave one task out over the 28 tasks, on the proxies common to all of them: evolve
  on the other 27 (all their architectures), report on the left-out task; baselines chosen on
  the 27 as well (best single proxy and greedy non-linear ensemble by mean tau), the AZ-NAS
  aggregate of the common proxies, and LightGBM with 100 labels of the left-out task.
* ``nb201``: the 9,444 NB201 cells of Suite-Zero (CIFAR-10 proxies) with NATS-Bench *test*
  accuracy (``nb201/nb201_groundtruth.csv``): search on a seeded half with CIFAR-10 test
  accuracy, Kendall tau on the other half for CIFAR-10, and with the same formula (not re-tuned)
  for CIFAR-100 and ImageNet16-120; plus the formula found by ``loto`` without any NB201-CF10
  label; plus whatever the live store ``--live`` holds (n stated).
* ``score-evolved``: scores the best evolved EZNAS statistics program (:data:`EVOLVED_PROGRAM`,
  as ``eznas_evolved``) into the live store (about 20 CPU-minutes for 1,000 cells).
* ``live``: the live store ``--live`` (NB201 cells scored by ``zcnas score`` with every proxy):
  seeded half splits (seeds 0-2), GP configs :data:`LIVE_CONFIGS` (one pool-free) and the
  baselines, Kendall tau on the held-out half for CIFAR-10/100 and ImageNet16-120.
* ``live-ntk``: on the cells that also have ``tenas_ntk``, the ``live`` GP with and without it.
* ``live100``: the formulas picked by ``live`` on the same cells scored with CIFAR-100 images
  (``benches/proxy_table.py``'s ``nb201-cifar100`` store), vs CIFAR-100 test accuracy.
* ``nb201big``: larger searches on that half split (:data:`NB201_CONFIGS` x seeds 0-2).
* ``lso``: leave the NB201 space out: evolve on the 22 other tasks, rank all NB201 cells.
* ``search``: AZ-NAS Table 1 protocol (random 3,000 + best, AZ-NAS evolution T = 1,000) with
  the discovered formulas as the proxy (:class:`zcnas.eznas.scores.ProgramProxies`).

Usage::

    nice .venv/bin/python benches/score_gp.py [--part split,loto,nb201] [--json out.json]

All searches are seeded; timings are wall-clock on a shared machine (state the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from zcnas import rankagg, stats
from zcnas.analysis.data import TaskData, load_task, load_tasks
from zcnas.analysis.ensembles import evaluate_ensembles
from zcnas.analysis.surrogate import fit_surrogate
from zcnas.bench.importers import import_suite_zero
from zcnas.bench.store import ScoreStore
from zcnas.eznas.scores import ScoreProgram, common_proxies, evolve_scores

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GP = {"population": 200, "generations": 40, "archs_per_task": 500, "parsimony": 0.001}


def _tau(v: np.ndarray, y: np.ndarray) -> float:
    if not np.isfinite(v).all() or np.ptp(v) == 0:
        return float("nan")
    return float(stats.kendall_tau(v, y))


def load_suite(data: Path) -> list[TaskData]:
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "sz.db")
        with ScoreStore(db, synchronous="NORMAL") as st:
            import_suite_zero(st, data / "suite_zero")
            extra = data / "suite_zero_extra" / "suite_zero_9x_svhn_scifar100_ninapro.csv"
            if extra.exists():
                import_suite_zero(st, extra)
            return load_tasks(st)


def part_split(tasks: list[TaskData], seed: int) -> pd.DataFrame:
    rows = []
    for t in tasks:
        t0 = time.perf_counter()
        ens = evaluate_ensembles(
            t, methods=("linear", "nonlinear", "borda"), surrogate_train=100, seed=seed
        )
        t_ens = time.perf_counter() - t0
        perm = np.random.default_rng(seed).permutation(t.n)  # evaluate_ensembles' split
        n_sel = round(0.5 * t.n)
        sel, ev = perm[:n_sel], perm[n_sel:]
        res = evolve_scores([t], splits=[(sel, ev)], seed=seed, **GP)
        single = ens[ens.kind == "single"].iloc[0]
        cands = ens[ens.kind.isin(["all", "subset"])]
        best = cands.loc[cands.spearman_select.idxmax()]
        az = ens[(ens.kind == "all") & (ens.method == "nonlinear")].iloc[0]
        sur = ens[ens.kind == "surrogate"]
        rows.append(
            {
                "task": t.label,
                "n": t.n,
                "k": len(t.proxies),
                "single": single.proxies,
                "tau_single": single.kendall,
                "ensemble": f"{best.method}:{best.proxies}",
                "tau_ensemble": best.kendall,
                "tau_aznas_agg": az.kendall,
                "tau_lgbm100": sur.kendall.iloc[0] if len(sur) else np.nan,
                "tau_gp": res.heldout[0, 0],
                "gp_fit_tau": res.best.fitness,
                "gp_formula": str(res.best),
                "gp_size": res.best.size,
                "gp_s": res.seconds,
                "ens_s": t_ens,
            }
        )
        r = rows[-1]
        print(
            f"{t.label:24s} n={t.n:5d} single {r['tau_single']:+.3f} ens {r['tau_ensemble']:+.3f} "
            f"az {r['tau_aznas_agg']:+.3f} lgbm {r['tau_lgbm100']:+.3f} GP {r['tau_gp']:+.3f} "
            f"({r['gp_s']:.1f} s) {r['gp_formula']}",
            flush=True,
        )
    return pd.DataFrame(rows)


def _mean_tau(tasks: list[TaskData], fn) -> float:
    return float(np.mean([_tau(fn(t), t.truth) for t in tasks]))


def _greedy_mean(train: list[TaskData], names: list[str], start: str) -> list[str]:
    chosen = [start]
    best = _mean_tau(train, lambda t: t.column(start))
    left = [p for p in names if p != start]
    while left:
        cand = [
            (
                _mean_tau(
                    train,
                    lambda t, p=p: rankagg.aggregate(
                        t.select([*chosen, p]).scores, method="nonlinear"
                    ),
                ),
                p,
            )
            for p in left
        ]
        val, p = max(cand)
        if not val > best:
            break
        chosen.append(p)
        left.remove(p)
        best = val
    return chosen


def part_loto(
    tasks: list[TaskData], seed: int, aggregate: str, gens: int
) -> tuple[pd.DataFrame, dict]:
    names = common_proxies(tasks)
    print(f"LOTO over {len(tasks)} tasks on the {len(names)} common proxies: {names}")
    rows, programs = [], {}
    for h, held in enumerate(tasks):
        train = [t for i, t in enumerate(tasks) if i != h]
        res = evolve_scores(
            train,
            proxies=names,
            holdout=0.0,
            seed=seed,
            population=200,
            generations=gens,
            archs_per_task=300,
            aggregate=aggregate,
            parsimony=0.001,
        )
        prog = res.best
        programs[held.label] = prog.to_dict()
        v = prog.evaluate_scores(held)
        single = max(names, key=lambda p: _mean_tau(train, lambda t, p=p: t.column(p)))
        ens = _greedy_mean(train, names, single)
        agg = lambda t, sub: rankagg.aggregate(t.select(sub).scores, method="nonlinear")  # noqa: E731
        rng = np.random.default_rng([seed, h])
        tr = np.sort(rng.permutation(held.n)[:100])
        te = np.setdiff1d(np.arange(held.n), tr)
        model = fit_surrogate(
            held.scores[tr][:, [held.proxies.index(p) for p in names]], held.truth[tr], seed=seed
        )
        pred = model.predict(held.scores[te][:, [held.proxies.index(p) for p in names]])
        oracle = max(names, key=lambda p: _tau(held.column(p), held.truth))
        rows.append(
            {
                "task": held.label,
                "n": held.n,
                "single": single,
                "tau_single": _tau(held.column(single), held.truth),
                "ensemble": "+".join(ens),
                "tau_ensemble": _tau(
                    agg(held, ens) if len(ens) > 1 else held.column(ens[0]), held.truth
                ),
                "tau_aznas_agg": _tau(agg(held, names), held.truth),
                "tau_lgbm100": _tau(pred, held.truth[te]),
                "tau_gp": _tau(v, held.truth),
                "gp_train_fitness": prog.fitness,
                "gp_formula": str(prog),
                "gp_s": res.seconds,
                "oracle_single": oracle,
                "tau_oracle_single": _tau(held.column(oracle), held.truth),
            }
        )
        r = rows[-1]
        print(
            f"{held.label:24s} single {r['tau_single']:+.3f} ens {r['tau_ensemble']:+.3f} "
            f"az {r['tau_aznas_agg']:+.3f} lgbm {r['tau_lgbm100']:+.3f} GP {r['tau_gp']:+.3f} "
            f"({r['gp_s']:.1f} s) {r['gp_formula']}",
            flush=True,
        )
    return pd.DataFrame(rows), programs


def _nb201_truth() -> pd.DataFrame:
    gt = pd.read_csv(DATA / "nb201" / "nb201_groundtruth.csv")
    return gt.set_index(gt["index"].astype(str))


def part_nb201(tasks: list[TaskData], seed: int, loto_programs: dict, live: str | None) -> dict:
    out: dict = {}
    cf = next(t for t in tasks if t.label == "NB201-CF10")
    gt = _nb201_truth().loc[cf.archs]
    accs = {
        "cifar10": gt.cifar10_test.to_numpy(),
        "cifar100": gt.cifar100_test.to_numpy(),
        "imagenet16": gt.imagenet16_test.to_numpy(),
    }
    t10 = TaskData(cf.space, "cifar10_test", cf.archs, cf.proxies, cf.scores, accs["cifar10"])
    fit, ho = (
        np.sort(a) for a in np.split(np.random.default_rng(seed).permutation(t10.n), [t10.n // 2])
    )
    res = evolve_scores([t10], splits=[(fit, ho)], seed=seed, **GP)
    hot = t10.subset(ho)
    rows = []

    def report(name: str, fn) -> None:
        vals = fn(hot)
        rows.append({"method": name, **{f"tau_{d}": _tau(vals, accs[d][ho]) for d in accs}})

    fit_task = t10.subset(fit)
    single = max(t10.proxies, key=lambda p: _tau(fit_task.column(p), fit_task.truth))
    report(f"best single ({single}, chosen on the fitness half)", lambda t: t.column(single))
    report(
        "jacov+params non-linear (issue anchor)",
        lambda t: rankagg.aggregate(t.select(["jacov", "params"]).scores, method="nonlinear"),
    )
    report(
        "all 13 non-linear (AZ-NAS aggregate)",
        lambda t: rankagg.aggregate(t.scores, method="nonlinear"),
    )
    for p in res.programs[:3]:
        report(f"GP half-split: {p}", p.evaluate_scores)
    if "NB201-CF10" in loto_programs:
        lp = ScoreProgram.from_json(loto_programs["NB201-CF10"])
        report(f"GP LOTO (no NB201-CF10 label): {lp}", lp.evaluate_scores)
    out["halfsplit"] = {
        "n_fit": len(fit),
        "n_heldout": len(ho),
        "seconds": res.seconds,
        "evaluations": res.evaluations,
        "table": rows,
        "best": res.best.to_dict() | {"reference": None},
    }
    for r in rows:
        print(
            f"  {r['method'][:90]:90s} CF10 {r['tau_cifar10']:+.4f} CF100 "
            f"{r['tau_cifar100']:+.4f} IN16 {r['tau_imagenet16']:+.4f}"
        )
    if live and os.path.exists(live):
        with ScoreStore(live, mode="r") as st:
            lt = load_task(st, "nasbench201", "cifar10")
        lgt = _nb201_truth().loc[lt.archs]
        la = {
            "cifar10": lgt.cifar10_test.to_numpy(),
            "cifar100": lgt.cifar100_test.to_numpy(),
            "imagenet16": lgt.imagenet16_test.to_numpy(),
        }
        lrows = []
        for p in lt.proxies:
            lrows.append({"method": p, **{f"tau_{d}": _tau(lt.column(p), la[d]) for d in la}})
        az = [
            p
            for p in ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
            if p in lt.proxies
        ]
        if az:
            v = rankagg.aggregate(lt.select(az).scores, method="nonlinear")
            lrows.append(
                {
                    "method": f"AZ-NAS aggregate ({'+'.join(az)})",
                    **{f"tau_{d}": _tau(v, la[d]) for d in la},
                }
            )
        for p in res.programs[:1]:
            if set(p.proxies) <= set(lt.proxies):
                v = p.evaluate_scores(lt)
                lrows.append(
                    {
                        "method": f"GP half-split formula on live scores: {p}",
                        **{f"tau_{d}": _tau(v, la[d]) for d in la},
                    }
                )
        out["live"] = {"n": lt.n, "dropped": lt.dropped, "table": lrows}
        print(f"live store: n = {lt.n}, dropped {lt.dropped}")
        for r in lrows:
            print(
                f"  {r['method'][:80]:80s} CF10 {r['tau_cifar10']:+.4f} CF100 "
                f"{r['tau_cifar100']:+.4f} IN16 {r['tau_imagenet16']:+.4f}"
            )
    return out


NB201_CONFIGS = {
    "pop1000 g60 a1000 n31": dict(
        population=1000, generations=60, archs_per_task=1000, max_nodes=31
    ),
    "pop2000 g100 a1000 n31": dict(
        population=2000, generations=100, archs_per_task=1000, max_nodes=31
    ),
    "pop2000 g100 a1000 n31 small-ops": dict(
        population=2000,
        generations=100,
        archs_per_task=1000,
        max_nodes=31,
        ops=["Add", "Sub", "Mul", "Div", "Min", "Max", "Log", "Rank", "Neg", "Sqrt", "Square"],
    ),
    "pop1000 g60 all-archs parsimony0.0005 n41": dict(
        population=1000,
        generations=60,
        archs_per_task=0,
        max_nodes=41,
        max_height=8,
        parsimony=0.0005,
    ),
    "pop1000 g60 all-archs parsimony0 n41": dict(
        population=1000, generations=60, archs_per_task=0, max_nodes=41, max_height=8, parsimony=0.0
    ),
}


def part_nb201_big(tasks: list[TaskData], seeds: list[int]) -> list[dict]:
    """Larger searches on the NB201 half split (CIFAR-10 test accuracy), every config x seed;
    the held-out taus of all are reported, the pick is the highest fitness-half tau."""
    cf = next(t for t in tasks if t.label == "NB201-CF10")
    gt = _nb201_truth().loc[cf.archs]
    acc = {d: gt[f"{d}_test"].to_numpy() for d in ("cifar10", "cifar100", "imagenet16")}
    t10 = TaskData(cf.space, "c10test", cf.archs, cf.proxies, cf.scores, acc["cifar10"])
    perm = np.random.default_rng(0).permutation(t10.n)
    fit, ho = np.sort(perm[: t10.n // 2]), np.sort(perm[t10.n // 2 :])
    rows = []
    for name, kw in NB201_CONFIGS.items():
        for seed in seeds:
            t0 = time.perf_counter()
            r = evolve_scores([t10], splits=[(fit, ho)], seed=seed, **kw)
            p = r.best
            v = p.evaluate_scores(t10.subset(ho))
            rows.append(
                {
                    "config": name,
                    "seed": seed,
                    "seconds": time.perf_counter() - t0,
                    "evaluations": r.evaluations,
                    "fitness": p.fitness,
                    "size": p.size,
                    "expr": p.expr,
                    **{d: _tau(v, acc[d][ho]) for d in acc},
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def part_leave_space_out(tasks: list[TaskData], seeds: list[int]) -> list[dict]:
    """Evolve on every task outside NB201 (mean fitness), rank all NB201 cells by test acc."""
    train = [t for t in tasks if not t.label.startswith("NB201")]
    cf = next(t for t in tasks if t.label == "NB201-CF10")
    names = common_proxies([*train, cf])
    gt = _nb201_truth().loc[cf.archs]
    acc = {d: gt[f"{d}_test"].to_numpy() for d in ("cifar10", "cifar100", "imagenet16")}
    rows = []
    for seed in seeds:
        r = evolve_scores(
            train,
            proxies=names,
            holdout=0.0,
            seed=seed,
            generations=30,
            archs_per_task=300,
            aggregate="mean",
        )
        v = r.best.evaluate_scores(cf)
        rows.append(
            {
                "seed": seed,
                "seconds": r.seconds,
                "fitness": r.best.fitness,
                "expr": r.best.expr,
                **{d: _tau(v, acc[d]) for d in acc},
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


LIVE_CONFIGS = {
    "GP pop200 g40 n25": dict(population=200, generations=40, archs_per_task=0),
    "GP pop1000 g60 n31": dict(population=1000, generations=60, archs_per_task=0, max_nodes=31),
    "GP pool-free pop1000 g60 n31": dict(
        population=1000, generations=60, archs_per_task=0, max_nodes=31, pool_free=True
    ),
}


def load_live(
    live: str, task: str = "cifar10", require: tuple[str, ...] = ()
) -> tuple[TaskData, dict[str, np.ndarray]]:
    """The live store's NB201 CIFAR-10 cells with every proxy scored on all of them (proxies
    scored on only some cells, e.g. tenas_ntk, are left out unless ``require``d, which keeps the
    cells that have them), and their NB201 test accuracies
    on the three datasets (embedded table; CIFAR-10 equals the store's ground truth).

    Failures are kept as the worst score, as the references rank them: AZ-NAS's ``-inf``
    (expressivity/progressivity of a degenerate covariance) and NASLib's ``-1e8`` sentinel
    become the column's lowest finite value minus 1 (same ranks as the references; finite for
    the formulas). :func:`zcnas.analysis.data.load_task` would drop those proxies/cells
    instead."""
    with ScoreStore(live, mode="r") as st:
        stored = st.proxies("nasbench201", task)
        df = st.query("nasbench201", task, stored)
    if require:  # only the cells that have the required proxies too
        df = df[df[list(require)].notna().all(axis=1)]
    counts = df[stored].notna().sum()
    names = sorted(counts.index[counts == counts.max()])
    df = df[df[names].notna().all(axis=1)]
    x = df[names].to_numpy(dtype=np.float64).copy()
    for j in range(x.shape[1]):
        bad = ~np.isfinite(x[:, j]) | (x[:, j] == -1e8)
        if bad.any():
            x[bad, j] = x[~bad, j].min() - 1.0
    archs = [str(a) for a in df.index]
    gt = _nb201_truth().loc[archs]
    acc = {d: gt[f"{d}_test"].to_numpy() for d in ("cifar10", "cifar100", "imagenet16")}
    lt = TaskData.from_arrays(
        x,
        acc[task],
        proxies=names,
        space="nasbench201",
        task=task,
        archs=archs,
        clean=False,
    )
    return lt, acc


def part_live(live: str, seeds: list[int], programs_dir: Path | None = None) -> dict:
    """The best training-free ranking on the live NB201 store (issue 18): per seed, one random
    half of the cells (CIFAR-10 test accuracy) chooses / evolves, the other half reports
    Kendall tau-b on CIFAR-10, CIFAR-100 and ImageNet16-120 with the same choice (not
    re-tuned). Baselines: best single proxy, AZ-NAS's aggregate of its four proxies, the
    non-linear aggregate of all proxies, the best rank-aggregated subset (greedy, chosen on
    the same half) and LightGBM with 100 labels of that half (CIFAR-10 only)."""
    from zcnas.analysis.ensembles import aggregate_proxies

    lt, acc = load_live(live)
    print(f"live: n = {lt.n}, {len(lt.proxies)} proxies, dropped {lt.dropped}", flush=True)
    rows: list[dict] = []
    for seed in seeds:
        ens = evaluate_ensembles(
            lt, methods=("linear", "nonlinear", "borda"), surrogate_train=100, seed=seed
        )
        perm = np.random.default_rng(seed).permutation(lt.n)  # evaluate_ensembles' split
        n_sel = round(0.5 * lt.n)
        fit, ho = np.sort(perm[:n_sel]), np.sort(perm[n_sel:])
        ev = lt.subset(ho)

        def add(
            method: str, vals: np.ndarray, fit_tau: float = np.nan, seed=seed, ho=ho, **extra
        ) -> None:
            rows.append(
                {
                    "seed": seed,
                    "method": method,
                    "fit_tau": fit_tau,
                    **{f"tau_{d}": _tau(vals, a[ho]) for d, a in acc.items()},
                    **extra,
                }
            )
            r = rows[-1]
            print(
                f"seed {seed} {method[:70]:70s} CF10 {r['tau_cifar10']:+.4f} CF100 "
                f"{r['tau_cifar100']:+.4f} IN16 {r['tau_imagenet16']:+.4f}",
                flush=True,
            )

        single = ens[ens.kind == "single"].iloc[0]
        add(f"best single: {single.proxies}", ev.column(single.proxies))
        az = [p for p in lt.proxies if p.startswith("az_")]
        add("AZ-NAS aggregate (4 proxies)", aggregate_proxies(ev, az, "nonlinear"))
        add("all proxies, non-linear aggregate", aggregate_proxies(ev, lt.proxies, "nonlinear"))
        cands = ens[ens.kind.isin(["all", "subset"])]
        best = cands.loc[cands.spearman_select.idxmax()]
        add(
            f"best ensemble: {best.method}:{best.proxies}",
            aggregate_proxies(ev, best.proxies.split("+"), best.method),
        )
        sur = ens[ens.kind == "surrogate"]
        if len(sur):
            rows.append(
                {
                    "seed": seed,
                    "method": "LightGBM, 100 labels (CIFAR-10)",
                    "tau_cifar10": float(sur.kendall.iloc[0]),
                }
            )
        for name, kw in LIVE_CONFIGS.items():
            t0 = time.perf_counter()
            res = evolve_scores([lt], splits=[(fit, ho)], seed=seed, **{"parsimony": 0.001, **kw})
            prog = res.best
            if programs_dir is not None:
                programs_dir.mkdir(parents=True, exist_ok=True)
                slug = name.lower().replace(" ", "_").replace("-", "_")
                prog.save(programs_dir / f"{slug}_seed{seed}.json")
            add(
                f"{name}: {prog}",
                prog.evaluate_scores(ev),
                fit_tau=float(prog.fitness),
                config=name,
                formula=str(prog),
                expr=prog.expr,
                size=prog.size,
                seconds=time.perf_counter() - t0,
            )
    df = pd.DataFrame(rows)
    gp = df[df.config.notna()] if "config" in df else df.iloc[:0]
    picked = gp.loc[gp.groupby("seed").fit_tau.idxmax()] if len(gp) else gp
    summary = {
        "n": lt.n,
        "proxies": lt.proxies,
        "dropped": lt.dropped,
        "rows": df.to_dict(orient="records"),
        "gp_picked_by_fitness": picked.to_dict(orient="records"),
    }
    if len(picked):
        m = picked[["tau_cifar10", "tau_cifar100", "tau_imagenet16"]].mean()
        print(f"GP picked by fitness-half tau, mean over seeds: {m.round(4).to_dict()}")
    return summary


#: The best evolved statistics program (RESULTS, EZNAS section, seed 0), in call syntax.
EVOLVED_PROGRAM = "Heaviside(LogDet(Add(Normalize(T4GP), Lt(T4D, T4GN))))"


def part_score_evolved(live: str) -> int:
    """Score :data:`EVOLVED_PROGRAM` (registered as ``eznas_evolved``) on the live store's
    1,000 NB201 cells (``zcnas score --sample 1000 --seed 0``'s sample, CIFAR-10, seed 0),
    resumable; one torch thread. Returns the number of cells scored now."""
    import torch

    from zcnas.eznas.program import Program
    from zcnas.eznas.shards import register_program
    from zcnas.scoring import sample_archs, score_architectures

    torch.set_num_threads(1)
    register_program(Program(EVOLVED_PROGRAM, name="eznas_evolved_s0"), "eznas_evolved")
    with ScoreStore(live) as st:
        r = score_architectures(
            "nb201",
            sample_archs("nb201", 1000, 0),
            ["eznas_evolved"],
            dataset="cifar10",
            seed=0,
            store=st,
        )
    print(f"eznas_evolved: scored {len(r)} cells into {live}")
    return len(r)


def part_live_ntk(live: str, seeds: list[int]) -> list[dict]:
    """Does ``tenas_ntk`` (left out of ``live`` for its cost) change the result? On the cells
    that have it, the same half-split protocol with the two pop-1,000 GP configurations, with
    and without ``tenas_ntk`` among the terminals; also its own held-out tau."""
    lt, acc = load_live(live, require=("tenas_ntk",))
    print(f"live cells with tenas_ntk: n = {lt.n}", flush=True)
    without = [p for p in lt.proxies if p != "tenas_ntk"]
    rows = []
    for seed in seeds:
        perm = np.random.default_rng(seed).permutation(lt.n)
        n_sel = round(0.5 * lt.n)
        fit, ho = np.sort(perm[:n_sel]), np.sort(perm[n_sel:])
        ev = lt.subset(ho)
        row = {"seed": seed, "n": lt.n, "tau_ntk": _tau(ev.column("tenas_ntk"), acc["cifar10"][ho])}
        for label, names in (("with", lt.proxies), ("without", without)):
            best = None
            for cfg in ("GP pop1000 g60 n31", "GP pool-free pop1000 g60 n31"):
                res = evolve_scores(
                    [lt],
                    proxies=names,
                    splits=[(fit, ho)],
                    seed=seed,
                    parsimony=0.001,
                    **LIVE_CONFIGS[cfg],
                )
                if best is None or res.best.fitness > best.fitness:
                    best = res.best
            v = best.evaluate_scores(ev)
            row[f"tau_{label}"] = _tau(v, acc["cifar10"][ho])
            row[f"formula_{label}"] = str(best)
            row[f"reads_ntk_{label}"] = "tenas_ntk" in best.proxies
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def part_live100(live: str, live100: str, programs_dir: Path) -> list[dict]:
    """The formulas picked by ``part live`` (per seed, highest fitness-half tau) on proxies
    scored with CIFAR-100 images (the ``nb201-cifar100`` store of ``benches/proxy_table.py``,
    the same seed-0 sample of cells): Kendall tau vs CIFAR-100 test accuracy on the cells of
    that seed's CIFAR-10 held-out half that the CIFAR-100 store has scored (n stated)."""
    lt, _ = load_live(live)
    l100, acc100 = load_live(live100, "cifar100")
    pos = {a: i for i, a in enumerate(l100.archs)}
    rows = []
    for seed in (0, 1, 2):
        perm = np.random.default_rng(seed).permutation(lt.n)  # part_live's split
        ho = {str(a) for a in np.asarray(lt.archs)[np.sort(perm[round(0.5 * lt.n) :])]}
        idx = np.sort([pos[a] for a in ho if a in pos])
        sub = l100.subset(idx)
        best = None
        for f in sorted(programs_dir.glob(f"gp_*_seed{seed}.json")):
            prog = ScoreProgram.load(f)
            if best is None or prog.fitness > best.fitness:
                best = prog
        if best is None or not set(best.proxies) <= set(sub.proxies):
            continue
        single = {p: _tau(sub.column(p), acc100["cifar100"][idx]) for p in ("meco", "synflow")}
        az = [p for p in sub.proxies if p.startswith("az_")]
        rows.append(
            {
                "seed": seed,
                "n": len(idx),
                "formula": str(best),
                "tau_cifar100": _tau(best.evaluate_scores(sub), acc100["cifar100"][idx]),
                "tau_meco": single["meco"],
                "tau_synflow": single["synflow"],
                "tau_aznas": _tau(
                    rankagg.aggregate(sub.select(az).scores, method="nonlinear"),
                    acc100["cifar100"][idx],
                ),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def part_search(
    tasks: list[TaskData], seed: int, loto_programs: dict, runs: int, extra: dict | None = None
) -> dict:
    """AZ-NAS Table 1 protocol with the discovered formulas as the proxy (stored scores)."""
    from zcnas.bench import load_nb201
    from zcnas.eznas.scores import ProgramProxies
    from zcnas.search.evolution import aznas_evolution, random_proxy_search
    from zcnas.search.problem import SearchSpace, TableProxies

    cf = next(t for t in tasks if t.label == "NB201-CF10")
    im = next(t for t in tasks if t.label == "NB201-IMGNT")
    gt = _nb201_truth().loc[cf.archs]
    t10 = TaskData(cf.space, "c10test", cf.archs, cf.proxies, cf.scores, gt.cifar10_test.to_numpy())
    perm = np.random.default_rng(seed).permutation(t10.n)
    fit, ho = np.sort(perm[: t10.n // 2]), np.sort(perm[t10.n // 2 :])
    progs = {
        "GP half-split (NB201 CIFAR-10 test labels of 4,722 cells)": evolve_scores(
            [t10], splits=[(fit, ho)], seed=seed, **GP
        ).best
    }
    if "NB201-CF10" in loto_programs:
        progs["GP LOTO (no NB201-CF10 label)"] = ScoreProgram.from_json(loto_programs["NB201-CF10"])
    for label, expr in (extra or {}).items():
        progs[label] = ScoreProgram(expr, tuple(cf.proxies))
    space = SearchSpace.nb201("suite_zero")
    acc = load_nb201()
    out = {}
    for label, prog in progs.items():
        srcs = {
            d: ProgramProxies(
                prog,
                TableProxies(list(prog.proxies), task=d, source="suite_zero"),
                reference=(cf if d == "cifar10" else im).select(prog.proxies).scores,
            )
            for d in ("cifar10", "imagenet16")
        }
        res = {}
        for how in ("random 3000 + best", "AZ-NAS evolution T=1000 k=64"):
            t0 = time.perf_counter()
            picks = {}
            for d, src in srcs.items():
                if how.startswith("random"):
                    picks[d] = [
                        random_proxy_search(space, src, n_samples=3000, rng=s).best_arch
                        for s in range(runs)
                    ]
                else:
                    picks[d] = [
                        aznas_evolution(space, src, iterations=1000, top_k=64, rng=s).best_arch
                        for s in range(runs)
                    ]
            row = {}
            for d in ("cifar10", "cifar100", "imagenet16"):
                idx = picks["imagenet16" if d == "imagenet16" else "cifar10"]
                a = acc.test_accuracy(d)[idx]
                row[d] = (float(np.mean(a)), float(np.std(a)))
            row["archs"] = picks
            row["seconds"] = time.perf_counter() - t0
            res[how] = row
            print(
                f"{label} | {how} | "
                + " | ".join(
                    f"{d} {row[d][0]:.2f} ± {row[d][1]:.2f}"
                    for d in ("cifar10", "cifar100", "imagenet16")
                )
                + f" | {picks}",
                flush=True,
            )
        out[label] = {"formula": str(prog), "results": res}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="split,loto,nb201")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loto-aggregate", default="mean", choices=("min", "mean"))
    ap.add_argument("--loto-generations", type=int, default=30)
    ap.add_argument("--live", default="/work/stores/nb201_cifar10_live.db")
    ap.add_argument(
        "--live100",
        default="/work/stores/proxy_table_nb201_cifar100.db",
        help="part live100: the NB201 store scored with CIFAR-100 images",
    )
    ap.add_argument("--json", help="write every table here")
    ap.add_argument(
        "--programs-dir",
        default=str(Path(__file__).resolve().parent / "results" / "score_gp_live"),
        help="part live: the best program of each GP config and seed, as JSON",
    )
    ap.add_argument("--runs", type=int, default=3, help="search seeds (part search)")
    args = ap.parse_args()
    parts = set(args.part.split(","))
    t0 = time.perf_counter()
    tasks = load_suite(Path(args.data))
    print(f"{len(tasks)} tasks loaded in {time.perf_counter() - t0:.1f} s; load {os.getloadavg()}")
    out: dict = {"load_start": os.getloadavg()}
    loto_programs: dict = {}
    if "split" in parts:
        t = time.perf_counter()
        df = part_split(tasks, args.seed)
        out["split"] = df.to_dict(orient="records")
        out["split_seconds"] = time.perf_counter() - t
        print(df[[c for c in df.columns if c.startswith("tau_")]].mean().round(4).to_string())
    if "loto" in parts:
        t = time.perf_counter()
        df, loto_programs = part_loto(tasks, args.seed, args.loto_aggregate, args.loto_generations)
        out["loto"] = df.to_dict(orient="records")
        out["loto_programs"] = loto_programs
        out["loto_seconds"] = time.perf_counter() - t
        print(df[[c for c in df.columns if c.startswith("tau_")]].mean().round(4).to_string())
    if "nb201" in parts:
        if not loto_programs and args.json and os.path.exists(args.json):
            loto_programs = json.loads(Path(args.json).read_text()).get("loto_programs", {})
        out["nb201"] = part_nb201(tasks, args.seed, loto_programs, args.live)
    if "score-evolved" in parts:
        part_score_evolved(args.live)
    if "live" in parts:
        out["live"] = part_live(args.live, [0, 1, 2], Path(args.programs_dir))
    if "live-ntk" in parts:
        out["live_ntk"] = part_live_ntk(args.live, [0, 1, 2])
    if "live100" in parts:
        out["live100"] = part_live100(args.live, args.live100, Path(args.programs_dir))
    if "nb201big" in parts:
        out["nb201_big"] = part_nb201_big(tasks, [0, 1, 2])
    if "lso" in parts:
        out["leave_space_out"] = part_leave_space_out(tasks, [0, 1, 2])
    if "search" in parts:
        if not loto_programs and args.json and os.path.exists(args.json):
            loto_programs = json.loads(Path(args.json).read_text()).get("loto_programs", {})
        prev = (
            json.loads(Path(args.json).read_text())
            if args.json and os.path.exists(args.json)
            else {}
        )
        prev.update(out)  # results of this run first
        extra = {}
        if prev.get("leave_space_out"):
            extra["GP leave NB201 out (no NB201 label)"] = prev["leave_space_out"][0]["expr"]
        if prev.get("nb201_big"):
            top = max(prev["nb201_big"], key=lambda r: r["fitness"])
            extra[f"GP {top['config']} seed {top['seed']} (half of NB201-CF10 test labels)"] = top[
                "expr"
            ]
        out["search"] = part_search(tasks, args.seed, loto_programs, args.runs, extra)
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["load_end"] = os.getloadavg()
    out["seconds"] = time.perf_counter() - t0
    print(
        f"total {out['seconds']:.0f} s, max RSS {out['max_rss_mb']:.0f} MB, load {out['load_end']}"
    )
    if args.json:
        prev = json.loads(Path(args.json).read_text()) if os.path.exists(args.json) else {}
        prev.update(out)
        Path(args.json).write_text(json.dumps(prev, indent=1, default=float))


if __name__ == "__main__":
    main()
