"""Correlation tables (NAS-Bench-Suite-Zero Figures 2, 3, 8, 10; "A Deeper Look" Figures 3-6).

* :func:`correlations` / :func:`correlation_table`: Spearman, Kendall tau-b, Pearson, top-k
  precision and top-k% Kendall of every proxy against the ground truth, with percentile
  bootstrap confidence intervals (architectures resampled with replacement).
* :func:`best_ranking_at_k`: Suite-Zero's BestRanking@K (Appendix, Figure 9): the best true
  rank among a proxy's top K architectures, as a fraction of the task (lower = better).
* :func:`heatmap_frame`: one statistic as a proxy x task table with rows and columns ordered
  by their mean, as in the Suite-Zero heat maps (ascending: the best proxy is the last row),
  or with the best proxy first (``best_first=True``, the report's table).
* :func:`proxy_correlation` / :func:`mean_proxy_correlation`: proxy-vs-proxy matrices per
  task and averaged over tasks (over the tasks where both proxies exist).
* :func:`benchmark_similarity`: Pearson correlation between tasks. Suite-Zero's Figure 3 is
  "the Pearson correlation of the ZC proxy scores on each pair of benchmarks"; since two tasks
  score different architectures, each task is represented here by its vector of per-proxy
  Spearman correlations with the ground truth (one column of Figure 2) and two tasks are
  compared over the proxies they share (an interpretation, stated as such).

All statistics are computed by :mod:`zcnas.stats` (Rust); scores are higher = better.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from zcnas import stats
from zcnas.analysis.data import TaskData
from zcnas.exceptions import ZcnasError

__all__ = [
    "METRICS",
    "benchmark_similarity",
    "best_ranking_at_k",
    "correlation_table",
    "correlations",
    "heatmap_frame",
    "mean_proxy_correlation",
    "proxy_correlation",
]

#: Statistics of :func:`correlations`, all higher = better.
METRICS = ("spearman", "kendall", "pearson", "top_k_precision", "kendall_top")


def _point(scores: np.ndarray, truth: np.ndarray, top: float) -> dict[str, np.ndarray]:
    x = np.ascontiguousarray(scores.T)
    # tau-b on the top needs two architectures there: NaN on a task of fewer than 2 / top
    few = math.ceil(top * len(truth)) < 2
    return {
        "spearman": stats.spearman_batch(x, truth),
        "kendall": stats.kendall_tau_batch(x, truth),
        "pearson": stats.pearson_batch(x, truth),
        "top_k_precision": np.array([stats.top_k_precision(c, truth, top=top) for c in x]),
        "kendall_top": np.full(len(x), np.nan)
        if few
        else np.array([stats.kendall_tau_top(c, truth, top=top) for c in x]),
    }


def correlations(
    task: TaskData,
    *,
    top: float = 0.1,
    bootstrap: int = 0,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Every proxy's rank correlation with the ground truth on one task.

    Args:
        task: The task.
        top: Fraction defining the top for ``top_k_precision`` (share of the true top
            ``ceil(top * n)`` that the proxy's top contains) and ``kendall_top`` (tau-b on the
            architectures whose truth is in the top fraction; NaN when that holds fewer
            than 2, i.e. on tasks of fewer than ``2 / top`` architectures).
        bootstrap: Number of bootstrap resamples for confidence intervals (0 = none).
        ci: Confidence level of the percentile intervals.
        seed: Seed of the resampling.

    Returns:
        One row per proxy: ``task``, ``space``, ``proxy``, ``n``, the :data:`METRICS` and,
        with ``bootstrap > 0``, ``<metric>_lo`` / ``<metric>_hi``.

    Raises:
        ZcnasError: ``top`` or ``ci`` outside (0, 1), or a negative ``bootstrap``.
    """
    if not 0.0 < top <= 1.0:
        raise ZcnasError(f"top must be a fraction in (0, 1], got {top}")
    if not 0.0 < ci < 1.0:
        raise ZcnasError(f"ci must be in (0, 1), got {ci}")
    if int(bootstrap) != bootstrap or bootstrap < 0:
        raise ZcnasError(f"bootstrap must be a non-negative integer, got {bootstrap!r}")
    point = _point(task.scores, task.truth, top)
    df = pd.DataFrame(
        {"task": task.label, "space": task.space, "proxy": task.proxies, "n": task.n, **point}
    )
    if bootstrap:
        rng = np.random.default_rng(seed)
        draws = {m: np.empty((int(bootstrap), len(task.proxies))) for m in METRICS}
        for b in range(int(bootstrap)):
            idx = rng.integers(0, task.n, task.n)
            with np.errstate(all="ignore"):
                res = _point(task.scores[idx], task.truth[idx], top)
            for m in METRICS:
                draws[m][b] = res[m]
        alpha = (1.0 - ci) / 2.0
        with warnings.catch_warnings():  # an all-NaN metric (kendall_top on a tiny task)
            warnings.simplefilter("ignore", RuntimeWarning)
            for m in METRICS:
                df[f"{m}_lo"] = np.nanquantile(draws[m], alpha, axis=0)
                df[f"{m}_hi"] = np.nanquantile(draws[m], 1.0 - alpha, axis=0)
    return df


def correlation_table(
    tasks: Sequence[TaskData],
    *,
    top: float = 0.1,
    bootstrap: int = 0,
    ci: float = 0.95,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """:func:`correlations` of several tasks stacked into one long table."""
    from zcnas.analysis._progress import iterate

    frames = [
        correlations(t, top=top, bootstrap=bootstrap, ci=ci, seed=seed)
        for t in iterate(tasks, "correlations", progress)
    ]
    if not frames:
        raise ZcnasError("no tasks to analyse")
    return pd.concat(frames, ignore_index=True)


def best_ranking_at_k(tasks: Sequence[TaskData], ks: Sequence[int] = (5, 25, 100)) -> pd.DataFrame:
    """NAS-Bench-Suite-Zero's BestRanking@K of every proxy on every task: with ``M``
    architectures, ``r_i`` the 0-based true rank of architecture ``i`` (0 = highest ground
    truth; average ranks for ties) and ``A_K`` the ``K`` architectures the proxy scores highest
    (ties broken by the lower row, as :func:`zcnas.stats.top_k_precision`),
    ``BestRanking@K = min_{i in A_K} r_i / M``. **Lower = better**: 0 means the proxy's top K
    contains the best architecture. The paper writes ``A_K = {a_i | n_i < K M}`` but reports
    K = 5, 25, 100 beside Precision@K, whose K counts architectures; K counts architectures here.

    Returns:
        One row per (task, proxy) with ``task``, ``proxy`` and ``best_ranking@K`` per K.
    """
    ks = [int(k) for k in ks]
    if not ks or any(k < 1 for k in ks):
        raise ZcnasError(f"ks must be positive integers, got {ks}")
    rows = []
    for t in tasks:
        r = stats.rankdata(-t.truth) - 1.0
        for j, p in enumerate(t.proxies):
            order = np.argsort(-t.scores[:, j], kind="stable")
            row: dict[str, object] = {"task": t.label, "proxy": p}
            for k in ks:
                row[f"best_ranking@{k}"] = float(r[order[: min(k, t.n)]].min()) / t.n
            rows.append(row)
    if not rows:
        raise ZcnasError("no tasks to analyse")
    return pd.DataFrame(rows)


def heatmap_frame(
    table: pd.DataFrame, metric: str = "spearman", *, best_first: bool = False
) -> pd.DataFrame:
    """One statistic of :func:`correlation_table` as proxy (rows) x task (columns).

    Rows and columns are sorted by their mean over the entries present (ascending), as the
    Suite-Zero heat maps order them; with ``best_first`` the rows (proxies) are sorted
    descending instead, the best proxy first, as a table is read (ties keep their order;
    a proxy with no value is last either way). Missing proxy/task pairs are NaN.

    >>> t = pd.DataFrame({"task": ["a", "a", "b", "b"], "proxy": ["x", "y", "x", "y"],
    ...                   "spearman": [0.9, 0.1, 0.8, 0.3]})
    >>> heatmap_frame(t).index.tolist(), heatmap_frame(t).columns.tolist()
    (['y', 'x'], ['a', 'b'])
    >>> heatmap_frame(t, best_first=True).index.tolist()
    ['x', 'y']
    """
    if metric not in table.columns:
        raise ZcnasError(f"no column {metric!r} in the table; has {list(table.columns)}")
    wide = table.pivot(index="proxy", columns="task", values=metric)
    rows = wide.mean(axis=1).sort_values(ascending=not best_first, kind="stable").index
    cols = wide.mean(axis=0).sort_values(kind="stable").index
    out = wide.loc[rows, cols]
    out.index.name, out.columns.name = "proxy", "task"
    return out


def proxy_correlation(task: TaskData, method: str = "spearman") -> pd.DataFrame:
    """Proxy-vs-proxy correlation matrix of one task (``spearman``, ``kendall``, ``pearson``).

    The ground truth is included as a last row/column named ``"gt"`` (as in "A Deeper Look").
    """
    fn = {
        "spearman": stats.spearman_batch,
        "kendall": stats.kendall_tau_batch,
        "pearson": stats.pearson_batch,
    }.get(method)
    if fn is None:
        raise ZcnasError(f"method must be spearman, kendall or pearson, got {method!r}")
    x = np.ascontiguousarray(np.column_stack([task.scores, task.truth]).T)
    k = x.shape[0]
    mat = np.empty((k, k))
    for j in range(k):
        mat[:, j] = fn(x, x[j])
    names = [*task.proxies, "gt"]
    return pd.DataFrame(mat, index=pd.Index(names, name="proxy"), columns=names)


def mean_proxy_correlation(tasks: Sequence[TaskData], method: str = "spearman") -> pd.DataFrame:
    """Proxy-vs-proxy correlation averaged over tasks (each pair over the tasks holding both).

    Rows and columns are ordered by their mean, ascending (Suite-Zero Figure 10).
    """
    if not tasks:
        raise ZcnasError("no tasks to average")
    mats = [proxy_correlation(t, method) for t in tasks]
    names = list(dict.fromkeys(p for m in mats for p in m.index))
    stack = np.stack([m.reindex(index=names, columns=names).to_numpy() for m in mats])
    with np.errstate(all="ignore"):
        mean = np.nanmean(stack, axis=0) if np.isfinite(stack).any() else stack[0]
    out = pd.DataFrame(mean, index=pd.Index(names, name="proxy"), columns=names)
    order = out.mean(axis=1).sort_values(kind="stable").index
    return out.loc[order, order]


def benchmark_similarity(table: pd.DataFrame, metric: str = "spearman") -> pd.DataFrame:
    """Pearson correlation between tasks of their per-proxy ``metric`` vectors.

    Args:
        table: Output of :func:`correlation_table`.
        metric: Which statistic represents a task.

    Returns:
        task x task matrix (NaN where two tasks share fewer than 3 proxies), ordered by mean.
    """
    wide = table.pivot(index="proxy", columns="task", values=metric)
    names = list(wide.columns)
    mat = np.full((len(names), len(names)), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            both = wide[a].notna() & wide[b].notna()
            if both.sum() >= 3:
                mat[i, j] = stats.pearson(wide.loc[both, a], wide.loc[both, b])
    out = pd.DataFrame(mat, index=pd.Index(names, name="task"), columns=names)
    order = out.mean(axis=1).sort_values(kind="stable").index
    return out.loc[order, order]
