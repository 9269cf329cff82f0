"""zcnas.rankagg against plain numpy/scipy re-implementations of each method."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import zcnas
from zcnas.rankagg import IncrementalAggregator, aggregate


def oriented(scores: np.ndarray, hib: list[bool]) -> np.ndarray:
    return np.where(np.array(hib), scores, -scores)


def reference(scores: np.ndarray, method: str, hib: list[bool], weights=None) -> np.ndarray:
    s = oriented(scores, hib)
    m = s.shape[0]
    ranks = np.column_stack([ss.rankdata(s[:, j]) for j in range(s.shape[1])])
    if method == "linear":
        return ranks.sum(axis=1)
    if method == "nonlinear":
        return np.log(ranks / m).sum(axis=1)
    if method == "borda":
        # points = architectures strictly beaten + half of the others tied with it
        beaten = (s[:, None, :] > s[None, :, :]).sum(axis=1)
        tied = (s[:, None, :] == s[None, :, :]).sum(axis=1) - 1
        return (beaten + 0.5 * tied).sum(axis=1)
    if method == "weighted":
        return (ranks * np.asarray(weights)).sum(axis=1)
    if method == "majority":
        votes = np.sign(s[:, None, :] - s[None, :, :]).sum(axis=2)
        return np.sign(votes).sum(axis=1)
    raise AssertionError(method)


@st.composite
def problems(draw):
    m = draw(st.integers(1, 40))
    k = draw(st.integers(1, 5))
    scores = draw(hnp.arrays(np.float64, (m, k), elements=st.integers(0, 6).map(float)))
    hib = draw(st.lists(st.booleans(), min_size=k, max_size=k))
    weights = draw(hnp.arrays(np.float64, k, elements=st.floats(0.0, 3.0)))
    return scores, hib, weights


@settings(max_examples=150, deadline=None)
@given(problems(), st.sampled_from(["linear", "nonlinear", "borda", "majority", "weighted"]))
def test_methods_match_reference(problem, method):
    scores, hib, weights = problem
    w = weights if method == "weighted" else None
    got = aggregate(scores, method=method, higher_is_better=hib, weights=w)
    np.testing.assert_allclose(got, reference(scores, method, hib, w), rtol=0, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(problems(), st.sampled_from(["linear", "nonlinear", "borda", "majority"]), st.data())
def test_incremental_equals_batch(problem, method, data):
    scores, hib, _ = problem
    agg = IncrementalAggregator(scores.shape[1], method=method, higher_is_better=hib)
    ids = [agg.add(row) for row in scores]
    assert ids == list(range(len(scores)))
    removed = data.draw(st.sets(st.sampled_from(ids), max_size=len(ids) - 1))
    for i in removed:
        agg.remove(i)
    live = [i for i in ids if i not in removed]
    got_ids, got = agg.scores()
    assert got_ids.tolist() == live
    np.testing.assert_array_equal(got, aggregate(scores[live], method=method, higher_is_better=hib))
    assert len(agg) == len(live)


def test_nonlinear_prefers_balanced_architectures():
    # AZ-NAS: linear cannot tell these apart, the log-rank sum penalises one bad rank
    s = np.array([[3, 1], [2, 2], [1, 3]], dtype=float)
    assert len(set(aggregate(s, method="linear").tolist())) == 1
    assert int(aggregate(s, method="nonlinear").argmax()) == 1


def test_direction_and_nan_lowest():
    s = np.array([[1.0, np.nan], [2.0, 5.0], [3.0, 4.0]])
    with pytest.raises(zcnas.NonFiniteError, match="`scores`"):
        aggregate(s)
    lowest = aggregate(s, method="linear", higher_is_better=[False, True], nan_policy="lowest")
    as_inf = aggregate(
        np.nan_to_num(s, nan=-np.inf), method="linear", higher_is_better=[False, True]
    )
    np.testing.assert_array_equal(lowest, as_inf)
    np.testing.assert_array_equal(lowest, [3 + 1, 2 + 3, 1 + 2])


def test_accepts_torch():
    s = torch.tensor([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])
    np.testing.assert_array_equal(
        aggregate(s, method="borda"), reference(s.numpy(), "borda", [True, True])
    )


def test_incremental_top_k_and_best():
    agg = IncrementalAggregator(2, method="linear")
    for row in ([1, 1], [5, 5], [3, 3], [4, 4]):
        agg.add(row)
    assert agg.top_k(2).tolist() == [1, 3]
    agg.remove(1)
    assert agg.best() == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "mean"}, "unknown method 'mean'"),
        ({"method": "weighted"}, "needs one weight per proxy"),
        ({"method": "linear", "weights": [1.0, 2.0]}, "only used by method 'weighted'"),
        ({"method": "weighted", "weights": [1.0]}, "`weights` has length 1"),
        ({"higher_is_better": [True]}, "`higher_is_better` has 1 entries for 2 proxies"),
        ({"nan_policy": "omit"}, "expected 'raise' or 'lowest'"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        aggregate(np.ones((3, 2)), **kwargs)


def test_incremental_errors():
    agg = IncrementalAggregator(2)
    with pytest.raises(ValueError, match="empty"):
        agg.best()
    with pytest.raises(ValueError, match="`row` has length 3"):
        agg.add([1.0, 2.0, 3.0])
    with pytest.raises(zcnas.NonFiniteError):
        agg.add([1.0, np.nan])
    with pytest.raises(ValueError, match="`id` 7 is not in the pool"):
        agg.remove(7)
    with pytest.raises(ValueError, match="n_proxies"):
        IncrementalAggregator(0)
