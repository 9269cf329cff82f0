"""Ensembles of proxies: which combination ranks best on a task?

A combination is a subset of proxies merged by a Rust rank aggregator
(:func:`zcnas.rankagg.aggregate`: ``linear`` (TE-NAS rank sum), ``nonlinear`` (AZ-NAS log-rank
sum), ``borda``, ``majority`` (Copeland vote; Abdelfattah et al.'s "vote" generalised)) or by a
surrogate (:mod:`zcnas.analysis.surrogate`) trained on the proxies of a few labelled
architectures (not zero-cost: it needs ``n_train`` trained architectures; reported apart).

Choosing the best subset on the same architectures one reports on would overstate it, so
:func:`evaluate_ensembles` splits the architectures at random into a *selection* half, where
the best single proxy and the subsets are chosen, and an *evaluation* half, where every choice
is scored (Spearman and Kendall against the ground truth). Subsets are searched greedily
(forward selection from the best single proxy, adding the proxy that raises the selection
Spearman most, until none does) or exhaustively (every subset up to ``max_size``).
Aggregated scores are pool-relative: each half is aggregated on its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from zcnas import rankagg, stats
from zcnas.analysis.data import TaskData
from zcnas.exceptions import ZcnasError

__all__ = [
    "AGGREGATORS",
    "aggregate_proxies",
    "best_ensembles",
    "evaluate_ensembles",
    "splittable",
]

AGGREGATORS = ("linear", "nonlinear", "borda", "majority")


def aggregate_proxies(
    task: TaskData, proxies: Sequence[str], method: str = "nonlinear"
) -> np.ndarray:
    """The aggregated score (higher = better) of a subset of proxies on a task."""
    if method not in AGGREGATORS:
        raise ZcnasError(f"method must be one of {AGGREGATORS}, got {method!r}")
    if not proxies:
        raise ZcnasError("an ensemble needs at least one proxy")
    return rankagg.aggregate(task.select(proxies).scores, method=method)


def _rho(task: TaskData, subset: Sequence[str], method: str) -> float:
    if len(subset) == 1:
        return stats.spearman(task.column(subset[0]), task.truth)
    return stats.spearman(aggregate_proxies(task, subset, method), task.truth)


def _greedy(task: TaskData, method: str, start: str) -> tuple[list[str], float]:
    chosen, best = [start], _rho(task, [start], method)
    left = [p for p in task.proxies if p != start]
    while left:
        scores = [(_rho(task, [*chosen, p], method), p) for p in left]
        val, p = max(scores)
        if not val > best:
            break
        chosen.append(p)
        left.remove(p)
        best = val
    return chosen, best


def _exhaustive(task: TaskData, method: str, max_size: int) -> tuple[list[str], float]:
    best: tuple[float, tuple[str, ...]] = (-np.inf, ())
    for size in range(1, min(max_size, len(task.proxies)) + 1):
        for sub in itertools.combinations(task.proxies, size):
            r = _rho(task, sub, method)
            if r > best[0]:
                best = (r, sub)
    return list(best[1]), best[0]


def splittable(n: int, selection_fraction: float = 0.5) -> bool:
    """Whether ``n`` architectures split into a selection and an evaluation half of at least
    3 each (:func:`evaluate_ensembles`' requirement).

    >>> splittable(5), splittable(6)
    (False, True)
    """
    n_sel = round(selection_fraction * n)
    return n_sel >= 3 and n - n_sel >= 3


def evaluate_ensembles(
    task: TaskData,
    *,
    methods: Sequence[str] = AGGREGATORS,
    search: str = "greedy",
    max_size: int = 4,
    selection_fraction: float = 0.5,
    max_selection: int | None = 2000,
    surrogate_train: int | None = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """Best single proxy, all proxies, and the best subset per aggregator on one task.

    Args:
        task: The task.
        methods: Aggregators to try.
        search: ``"greedy"`` or ``"exhaustive"`` (subsets up to ``max_size``).
        max_size: Largest subset of the exhaustive search.
        selection_fraction: Share of architectures used to choose.
        max_selection: Cap on the selection architectures (sampled), to bound the cost of the
            O(m^2) majority vote; ``None`` = no cap.
        surrogate_train: Labelled architectures (from the selection half) for the surrogate
            ensemble on all proxies; ``None`` skips it.
        seed: Seed of the split.

    Returns:
        One row per candidate: ``task``, ``kind`` (``single``, ``all``, ``subset``,
        ``surrogate``), ``method``, ``proxies`` ("a+b"), ``size``, ``spearman_select``,
        ``spearman``, ``kendall`` (the last two on the evaluation half).
    """
    if search not in ("greedy", "exhaustive"):
        raise ZcnasError(f"search must be 'greedy' or 'exhaustive', got {search!r}")
    if not 0.0 < selection_fraction < 1.0:
        raise ZcnasError(f"selection_fraction must be in (0, 1), got {selection_fraction}")
    bad = [m for m in methods if m not in AGGREGATORS]
    if bad:
        raise ZcnasError(f"unknown aggregator(s) {bad}; choose from {AGGREGATORS}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(task.n)
    n_sel = round(selection_fraction * task.n)
    if not splittable(task.n, selection_fraction):
        raise ZcnasError(f"{task.label}: too few architectures ({task.n}) to split")
    sel_idx, ev_idx = perm[:n_sel], perm[n_sel:]
    if max_selection is not None and len(sel_idx) > max_selection:
        sel_idx = sel_idx[:max_selection]
    sel, ev = task.subset(np.sort(sel_idx)), task.subset(np.sort(ev_idx))

    def row(kind: str, method: str, subset: Sequence[str], rho_sel: float) -> dict:
        if kind == "single" or len(subset) == 1:
            s = ev.column(subset[0])
        else:
            s = aggregate_proxies(ev, subset, method)
        return {
            "task": task.label,
            "kind": kind,
            "method": method,
            "proxies": "+".join(subset),
            "size": len(subset),
            "spearman_select": rho_sel,
            "spearman": stats.spearman(s, ev.truth),
            "kendall": stats.kendall_tau(s, ev.truth),
        }

    singles = {p: stats.spearman(sel.column(p), sel.truth) for p in task.proxies}
    best_single = max(singles, key=lambda p: singles[p])
    rows = [row("single", "-", [best_single], singles[best_single])]
    for m in methods:
        rows.append(row("all", m, task.proxies, _rho(sel, task.proxies, m)))
        if search == "greedy":
            subset, val = _greedy(sel, m, best_single)
        else:
            subset, val = _exhaustive(sel, m, max_size)
        rows.append(row("subset", m, subset, val))
    if surrogate_train:
        from zcnas.analysis.surrogate import fit_surrogate

        n_tr = min(int(surrogate_train), sel.n)
        tr = np.sort(rng.permutation(sel.n)[:n_tr])
        model = fit_surrogate(sel.scores[tr], sel.truth[tr], seed=seed)
        pred = model.predict(ev.scores)
        rows.append(
            {
                "task": task.label,
                "kind": "surrogate",
                "method": f"lightgbm({n_tr} labelled)",
                "proxies": "+".join(task.proxies),
                "size": len(task.proxies),
                "spearman_select": np.nan,
                "spearman": stats.spearman(pred, ev.truth),
                "kendall": stats.kendall_tau(pred, ev.truth),
            }
        )
    return pd.DataFrame(rows)


def best_ensembles(table: pd.DataFrame, *, include_surrogate: bool = False) -> pd.DataFrame:
    """Per task: the best single proxy against the aggregator ensemble chosen on the
    selection half (the candidate with the highest ``spearman_select``), both scored on the
    evaluation half.

    Returns:
        One row per task: ``single``, ``single_spearman``, ``ensemble``, ``method``,
        ``ensemble_spearman``, ``gain`` (ensemble minus single), and the surrogate's
        ``surrogate_spearman`` when present.
    """
    out = []
    for task, g in table.groupby("task", sort=False):
        single = g[g.kind == "single"].iloc[0]
        cands = g[g.kind.isin(["all", "subset"])]
        if include_surrogate:
            cands = pd.concat([cands, g[g.kind == "surrogate"]])
        best = cands.loc[cands.spearman_select.fillna(-np.inf).idxmax()]
        rec = {
            "task": task,
            "single": single.proxies,
            "single_spearman": single.spearman,
            "ensemble": best.proxies,
            "method": best.method if best["size"] > 1 else "-",
            "ensemble_spearman": best.spearman,
            "gain": best.spearman - single.spearman,
        }
        sur = g[g.kind == "surrogate"]
        if len(sur):
            rec["surrogate_spearman"] = sur.spearman.iloc[0]
        out.append(rec)
    return pd.DataFrame(out)
