"""Bias metrics of architectures and de-biasing of proxies (NAS-Bench-Suite-Zero Section 4.3,
Tables 3, 4 and 7).

Bias metrics (:func:`bias_metrics`), computed from the stored architecture keys:

* ``conv_pool``: number of convolutions minus number of pooling ops in the cell(s) (the
  "numerical advantage of convolution to pooling operations"). NB201: ``nor_conv_1x1``,
  ``nor_conv_3x3`` vs ``avg_pool_3x3``. NB101: ``conv1x1``/``conv3x3`` vs ``maxpool3x3`` on the
  vertices that lie on an input-to-output path (NASLib op ids 0 input, 1 output, 2 maxpool3x3,
  3 conv1x1, 4 conv3x3). NB301: ``sep_conv``/``dil_conv`` vs ``max_pool``/``avg_pool`` over the
  normal and the reduction cell.
* ``cell_size``: number of non-``none`` ops (NB201; NB101: live intermediate vertices).
* ``num_skip``: number of ``skip_connect`` ops (NB201, NB301 both cells).
* ``num_params``: NB201 from the benchmark table (``params_M_<dataset>``); elsewhere the
  stored ``params`` proxy, which is the parameter count (NaN if the task lacks it).

For each proxy (and the ground truth, row ``"gt"``) :func:`bias_table` gives the Pearson
correlation with each metric (:func:`zcnas.stats.pearson`).

De-biasing (paper Eq. 2): ``f'(a) = f(a) / (b(a) + C)``. :func:`debias` searches ``C`` by brute
force over a grid in ``[-10, 1000]`` (the paper's range), skipping any ``C`` that makes some
``b(a) + C`` zero or changes its sign across architectures (the division would then flip the
order of some architectures arbitrarily), with one of three strategies: ``"minimize"``
(smallest ``|bias|``), ``"equalize"`` (bias closest to the ground truth's bias) and
``"performance"`` (largest Pearson correlation with the ground truth). Bias and performance are
Pearson correlations, as in the paper's Table 4. Caveat of the paper's procedure, kept: on
small pools ``"performance"`` can pick ``C`` just above ``-min(b)``, where ``b + C`` is close
to zero for the architectures of smallest bias, a few divided scores dominate the Pearson
correlation and its Spearman need not improve (check ``new_perf`` against a rank correlation
before trusting such a ``C``).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd

from zcnas import stats
from zcnas.analysis.data import TaskData
from zcnas.exceptions import ZcnasError

__all__ = ["BIASES", "STRATEGIES", "bias_metrics", "bias_table", "debias", "debias_table"]

BIASES = ("conv_pool", "cell_size", "num_skip", "num_params")
STRATEGIES = ("minimize", "equalize", "performance")
_NB101_OPS = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")


@cache
def _nb201_ops() -> dict[str, tuple[str, ...]]:
    from zcnas.bench import load_nb201
    from zcnas.spaces import nb201

    strs = load_nb201()["arch_str"]
    return {str(i): nb201.str_to_ops(s) for i, s in enumerate(strs)}


def _nb201(archs: np.ndarray, task: str) -> dict[str, np.ndarray]:
    from zcnas.bench import load_nb201

    table = _nb201_ops()
    try:
        ops = [table[a] for a in archs]
    except KeyError as e:
        raise ZcnasError(f"NB201 arch key {e.args[0]!r} is not an index 0..15624") from None
    conv = np.array([sum(o.startswith("nor_conv") for o in op) for op in ops], dtype=float)
    pool = np.array([op.count("avg_pool_3x3") for op in ops], dtype=float)
    out = {
        "conv_pool": conv - pool,
        "cell_size": np.array([6 - op.count("none") for op in ops], dtype=float),
        "num_skip": np.array([op.count("skip_connect") for op in ops], dtype=float),
    }
    col = f"params_M_{task}"
    nb = load_nb201()
    if col in nb.columns:
        out["num_params"] = np.asarray(nb[col], dtype=float)[archs.astype(np.int64)]
    return out


def _nb101(archs: np.ndarray) -> dict[str, np.ndarray]:
    conv, pool, size = [], [], []
    for a in archs:
        try:
            t = ast.literal_eval(a)
        except (ValueError, SyntaxError):
            raise ZcnasError(f"NB101 arch {a!r} is not a tuple literal") from None
        if len(t) != 56:
            raise ZcnasError(f"NB101 arch {a!r}: expected 49 adjacency bits + 7 op ids")
        adj = np.array(t[:49], dtype=bool).reshape(7, 7)
        ops = t[49:]
        fwd = np.zeros(7, bool)
        fwd[0] = True
        for j in range(1, 7):
            fwd[j] = bool((adj[:j, j] & fwd[:j]).any())
        bwd = np.zeros(7, bool)
        bwd[6] = True
        for j in range(5, -1, -1):
            bwd[j] = bool((adj[j, j + 1 :] & bwd[j + 1 :]).any())
        live = [ops[v] for v in range(1, 6) if fwd[v] and bwd[v]]
        if any(not 0 <= o < len(_NB101_OPS) for o in ops):
            raise ZcnasError(f"NB101 arch {a!r}: op id outside 0..4")
        c = sum(o in (3, 4) for o in live)
        p = sum(o == 2 for o in live)
        conv.append(c)
        pool.append(p)
        size.append(len(live))
    return {
        "conv_pool": np.array(conv, float) - np.array(pool, float),
        "cell_size": np.array(size, float),
    }


def _nb301(archs: np.ndarray) -> dict[str, np.ndarray]:
    from zcnas.spaces.darts import from_naslib_nb301

    cp, skip = [], []
    for a in archs:
        g = from_naslib_nb301(a)
        ops = [op for op, _ in (*g.normal, *g.reduce)]
        cp.append(sum("conv" in o for o in ops) - sum("pool" in o for o in ops))
        skip.append(sum(o == "skip_connect" for o in ops))
    return {"conv_pool": np.array(cp, float), "num_skip": np.array(skip, float)}


def bias_metrics(task: TaskData) -> pd.DataFrame:
    """The bias metrics defined for the task's search space, one row per architecture.

    Returns:
        Index = arch keys; columns among :data:`BIASES` (only those defined for the space).
    """
    if task.space == "nasbench201":
        cols = _nb201(task.archs, task.task)
    elif task.space == "nasbench101":
        cols = _nb101(task.archs)
    elif task.space == "nasbench301":
        cols = _nb301(task.archs)
    else:
        cols = {}
    if "num_params" not in cols and "params" in task.proxies:
        cols["num_params"] = task.column("params").copy()
    return pd.DataFrame(cols, index=pd.Index(task.archs, name="arch"))


def bias_table(task: TaskData, metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pearson correlation of each proxy (rows, plus ``"gt"``) with each bias metric.

    A metric that is constant on the task gives NaN.
    """
    metrics = bias_metrics(task) if metrics is None else metrics
    rows = {}
    for name, col in [*zip(task.proxies, task.scores.T, strict=True), ("gt", task.truth)]:
        rows[name] = {m: stats.pearson(col, metrics[m].to_numpy()) for m in metrics.columns}
    out = pd.DataFrame(rows).T
    out.index.name = "proxy"
    return out


def _grid() -> np.ndarray:
    return np.unique(
        np.concatenate([np.linspace(-10.0, 10.0, 401), np.geomspace(10.0, 1000.0, 200)])
    )


def debias(
    score: Sequence[float] | np.ndarray,
    bias: Sequence[float] | np.ndarray,
    truth: Sequence[float] | np.ndarray,
    strategy: str = "performance",
    *,
    grid: Sequence[float] | np.ndarray | None = None,
) -> dict[str, float]:
    """Tune ``C`` of ``f / (b + C)`` by brute force (paper Eq. 2 and Table 4).

    Args:
        score: Proxy scores ``f(a)``.
        bias: Bias metric ``b(a)``.
        truth: Ground truth.
        strategy: ``"minimize"``, ``"equalize"`` or ``"performance"`` (module docstring).
        grid: Candidate ``C`` values (default: 601 values in ``[-10, 1000]``).

    Returns:
        ``C``, ``original_bias``, ``original_perf``, ``new_bias``, ``new_perf``
        (Pearson correlations) and ``target_bias`` (the ground truth's bias).

    Raises:
        ZcnasError: Unknown strategy, mismatched lengths, or no admissible ``C``.

    >>> rng = np.random.default_rng(0)
    >>> b = rng.integers(1, 6, 500).astype(float)
    >>> r = debias(b * (1 + 0.1 * rng.random(500)), b, rng.random(500), "minimize")
    >>> abs(r["new_bias"]) < 0.1 < abs(r["original_bias"])
    True
    """
    f = np.asarray(score, dtype=np.float64)
    b = np.asarray(bias, dtype=np.float64)
    y = np.asarray(truth, dtype=np.float64)
    if not (f.shape == b.shape == y.shape) or f.ndim != 1:
        raise ZcnasError(
            f"score, bias and truth must be equal-length 1-D, got {f.shape}, {b.shape}, {y.shape}"
        )
    if strategy not in STRATEGIES:
        raise ZcnasError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    cs = _grid() if grid is None else np.asarray(grid, dtype=np.float64)
    target = stats.pearson(y, b)
    best: tuple[float, float, float, float] | None = None
    for c in cs:
        d = b + c
        if (d == 0).any() or (d.min() < 0 < d.max()):
            continue
        g = f / d
        bias_c = stats.pearson(g, b)
        perf_c = stats.pearson(g, y)
        if not (np.isfinite(bias_c) and np.isfinite(perf_c)):
            continue
        if strategy == "minimize":
            obj = abs(bias_c)
        elif strategy == "equalize":
            obj = abs(bias_c - target)
        else:
            obj = -perf_c
        if best is None or obj < best[0]:
            best = (obj, float(c), bias_c, perf_c)
    if best is None:
        raise ZcnasError("no admissible C in the grid (b + C is zero or changes sign)")
    return {
        "C": best[1],
        "original_bias": stats.pearson(f, b),
        "original_perf": stats.pearson(f, y),
        "new_bias": best[2],
        "new_perf": best[3],
        "target_bias": target,
    }


def debias_table(
    task: TaskData,
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    strategies: Sequence[str] = STRATEGIES,
    top: int = 3,
) -> pd.DataFrame:
    """Table 4 of the paper on one task.

    Args:
        task: The task.
        pairs: ``(proxy, bias metric)`` pairs; default: the ``top`` most biased pairs by
            ``|Pearson|`` (excluding ``params``/``flops`` against ``num_params``, which are
            trivially biased).
        strategies: Strategies to run.
        top: How many pairs by default.

    Returns:
        One row per pair and strategy with the fields of :func:`debias`.
    """
    metrics = bias_metrics(task)
    if metrics.empty:
        return pd.DataFrame()
    if pairs is None:
        tab = bias_table(task, metrics).drop(index="gt")
        cand = [
            (abs(v), p, m)
            for p, row in tab.iterrows()
            for m, v in row.items()
            if np.isfinite(v) and not (m == "num_params" and p in ("params", "flops"))
        ]
        pairs = [(p, m) for _, p, m in sorted(cand, reverse=True)[:top]]
    rows = []
    for p, m in pairs:
        for s in strategies:
            try:
                r = debias(task.column(p), metrics[m].to_numpy(), task.truth, s)
            except ZcnasError:
                continue
            rows.append({"task": task.label, "proxy": p, "bias": m, "strategy": s, **r})
    return pd.DataFrame(rows)
