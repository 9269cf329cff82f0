"""zcnas vs scipy, side by side in one process, on the shapes zero-cost NAS needs.

Run with ``make bench`` (pytest-benchmark). Each group holds the zcnas call and the baseline a
user would otherwise write; the ratio of their means is the speed-up recorded in
``benches/RESULTS.md``. The whole call is measured from Python, conversions included.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

from zcnas import rankagg, stats
from zcnas.bench import load_nb201, load_suite_zero_nb201

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def nb201():
    t = load_nb201()
    return t["params_M_cifar10"], t.test_accuracy("cifar10")


# One Kendall tau at n = 15,625: model size vs CIFAR-10 accuracy over all of NB201 (real data,
# many ties in params).
@pytest.mark.benchmark(group="tau n=15625")
def test_tau_15625_zcnas(benchmark, nb201):
    x, y = nb201
    got = benchmark(stats.kendall_tau, x, y)
    assert got == pytest.approx(ss.kendalltau(x, y).statistic, abs=1e-12)


@pytest.mark.benchmark(group="tau n=15625")
def test_tau_15625_scipy(benchmark, nb201):
    x, y = nb201
    benchmark(lambda: ss.kendalltau(x, y).statistic)


# One Kendall tau at n = 15,625 with ranks of 12 bits on the side with fewer distinct values:
# edge-GPU latency (15,507 distinct) vs NASLib's CIFAR-10 validation accuracy (2,217).
@pytest.fixture(scope="module")
def latency_valid():
    t = load_nb201()
    x = np.asarray(t["cifar10_edgegpu_latency"], dtype=np.float64)
    return x, np.asarray(t["cifar10_valid_naslib"], dtype=np.float64)


@pytest.mark.benchmark(group="tau n=15625 latency vs valid acc")
def test_tau_15625_valid_zcnas(benchmark, latency_valid):
    x, y = latency_valid
    got = benchmark(stats.kendall_tau, x, y)
    assert got == pytest.approx(ss.kendalltau(x, y).statistic, abs=1e-12)


@pytest.mark.benchmark(group="tau n=15625 latency vs valid acc")
def test_tau_15625_valid_scipy(benchmark, latency_valid):
    x, y = latency_valid
    benchmark(lambda: ss.kendalltau(x, y).statistic)


# One Kendall tau at n = 15,625 on distinct values (no ties on either side), float64; its own
# generator, so the data of the other groups stay as they were.
_DRNG = np.random.default_rng(1)
DISTINCT_X = _DRNG.normal(size=15_625)
DISTINCT_Y = DISTINCT_X + _DRNG.normal(size=15_625)


@pytest.mark.benchmark(group="tau n=15625 distinct")
def test_tau_15625_distinct_zcnas(benchmark):
    got = benchmark(stats.kendall_tau, DISTINCT_X, DISTINCT_Y)
    assert got == pytest.approx(ss.kendalltau(DISTINCT_X, DISTINCT_Y).statistic, abs=1e-12)


@pytest.mark.benchmark(group="tau n=15625 distinct")
def test_tau_15625_distinct_scipy(benchmark):
    benchmark(lambda: ss.kendalltau(DISTINCT_X, DISTINCT_Y).statistic)


# EZNAS fitness shape: 1,000 (program output, accuracy) pairs of n = 20.
PAIRS_X = RNG.normal(size=(1000, 20))
PAIRS_Y = RNG.normal(size=(1000, 20))


@pytest.mark.benchmark(group="tau 1000 pairs n=20")
def test_pairs_zcnas(benchmark):
    got = benchmark(stats.kendall_tau_batch, PAIRS_X, PAIRS_Y)
    assert got[7] == pytest.approx(ss.kendalltau(PAIRS_X[7], PAIRS_Y[7]).statistic, abs=1e-12)


@pytest.mark.benchmark(group="tau 1000 pairs n=20")
def test_pairs_scipy_loop(benchmark):
    benchmark(
        lambda: [ss.kendalltau(a, b).statistic for a, b in zip(PAIRS_X, PAIRS_Y, strict=True)]
    )


# 200 proxy score vectors against one ground truth over all of NB201.
@pytest.fixture(scope="module")
def many(nb201):
    _, acc = nb201
    return RNG.normal(size=(200, len(acc))) + acc / 10, acc


@pytest.mark.benchmark(group="tau 200 x n=15625 vs one target")
def test_many_zcnas(benchmark, many):
    x, y = many
    got = benchmark(stats.kendall_tau_batch, x, y)
    assert got[3] == pytest.approx(ss.kendalltau(x[3], y).statistic, abs=1e-12)


@pytest.mark.benchmark(group="tau 200 x n=15625 vs one target")
def test_many_scipy_loop(benchmark, many):
    x, y = many
    benchmark.pedantic(lambda: [ss.kendalltau(r, y).statistic for r in x], rounds=3)


# The same against NASLib's CIFAR-10 validation accuracy (2,217 distinct values: ranks of 12
# bits, a different inversion-count path from the 4,522 of the test accuracy). Own generator.
@pytest.fixture(scope="module")
def many_valid():
    valid = np.asarray(load_nb201()["cifar10_valid_naslib"], dtype=np.float64)
    rng = np.random.default_rng(2)
    return rng.normal(size=(200, len(valid))) + valid / 10, valid


@pytest.mark.benchmark(group="tau 200 x n=15625 vs valid acc")
def test_many_valid_zcnas(benchmark, many_valid):
    x, y = many_valid
    got = benchmark(stats.kendall_tau_batch, x, y)
    assert got[3] == pytest.approx(ss.kendalltau(x[3], y).statistic, abs=1e-12)


@pytest.mark.benchmark(group="tau 200 x n=15625 vs valid acc")
def test_many_valid_scipy_loop(benchmark, many_valid):
    x, y = many_valid
    benchmark.pedantic(lambda: [ss.kendalltau(r, y).statistic for r in x], rounds=3)


@pytest.mark.benchmark(group="spearman 200 x n=15625 vs one target")
def test_many_spearman_zcnas(benchmark, many):
    x, y = many
    benchmark(stats.spearman_batch, x, y)


@pytest.mark.benchmark(group="spearman 200 x n=15625 vs one target")
def test_many_spearman_scipy_loop(benchmark, many):
    x, y = many
    benchmark.pedantic(lambda: [ss.spearmanr(r, y).statistic for r in x], rounds=3)


# AZ-NAS non-linear aggregation of the 13 NAS-Bench-Suite-Zero proxies over 9,445 archs.
@pytest.fixture(scope="module")
def suite():
    return load_suite_zero_nb201("cifar10").scores


def numpy_nonlinear(s: np.ndarray) -> np.ndarray:
    ranks = ss.rankdata(s, axis=0)
    return np.log(ranks / s.shape[0]).sum(axis=1)


@pytest.mark.benchmark(group="aggregate nonlinear 9445x13")
def test_agg_zcnas(benchmark, suite):
    got = benchmark(rankagg.aggregate, suite, method="nonlinear")
    np.testing.assert_allclose(got, numpy_nonlinear(suite), atol=1e-9)


@pytest.mark.benchmark(group="aggregate nonlinear 9445x13")
def test_agg_scipy(benchmark, suite):
    benchmark(numpy_nonlinear, suite)
