"""What a search did, step by step, and plots of it.

A :class:`Trajectory` has one entry per evaluation ("query"): the architecture evaluated, the
value the search saw for it (a queried accuracy, or a proxy / aggregated score), the
architecture the search would return at that point (the *incumbent*), the incumbent's test
accuracy (the reported curve, **higher = better**) and the wall time since the search began.
``budget`` says what one step costs: ``"queries"`` (one ground-truth lookup, i.e. one trained
network) or ``"proxy evaluations"`` (a training-free search: one architecture scored).

:func:`mean_curve` averages many runs (mean and standard error of the incumbent's test
accuracy after each step); :func:`plot` draws one curve per method with matplotlib's Agg
backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zcnas.exceptions import ZcnasError

__all__ = ["Trajectory", "TrajectoryRecorder", "mean_curve", "plot"]


@dataclass
class Trajectory:
    """One search run (see the module docstring).

    Attributes:
        method: e.g. ``"aznas"``, ``"aging"``, ``"bananas"``.
        budget: ``"queries"`` or ``"proxy evaluations"``.
        arch: ``(n,)`` architecture evaluated at each step.
        value: ``(n,)`` what the search saw for it (accuracy or score; higher = better).
        incumbent: ``(n,)`` architecture the search would return after each step.
        incumbent_test: ``(n,)`` its test accuracy (%).
        wall_s: ``(n,)`` seconds since the search began.
        meta: settings (seed, proxies, budgets ...), JSON-serialisable.
    """

    method: str
    budget: str
    arch: np.ndarray
    value: np.ndarray
    incumbent: np.ndarray
    incumbent_test: np.ndarray
    wall_s: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.arch)

    @property
    def queries(self) -> np.ndarray:
        """``1..n``: evaluations made after each step."""
        return np.arange(1, len(self) + 1)

    @property
    def best_arch(self) -> int:
        """The architecture returned at the end."""
        if not len(self):
            raise ZcnasError("empty trajectory")
        return int(self.incumbent[-1])

    @property
    def best_test(self) -> float:
        """Test accuracy of the architecture returned at the end."""
        if not len(self):
            raise ZcnasError("empty trajectory")
        return float(self.incumbent_test[-1])

    def at(self, n: int) -> float:
        """Incumbent test accuracy after ``n`` evaluations (the last one if the run is shorter)."""
        if n < 1 or not len(self):
            raise ZcnasError(f"n must be >= 1 on a non-empty trajectory, got {n}")
        return float(self.incumbent_test[min(n, len(self)) - 1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "budget": self.budget,
            "meta": self.meta,
            "arch": self.arch.tolist(),
            "value": [None if not np.isfinite(v) else float(v) for v in self.value],
            "incumbent": self.incumbent.tolist(),
            "incumbent_test": self.incumbent_test.tolist(),
            "wall_s": self.wall_s.tolist(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trajectory:
        """Inverse of :meth:`to_dict` (non-finite values come back as -inf)."""
        return cls(
            method=d["method"],
            budget=d["budget"],
            arch=np.asarray(d["arch"], dtype=np.int64),
            value=np.array([-np.inf if v is None else v for v in d["value"]], dtype=np.float64),
            incumbent=np.asarray(d["incumbent"], dtype=np.int64),
            incumbent_test=np.asarray(d["incumbent_test"], dtype=np.float64),
            wall_s=np.asarray(d["wall_s"], dtype=np.float64),
            meta=dict(d.get("meta", {})),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON (``.json``) or CSV (anything else: one row per step)."""
        out = Path(path)
        if out.suffix == ".json":
            out.write_text(json.dumps(self.to_dict()))
        else:
            import pandas as pd

            pd.DataFrame(
                {
                    "query": self.queries,
                    "wall_s": self.wall_s,
                    "arch": self.arch,
                    "value": self.value,
                    "incumbent": self.incumbent,
                    "incumbent_test": self.incumbent_test,
                }
            ).to_csv(out, index=False)
        return out

    def plot(self, path: str | os.PathLike[str], *, x: str = "queries") -> Path:
        """Plot this run alone (see :func:`plot`)."""
        return plot({self.method: [self]}, path, x=x)


class TrajectoryRecorder:
    """Builds a :class:`Trajectory` during a search: call :meth:`step` after each evaluation.

    Args:
        method, budget, meta: as in :class:`Trajectory`.
        test_of: ``archs -> test accuracies`` (e.g. :meth:`zcnas.search.problem.Oracle.test`).
    """

    def __init__(self, method: str, budget: str, test_of: Any, meta: dict[str, Any]) -> None:
        import time

        self._clock = time.perf_counter
        self._t0 = self._clock()
        self.method, self.budget, self.meta = method, budget, meta
        self._test_of = test_of
        self._rows: list[tuple[int, float, int, float]] = []

    def step(self, arch: int, value: float, incumbent: int) -> None:
        """Record one evaluation and the incumbent after it."""
        self._rows.append((int(arch), float(value), int(incumbent), self._clock() - self._t0))

    def __len__(self) -> int:
        return len(self._rows)

    def finish(self) -> Trajectory:
        """The trajectory so far."""
        if not self._rows:
            z = np.zeros(0)
            return Trajectory(
                self.method, self.budget, z.astype(np.int64), z, z.astype(np.int64), z, z, self.meta
            )
        a, v, inc, t = (np.asarray(c) for c in zip(*self._rows, strict=True))
        inc = inc.astype(np.int64)
        return Trajectory(
            self.method,
            self.budget,
            a.astype(np.int64),
            v.astype(np.float64),
            inc,
            np.asarray(self._test_of(inc), dtype=np.float64),
            t.astype(np.float64),
            self.meta,
        )


def mean_curve(runs: Sequence[Trajectory], n: int | None = None) -> tuple[np.ndarray, ...]:
    """Mean and standard error over runs of the incumbent's test accuracy after 1..n steps.

    Runs shorter than ``n`` (default: the longest) hold their last value.

    Returns:
        ``(steps, mean, stderr)``, each of length ``n``.
    """
    if not runs:
        raise ZcnasError("no runs to average")
    n = max(len(r) for r in runs) if n is None else int(n)
    if n < 1 or any(len(r) == 0 for r in runs):
        raise ZcnasError("runs must be non-empty and n >= 1")
    m = np.empty((len(runs), n))
    for i, r in enumerate(runs):
        k = min(n, len(r))
        m[i, :k] = r.incumbent_test[:k]
        m[i, k:] = r.incumbent_test[k - 1]
    se = m.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.zeros(n)
    return np.arange(1, n + 1), m.mean(axis=0), se


def plot(
    runs: Mapping[str, Sequence[Trajectory]] | Sequence[Trajectory],
    path: str | os.PathLike[str],
    *,
    x: str = "queries",
    title: str | None = None,
    optimum: float | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """Mean incumbent test accuracy (± standard error) per method, saved as an image.

    Args:
        runs: ``{label: [trajectories]}``, or a list of trajectories (grouped by ``method``).
        path: output file (``.png``, ``.pdf``, ``.svg``).
        x: ``"queries"`` (steps) or ``"time"`` (mean wall seconds at each step).
        title: figure title.
        optimum: draw the best accuracy in the space as a dashed line.
        ylim: y-axis range (default: matplotlib's).

    Returns:
        The path written.
    """
    from zcnas._optional import require

    matplotlib = require("matplotlib", "plotting a trajectory")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot")

    if x not in ("queries", "time"):
        raise ZcnasError(f"x must be 'queries' or 'time', got {x!r}")
    if not isinstance(runs, Mapping):
        grouped: dict[str, list[Trajectory]] = {}
        for r in runs:
            grouped.setdefault(r.method, []).append(r)
        runs = grouped
    if not runs:
        raise ZcnasError("nothing to plot")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    budgets = set()
    for label, group in runs.items():
        steps, mean, se = mean_curve(group)
        budgets.add(group[0].budget)
        if x == "time":
            n = len(steps)
            t = np.stack(
                [np.pad(r.wall_s[:n], (0, n - min(n, len(r))), mode="edge") for r in group]
            )
            xs = t.mean(axis=0)
        else:
            xs = steps
        ax.plot(xs, mean, label=f"{label} (n={len(group)})")
        ax.fill_between(xs, mean - se, mean + se, alpha=0.25)
    if optimum is not None:
        ax.axhline(optimum, ls="--", c="k", lw=0.8, label="best in space")
    ax.set_xlabel("wall time (s)" if x == "time" else " / ".join(sorted(budgets)))
    ax.set_ylabel("test accuracy of the incumbent (%)")
    if title:
        ax.set_title(title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
