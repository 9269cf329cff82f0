"""Analyses of zero-cost proxy scores (NAS-Bench-Suite-Zero and "A Deeper Look at Zero-Cost
Proxies"): correlation tables, average ranks and performance profiles, proxy-vs-proxy and
benchmark-vs-benchmark similarity, conditional entropy and information gain, bias metrics and
de-biasing, gradient-boosted surrogates, rank-aggregated ensembles, plots and a Markdown
report. All rank statistics go through :mod:`zcnas.stats` / :mod:`zcnas.rankagg` (Rust).

Every function takes :class:`TaskData` (or lists of them) and returns pandas DataFrames or
numpy arrays; scores are **higher = better** throughout.
"""

from zcnas.analysis.data import TaskData, list_tasks, load_task, load_tasks, task_label

__all__ = ["TaskData", "list_tasks", "load_task", "load_tasks", "task_label"]
