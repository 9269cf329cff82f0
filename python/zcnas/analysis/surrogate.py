"""Gradient-boosted surrogate models with proxy features (NAS-Bench-Suite-Zero Section 5,
Appendix E: Tables 9-10, Figures 17, 20-21).

:class:`Surrogate` / :func:`fit_surrogate` wrap LightGBM (the paper uses XGBoost; both are
gradient-boosted trees) so that a fit is deterministic and quiet: ``deterministic=True``,
``num_threads=1``, a fixed ``seed``, ``verbose=-1``, and numpy arrays in and out (no feature
names, so no feature-name warnings). The default hyper-parameters follow XGBoost's defaults as
NASLib uses them (depth 6, learning rate 0.3 in XGBoost; here depth 6, learning rate 0.1 with
more rounds, which behaves more smoothly on 100 training points), with LightGBM's minimum leaf
and bin sizes lowered so that trees can split on a training set of 100 architectures. These
values were chosen a priori, not tuned on the benchmark data.

The protocol of the paper (:func:`surrogate_trials`): in each trial sample ``n_train``
training and ``n_test`` disjoint test architectures, fit on the features (``"encoding"``,
``"proxies"`` or ``"both"``) and report the Spearman correlation between predictions and the
ground truth of the test set; 100 trials of 100 / 1,000 by default. When a task has fewer than
``n_train + n_test`` architectures, the test set is every architecture left after the training
set (stated in the ``n_test`` column).

Encodings (:func:`encode`): NB201 one-hot of the op on each of the 6 edges (NASLib op order);
NB101 the 21 upper-triangular adjacency bits plus a one-hot of the 5 intermediate ops; every
other space (NB301 compact genotypes, TransNAS-Bench-101 tuples) a one-hot of each integer
position of the stored key (for NB301: input node and op id of each of the 16 edges), the
values of a position taken from the architectures encoded together.

Feature importance: the number of splits that use each feature (XGBoost's default "weight"
importance, which the paper plots), averaged over trials.

Parallel trials: :func:`surrogate_trials`, :func:`proxy_importance` and
:func:`proxy_ablation` take ``pool``, any :class:`concurrent.futures.Executor` (e.g.
:func:`process_pool`). The train/test splits are drawn in the calling process from the same
``seed`` stream as the serial loop, each trial's fits run in a worker with the trial's own
LightGBM seed (``seed + trial``), and the results are gathered in trial order, so the returned
frames are identical to the serial ones (``pool=None``) for the same seeds.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from zcnas import stats
from zcnas.analysis.data import TaskData
from zcnas.exceptions import ZcnasError

__all__ = [
    "DEFAULT_PARAMS",
    "FEATURE_SETS",
    "Surrogate",
    "encode",
    "features",
    "fit_surrogate",
    "process_pool",
    "proxy_ablation",
    "proxy_importance",
    "surrogate_trials",
    "usable_cpus",
]

FEATURE_SETS = ("encoding", "proxies", "both")

#: LightGBM parameters of :func:`fit_surrogate` (see the module docstring).
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "max_depth": 6,
    "min_data_in_leaf": 2,
    "min_data_in_bin": 1,
    "min_sum_hessian_in_leaf": 1e-3,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
#: Boosting rounds of :func:`fit_surrogate`.
DEFAULT_ROUNDS = 200


class Surrogate:
    """A fitted gradient-boosted regressor (higher prediction = predicted better).

    Create with :func:`fit_surrogate`. Attributes: ``n_features``, ``params``, ``rounds``.
    """

    def __init__(self, booster: Any, n_features: int, params: dict[str, Any], rounds: int):
        self._booster = booster
        self.n_features = n_features
        self.params = params
        self.rounds = rounds

    def predict(self, x: Any) -> np.ndarray:
        """Predictions for an ``(m, n_features)`` array."""
        arr = np.ascontiguousarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ZcnasError(f"x must be (m, {self.n_features}), got shape {arr.shape}")
        return np.asarray(self._booster.predict(arr, num_threads=1), dtype=np.float64)

    def feature_importance(self, kind: str = "split") -> np.ndarray:
        """Per-feature importance: ``"split"`` (number of splits, XGBoost's "weight") or
        ``"gain"`` (total loss reduction)."""
        if kind not in ("split", "gain"):
            raise ZcnasError(f"kind must be 'split' or 'gain', got {kind!r}")
        return np.asarray(self._booster.feature_importance(importance_type=kind), dtype=float)


def fit_surrogate(
    x: Any,
    y: Any,
    *,
    seed: int = 0,
    rounds: int = DEFAULT_ROUNDS,
    params: Mapping[str, Any] | None = None,
) -> Surrogate:
    """Fit a deterministic LightGBM regressor.

    Args:
        x: ``(n, d)`` features (finite floats).
        y: ``(n,)`` targets (e.g. validation accuracy).
        seed: LightGBM seed (all of its random streams).
        rounds: Boosting rounds.
        params: Overrides of :data:`DEFAULT_PARAMS`.

    Returns:
        The fitted :class:`Surrogate`.

    Raises:
        ZcnasError: Bad shapes, non-finite values, fewer than 2 samples.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((200, 3)); y = x[:, 0] + 0.01 * rng.random(200)
    >>> m = fit_surrogate(x, y)
    >>> stats.spearman(m.predict(x), y) > 0.95
    True
    """
    from zcnas._optional import require

    lgb = require("lightgbm", "the LightGBM surrogate")
    xa = np.ascontiguousarray(x, dtype=np.float64)
    ya = np.ascontiguousarray(y, dtype=np.float64)
    if xa.ndim != 2 or ya.ndim != 1 or xa.shape[0] != ya.shape[0]:
        raise ZcnasError(f"x must be (n, d) and y (n,), got {xa.shape} and {ya.shape}")
    if xa.shape[0] < 2 or xa.shape[1] < 1:
        raise ZcnasError(f"need at least 2 samples and 1 feature, got {xa.shape}")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ZcnasError("features and targets must be finite")
    if int(rounds) != rounds or rounds < 1:
        raise ZcnasError(f"rounds must be a positive integer, got {rounds!r}")
    p = {**DEFAULT_PARAMS, **dict(params or {}), "seed": int(seed)}
    # The Dataset gets the fit's thread count too: without it LightGBM bins the data with
    # OpenMP's default team, whose idle threads then spin through every boosting round
    # (about 1.5x the CPU time of a fit, same model). keep_training_booster skips a
    # model -> text -> model round trip that yields the same trees.
    ds = lgb.Dataset(
        xa,
        label=ya,
        params={
            "verbose": -1,
            "min_data_in_bin": p["min_data_in_bin"],
            "num_threads": p["num_threads"],
        },
        free_raw_data=True,
    )
    booster = lgb.train(p, ds, num_boost_round=int(rounds), keep_training_booster=True)
    return Surrogate(booster, xa.shape[1], p, int(rounds))


# ----------------------------------------------------------------------- parallel trials


def _pool_worker_setup() -> None:
    """First call in every :func:`process_pool` worker: one thread for OpenMP and the Rust
    core, so that the workers share the cores instead of oversubscribing them."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import zcnas

    zcnas.set_num_threads(1)


def process_pool(workers: int | None = None) -> Executor:
    """A process pool for the ``pool`` argument of the trial functions (and of
    :func:`zcnas.analysis.report.run_analysis` through ``AnalysisConfig.workers``).

    ``spawn`` start method (a script must guard its entry point with
    ``if __name__ == "__main__":``); each worker uses one OpenMP / zcnas thread. Use it as a
    context manager (``with process_pool(2) as pool: ...``) so that the workers exit.

    Args:
        workers: Processes (default: the CPUs this process may run on).

    Raises:
        ZcnasError: ``workers`` < 1.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    n = usable_cpus() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ZcnasError(f"workers must be a positive integer, got {workers!r}")
    return ProcessPoolExecutor(
        max_workers=n, mp_context=mp.get_context("spawn"), initializer=_pool_worker_setup
    )


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _map(pool: Executor | None, fn: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
    """``[fn(j) for j in jobs]``, in a pool when given; results in job order."""
    if pool is None:
        return [fn(j) for j in jobs]
    return list(pool.map(fn, jobs))


def _splits(
    n: int, n_train: int, n_test: int, trials: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The train/test splits of ``trials`` trials: one ``seed`` stream, drawn in order."""
    rng = np.random.default_rng(seed)
    return [_split(n, n_train, n_test, rng) for _ in range(int(trials))]


def _trial_job(job: tuple[Any, ...]) -> list[dict[str, Any]]:
    """One trial of :func:`surrogate_trials`: one fit per feature set on the same split."""
    label, trial, seed, rounds, params, ytr, yte, feats = job
    rows = []
    for k, (xtr, xte) in feats:
        pred = fit_surrogate(xtr, ytr, seed=seed, rounds=rounds, params=params).predict(xte)
        rows.append(
            {
                "task": label,
                "features": k,
                "trial": trial,
                "n_train": len(ytr),
                "n_test": len(yte),
                "spearman": stats.spearman(pred, yte),
                "kendall": stats.kendall_tau(pred, yte),
            }
        )
    return rows


def _importance_job(job: tuple[Any, ...]) -> np.ndarray:
    xtr, ytr, seed, rounds = job
    return fit_surrogate(xtr, ytr, seed=seed, rounds=rounds).feature_importance("split")


def _ablation_job(job: tuple[Any, ...]) -> np.ndarray:
    """One trial of :func:`proxy_ablation`: Spearman with the first 1..K proxy columns."""
    enc_tr, enc_te, xtr, xte, ytr, yte, seed, rounds = job
    out = np.empty(xtr.shape[1])
    for k in range(1, xtr.shape[1] + 1):
        a, b = xtr[:, :k], xte[:, :k]
        if enc_tr is not None:
            a, b = np.hstack([enc_tr, a]), np.hstack([enc_te, b])
        out[k - 1] = stats.spearman(fit_surrogate(a, ytr, seed=seed, rounds=rounds).predict(b), yte)
    return out


# ----------------------------------------------------------------------------- encodings


def _nb201_onehot(archs: np.ndarray) -> np.ndarray:
    from zcnas.bench import load_nb201

    enc = load_nb201()["naslib_enc"]
    try:
        digits = np.array([[int(c) for c in str(enc[int(a)])] for a in archs])
    except (ValueError, IndexError):
        raise ZcnasError("NB201 arch keys must be indices 0..15624") from None
    out = np.zeros((len(archs), 6, 5))
    np.put_along_axis(out, digits[:, :, None], 1.0, axis=2)
    return out.reshape(len(archs), 30)


def _nb101(archs: np.ndarray) -> np.ndarray:
    iu = np.triu_indices(7, 1)
    rows = []
    for a in archs:
        t = ast.literal_eval(a)
        if len(t) != 56:
            raise ZcnasError(f"NB101 arch {a!r}: expected 49 adjacency bits + 7 op ids")
        adj = np.array(t[:49], dtype=float).reshape(7, 7)[iu]
        ops = np.zeros((5, 3))
        for v, o in enumerate(t[50:55]):
            if o in (2, 3, 4):
                ops[v, o - 2] = 1.0
        rows.append(np.concatenate([adj, ops.ravel()]))
    return np.array(rows)


def _positional_onehot(archs: np.ndarray) -> np.ndarray:
    ints = [[int(v) for v in re.findall(r"-?\d+", a)] for a in archs]
    width = {len(r) for r in ints}
    if len(width) != 1 or not ints or not ints[0]:
        raise ZcnasError("architecture keys do not share one integer layout; cannot encode")
    arr = np.array(ints)
    cols = []
    for j in range(arr.shape[1]):
        values = np.unique(arr[:, j])
        if values.size > 1:
            cols.append((arr[:, j][:, None] == values[None, :]).astype(float))
    return np.hstack(cols) if cols else np.zeros((len(archs), 1))


def encode(space: str, archs: Sequence[str] | np.ndarray) -> np.ndarray:
    """Architecture encoding used as surrogate features (see the module docstring).

    >>> encode("nasbench201", ["0", "1"]).shape
    (2, 30)
    """
    a = np.asarray(archs).astype(str)
    if a.ndim != 1 or a.size == 0:
        raise ZcnasError("archs must be a non-empty 1-D sequence of keys")
    if space == "nasbench201":
        return _nb201_onehot(a)
    if space == "nasbench101":
        return _nb101(a)
    return _positional_onehot(a)


def features(
    task: TaskData, kind: str = "both", proxies: Sequence[str] | None = None
) -> np.ndarray:
    """Surrogate features of a task: ``"encoding"``, ``"proxies"`` or ``"both"`` (encoding
    then proxies). ``proxies`` selects proxy columns (default: all)."""
    if kind not in FEATURE_SETS:
        raise ZcnasError(f"kind must be one of {FEATURE_SETS}, got {kind!r}")
    cols = task.scores if proxies is None else task.select(proxies).scores
    if kind == "proxies":
        return np.ascontiguousarray(cols)
    enc = encode(task.space, task.archs)
    return enc if kind == "encoding" else np.hstack([enc, cols])


def _split(n: int, n_train: int, n_test: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    if n_train < 2 or n_train >= n:
        raise ZcnasError(f"n_train must be in [2, {n - 1}] for {n} architectures, got {n_train}")
    perm = rng.permutation(n)
    test = perm[n_train : n_train + n_test]
    return perm[:n_train], test


def surrogate_trials(
    task: TaskData,
    *,
    feature_sets: Sequence[str] = FEATURE_SETS,
    n_train: int = 100,
    n_test: int = 1000,
    trials: int = 100,
    seed: int = 0,
    rounds: int = DEFAULT_ROUNDS,
    params: Mapping[str, Any] | None = None,
    progress: bool = False,
    pool: Executor | None = None,
) -> pd.DataFrame:
    """The paper's standalone-predictor experiment on one task.

    Every trial uses the same train/test split for all feature sets. ``pool`` (an executor,
    see :func:`process_pool`) runs the trials in parallel with the same results.

    Returns:
        One row per trial and feature set: ``task``, ``features``, ``trial``, ``n_train``,
        ``n_test``, ``spearman``, ``kendall`` (of test predictions vs ground truth).
    """
    from zcnas.analysis._progress import iterate

    if int(trials) != trials or trials < 1:
        raise ZcnasError(f"trials must be a positive integer, got {trials!r}")
    feats = {k: features(task, k) for k in feature_sets}
    splits = _splits(task.n, n_train, n_test, int(trials), seed)
    p = None if params is None else dict(params)
    jobs = [
        (
            task.label,
            trial,
            seed + trial,
            rounds,
            p,
            task.truth[tr],
            task.truth[te],
            [(k, (x[tr], x[te])) for k, x in feats.items()],
        )
        for trial, (tr, te) in enumerate(splits)
    ]
    if pool is None:
        rows = [
            r for job in iterate(jobs, f"surrogate {task.label}", progress) for r in _trial_job(job)
        ]
    else:
        rows = [r for part in _map(pool, _trial_job, jobs) for r in part]
    return pd.DataFrame(rows)


def proxy_importance(
    task: TaskData,
    *,
    n_train: int = 100,
    trials: int = 20,
    seed: int = 0,
    rounds: int = DEFAULT_ROUNDS,
    pool: Executor | None = None,
) -> pd.Series:
    """Split-count importance of each proxy for a surrogate on proxies only (Figures 20-21),
    averaged over trials and normalised so that the largest is 1. ``pool``: as in
    :func:`surrogate_trials`."""
    splits = _splits(task.n, n_train, 0, int(trials), seed)
    jobs = [
        (task.scores[tr], task.truth[tr], seed + trial, rounds)
        for trial, (tr, _) in enumerate(splits)
    ]
    acc = np.zeros(len(task.proxies))
    for imp in _map(pool, _importance_job, jobs):
        acc += imp
    top = acc.max()
    return pd.Series(acc / top if top > 0 else acc, index=pd.Index(task.proxies, name="proxy"))


def proxy_ablation(
    task: TaskData,
    order: Sequence[str],
    *,
    with_encoding: bool = False,
    n_train: int = 100,
    n_test: int = 1000,
    trials: int = 20,
    seed: int = 0,
    rounds: int = DEFAULT_ROUNDS,
    pool: Executor | None = None,
) -> pd.DataFrame:
    """Spearman of the surrogate against the number of proxies used as features, adding them
    in ``order`` (the paper uses the greedy information-gain order; Figure 17). ``pool``: as
    in :func:`surrogate_trials`.

    Returns:
        One row per ``k`` with ``spearman`` (mean over trials) and ``spearman_std``.
    """
    order = list(order)
    if not order:
        raise ZcnasError("order must name at least one proxy")
    enc = encode(task.space, task.archs) if with_encoding else None
    x = task.select(order).scores
    splits = _splits(task.n, n_train, n_test, int(trials), seed)
    jobs = [
        (
            None if enc is None else enc[tr],
            None if enc is None else enc[te],
            x[tr],
            x[te],
            task.truth[tr],
            task.truth[te],
            seed + trial,
            rounds,
        )
        for trial, (tr, te) in enumerate(splits)
    ]
    res = np.array(_map(pool, _ablation_job, jobs)).reshape(int(trials), len(order))
    return pd.DataFrame(
        {
            "task": task.label,
            "k": range(1, len(order) + 1),
            "proxy": order,
            "spearman": res.mean(axis=0),
            "spearman_std": res.std(axis=0),
        }
    )
