"""Predictor-based search (BANANAS- and NPENAS-style) with zero-cost proxy features.

The setting of NAS-Bench-Suite-Zero's Section 5 (Figure 5): a surrogate model, gradient-boosted
trees, predicts an architecture's accuracy from its features; it is retrained on every
architecture queried so far, and proposes the next ones; "training" an architecture is a lookup
in the embedded benchmark (:class:`~zcnas.search.problem.Oracle`) under a query budget.
Features are the architecture encoding (one-hot op per edge / choice per layer), the proxy
scores, or both (``features="encoding" | "proxies" | "both"``).

Each iteration:

1. fit ``ensemble`` boosted-tree models (different seeds, row and feature bagging) on the
   queried architectures (target: the accuracy the oracle returned);
2. propose ``n_candidates`` unqueried architectures by mutating (one gene) the
   ``n_parents`` best queried ones (NASLib's ``acq_fn_optimization: mutation``; the NB201
   mutation of :meth:`SearchSpace.mutate`), or, with ``candidates="random"``, uniformly;
3. pick ``batch_size`` of them to query: ``strategy="bananas"``: independent Thompson sampling
   (one draw from N(mean, std) of the ensemble per candidate, the largest draws win);
   ``strategy="npenas"``: the largest ensemble mean (NPENAS-NP's deterministic predictor
   guiding the evolution's offspring selection).

The first ``n_init`` queries are uniform. Departures from the paper's NASLib runs: LightGBM
instead of XGBoost (same model family; :func:`fit_gbdt` is the single place the model is made,
so the analysis suite's surrogate can replace it); BANANAS' path encoding is replaced by the
one-hot encoding NASLib uses for its tree models; NPENAS uses the same ensemble (mean only)
instead of a graph network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from zcnas.exceptions import ZcnasError
from zcnas.search.evolution import SearchResult, _positive, _setup
from zcnas.search.problem import Constraint, Oracle, as_rng
from zcnas.search.trajectory import TrajectoryRecorder

__all__ = ["FEATURES", "STRATEGIES", "fit_gbdt", "predictor_search"]

FEATURES = ("encoding", "proxies", "both")
STRATEGIES = ("bananas", "npenas")

#: LightGBM settings for the tiny training sets of a search (10..200 rows).
GBDT_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 2,
    "min_data_in_bin": 1,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
}


def fit_gbdt(
    X: np.ndarray, y: np.ndarray, *, seed: int = 0, rounds: int = 100, **params: Any
) -> Callable[[np.ndarray], np.ndarray]:
    """Fit gradient-boosted regression trees (LightGBM) and return their predict function.

    The one place the search builds its surrogate (to be folded into the analysis suite's).

    Args:
        X: ``(n, d)`` features; y: ``(n,)`` targets (finite).
        seed: LightGBM seed (bagging and feature sampling).
        rounds: boosting rounds.
        **params: overrides of :data:`GBDT_PARAMS`.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3)); y = X[:, 0] * 2
    >>> f = fit_gbdt(X, y)
    >>> float(np.corrcoef(f(X), y)[0, 1]) > 0.9
    True
    """
    from zcnas._optional import require

    lgb = require("lightgbm", "the boosted-tree surrogate")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or len(X) != len(y) or len(y) < 2:
        raise ZcnasError(
            f"fit_gbdt needs X (n, d) and y (n,) with n >= 2, got {X.shape}, {y.shape}"
        )
    if not np.isfinite(y).all():
        raise ZcnasError("fit_gbdt: targets must be finite")
    p = GBDT_PARAMS | {"seed": int(seed)} | params
    booster = lgb.train(p, lgb.Dataset(X, y, params={"verbose": -1}), num_boost_round=rounds)
    return lambda Z: np.asarray(booster.predict(np.asarray(Z, dtype=np.float64)))


def _features(space: Any, proxies: Any, features: str, archs: np.ndarray) -> np.ndarray:
    parts = []
    if features in ("encoding", "both"):
        parts.append(space.encode(archs))
    if features in ("proxies", "both"):
        sc = np.asarray(proxies(archs), dtype=np.float64)
        parts.append(np.where(np.isfinite(sc), sc, np.nan))  # LightGBM handles NaN natively
    return np.hstack(parts)


def predictor_search(
    space: Any,
    oracle: Oracle | None = None,
    *,
    strategy: str = "bananas",
    features: str = "encoding",
    proxies: Any = None,
    budget: int = 200,
    n_init: int = 10,
    batch_size: int = 10,
    n_candidates: int = 100,
    n_parents: int = 10,
    candidates: str = "mutation",
    ensemble: int = 3,
    rounds: int = 100,
    constraint: Constraint | None = None,
    rng: Any = None,
    progress: bool = False,
) -> SearchResult:
    """BANANAS- or NPENAS-style search with a boosted-tree surrogate (module docstring).

    Args:
        space: a SearchSpace (or ``"nb201"`` / ``"macro"``).
        oracle: ground truth (queried for ``fitness``, ``test`` reported).
        strategy: ``"bananas"`` (Thompson sampling over the ensemble) or ``"npenas"``
            (ensemble mean).
        features: ``"encoding"``, ``"proxies"`` or ``"both"``.
        proxies: proxy source for proxy features (every candidate is scored, so a live source
            costs one proxy evaluation per candidate).
        budget: total benchmark queries.
        n_init: initial uniform queries.
        batch_size: queries per iteration.
        n_candidates: mutated candidates per iteration.
        n_parents: candidates are children of this many best queried architectures.
        candidates: ``"mutation"`` (children of the best, default) or ``"random"`` (uniform
            unqueried architectures: NASLib's ``random_sampling`` acquisition optimiser).
        ensemble: surrogate models (>= 2 for a Thompson-sampling spread).
        rounds: boosting rounds per model.
        constraint: FLOPs / params / latency budget.
        rng: seed or Generator.
        progress: show a progress bar.

    Returns:
        A SearchResult; the incumbent is the best queried accuracy.
    """
    if strategy not in STRATEGIES:
        raise ZcnasError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if features not in FEATURES:
        raise ZcnasError(f"features must be one of {FEATURES}, got {features!r}")
    if candidates not in ("mutation", "random"):
        raise ZcnasError(f"candidates must be 'mutation' or 'random', got {candidates!r}")
    if features != "encoding" and proxies is None:
        raise ZcnasError(f"features={features!r} needs a proxy source")
    budget = _positive("budget", budget)
    n_init = min(_positive("n_init", n_init), budget)
    for name, v in (("batch_size", batch_size), ("n_candidates", n_candidates)):
        _positive(name, v)
    _positive("n_parents", n_parents)
    _positive("ensemble", ensemble)
    space, oracle = _setup(space, constraint, oracle)
    gen = as_rng(rng)
    names = list(getattr(proxies, "names", [])) if features != "encoding" else []
    rec = TrajectoryRecorder(
        f"{strategy}[{features}]",
        "queries",
        oracle.test,
        {
            "strategy": strategy,
            "features": features,
            "proxies": names,
            "n_init": n_init,
            "candidates": candidates,
        },
    )
    queried: list[int] = []
    values: list[float] = []
    seen: set[int] = set()
    best = [-np.inf, -1]

    def query(a: int) -> None:
        v = oracle.fitness(a)
        queried.append(a)
        values.append(v)
        seen.add(a)
        if v > best[0] or best[1] < 0:
            best[0], best[1] = v, a
        rec.step(a, v, best[1])

    for a in space.sample(n_init, gen, replace=False):
        query(int(a))
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress()
        bar.start()
        task = bar.add_task(f"{strategy}[{features}]", total=budget, completed=len(queried))
    try:
        while len(queried) < budget and len(seen) < space.size:
            y = np.asarray(values)
            ok = np.isfinite(y)
            X = _features(space, proxies, features, np.asarray(queried)[ok])
            models = [
                fit_gbdt(X, y[ok], seed=int(gen.integers(2**31)), rounds=rounds)
                for _ in range(ensemble)
            ]
            order = np.argsort(-np.where(ok, y, -np.inf), kind="stable")[:n_parents]
            parents = [queried[i] for i in order]
            cands: list[int] = []
            cset: set[int] = set()
            tries = 0
            while (
                candidates == "mutation" and len(cands) < n_candidates and tries < 20 * n_candidates
            ):
                tries += 1
                c = space.mutate(parents[tries % len(parents)], gen)
                if c not in seen and c not in cset:
                    cands.append(c)
                    cset.add(c)
            while len(cands) < min(n_candidates, space.size - len(seen)):  # random (or stuck)
                c = int(space.sample(1, gen)[0])
                if c not in seen and c not in cset:
                    cands.append(c)
                    cset.add(c)
            if not cands:
                break
            C = np.asarray(cands)
            preds = np.stack([m(_features(space, proxies, features, C)) for m in models])
            mean = preds.mean(axis=0)
            if strategy == "bananas":
                std = preds.std(axis=0, ddof=1) if ensemble > 1 else np.zeros_like(mean)
                acq = gen.normal(mean, std)
            else:
                acq = mean
            take = C[np.argsort(-acq, kind="stable")[: min(batch_size, budget - len(queried))]]
            for a in take:
                query(int(a))
            if bar is not None:
                bar.update(task, completed=len(queried))
    finally:
        if bar is not None:
            bar.stop()
    traj = rec.finish()
    return SearchResult(traj.best_arch, traj, np.asarray(queried))
