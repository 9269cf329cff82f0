"""zcnas.stats against scipy.stats (the independent reference) and numpy re-implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as ss
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import zcnas
from helpers import quiet
from zcnas import stats

TOL = 1e-12

finite = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False, width=64)
tied_values = st.integers(0, 5).map(float)


@st.composite
def pairs(draw, elements=finite, min_size=2, max_size=300):
    n = draw(st.integers(min_size, max_size))
    x = draw(hnp.arrays(np.float64, n, elements=elements))
    y = draw(hnp.arrays(np.float64, n, elements=elements))
    return x, y


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= TOL


def sp_tau(x, y):
    return quiet(ss.kendalltau, x, y).statistic


def sp_rho(x, y):
    return quiet(ss.spearmanr, x, y).statistic


def sp_r(x, y):
    return quiet(ss.pearsonr, x, y).statistic


@settings(max_examples=200, deadline=None)
@given(pairs())
def test_correlations_match_scipy_random(xy):
    x, y = xy
    assert same(stats.kendall_tau(x, y), sp_tau(x, y))
    assert same(stats.spearman(x, y), sp_rho(x, y))
    assert same(stats.pearson(x, y), sp_r(x, y))


@settings(max_examples=200, deadline=None)
@given(pairs(elements=tied_values))
def test_correlations_match_scipy_heavy_ties(xy):
    x, y = xy
    assert same(stats.kendall_tau(x, y), sp_tau(x, y))
    assert same(stats.spearman(x, y), sp_rho(x, y))


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 300), elements=st.integers(-3, 3).map(float)))
def test_rankdata_matches_scipy(x):
    np.testing.assert_array_equal(stats.rankdata(x), ss.rankdata(x))


def test_large_n_matches_scipy():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=15_625), 2)  # realistic ties
    y = x + rng.normal(size=15_625)
    assert same(stats.kendall_tau(x, y), sp_tau(x, y))
    assert same(stats.spearman(x, y), sp_rho(x, y))
    assert same(stats.pearson(x, y), sp_r(x, y))
    np.testing.assert_array_equal(stats.rankdata(x), ss.rankdata(x))
    batch = np.stack([x, y, -x])
    np.testing.assert_allclose(
        stats.spearman_batch(batch, y), [sp_rho(r, y) for r in batch], rtol=0, atol=TOL
    )
    np.testing.assert_array_equal(stats.kendall_tau_batch(batch, y), [sp_tau(r, y) for r in batch])


def test_constant_input_is_nan_like_scipy():
    x, y = np.ones(10), np.arange(10.0)
    assert math.isnan(stats.kendall_tau(x, y)) and math.isnan(sp_tau(x, y))
    assert math.isnan(stats.spearman(x, y))
    assert math.isnan(stats.pearson(y, x))


def test_negative_zero_ties_with_zero():
    x = np.array([-0.0, 0.0, 1.0])
    y = np.array([1.0, 2.0, 3.0])
    assert same(stats.kendall_tau(x, y), sp_tau(x, y))


def test_accepts_torch_lists_and_ints():
    x = torch.tensor([3, 1, 2, 5, 4])
    y = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert same(stats.kendall_tau(x, y), sp_tau(x.numpy(), y))
    assert same(stats.spearman(x.float(), torch.arange(5)), sp_rho(x.numpy(), np.arange(5)))
    assert same(
        stats.kendall_tau(np.array([True, False, True]), [1, 2, 3]), sp_tau([1, 0, 1], [1, 2, 3])
    )


def test_non_contiguous_input():
    a = np.arange(40.0).reshape(10, 4)[:, 1]
    b = a[::-1].copy()
    assert same(stats.kendall_tau(a, b), sp_tau(a, b))
    assert same(stats.spearman(b, a), -1.0)


@pytest.mark.parametrize("fn", [stats.kendall_tau, stats.spearman, stats.pearson])
def test_nan_policy(fn):
    x = np.array([1.0, np.nan, 3.0, 4.0, 2.0, np.inf])
    y = np.array([2.0, 1.0, np.nan, 3.0, 1.0, 0.0])
    with pytest.raises(zcnas.NonFiniteError, match="`x` has a non-finite value"):
        fn(x, y)
    keep = np.isfinite(x) & np.isfinite(y)
    ref = {stats.kendall_tau: sp_tau, stats.spearman: sp_rho, stats.pearson: sp_r}[fn]
    assert same(fn(x, y, nan_policy="omit"), ref(x[keep], y[keep]))
    with pytest.raises(ValueError, match="nan_policy"):
        fn(x, y, nan_policy="propagate")


def test_rankdata_omit_marks_nan():
    r = stats.rankdata([3.0, np.nan, 1.0, np.inf], nan_policy="omit")
    np.testing.assert_array_equal(r[[0, 2]], [2.0, 1.0])
    assert np.isnan(r[[1, 3]]).all()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, 2.0, 3.0], [1.0, 2.0]), "`x` has length 3 but `y` has length 2"),
        (([1.0], [1.0]), "at least 2"),
        ((["a", "b"], [1.0, 2.0]), "`x` must hold real numbers"),
        (([1 + 2j, 3j], [1.0, 2.0]), "`x` must hold real numbers"),
        (([[1.0, 2.0]], [1.0, 2.0]), "`x` must be 1-D"),
        (([1.0, 2.0], np.zeros((2, 2))), "`y` must be 1-D"),
    ],
)
def test_errors_name_the_argument(args, match):
    for fn in (stats.kendall_tau, stats.spearman, stats.pearson):
        with pytest.raises(ValueError, match=match):
            fn(*args)


def test_errors_are_zcnas_errors():
    with pytest.raises(zcnas.ZcnasError):
        stats.kendall_tau([1.0, 2.0], [1.0])


def reference_top_k(v: np.ndarray, k: int) -> set[int]:
    order = np.lexsort((np.arange(len(v)), -v))  # value descending, index ascending
    return set(order[:k].tolist())


@settings(max_examples=100, deadline=None)
@given(pairs(elements=tied_values, min_size=5, max_size=200), st.floats(0.01, 1.0))
def test_top_k_precision_against_numpy(xy, frac):
    s, t = xy
    k = max(1, math.ceil(frac * len(s)))
    want = len(reference_top_k(s, k) & reference_top_k(t, k)) / k
    assert stats.top_k_precision(s, t, k) == want


@settings(max_examples=100, deadline=None)
@given(pairs(min_size=20, max_size=300), st.sampled_from([0.1, 0.25, 0.5, 1.0]))
def test_kendall_tau_top_against_scipy_subset(xy, top):
    s, t = xy
    k = math.ceil(top * len(s))
    idx = sorted(reference_top_k(t, k))
    assert same(stats.kendall_tau_top(s, t, top=top), sp_tau(s[idx], t[idx]))


def test_top_k_arguments():
    s, t = np.arange(10.0), np.arange(10.0)
    assert stats.top_k_precision(s, t, top=0.3) == 1.0
    assert stats.top_k_precision(-s, t, k=3) == 0.0
    with pytest.raises(ValueError, match="exactly one"):
        stats.top_k_precision(s, t)
    with pytest.raises(ValueError, match=r"invalid `k`: must be in 1\.\.=10"):
        stats.top_k_precision(s, t, k=11)
    with pytest.raises(ValueError, match="`top`"):
        stats.kendall_tau_top(s, t, top=0.0)
    with pytest.raises(ValueError, match="at least"):
        stats.kendall_tau_top(s, t, top=0.1)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(2, 60),
    st.booleans(),
    st.data(),
)
def test_batches_equal_scipy_loops(rows, n, one_target, data):
    elements = data.draw(st.sampled_from([finite, tied_values]))
    x = data.draw(hnp.arrays(np.float64, (rows, n), elements=elements))
    y = data.draw(hnp.arrays(np.float64, n if one_target else (rows, n), elements=elements))
    for batch, ref in (
        (stats.kendall_tau_batch, sp_tau),
        (stats.spearman_batch, sp_rho),
        (stats.pearson_batch, sp_r),
    ):
        got = batch(x, y)
        assert got.shape == (rows,)
        for i in range(rows):
            assert same(got[i], ref(x[i], y if one_target else y[i]))


def test_batch_nan_policy_and_shapes():
    x = np.array([[1.0, 2.0, np.nan, 4.0], [4.0, 3.0, 2.0, 1.0]])
    t = np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(zcnas.NonFiniteError):
        stats.kendall_tau_batch(x, t)
    np.testing.assert_array_equal(stats.kendall_tau_batch(x, t, nan_policy="omit"), [1.0, -1.0])
    bad = np.array([[np.nan, np.nan, np.nan, 1.0], [1.0, 2.0, 3.0, 4.0]])
    with pytest.raises(ValueError, match="row 0 of `x` keeps 1 finite pairs"):
        stats.kendall_tau_batch(bad, t, nan_policy="omit")
    with pytest.raises(ValueError, match="must have shape"):
        stats.kendall_tau_batch(x, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="`x` must be 2-D"):
        stats.kendall_tau_batch(t, t)
    with pytest.raises(ValueError, match="at least 2"):
        stats.kendall_tau_batch(np.zeros((3, 1)), np.zeros(1))
    assert stats.kendall_tau_batch(np.zeros((0, 4)), t).shape == (0,)


def test_batch_accepts_torch():
    x = torch.randn(5, 30, dtype=torch.float32)
    t = torch.randn(30)
    got = stats.spearman_batch(x, t)
    want = [sp_rho(x[i].double().numpy(), t.double().numpy()) for i in range(5)]
    np.testing.assert_allclose(got, want, atol=TOL)
