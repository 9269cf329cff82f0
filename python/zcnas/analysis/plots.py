"""Figures of the analyses (matplotlib, Agg canvas; no pyplot, so no global state is touched).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`save` writes it as PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from zcnas import stats

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "entropy_curve_plot",
    "heatmap",
    "profile_plot",
    "rank_scatter",
    "save",
    "surrogate_plot",
]


def _figure(width: float, height: float) -> Figure:
    from zcnas._optional import require

    canvas = require("matplotlib.backends.backend_agg", "figures").FigureCanvasAgg
    fig = require("matplotlib.figure").Figure(
        figsize=(width, height), dpi=100, layout="constrained"
    )
    canvas(fig)
    return fig


def save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write a figure as PNG and return the path."""
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def heatmap(
    frame: pd.DataFrame,
    title: str = "",
    *,
    vmin: float = -1.0,
    vmax: float = 1.0,
    annotate: bool = True,
    cmap: str = "RdYlGn",
) -> Figure:
    """A heat map of a table (rows x columns), annotated with 2-decimal values."""
    r, c = frame.shape
    fig = _figure(max(4.0, 0.55 * c + 2.5), max(3.0, 0.35 * r + 1.5))
    ax = fig.add_subplot()
    vals = frame.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(vals), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(c), [str(x) for x in frame.columns], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(r), [str(x) for x in frame.index], fontsize=7)
    if annotate:
        for i in range(r):
            for j in range(c):
                if np.isfinite(vals[i, j]):
                    ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=9)
    return fig


def profile_plot(profile: pd.DataFrame, title: str = "Performance profile") -> Figure:
    """Dolan-More performance profiles (fraction of tasks vs tau)."""
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    for p in profile.columns:
        ax.step(profile.index, profile[p], where="post", label=p)
    ax.set_xlabel("tau (suboptimality in 1 - Spearman)")
    ax.set_ylabel("fraction of tasks")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title, fontsize=9)
    return fig


def rank_scatter(score: np.ndarray, truth: np.ndarray, name: str, title: str = "") -> Figure:
    """Rank of a proxy (or ensemble) against rank of the ground truth (AZ-NAS Figure 4)."""
    fig = _figure(4.0, 4.0)
    ax = fig.add_subplot()
    rs, rt = stats.rankdata(score), stats.rankdata(truth)
    ax.scatter(rt, rs, s=2, alpha=0.4)
    tau = stats.kendall_tau(score, truth)
    ax.set_xlabel("ground-truth rank")
    ax.set_ylabel(f"{name} rank")
    ax.set_title(f"{title} Kendall tau = {tau:.3f}", fontsize=9)
    return fig


def entropy_curve_plot(curves: pd.DataFrame, title: str = "") -> Figure:
    """Conditional entropy ``H(y | z_1..z_k)`` against k for the three orderings."""
    fig = _figure(5.0, 3.5)
    ax = fig.add_subplot()
    ax.errorbar(curves.k, curves.random, yerr=curves.random_std, label="random (mean)", capsize=2)
    ax.plot(curves.k, curves.greedy, marker="o", label="greedy")
    if np.isfinite(curves.exhaustive.to_numpy(dtype=float)[1:]).any():
        ax.plot(curves.k, curves.exhaustive, marker="x", linestyle="--", label="best k-subset")
    ax.set_xlabel("number of proxies k")
    ax.set_ylabel("H(y | z_1..z_k) [bits]")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig


def surrogate_plot(summary: pd.DataFrame, title: str = "") -> Figure:
    """Bar chart of mean surrogate Spearman per task and feature set (with std)."""
    tasks = list(dict.fromkeys(summary.task))
    sets: Sequence[str] = list(dict.fromkeys(summary.features))
    fig = _figure(max(5.0, 0.5 * len(tasks) + 2.0), 4.0)
    ax = fig.add_subplot()
    w = 0.8 / max(1, len(sets))
    for i, s in enumerate(sets):
        sub = summary[summary.features == s].set_index("task").reindex(tasks)
        ax.bar(np.arange(len(tasks)) + i * w, sub["mean"], w, yerr=sub["std"], label=s)
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - w / 2, tasks, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("Spearman (test)")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig
