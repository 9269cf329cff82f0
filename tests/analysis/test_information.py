"""Entropy estimator against a numpy histogram reference, and the known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zcnas.analysis import TaskData
from zcnas.analysis import information as I
from zcnas.exceptions import ZcnasError


def _hist_entropy(x: np.ndarray, bins: int) -> float:
    counts, _ = np.histogram(x, bins=bins)
    p = counts[counts > 0] / len(x)
    return float(-(p * np.log2(p)).sum())


def test_bin_rule_is_the_papers():
    assert I.n_bins_paper(1000) == 24  # "24-bin histograms" for 1000 architectures
    assert I.n_bins_paper(500) == round(1 + 3.322 * np.log(500))


def test_equal_width_bins_match_numpy_histogram():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=777)
    for bins in (1, 5, 24):
        codes = I.discretize(x, bins)
        counts, _ = np.histogram(x, bins=bins)
        np.testing.assert_array_equal(np.bincount(codes, minlength=bins), counts)
        assert I.entropy(codes) == pytest.approx(_hist_entropy(x, bins), abs=1e-12)


def test_percentile_bins_are_balanced():
    x = np.random.default_rng(1).standard_cauchy(1200)
    counts = np.bincount(I.discretize(x, 12, "percentile"), minlength=12)
    assert counts.min() == counts.max() == 100


def test_joint_entropy_equals_unique_rows_reference():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 24, size=(3000, 15))  # 24**15 > 2**62: the relabelling path
    codes[:, 3] = codes[:, 0]
    _, counts = np.unique(codes, axis=0, return_counts=True)
    p = counts / len(codes)
    assert I.entropy(codes) == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-12)
    small = codes[:, :3]
    _, counts = np.unique(small, axis=0, return_counts=True)
    p = counts / len(codes)
    assert I.entropy(small, base=np.e) == pytest.approx(-(p * np.log(p)).sum(), abs=1e-12)


def test_proxy_equal_to_accuracy_leaves_no_entropy(task):
    assert I.conditional_entropy(task, ["exact"]) == pytest.approx(0.0, abs=1e-12)
    assert I.conditional_entropy(task, ["anti"]) == pytest.approx(0.0, abs=1e-12)
    h_y = I.conditional_entropy(task, [])
    assert h_y == pytest.approx(_hist_entropy(task.truth, I.n_bins_paper(task.n)))
    assert 0 < I.conditional_entropy(task, ["noisy"]) < h_y


def test_constant_proxy_gives_no_information_gain(task):
    const = TaskData.from_arrays(
        np.column_stack([task.scores, np.full(task.n, 3.0)]),
        task.truth,
        proxies=[*task.proxies, "const"],
        clean=False,
    )
    h = I.information_gain(const, ["noisy", "const"])
    assert h.gain.iloc[2] == pytest.approx(0.0, abs=1e-12)
    assert I.conditional_entropy(const, ["const"]) == pytest.approx(I.conditional_entropy(const))
    _, gain = I.pairwise_information(const)
    assert np.allclose(gain["const"], 0.0) and np.allclose(np.diag(gain), 0.0)


def test_pairwise_gain_is_entropy_difference(task):
    ent, gain = I.pairwise_information(task)
    for a in task.proxies:
        for b in task.proxies:
            ref = I.conditional_entropy(task, [a]) - I.conditional_entropy(task, [a, b])
            assert gain.loc[a, b] == pytest.approx(ref, abs=1e-12)
    np.testing.assert_allclose(ent.to_numpy(), ent.to_numpy().T)


def test_orderings(task):
    c = I.entropy_curves(task, n_random=30, seed=3)
    assert c.greedy_proxy.iloc[1] in ("exact", "anti")
    assert c.greedy.iloc[1] == pytest.approx(0.0, abs=1e-12)
    assert (c.exhaustive <= c.greedy + 1e-12).all()
    assert (c.greedy <= c.random + 1e-12).all()
    assert np.all(np.diff(c.greedy.to_numpy()) <= 1e-12)  # conditioning never adds entropy
    assert c.random.iloc[-1] == pytest.approx(c.greedy.iloc[-1])


def test_sampling_and_errors(task):
    # n_sample draws a seeded subset; bins follow the sample size.
    a = I.conditional_entropy(task, ["noisy"], n_sample=100, seed=1)
    b = I.conditional_entropy(
        task.subset(np.sort(np.random.default_rng(1).choice(task.n, 100, replace=False))),
        ["noisy"],
        n_sample=None,
    )
    assert a == pytest.approx(b)
    with pytest.raises(ZcnasError, match="strategy"):
        I.discretize([1.0, 2.0], 2, "kmeans")
    with pytest.raises(ZcnasError, match="finite"):
        I.discretize([1.0, np.nan])


def test_top_restricts_the_curves_to_the_best_architectures(task):
    best = np.sort(np.argsort(-task.truth, kind="stable")[:150])
    top = I.entropy_curves(task, top=150, n_sample=None, n_random=5, max_exhaustive=0)
    ref = I.entropy_curves(task.subset(best), n_sample=None, n_random=5, max_exhaustive=0)
    pd.testing.assert_frame_equal(top, ref)
    full = I.entropy_curves(task, n_sample=None, n_random=5, max_exhaustive=0)
    assert top["greedy"].iloc[0] < full["greedy"].iloc[0]  # fewer bins of a narrower range
    with pytest.raises(ZcnasError, match="top"):
        I.entropy_curves(task, top=1)
