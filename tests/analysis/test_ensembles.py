"""Ensembles through the Rust aggregators."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as ss

from zcnas import rankagg
from zcnas.analysis import TaskData
from zcnas.analysis import ensembles as E
from zcnas.exceptions import ZcnasError


def _complementary(n: int = 1000, seed: int = 0) -> TaskData:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    acc = a + b
    scores = np.column_stack(
        [a + 0.2 * rng.normal(size=n), b + 0.2 * rng.normal(size=n), rng.normal(size=n)]
    )
    return TaskData.from_arrays(scores, acc, proxies=["a", "b", "noise"])


def test_aggregate_is_rankagg():
    t = _complementary()
    for m in E.AGGREGATORS:
        np.testing.assert_array_equal(
            E.aggregate_proxies(t, ["a", "b"], m), rankagg.aggregate(t.scores[:, :2], method=m)
        )
    lin = E.aggregate_proxies(t, ["a", "b"], "linear")
    ref = ss.rankdata(t.scores[:, 0]) + ss.rankdata(t.scores[:, 1])
    np.testing.assert_allclose(lin, ref)


def test_complementary_proxies_make_the_ensemble_win():
    t = _complementary()
    df = E.evaluate_ensembles(t, surrogate_train=100)
    best = E.best_ensembles(df).iloc[0]
    assert set(best.ensemble.split("+")) == {"a", "b"}
    assert best.gain > 0.1
    single = df[df.kind == "single"].iloc[0]
    assert single.spearman == pytest.approx(
        ss.spearmanr(
            t.column(single.proxies)[np.sort(np.random.default_rng(0).permutation(t.n)[500:])],
            t.truth[np.sort(np.random.default_rng(0).permutation(t.n)[500:])],
        )[0]
    )
    assert df[df.kind == "surrogate"].spearman.iloc[0] > 0.8


def test_exhaustive_search_and_errors():
    t = _complementary(400)
    df = E.evaluate_ensembles(
        t, search="exhaustive", max_size=3, methods=["linear"], surrogate_train=None
    )
    sub = df[df.kind == "subset"].iloc[0]
    assert set(sub.proxies.split("+")) == {"a", "b"}
    with pytest.raises(ZcnasError, match="aggregator"):
        E.evaluate_ensembles(t, methods=["mean"])
    with pytest.raises(ZcnasError, match="at least one"):
        E.aggregate_proxies(t, [])
