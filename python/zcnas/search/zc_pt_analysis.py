"""Zero-Cost-PT analysis on NAS-Bench-201 (paper Sec. 3.2): the best-acc / avg-acc oracles
per (edge, op) (:func:`nb201_oracle`), the per-edge Spearman agreement of operation scores
with them (:func:`edge_correlation`), scores at every iteration of a discretisation
(:func:`progressive_scores`), the architecture the scores select (:func:`select_by_scores`)
and its benchmark rank (:func:`nb201_rank`). Part of :mod:`zcnas.search.zc_pt`, which
re-exports every public name here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from zcnas import stats
from zcnas.exceptions import ZcnasError
from zcnas.search.zc_pt_scoring import ImageBatches, Scorer, _row_best, operation_scores
from zcnas.spaces import nb201
from zcnas.spaces.supernet import Supernet

__all__ = [
    "edge_correlation",
    "nb201_oracle",
    "nb201_rank",
    "progressive_scores",
    "select_by_scores",
]

# ------------------------------------------------------------------------------ analysis (NB201)


def _nb201_op_matrix() -> np.ndarray:
    from zcnas.bench import load_nb201

    strs = load_nb201()["arch_str"]
    ids = {name: k for k, name in enumerate(nb201.OPS)}
    return np.array([[ids[o] for o in nb201.str_to_ops(str(s))] for s in strs], dtype=np.int8)


_OP_MATRIX: list[np.ndarray] = []


def _op_matrix() -> np.ndarray:
    if not _OP_MATRIX:
        _OP_MATRIX.append(_nb201_op_matrix())
    return _OP_MATRIX[0]


def nb201_oracle(
    kind: str = "best-acc", dataset: str = "cifar10", fixed: dict[int, int] | None = None
) -> np.ndarray:
    """The oracle operation scores of NAS-Bench-201 (paper Eq. 1 and its average variant).

    ``best-acc[e, o]`` is the highest test accuracy of all architectures with op ``o`` on edge
    ``e`` (and the ops of ``fixed`` on their edges: the fully discretised networks reachable
    from a partially discretised supernet); ``avg-acc`` the mean. Accuracies are the embedded
    table's (mean over seeds). Higher = better.

    Args:
        kind: ``"best-acc"`` or ``"avg-acc"``.
        dataset: ``cifar10``, ``cifar100`` or ``imagenet16``.
        fixed: edge -> op index (:data:`zcnas.spaces.nb201.OPS` order) already discretised.

    Returns:
        ``(6, 5)`` float64 (rows :data:`nb201.EDGES`, columns :data:`nb201.OPS`); NaN where no
        architecture qualifies (a fixed edge's other ops).

    >>> o = nb201_oracle("best-acc")
    >>> round(float(o.max()), 2)  # the best NB201 CIFAR-10 test accuracy
    94.37
    """
    from zcnas.bench import load_nb201

    if kind not in ("best-acc", "avg-acc"):
        raise ZcnasError(f"unknown oracle {kind!r}; expected 'best-acc' or 'avg-acc'")
    acc = load_nb201().test_accuracy(dataset)
    ops = _op_matrix()
    mask = np.ones(len(acc), dtype=bool)
    for e, o in (fixed or {}).items():
        mask &= ops[:, int(e)] == int(o)
    out = np.full((6, 5), np.nan)
    for e in range(6):
        for o in range(5):
            sel = acc[mask & (ops[:, e] == o)]
            if sel.size:
                out[e, o] = sel.max() if kind == "best-acc" else sel.mean()
    return out


def edge_correlation(scores: np.ndarray, oracle: np.ndarray, edges: Iterable[int] | None = None):
    """Mean over edges of the Spearman rho between a scoring function's and an oracle's
    operation scores on that edge (paper Sec. 3.2 / A.3), via :func:`zcnas.stats.spearman`.

    Args:
        scores, oracle: ``(E, O)`` matrices (higher = better); NaN entries of either are left
            out of that edge.
        edges: rows to use (default: rows where ``scores`` has at least 2 finite entries).

    Returns:
        ``(mean, per_edge)``: the mean rho (NaN if no edge qualifies) and a dict edge -> rho
        (NaN for an edge whose scores are constant).
    """
    s, t = np.asarray(scores, dtype=np.float64), np.asarray(oracle, dtype=np.float64)
    if s.shape != t.shape or s.ndim != 2:
        raise ZcnasError(f"scores {s.shape} and oracle {t.shape} must be equal 2-D shapes")
    rows = range(s.shape[0]) if edges is None else edges
    per: dict[int, float] = {}
    for e in rows:
        ok = np.isfinite(s[e]) & np.isfinite(t[e])
        if ok.sum() < 2:
            continue
        a, b = s[e, ok], t[e, ok]
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            per[int(e)] = float("nan")
        else:
            per[int(e)] = float(stats.spearman(a, b))
    vals = [v for v in per.values() if np.isfinite(v)]
    return (float(np.mean(vals)) if vals else float("nan")), per


def select_by_scores(scores: np.ndarray) -> str:
    """The NB201 architecture picking on every edge the op with the best score (Table 1); a
    tie goes to the first op in :data:`zcnas.spaces.nb201.OPS` order.

    >>> nb201_rank(select_by_scores(nb201_oracle("avg-acc")))  # paper Table 1: 166
    167
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (6, 5):
        raise ZcnasError(f"NB201 scores must be 6 x 5, got {s.shape}")
    return nb201.ops_to_str([nb201.OPS[_row_best(s[e], range(5))] for e in range(6)])


def nb201_rank(arch: Any, dataset: str = "cifar10") -> int:
    """Rank of an architecture among the 15,625 by test accuracy (1 = best; ties share the
    best rank: 1 + the number of strictly better architectures).

    >>> nb201_rank(6111)
    1
    """
    from zcnas.bench import load_nb201

    acc = load_nb201().test_accuracy(dataset)
    return int((acc > acc[nb201.to_index(arch)]).sum()) + 1


def progressive_scores(
    net: Supernet,
    scorer: Scorer,
    batches: ImageBatches,
    *,
    method: str = "zc-pt",
    rng: Any = None,
) -> list[tuple[dict[int, int], np.ndarray]]:
    """Operation scores at every iteration of a discretisation (paper Sec. 3.2, progressive).

    At iteration ``t`` every undecided edge is scored (one fresh minibatch), then a random
    undecided edge is discretised to its best op under the same scores. No retraining happens
    between iterations (zero-cost scoring functions need none).

    Returns:
        Per iteration, ``(fixed, scores)``: the edges discretised before it (edge -> op) and
        the ``(E, O)`` scores (NaN on decided edges). Iteration 0 is the initial setting.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    net.reset(gen)
    out = []
    while net.candidate_edges():
        remaining = net.candidate_edges()
        x, y = batches.draw()
        m = operation_scores(net, scorer, x, y, method=method, edges=remaining)
        out.append((dict(net.projected), m))
        e = int(remaining[int(gen.integers(len(remaining)))])
        net.project(e, _row_best(m[e], net.selectable))
    return out
