"""Rank statistics that agree with :mod:`scipy.stats`, computed in Rust.

Every function accepts numpy arrays, torch tensors or sequences of real numbers and returns a
Python ``float`` or a numpy array. NaN and infinite values follow ``nan_policy``: ``"raise"``
(the default) raises :class:`zcnas.NonFiniteError`, ``"omit"`` drops every pair in which either
value is non-finite. A statistic undefined on valid input (a constant vector) is ``nan``, as in
scipy. Inputs must not be modified by another thread while a call runs (the GIL is released).

Sign convention: every statistic is computed as given; for proxies, *higher score = predicted
better*, and a positive correlation with accuracy means the proxy ranks well.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zcnas import _native
from zcnas._arrays import as_f64
from zcnas.exceptions import ZcnasError

__all__ = [
    "kendall_tau",
    "kendall_tau_batch",
    "kendall_tau_top",
    "pearson",
    "pearson_batch",
    "rankdata",
    "spearman",
    "spearman_batch",
    "top_k_precision",
]


def rankdata(x: Any, *, nan_policy: str = "raise") -> np.ndarray:
    """1-based average ranks, as ``scipy.stats.rankdata(x, method="average")``.

    Args:
        x: 1-D real values.
        nan_policy: ``"raise"`` or ``"omit"`` (non-finite entries get a ``nan`` rank).

    Returns:
        float64 array of ranks; tied values share the mean of the positions they span.

    Raises:
        ZcnasError: on a bad argument; NonFiniteError on NaN/inf with ``"raise"``.

    >>> rankdata([10, 30, 20, 20]).tolist()
    [1.0, 4.0, 2.5, 2.5]
    """
    return _native.rankdata(as_f64(x, "x", 1), nan_policy=nan_policy)


def kendall_tau(x: Any, y: Any, *, nan_policy: str = "raise") -> float:
    """Kendall tau-b in O(n log n), equal to ``scipy.stats.kendalltau(x, y).statistic``.

    Args:
        x: 1-D real values.
        y: 1-D real values, same length.
        nan_policy: ``"raise"`` or ``"omit"``.

    Returns:
        tau-b in [-1, 1], or ``nan`` when ``x`` or ``y`` is constant.

    Raises:
        ZcnasError: different lengths, fewer than 2 (usable) pairs, non-numeric input.

    >>> round(kendall_tau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]), 6)
    -0.471405
    """
    return _native.kendall_tau(as_f64(x, "x", 1), as_f64(y, "y", 1), nan_policy=nan_policy)


def spearman(x: Any, y: Any, *, nan_policy: str = "raise") -> float:
    """Spearman rho (Pearson r of average ranks), as ``scipy.stats.spearmanr``.

    Args:
        x: 1-D real values.
        y: 1-D real values, same length.
        nan_policy: ``"raise"`` or ``"omit"``.

    Returns:
        rho in [-1, 1], or ``nan`` when either side is constant.

    >>> spearman([1, 2, 3, 4], [10, 20, 40, 30])
    0.8
    """
    return _native.spearman(as_f64(x, "x", 1), as_f64(y, "y", 1), nan_policy=nan_policy)


def pearson(x: Any, y: Any, *, nan_policy: str = "raise") -> float:
    """Pearson r, as ``scipy.stats.pearsonr(x, y).statistic``.

    Args:
        x: 1-D real values.
        y: 1-D real values, same length.
        nan_policy: ``"raise"`` or ``"omit"``.

    Returns:
        r in [-1, 1], or ``nan`` when either side is constant.

    >>> round(pearson([1, 2, 3], [2, 4, 7]), 6)
    0.993399
    """
    return _native.pearson(as_f64(x, "x", 1), as_f64(y, "y", 1), nan_policy=nan_policy)


def top_k_precision(
    scores: Any,
    target: Any,
    k: int | None = None,
    *,
    top: float | None = None,
    nan_policy: str = "raise",
) -> float:
    """Share of the true top-k architectures that the proxy's top-k contains.

    Higher is better for both ``scores`` and ``target``; ties at the cut go to the lower
    index. Give either ``k`` (a count) or ``top`` (a fraction, ``k = ceil(top * n)``).

    Args:
        scores: proxy scores, 1-D.
        target: ground truth (e.g. test accuracy), 1-D, same length.
        k: how many architectures form the top.
        top: fraction of architectures that form the top, in (0, 1].
        nan_policy: ``"raise"`` or ``"omit"``.

    Returns:
        precision in [0, 1].

    >>> top_k_precision([5, 4, 3, 2, 1], [1, 5, 3, 4, 2], k=2)
    0.5
    """
    s = as_f64(scores, "scores", 1)
    t = as_f64(target, "target", 1)
    if (k is None) == (top is None):
        raise ZcnasError("give exactly one of `k` and `top`")
    if top is not None:
        if not 0.0 < top <= 1.0:
            raise ZcnasError(f"`top` must be a fraction in (0, 1], got {top}")
        usable = int((np.isfinite(s) & np.isfinite(t)).sum())
        k = max(1, int(np.ceil(top * usable)))
    if k is None or int(k) != k or k < 1:
        raise ZcnasError(f"`k` must be a positive integer, got {k!r}")
    return _native.top_k_precision(s, t, int(k), nan_policy=nan_policy)


def kendall_tau_top(
    scores: Any, target: Any, *, top: float = 0.1, nan_policy: str = "raise"
) -> float:
    """Kendall tau-b on the architectures whose ``target`` is in the top ``top`` fraction.

    This is the "top-10% Kendall tau" of zero-cost proxy studies: how well a proxy orders the
    good architectures among themselves.

    Args:
        scores: proxy scores, 1-D.
        target: ground truth, 1-D, same length.
        top: fraction in (0, 1]; ``k = ceil(top * n)`` architectures are kept.
        nan_policy: ``"raise"`` or ``"omit"``.

    Returns:
        tau-b on the subset.

    >>> kendall_tau_top([0, 1, 2, 3, 4, 5, 6, 7, 9, 8], list(range(10)), top=0.2)
    -1.0
    """
    return _native.kendall_tau_top(
        as_f64(scores, "scores", 1), as_f64(target, "target", 1), top, nan_policy=nan_policy
    )


def _batch(fn: Any, x: Any, y: Any, nan_policy: str) -> np.ndarray:
    return fn(as_f64(x, "x", 2), as_f64(y, "y", (1, 2)), nan_policy=nan_policy)


def kendall_tau_batch(x: Any, y: Any, *, nan_policy: str = "raise") -> np.ndarray:
    """Kendall tau-b of every row of ``x`` against ``y``, in parallel with the GIL released.

    Args:
        x: ``(b, n)`` score vectors.
        y: one target of shape ``(n,)`` (sorted once, shared by all rows) or ``(b, n)``
            targets paired row by row.
        nan_policy: ``"raise"`` or ``"omit"`` (applied row by row).

    Returns:
        ``(b,)`` float64 array; row ``i`` equals ``kendall_tau(x[i], y or y[i])``.

    >>> kendall_tau_batch([[1, 2, 3], [3, 2, 1]], [1, 2, 3]).tolist()
    [1.0, -1.0]
    """
    return _batch(_native.kendall_tau_batch, x, y, nan_policy)


def spearman_batch(x: Any, y: Any, *, nan_policy: str = "raise") -> np.ndarray:
    """Spearman rho of every row of ``x`` against ``y``; shapes as :func:`kendall_tau_batch`.

    >>> spearman_batch([[1, 2, 3], [1, 3, 2]], [[1, 2, 3], [3, 2, 1]]).round(6).tolist()
    [1.0, -0.5]
    """
    return _batch(_native.spearman_batch, x, y, nan_policy)


def pearson_batch(x: Any, y: Any, *, nan_policy: str = "raise") -> np.ndarray:
    """Pearson r of every row of ``x`` against ``y``; shapes as :func:`kendall_tau_batch`.

    >>> [round(r, 6) for r in pearson_batch([[1, 2, 3], [1, 2, 4]], [1, 2, 3]).tolist()]
    [1.0, 0.981981]
    """
    return _batch(_native.pearson_batch, x, y, nan_policy)
