"""Average ranks and performance profiles: known answers and the blog's worked example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss

from zcnas.analysis import profiles as P
from zcnas.exceptions import ZcnasError


def _table(values: dict[str, list[float]], spaces: list[str] | None = None) -> pd.DataFrame:
    rows = []
    n = len(next(iter(values.values())))
    for i in range(n):
        for p, v in values.items():
            rows.append(
                {"task": f"t{i}", "space": (spaces or ["s"] * n)[i], "proxy": p, "spearman": v[i]}
            )
    return pd.DataFrame(rows)


def test_dominant_proxy_profile_is_one_everywhere():
    rng = np.random.default_rng(0)
    others = rng.uniform(-0.5, 0.6, size=(3, 12))
    best = others.max(axis=0) + 0.05
    tab = _table(
        {"best": list(best), "a": list(others[0]), "b": list(others[1]), "c": list(others[2])}
    )
    prof = P.performance_profile(tab)
    assert (prof["best"] == 1.0).all()
    assert (prof[["a", "b", "c"]].iloc[0] < 1).all()
    assert prof.index[0] == 1.0


def test_suboptimality_ratio_matches_the_blog_example():
    # DARTS Spherical CIFAR-100: fisher 0.4986 (best), snip 0.2675 -> 1.46-suboptimal.
    tab = _table({"fisher": [0.4986], "snip": [0.2675]})
    r = P.performance_ratios(tab)
    assert r.loc["t0", "fisher"] == 1.0
    assert r.loc["t0", "snip"] == pytest.approx(0.7325 / 0.5014)
    assert round(r.loc["t0", "snip"], 2) == 1.46


def test_profile_is_fraction_of_tasks_within_tau():
    tab = _table({"x": [0.5, 0.0, 0.9], "y": [0.0, 0.5, 0.8]})
    prof = P.performance_profile(tab, [1.0, 1.5, 2.0, 10.0])
    ratios = P.performance_ratios(tab)
    for tau in prof.index:
        assert prof.loc[tau, "y"] == pytest.approx((ratios["y"] <= tau).mean())
    assert prof.loc[1.0].tolist() == pytest.approx([2 / 3, 1 / 3])


def test_perfect_proxy_gets_ratio_one_others_inf():
    r = P.performance_ratios(_table({"x": [1.0], "y": [0.9]}))
    assert r.loc["t0", "x"] == 1.0 and np.isinf(r.loc["t0", "y"])


def test_average_ranks_equal_scipy_rankdata():
    rng = np.random.default_rng(1)
    vals = rng.uniform(-1, 1, size=(4, 6))
    vals[0, 0] = vals[1, 0]  # a tie
    spaces = ["a", "a", "b", "b", "b", "c"]
    tab = _table({f"p{i}": list(v) for i, v in enumerate(vals)}, spaces)
    ranks = np.array([ss.rankdata(-vals[:, t]) for t in range(6)])
    out = P.average_ranks(tab)
    for i in range(4):
        assert out.loc["overall", f"p{i}"] == pytest.approx(ranks[:, i].mean())
        assert out.loc["b", f"p{i}"] == pytest.approx(ranks[2:5, i].mean())
    assert np.all(np.diff(out.loc["overall"].to_numpy()) >= 0)


def test_only_common_proxies_compete_by_default():
    tab = _table({"x": [0.5, 0.2], "y": [0.1, 0.3]})
    tab = pd.concat(
        [tab, pd.DataFrame([{"task": "t0", "space": "s", "proxy": "z", "spearman": 0.9}])]
    )
    assert set(P.average_ranks(tab).columns) == {"x", "y"}
    with pytest.raises(ZcnasError, match="missing"):
        P.performance_profile(tab, proxies=["x", "z"])
