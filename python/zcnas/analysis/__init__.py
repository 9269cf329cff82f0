"""Analyses of zero-cost proxy scores (NAS-Bench-Suite-Zero and "A Deeper Look at Zero-Cost
Proxies"): correlation tables, average ranks and performance profiles, proxy-vs-proxy and
benchmark-vs-benchmark similarity, conditional entropy and information gain, bias metrics and
de-biasing, gradient-boosted surrogates, rank-aggregated ensembles, plots and a Markdown
report. All rank statistics go through :mod:`zcnas.stats` / :mod:`zcnas.rankagg` (Rust).

Every function takes :class:`TaskData` (or lists of them) and returns pandas DataFrames or
numpy arrays; scores are **higher = better** throughout.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TaskData", "list_tasks", "load_task", "load_tasks", "task_label"]


def __getattr__(name: str) -> Any:
    # Lazy, so that ``zcnas.analysis.cli`` (loaded by every ``zcnas`` call) imports no pandas.
    if name in __all__:
        from zcnas.analysis import data

        return getattr(data, name)
    raise AttributeError(f"module 'zcnas.analysis' has no attribute {name!r}")
