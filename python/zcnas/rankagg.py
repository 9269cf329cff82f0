"""Rank aggregation: combine several proxies into one ranking.

Each proxy column is oriented so that higher means better (``higher_is_better``), ranked
ascending with average ties (rank ``m`` = best of ``m``), and the ranks are combined. The
aggregated score is always **higher = better**:

========== ==========================================================================
method     score of architecture *i*
========== ==========================================================================
linear     sum of ranks (TE-NAS)
nonlinear  sum of ``log(rank / m)`` (AZ-NAS eq. 12): one poor rank drags the score down
borda      sum of ``rank - 1`` (architectures beaten plus half of those tied); same order
           as ``linear``
majority   Copeland score: pairwise majority wins minus losses against every other
           architecture (O(m² k); fine up to tens of thousands of architectures)
weighted   sum of ``weight * rank``
========== ==========================================================================

Scores are relative to the pool: adding an architecture changes the others' scores. For a
pool that grows during a search use :class:`IncrementalAggregator`, which never re-sorts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zcnas import _native
from zcnas._arrays import as_f64
from zcnas.exceptions import ZcnasError

METHODS = ("linear", "nonlinear", "borda", "majority", "weighted")

__all__ = ["METHODS", "IncrementalAggregator", "aggregate"]


def _directions(higher_is_better: bool | Sequence[bool], k: int) -> list[bool]:
    if isinstance(higher_is_better, bool | np.bool_):
        return [bool(higher_is_better)] * k
    hib = [bool(v) for v in higher_is_better]
    if len(hib) != k:
        raise ZcnasError(f"`higher_is_better` has {len(hib)} entries for {k} proxies (columns)")
    return hib


def _weights(weights: Any) -> list[float] | None:
    return None if weights is None else as_f64(weights, "weights", 1).tolist()


def aggregate(
    scores: Any,
    *,
    method: str = "nonlinear",
    higher_is_better: bool | Sequence[bool] = True,
    weights: Any = None,
    nan_policy: str = "raise",
) -> np.ndarray:
    """Aggregate an ``(m architectures x k proxies)`` score matrix into one score each.

    Args:
        scores: ``(m, k)`` array (numpy or torch).
        method: one of ``linear``, ``nonlinear`` (AZ-NAS), ``borda``, ``majority``,
            ``weighted``.
        higher_is_better: one flag for all proxies or one per proxy.
        weights: one weight per proxy; required by ``weighted`` and rejected otherwise.
        nan_policy: ``"raise"`` (default) or ``"lowest"`` (a NaN is the worst value of its
            proxy, as AZ-NAS maps NaN to -inf).

    Returns:
        ``(m,)`` float64 aggregated scores, higher = better.

    Raises:
        ZcnasError: unknown method, mismatched shapes or weights, NaN with ``"raise"``.

    >>> s = [[3, 1], [2, 2], [1, 3]]  # arch 1 is second on both proxies
    >>> aggregate(s, method="linear").tolist()
    [4.0, 4.0, 4.0]
    >>> int(aggregate(s, method="nonlinear").argmax())
    1
    """
    arr = as_f64(scores, "scores", 2)
    return _native.aggregate(
        arr,
        method,
        _directions(higher_is_better, arr.shape[1]),
        weights=_weights(weights),
        nan_policy=nan_policy,
    )


class IncrementalAggregator:
    """Rank aggregation over a pool that grows (or shrinks) one architecture at a time.

    Each :meth:`add` is a binary search and one shift per proxy instead of a full re-sort;
    :meth:`scores` equals :func:`aggregate` over the live members, in id order.

    Args:
        n_proxies: number of proxies k.
        method, higher_is_better, weights, nan_policy: as in :func:`aggregate`.

    >>> agg = IncrementalAggregator(2, method="nonlinear")
    >>> for row in [[3, 1], [2, 2], [1, 3]]:
    ...     _ = agg.add(row)
    >>> agg.best()
    1
    """

    def __init__(
        self,
        n_proxies: int,
        *,
        method: str = "nonlinear",
        higher_is_better: bool | Sequence[bool] = True,
        weights: Any = None,
        nan_policy: str = "raise",
    ) -> None:
        if int(n_proxies) != n_proxies or n_proxies < 1:
            raise ZcnasError(f"`n_proxies` must be a positive integer, got {n_proxies!r}")
        self.n_proxies = int(n_proxies)
        self.method = method
        self._inner = _native.IncrementalAggregator(
            method,
            _directions(higher_is_better, self.n_proxies),
            weights=_weights(weights),
            nan_policy=nan_policy,
        )

    def add(self, row: Any) -> int:
        """Add one architecture's k scores; returns its id (0, 1, 2, ...; never reused)."""
        return self._inner.add(as_f64(row, "row", 1))

    def remove(self, arch_id: int) -> None:
        """Remove a live member, e.g. the oldest in aging evolution."""
        self._inner.remove(arch_id)

    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, scores)`` of the live members, ids ascending, scores higher = better."""
        return self._inner.scores()

    def top_k(self, k: int) -> np.ndarray:
        """Ids of the ``k`` best live members, best first (ties: lower id first)."""
        ids, s = self.scores()
        order = np.lexsort((ids, -s))
        return ids[order[:k]]

    def best(self) -> int:
        """Id of the best live member."""
        if len(self) == 0:
            raise ZcnasError("the pool is empty")
        return int(self.top_k(1)[0])

    def __len__(self) -> int:
        return len(self._inner)
