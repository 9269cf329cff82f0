"""Every array argument of ``zcnas._native`` is read through its strides.

The public wrappers copy to C order first; these tests call the binding layer directly with
Fortran-order, transposed and negative-stride views and check the result equals the C-order
call and an independent reference (scipy / numpy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sst

from zcnas import _native
from zcnas.eznas import reference as ezref


def layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """The same values as ``a`` (2-D) in several memory layouts, none of them C-contiguous."""
    out = {
        "fortran": np.asfortranarray(a),
        "transposed": np.ascontiguousarray(a.T).T,
        "negative-rows": np.ascontiguousarray(a[::-1])[::-1],
        "negative-cols": np.ascontiguousarray(a[:, ::-1])[:, ::-1],
        "strided": np.repeat(np.repeat(a, 2, axis=0), 3, axis=1)[::2, ::3],
    }
    for name, v in out.items():
        assert np.array_equal(v, a, equal_nan=True), name
        if a.shape[0] > 1 and a.shape[1] > 1:
            assert not v.flags.c_contiguous, name
    return out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261203)


@pytest.mark.parametrize("name", ["kendall_tau_batch", "spearman_batch", "pearson_batch"])
def test_batch_statistics_any_layout(rng, name):
    x = rng.normal(size=(7, 40))
    x[:, ::5] = np.round(x[:, ::5])  # some ties
    y = rng.normal(size=40)
    ref = {"kendall_tau_batch": sst.kendalltau, "spearman_batch": sst.spearmanr}.get(
        name, sst.pearsonr
    )
    want = np.array([ref(row, y)[0] for row in x])
    f = getattr(_native, name)
    c_result = f(np.ascontiguousarray(x), y)
    np.testing.assert_allclose(c_result, want, rtol=1e-12, atol=1e-14)
    for lay, xv in layouts(x).items():
        np.testing.assert_array_equal(f(xv, y), c_result, err_msg=lay)
        # a 2-D target (one per row) in another layout, and a strided 1-D target
        y2 = np.tile(y, (7, 1))
        np.testing.assert_array_equal(f(xv, np.asfortranarray(y2)), c_result, err_msg=lay)
    y_neg = np.ascontiguousarray(y[::-1])[::-1]
    np.testing.assert_array_equal(f(x, y_neg), c_result)


def test_the_issue_probe_kendall_fortran(rng):
    # issue 14's probe: a Fortran-order x gave 0.085 where scipy gives -0.030
    x = rng.normal(size=(3, 50))
    y = rng.normal(size=50)
    got = _native.kendall_tau_batch(np.asfortranarray(x), y)
    np.testing.assert_allclose(got, [sst.kendalltau(r, y)[0] for r in x], rtol=1e-12)


@pytest.mark.parametrize("name", ["kendall_tau", "spearman", "pearson"])
def test_pair_statistics_negative_stride(rng, name):
    x, y = rng.normal(size=(2, 30))
    ref = {"kendall_tau": sst.kendalltau, "spearman": sst.spearmanr, "pearson": sst.pearsonr}
    f = getattr(_native, name)
    got = f(x[::-1], y[::-1])
    assert math.isclose(got, ref[name](x, y)[0], rel_tol=1e-12, abs_tol=1e-14)
    assert got == f(np.ascontiguousarray(x[::-1]), np.ascontiguousarray(y[::-1]))
    assert f(x[::2], y[::2]) == f(x[::2].copy(), y[::2].copy())


def test_rankdata_strided(rng):
    x = np.round(rng.normal(size=40), 1)
    np.testing.assert_array_equal(_native.rankdata(x[::-2]), sst.rankdata(x[::-2]))


def test_aggregate_any_layout(rng):
    s = rng.normal(size=(30, 4))
    hib = [True, False, True, True]
    c_result = _native.aggregate(np.ascontiguousarray(s), "linear", hib)
    # independent reference: the sum of per-column ranks (ascending when higher is better)
    want = sum(sst.rankdata(s[:, j] if hib[j] else -s[:, j]) for j in range(4))
    np.testing.assert_allclose(c_result, want)
    for lay, sv in layouts(s).items():
        np.testing.assert_array_equal(_native.aggregate(sv, "linear", hib), c_result, lay)
        np.testing.assert_array_equal(
            _native.aggregate(sv, "nonlinear", hib),
            _native.aggregate(np.ascontiguousarray(s), "nonlinear", hib),
            lay,
        )
    agg = _native.IncrementalAggregator("linear", hib)
    for row in np.asfortranarray(s):  # rows of a Fortran array are strided
        agg.add(row)
    ids, scores = agg.scores()
    np.testing.assert_allclose(scores[np.argsort(ids)], want)


def test_kernels_any_layout(rng):
    codes = (rng.random((9, 70)) < 0.5).astype(np.uint8)
    kc = _native.hamming_kernel(codes)
    want = codes.astype(float) @ codes.T + (1.0 - codes) @ (1.0 - codes.T)
    np.testing.assert_array_equal(kc, want)
    dup = np.concatenate([codes, codes[:3]])
    for lay, cv in layouts(codes).items():
        np.testing.assert_array_equal(_native.hamming_kernel(cv), want, err_msg=lay)
    for lay, dv in layouts(dup).items():
        assert _native.count_unique_rows(dv) == len(np.unique(dup, axis=0)) == 9, lay

    a = rng.normal(size=(6, 6))
    sym = a @ a.T + np.eye(6)
    x = rng.normal(size=(5, 12))
    g = rng.normal(size=(4, 15))
    zc = _native.zico_layer(g)
    z_ref = math.log(np.sum(np.mean(np.abs(g), 0) / np.std(g, 0)))
    assert math.isclose(zc, z_ref, rel_tol=1e-12)
    for lay, av in layouts(a).items():
        sign, logdet = _native.slogdet(av)
        want_sign, want_log = np.linalg.slogdet(a)
        assert sign == want_sign and math.isclose(logdet, want_log, rel_tol=1e-10), lay
    for lay, sv in layouts(sym).items():
        np.testing.assert_allclose(
            _native.eigvalsh(sv), np.linalg.eigvalsh(sym), rtol=1e-10, err_msg=lay
        )
    for lay, xv in layouts(x).items():
        np.testing.assert_allclose(_native.corrcoef(xv), np.corrcoef(x), atol=1e-14, err_msg=lay)
    for lay, gv in layouts(g).items():
        assert _native.zico_layer(gv) == zc, lay


def test_eznas_instance_arrays_any_layout(rng):
    a = rng.normal(size=(4, 6))
    b = rng.normal(size=(6, 3))
    expr = "MatMul(T1D, T2D)"
    want = ezref.eval_tensor(expr, {"T1D": a, "T2D": b})
    np.testing.assert_allclose(want, a @ b)
    c_result = _native.eznas_eval_tensor(expr, {"T1D": a, "T2D": b})
    np.testing.assert_allclose(c_result, a @ b, rtol=1e-13)
    for lay, av in layouts(a).items():
        for lay_b, bv in layouts(b).items():
            got = _native.eznas_eval_tensor(expr, {"T1D": av, "T2D": bv})
            np.testing.assert_array_equal(got, c_result, err_msg=f"{lay}/{lay_b}")
    # a 3-D Fortran-order and negative-stride tensor
    t = rng.normal(size=(2, 3, 4))
    for tv in (np.asfortranarray(t), np.ascontiguousarray(t[::-1, :, ::-1])[::-1, :, ::-1]):
        got = _native.eznas_eval_tensor("Square(T3)", {"T3": tv})
        np.testing.assert_array_equal(got, t**2)
    s = _native.eznas_score_arrays([expr], [{"T1D": np.asfortranarray(a), "T2D": b[::-1][::-1]}])
    assert math.isclose(s[0], float(np.mean(a @ b)), rel_tol=1e-12)
