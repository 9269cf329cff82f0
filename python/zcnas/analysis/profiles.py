"""Average ranks and Dolan-More performance profiles ("A Deeper Look at Zero-Cost Proxies",
Table 4 and Figures 7-8).

Average rank: on every task the proxies are ranked by a statistic (default Spearman; rank 1 =
best, ties share the average rank, computed by :func:`zcnas.stats.rankdata`), then the ranks are
averaged per search space and over all tasks.

Performance profile (Dolan and More, 2002): on task ``t`` proxy ``p`` has error
``e_tp = 1 - rho_tp`` (distance of its Spearman from 1) and ratio ``r_tp = e_tp / min_q e_tq``
("``r``-suboptimal"). The profile of ``p`` at ``tau`` is the fraction of tasks with
``r_tp <= tau``; a proxy that is best on every task has a profile of 1 everywhere. A task where
the best error is 0 gives ratio 1 to the proxies with error 0 and ``inf`` to the others.

Ranks and ratios are only comparable over one set of competitors, so by default both use the
proxies present on **every** task given (pass ``proxies`` to choose).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from zcnas import stats
from zcnas.exceptions import ZcnasError

__all__ = ["average_ranks", "performance_profile", "performance_ratios"]


def _wide(table: pd.DataFrame, metric: str, proxies: Sequence[str] | None) -> pd.DataFrame:
    for c in ("task", "proxy", metric):
        if c not in table.columns:
            raise ZcnasError(f"table lacks column {c!r} (expected correlation_table output)")
    wide = table.pivot(index="task", columns="proxy", values=metric)
    if proxies is None:
        wide = wide.dropna(axis=1, how="any")
    else:
        missing = [p for p in proxies if p not in wide.columns]
        if missing:
            raise ZcnasError(f"proxies {missing} are not in the table")
        wide = wide[list(proxies)]
        if wide.isna().any().any():
            raise ZcnasError("some chosen proxies are missing on some tasks")
    if wide.shape[1] < 1 or wide.shape[0] < 1:
        raise ZcnasError("no proxy is present on every task")
    return wide


def average_ranks(
    table: pd.DataFrame,
    *,
    metric: str = "spearman",
    by: str = "space",
    proxies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Average rank (1 = best) of each proxy per group of tasks and overall.

    Args:
        table: :func:`zcnas.analysis.correlation.correlation_table` output.
        metric: Statistic ranked (higher = better).
        by: Column grouping the tasks (``"space"``); the last row, ``"overall"``, averages
            over all tasks.
        proxies: Competitors (default: those present on every task).

    Returns:
        groups x proxies, columns sorted by the overall average rank.

    >>> t = pd.DataFrame({"task": ["a", "a", "b", "b"], "space": ["s", "s", "s", "s"],
    ...                   "proxy": ["x", "y", "x", "y"], "spearman": [0.9, 0.1, 0.2, 0.3]})
    >>> average_ranks(t).loc["overall"].tolist()
    [1.5, 1.5]
    """
    wide = _wide(table, metric, proxies)
    ranks = pd.DataFrame(
        [stats.rankdata(-wide.loc[t].to_numpy()) for t in wide.index],
        index=wide.index,
        columns=wide.columns,
    )
    groups = table.drop_duplicates("task").set_index("task")[by] if by in table.columns else None
    rows = {}
    if groups is not None:
        for g in sorted(groups.unique()):
            members = [t for t in ranks.index if groups.get(t) == g]
            rows[g] = ranks.loc[members].mean(axis=0)
    rows["overall"] = ranks.mean(axis=0)
    out = pd.DataFrame(rows).T
    out.index.name = by
    return out[out.loc["overall"].sort_values(kind="stable").index]


def performance_ratios(
    table: pd.DataFrame, *, metric: str = "spearman", proxies: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per task and proxy, how many times the best error ``1 - rho`` the proxy's error is."""
    wide = _wide(table, metric, proxies)
    err = 1.0 - wide.to_numpy(dtype=np.float64)
    if (err < 0).any():
        raise ZcnasError(f"{metric} above 1 in the table; the error 1 - {metric} is negative")
    best = err.min(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            best > 0, err / np.where(best > 0, best, 1.0), np.where(err > 0, np.inf, 1.0)
        )
    return pd.DataFrame(ratio, index=wide.index, columns=wide.columns)


def performance_profile(
    table: pd.DataFrame,
    taus: Sequence[float] | np.ndarray | None = None,
    *,
    metric: str = "spearman",
    proxies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Dolan-More performance profiles of the proxies over the tasks of ``table``.

    Args:
        table: :func:`zcnas.analysis.correlation.correlation_table` output (filter it to one
            search space for a per-space profile).
        taus: Suboptimality factors (default: 1 to 3 in 201 steps).
        metric: Statistic (error = 1 - metric).
        proxies: Competitors (default: those present on every task).

    Returns:
        ``tau`` (index) x proxies: the fraction of tasks on which each proxy is at most
        ``tau``-suboptimal.
    """
    ratios = performance_ratios(table, metric=metric, proxies=proxies)
    grid = np.linspace(1.0, 3.0, 201) if taus is None else np.asarray(taus, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0:
        raise ZcnasError("taus must be a non-empty 1-D sequence")
    r = ratios.to_numpy()
    prof = (r[None, :, :] <= grid[:, None, None]).mean(axis=1)
    return pd.DataFrame(prof, index=pd.Index(grid, name="tau"), columns=ratios.columns)
