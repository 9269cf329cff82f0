"""LightGBM surrogate: deterministic, quiet, learns; the trial protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss

from zcnas.analysis import TaskData
from zcnas.analysis import surrogate as S
from zcnas.bench import load_nb201
from zcnas.exceptions import ZcnasError


def test_fit_is_deterministic_and_learns():
    rng = np.random.default_rng(0)
    x = rng.random((150, 5))
    y = np.sin(3 * x[:, 0]) + x[:, 1]
    a = S.fit_surrogate(x, y, seed=3)
    b = S.fit_surrogate(x, y, seed=3)
    xt = rng.random((300, 5))
    np.testing.assert_array_equal(a.predict(xt), b.predict(xt))
    rho = ss.spearmanr(a.predict(xt), np.sin(3 * xt[:, 0]) + xt[:, 1])[0]
    assert rho > 0.85
    imp = a.feature_importance("split")
    assert imp[:2].sum() > imp[2:].sum()
    with pytest.raises(ZcnasError, match="x must be"):
        a.predict(xt[:, :3])
    with pytest.raises(ZcnasError, match="finite"):
        S.fit_surrogate(np.full((5, 1), np.nan), np.arange(5.0))


def test_nb201_encoding_is_one_hot_of_naslib_ops():
    enc = S.encode("nasbench201", ["0", "6111", "15624"])
    assert enc.shape == (3, 30)
    assert (enc.reshape(3, 6, 5).sum(axis=2) == 1).all()
    tup = load_nb201()["naslib_enc"][6111]
    assert enc.reshape(3, 6, 5)[1].argmax(axis=1).tolist() == [int(c) for c in str(tup)]


def test_positional_encoding_for_other_spaces():
    enc = S.encode("transbench101_micro", ["(1, 0, 0, 2, 1, 0)", "(3, 0, 1, 2, 1, 0)"])
    # positions with one observed value carry no information and are left out
    assert enc.shape == (2, 4)
    assert (enc.sum(axis=1) == 2).all()


def _nb201_task(n: int = 400, seed: int = 0) -> TaskData:
    rng = np.random.default_rng(seed)
    archs = rng.choice(15625, n, replace=False)
    acc = load_nb201().test_accuracy("cifar100")[archs]
    proxy = acc + rng.normal(scale=0.5, size=n)
    noise = rng.normal(size=n)
    return TaskData.from_arrays(
        np.column_stack([proxy, noise]),
        acc,
        proxies=["good", "noise"],
        space="nasbench201",
        task="cifar100",
        archs=[str(a) for a in archs],
    )


def test_trials_protocol_and_proxy_features_help():
    t = _nb201_task()
    df = S.surrogate_trials(t, n_train=100, n_test=1000, trials=3, rounds=50)
    assert len(df) == 9 and set(df.features) == set(S.FEATURE_SETS)
    assert (df.n_train == 100).all() and (df.n_test == 300).all()  # all that is left
    mean = df.groupby("features").spearman.mean()
    assert mean["proxies"] > mean["encoding"]
    again = S.surrogate_trials(t, n_train=100, trials=3, rounds=50)
    np.testing.assert_array_equal(df.spearman, again.spearman)
    with pytest.raises(ZcnasError, match="n_train"):
        S.surrogate_trials(t, n_train=400, trials=1)


def test_importance_and_ablation():
    t = _nb201_task()
    imp = S.proxy_importance(t, trials=2, rounds=50)
    assert imp["good"] == 1.0 and imp["noise"] < 1.0
    ab = S.proxy_ablation(t, ["good", "noise"], trials=2, rounds=50)
    assert ab.k.tolist() == [1, 2] and ab.spearman.iloc[0] > 0.8


def test_fit_equals_plain_lightgbm_as_before():
    """The thread and round-trip savings of fit_surrogate leave the model unchanged: its
    predictions equal those of a plain `lgb.train` (text round trip, default Dataset)."""
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    x, xt = rng.random((100, 6)), rng.random((500, 6))
    y = x[:, 0] - x[:, 1] ** 2 + 0.05 * rng.random(100)
    p = {**S.DEFAULT_PARAMS, "seed": 7}
    ds = lgb.Dataset(x, label=y, params={"verbose": -1, "min_data_in_bin": 1})
    ref = lgb.train(p, ds, num_boost_round=S.DEFAULT_ROUNDS)
    m = S.fit_surrogate(x, y, seed=7)
    np.testing.assert_array_equal(m.predict(xt), ref.predict(xt, num_threads=1))
    np.testing.assert_array_equal(
        m.feature_importance("split"), ref.feature_importance(importance_type="split")
    )


def test_pool_gives_the_serial_results():
    """Trials, importances and the ablation in a 2-process pool equal the serial loop, and
    the serial loop equals an independent re-run of the protocol (plain splits and fits)."""
    t = _nb201_task(n=300, seed=4)
    kw = {"n_train": 60, "n_test": 200, "seed": 5, "rounds": 30}
    serial = S.surrogate_trials(t, trials=4, **kw)
    imp = S.proxy_importance(t, trials=3, n_train=60, seed=5, rounds=30)
    abl = S.proxy_ablation(t, ["noise", "good"], with_encoding=True, trials=3, **kw)
    with S.process_pool(2) as pool:
        par = S.surrogate_trials(t, trials=4, pool=pool, **kw)
        imp_p = S.proxy_importance(t, trials=3, n_train=60, seed=5, rounds=30, pool=pool)
        abl_p = S.proxy_ablation(
            t, ["noise", "good"], with_encoding=True, trials=3, pool=pool, **kw
        )
    pd.testing.assert_frame_equal(par, serial, check_exact=True)
    pd.testing.assert_series_equal(imp_p, imp, check_exact=True)
    pd.testing.assert_frame_equal(abl_p, abl, check_exact=True)
    # independent reference: the same seed stream of splits, one fit per feature set
    rng = np.random.default_rng(5)
    for trial in range(4):
        perm = rng.permutation(t.n)
        tr, te = perm[:60], perm[60:260]
        for k in S.FEATURE_SETS:
            x = S.features(t, k)
            m = S.fit_surrogate(x[tr], t.truth[tr], seed=5 + trial, rounds=30)
            row = serial[(serial.trial == trial) & (serial.features == k)].iloc[0]
            assert row.spearman == pytest.approx(ss.spearmanr(m.predict(x[te]), t.truth[te])[0])
    with pytest.raises(ZcnasError, match="workers"):
        S.process_pool(0)
