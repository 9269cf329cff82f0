"""Predictor-based search (BANANAS / NPENAS style) on NB201 with NAS-Bench-Suite-Zero's 13
stored proxies as features, and the `zcnas search` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from zcnas import ZcnasError
from zcnas.bench import load_suite_zero_nb201
from zcnas.cli import main
from zcnas.search.evolution import random_search
from zcnas.search.predictor import _features, fit_gbdt, predictor_search
from zcnas.search.problem import TableProxies

SEEDS = range(6)


@pytest.fixture(scope="module")
def zc13():
    return TableProxies(list(load_suite_zero_nb201("cifar10").proxies))


def test_fit_gbdt_learns_and_is_deterministic():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    f = fit_gbdt(X[:200], y[:200], seed=1)
    assert spearmanr(f(X[200:]), y[200:])[0] > 0.8
    np.testing.assert_array_equal(f(X[200:]), fit_gbdt(X[:200], y[:200], seed=1)(X[200:]))
    with pytest.raises(ZcnasError, match="finite"):
        fit_gbdt(X[:5], np.array([1.0, np.nan, 2, 3, 4]))


def test_proxy_features_make_the_surrogate_better(space, oracle, zc13):
    """Suite-Zero Section 5: 100 training / 1000 test architectures; ZC features raise the
    surrogate's Spearman rank correlation (paper, NB201 CIFAR-100: 0.64 -> 0.91)."""
    rho = {f: [] for f in ("encoding", "proxies", "both")}
    for s in range(3):
        archs = space.sample(1100, s, replace=False)
        tr, te = archs[:100], archs[100:]
        for f in rho:
            model = fit_gbdt(_features(space, zc13, f, tr), oracle._fit[tr], seed=s)
            rho[f].append(spearmanr(model(_features(space, zc13, f, te)), oracle._fit[te])[0])
    enc, both = np.mean(rho["encoding"]), np.mean(rho["both"])
    assert both > enc + 0.08 and np.mean(rho["proxies"]) > enc + 0.08


@pytest.mark.parametrize("strategy", ["bananas", "npenas"])
def test_predictor_search_queries_and_beats_random(space, oracle, zc13, strategy):
    runs = [
        predictor_search(
            space,
            oracle,
            strategy=strategy,
            features="both",
            proxies=zc13,
            budget=50,
            rounds=50,
            rng=s,
        )
        for s in SEEDS
    ]
    for r in runs:
        h = r.history
        assert len(h) == 50 and len(set(h.tolist())) == 50  # budget used, no repeats
        fit = oracle._fit[h]
        assert r.best_arch == h[np.argmax(fit)]
    rnd = [random_search(space, oracle, budget=50, rng=s).best_test for s in SEEDS]
    assert np.mean([r.best_test for r in runs]) > np.mean(rnd)


def test_predictor_bad_arguments(space, oracle):
    with pytest.raises(ZcnasError, match="needs a proxy source"):
        predictor_search(space, oracle, features="both")
    with pytest.raises(ZcnasError, match="strategy"):
        predictor_search(space, oracle, strategy="bohb")
    with pytest.raises(ZcnasError, match="candidates"):
        predictor_search(space, oracle, candidates="grid")
    r = predictor_search(space, oracle, candidates="random", budget=25, rounds=20, rng=0)
    assert len(set(r.history.tolist())) == 25 and space.contains(r.history).all()


def test_search_cli(capsys, tmp_path):
    out = tmp_path / "t.json"
    assert (
        main(
            [
                "search",
                "predictor",
                "--budget",
                "25",
                "--features",
                "both",
                "--proxies",
                "nwot,synflow",
                "--json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["search"] == "bananas[both]" and summary["evaluations"] == 25
    assert len(json.loads(out.read_text())[0]["arch"]) == 25
    assert (
        main(
            [
                "search",
                "aznas",
                "--iterations",
                "40",
                "--top-k",
                "5",
                "--runs",
                "2",
                "--max-flops",
                "100",
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["runs"]) == 2 and summary["budget"] == "proxy evaluations"
    assert main(["search", "aging", "--space", "macro", "--budget", "30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["best_in_space"] == pytest.approx(93.13, abs=0.01)
    assert main(["search", "random", "--proxies", "nope"]) == 2
