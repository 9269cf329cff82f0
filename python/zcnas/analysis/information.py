"""Information theory of proxies (NAS-Bench-Suite-Zero Section 4.2, Appendix D.2, Figure 4).

Accuracy ``y`` and every proxy ``z_i`` are discretised separately, then entropies are those of
the empirical (histogram) distribution over the architectures:
``H(y | z_1..z_k) = H(y, z_1..z_k) - H(z_1..z_k)``.

Discretisation (:func:`discretize`):

* ``"sturges"`` (the paper's rule, its Eq. 4): equal-width bins over ``[min, max]``, their
  number ``round(1 + 3.322 * ln(N))`` with ``N`` the sample size. The paper writes ``log``;
  with the natural logarithm ``N = 1000`` gives the 24 bins it reports (Sturges' rule proper,
  ``1 + log2 N``, would give 11), so the natural log is what it used.
* ``"percentile"`` (the paper's Figure 16 variant): the same number of bins with dividers at
  equally spaced percentiles of the data.

Entropies are in bits by default (``base=2``; the paper does not state its unit).
Information gain of adding ``z_j`` after ``z_i`` is ``H(y|z_i) - H(y|z_i,z_j)`` (not
symmetric; zero on the diagonal). k-tuple orderings (:func:`entropy_curves`): *random* (mean
over random permutations), *greedy* (add the proxy with the largest information gain at each
step) and *exhaustive* (for each k, the k-subset with the lowest conditional entropy, which
need not form an ordering). Like the paper, analyses sample ``n_sample = 1000`` architectures
(seeded) when a task has more.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from zcnas.analysis.data import TaskData
from zcnas.exceptions import ZcnasError

__all__ = [
    "conditional_entropy",
    "discretize",
    "entropy",
    "entropy_curves",
    "information_gain",
    "n_bins_paper",
    "pairwise_information",
]

STRATEGIES = ("sturges", "percentile")


def n_bins_paper(n: int) -> int:
    """The paper's number of bins, ``round(1 + 3.322 * ln(n))``.

    >>> n_bins_paper(1000)
    24
    """
    if n < 1:
        raise ZcnasError(f"sample size must be positive, got {n}")
    return max(1, round(1.0 + 3.322 * float(np.log(n))))


def discretize(
    x: Sequence[float] | np.ndarray, n_bins: int | None = None, strategy: str = "sturges"
) -> np.ndarray:
    """Bin codes ``0 .. n_bins-1`` of a 1-D sample.

    Args:
        x: Finite values.
        n_bins: Number of bins (default :func:`n_bins_paper` of the sample size).
        strategy: ``"sturges"`` (equal width, as :func:`numpy.histogram`: the maximum falls in
            the last bin) or ``"percentile"`` (dividers at equally spaced percentiles).

    Returns:
        int64 codes. A constant sample is one bin.

    >>> discretize([0.0, 0.1, 0.5, 0.9, 1.0], n_bins=2).tolist()
    [0, 0, 1, 1, 1]
    """
    v = np.asarray(x, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ZcnasError(f"x must be a non-empty 1-D array, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ZcnasError("x must be finite to be discretised")
    nb = n_bins_paper(v.size) if n_bins is None else int(n_bins)
    if nb < 1:
        raise ZcnasError(f"n_bins must be positive, got {n_bins}")
    lo, hi = float(v.min()), float(v.max())
    if hi == lo or nb == 1:
        return np.zeros(v.size, dtype=np.int64)
    if strategy == "sturges":
        inner = np.linspace(lo, hi, nb + 1)[1:-1]
    elif strategy == "percentile":
        inner = np.percentile(v, np.linspace(0.0, 100.0, nb + 1)[1:-1])
    else:
        raise ZcnasError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    return np.searchsorted(inner, v, side="right").astype(np.int64)


def _joint(codes: np.ndarray) -> np.ndarray:
    """One integer per row for the joint value of several code columns (mixed radix; the
    partial codes are relabelled densely only when the next digit could overflow int64)."""
    n = codes.shape[0]
    out = np.zeros(n, dtype=np.int64)
    span = 1
    for j in range(codes.shape[1]):
        radix = int(codes[:, j].max()) + 1
        if span * radix >= 2**62:
            out = np.unique(out, return_inverse=True)[1].reshape(n).astype(np.int64)
            span = int(out.max()) + 1
        out = out * radix + codes[:, j]
        span *= radix
    return out


def entropy(codes: np.ndarray, base: float = 2.0) -> float:
    """Entropy of the empirical joint distribution of the rows of a code matrix.

    >>> round(entropy(np.array([[0], [1], [0], [1]])), 12)
    1.0
    """
    c = np.asarray(codes)
    if c.ndim == 1:
        c = c[:, None]
    if c.shape[0] == 0:
        raise ZcnasError("entropy of an empty sample")
    if c.shape[1] == 0:
        return 0.0
    if c.dtype.kind not in "iu" or (c < 0).any():
        raise ZcnasError("codes must be non-negative integers (see discretize)")
    counts = np.unique(_joint(c.astype(np.int64)), return_counts=True)[1]
    p = counts / c.shape[0]
    return float(-(p * np.log(p)).sum() / np.log(base))


def _codes(task: TaskData, strategy: str, n_bins: int | None) -> tuple[np.ndarray, np.ndarray]:
    nb = n_bins_paper(task.n) if n_bins is None else n_bins
    z = np.column_stack(
        [discretize(task.scores[:, j], nb, strategy) for j in range(len(task.proxies))]
    )
    return z, discretize(task.truth, nb, strategy)


def _sample(task: TaskData, n_sample: int | None, seed: int) -> TaskData:
    if n_sample is None or task.n <= n_sample:
        return task
    rows = np.sort(np.random.default_rng(seed).choice(task.n, int(n_sample), replace=False))
    return task.subset(rows)


def _cond(y: np.ndarray, z: np.ndarray, cols: Sequence[int], base: float) -> float:
    if not cols:
        return entropy(y, base)
    zc = z[:, list(cols)]
    return entropy(np.column_stack([y, zc]), base) - entropy(zc, base)


def conditional_entropy(
    task: TaskData,
    proxies: Sequence[str] = (),
    *,
    strategy: str = "sturges",
    n_bins: int | None = None,
    n_sample: int | None = 1000,
    seed: int = 0,
    base: float = 2.0,
) -> float:
    """``H(y | z_proxies)`` of one task (``H(y)`` for no proxies)."""
    t = _sample(task, n_sample, seed)
    z, y = _codes(t, strategy, n_bins)
    return _cond(y, z, [t.proxies.index(p) for p in proxies], base)


def information_gain(
    task: TaskData,
    order: Sequence[str],
    *,
    strategy: str = "sturges",
    n_bins: int | None = None,
    n_sample: int | None = 1000,
    seed: int = 0,
    base: float = 2.0,
) -> pd.DataFrame:
    """Conditional entropy and information gain ``IG(z_k)`` (paper Eq. 1) along an ordering.

    Returns:
        One row per step ``k = 0..len(order)`` with ``proxy`` (added at that step),
        ``entropy`` = ``H(y | z_1..z_k)`` and ``gain`` = previous entropy minus this one.
    """
    t = _sample(task, n_sample, seed)
    z, y = _codes(t, strategy, n_bins)
    cols = [t.proxies.index(p) for p in order]
    hs = [_cond(y, z, cols[:k], base) for k in range(len(cols) + 1)]
    return pd.DataFrame(
        {
            "k": range(len(cols) + 1),
            "proxy": ["", *order],
            "entropy": hs,
            "gain": [0.0, *(-np.diff(hs))],
        }
    )


def pairwise_information(
    task: TaskData,
    *,
    strategy: str = "sturges",
    n_bins: int | None = None,
    n_sample: int | None = 1000,
    seed: int = 0,
    base: float = 2.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suite-Zero Figure 4 (top): ``H(y | z_i, z_j)`` and ``IG = H(y|z_i) - H(y|z_i, z_j)``.

    Returns:
        ``(entropy, gain)`` k x k frames; ``gain`` row = the proxy known first (``z_i``),
        column = the proxy added (``z_j``).
    """
    t = _sample(task, n_sample, seed)
    z, y = _codes(t, strategy, n_bins)
    k = len(t.proxies)
    single = np.array([_cond(y, z, [i], base) for i in range(k)])
    pair = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            pair[i, j] = pair[j, i] = _cond(y, z, [i, j] if i != j else [i], base)
    gain = single[:, None] - pair
    idx = pd.Index(t.proxies, name="proxy")
    return pd.DataFrame(pair, idx, t.proxies), pd.DataFrame(gain, idx, t.proxies)


def entropy_curves(
    task: TaskData,
    *,
    strategy: str = "sturges",
    n_bins: int | None = None,
    n_sample: int | None = 1000,
    n_random: int = 100,
    max_exhaustive: int = 13,
    seed: int = 0,
    base: float = 2.0,
    top: int | None = None,
) -> pd.DataFrame:
    """Suite-Zero Figure 4 (bottom): ``H(y | z_1..z_k)`` against ``k`` for three orderings.

    With ``top=1000`` the curves are computed on the 1,000 architectures of highest ground
    truth only (Suite-Zero Figure 16, bottom: how well proxies tell the best architectures
    apart); ``n_sample`` then samples from those.

    Args:
        task: The task.
        strategy: Discretisation (see :func:`discretize`).
        n_bins: Bins (default: the paper's rule on the sample size).
        n_sample: Architectures sampled (the paper: 1000).
        n_random: Random orderings averaged.
        max_exhaustive: Search all subsets only if the task has at most this many proxies
            (2^k subsets); otherwise the ``exhaustive`` column is NaN.
        seed: Seed of the sample and the random orderings.
        base: Logarithm base (2 = bits).
        top: Keep only this many architectures of highest ground truth first (None: all).

    Returns:
        Rows ``k = 0..K`` with ``random``, ``random_std``, ``greedy``, ``greedy_proxy`` (the
        proxy added at step k), ``exhaustive`` and ``exhaustive_set`` ("a+b+c").
    """
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 2:
            raise ZcnasError(f"top must be an integer >= 2, got {top!r}")
        if top < task.n:
            task = task.subset(np.sort(np.argsort(-task.truth, kind="stable")[: int(top)]))
    t = _sample(task, n_sample, seed)
    z, y = _codes(t, strategy, n_bins)
    k = len(t.proxies)
    rng = np.random.default_rng(seed + 1)
    rand = np.empty((int(n_random), k + 1))
    for r in range(int(n_random)):
        perm = list(rng.permutation(k))
        rand[r] = [_cond(y, z, perm[:i], base) for i in range(k + 1)]
    greedy, chosen = [_cond(y, z, [], base)], []
    left = list(range(k))
    for _ in range(k):
        hs = [_cond(y, z, [*chosen, j], base) for j in left]
        best = left[int(np.argmin(hs))]
        chosen.append(best)
        left.remove(best)
        greedy.append(float(min(hs)))
    exh = [greedy[0]] + [np.nan] * k
    exh_set = [""] * (k + 1)
    if k <= max_exhaustive:
        for size in range(1, k + 1):
            best_h, best_s = np.inf, ()
            for s in itertools.combinations(range(k), size):
                h = _cond(y, z, s, base)
                if h < best_h - 1e-12:
                    best_h, best_s = h, s
            exh[size] = best_h
            exh_set[size] = "+".join(t.proxies[i] for i in best_s)
    return pd.DataFrame(
        {
            "task": t.label,
            "k": range(k + 1),
            "random": rand.mean(axis=0) if n_random else np.nan,
            "random_std": rand.std(axis=0) if n_random else np.nan,
            "greedy": greedy,
            "greedy_proxy": ["", *(t.proxies[i] for i in chosen)],
            "exhaustive": exh,
            "exhaustive_set": exh_set,
        }
    )
