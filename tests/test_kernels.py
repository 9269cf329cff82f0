"""zcnas.kernels against plain numpy references."""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import zcnas
from zcnas import kernels

FAST = settings(max_examples=40, deadline=None)

seeds = st.integers(0, 2**32 - 1)


def np_corrcoef(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.atleast_2d(np.corrcoef(x))


def naswot_k(c: np.ndarray) -> np.ndarray:
    c = c.astype(np.int64)
    return (c @ c.T + (1 - c) @ (1 - c).T).astype(np.float64)


def random_spectrum(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    a = (q * lam) @ q.T
    return (a + a.T) / 2


# --- hamming_kernel ---------------------------------------------------------------------------


@FAST
@given(hnp.arrays(np.bool_, hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=150)))
def test_hamming_kernel_matches_naswot_formula(codes):
    got = kernels.hamming_kernel(codes)
    assert got.dtype == np.float64 and got.shape == (codes.shape[0],) * 2
    np.testing.assert_array_equal(got, naswot_k(codes))


def test_hamming_kernel_input_kinds_and_layer_sum():
    rng = np.random.default_rng(1)
    a = rng.random((16, 300)) > 0.5
    b = rng.random((16, 77)) > 0.3
    want = naswot_k(a)
    np.testing.assert_array_equal(kernels.hamming_kernel(a.astype(np.uint8)), want)
    np.testing.assert_array_equal(kernels.hamming_kernel(a.astype(np.int32) * 5), want)
    np.testing.assert_array_equal(kernels.hamming_kernel(torch.from_numpy(a)), want)
    np.testing.assert_array_equal(kernels.hamming_kernel(a[:, ::-1]), naswot_k(a[:, ::-1]))
    np.testing.assert_array_equal(kernels.hamming_kernel(a.T.copy().T), want)
    # Kernels of layers add: concatenating codes == summing kernels.
    np.testing.assert_array_equal(
        kernels.hamming_kernel(np.concatenate([a, b], axis=1)),
        kernels.hamming_kernel(a) + kernels.hamming_kernel(b),
    )


def test_hamming_kernel_large_parallel():
    rng = np.random.default_rng(2)
    codes = rng.random((64, 20_001)) > 0.5
    np.testing.assert_array_equal(kernels.hamming_kernel(codes), naswot_k(codes))


@pytest.mark.parametrize(
    "bad", [np.ones((2, 3)), np.ones(3, dtype=bool), np.ones((2, 2, 2), bool), "abc", None]
)
def test_codes_errors(bad):
    with pytest.raises(zcnas.ZcnasError, match="`codes`"):
        kernels.hamming_kernel(bad)
    with pytest.raises(ValueError):
        kernels.count_unique_rows(bad)


# --- count_unique_rows ------------------------------------------------------------------------


@FAST
@given(
    st.integers(1, 200),
    st.integers(1, 130),
    st.integers(1, 6),
    seeds,
)
def test_count_unique_rows(n, d, patterns, seed):
    rng = np.random.default_rng(seed)
    base = rng.random((patterns, d)) > 0.5
    codes = base[rng.integers(0, patterns, n)]
    want = len(np.unique(codes, axis=0))
    assert kernels.count_unique_rows(codes) == want
    # TE-NAS's formula: sum over samples of 1 / (number of samples with the same code).
    same = (codes[:, None, :] == codes[None, :, :]).all(axis=2).sum(axis=1)
    assert math.isclose(float(np.sum(1.0 / same)), want)


def test_count_unique_rows_edges():
    assert kernels.count_unique_rows(np.zeros((0, 5), bool)) == 0
    assert kernels.count_unique_rows(np.zeros((4, 0), bool)) == 1
    assert kernels.count_unique_rows(np.eye(70, dtype=bool)) == 70
    assert kernels.count_unique_rows(torch.ones(5, 3, dtype=torch.uint8)) == 1


@FAST
@given(
    st.integers(0, 140),
    st.lists(st.integers(0, 60), min_size=1, max_size=4),
    st.integers(1, 6),
    seeds,
)
def test_count_unique_columns(b, widths, patterns, seed):
    """Distinct columns over blocks = numpy's distinct rows of the concatenation's transpose
    (SWAP's count), for one or several words per column (B up to 140)."""
    rng = np.random.default_rng(seed)
    base = rng.random((b, patterns)) > 0.5
    blocks = [base[:, rng.integers(0, patterns, w)] for w in widths]
    full = np.concatenate(blocks, axis=1)
    want = 0 if full.shape[1] == 0 else len(np.unique(full.T, axis=0))
    assert kernels.count_unique_columns(blocks) == want
    assert kernels.count_unique_columns(full) == want
    assert kernels.count_unique_columns([torch.from_numpy(x) for x in blocks]) == want
    if full.shape[1]:
        assert kernels.count_unique_rows(full.T) == want


def test_count_unique_columns_edges():
    assert kernels.count_unique_columns([[[1, 0], [0, 1]], [[1], [0]]]) == 2
    assert kernels.count_unique_columns([[1, 0, 1], [1, 0, 1]]) == 2  # one block as lists
    assert kernels.count_unique_columns([]) == 0
    assert kernels.count_unique_columns(np.zeros((0, 3), bool)) == 1
    with pytest.raises(zcnas.ZcnasError, match=r"same number of rows.*block 1 has 3"):
        kernels.count_unique_columns([np.ones((2, 1), bool), np.ones((3, 1), bool)])
    with pytest.raises(zcnas.ZcnasError, match=r"`blocks\[1\]`.*float32"):
        kernels.count_unique_columns([np.ones((2, 2), bool), np.ones((2, 2), np.float32)])
    with pytest.raises(zcnas.ZcnasError, match="got None"):
        kernels.count_unique_columns(None)


# --- slogdet ----------------------------------------------------------------------------------


@FAST
@given(st.integers(0, 40), seeds)
def test_slogdet_random(n, seed):
    a = np.random.default_rng(seed).standard_normal((n, n))
    sign, logdet = kernels.slogdet(a)
    ref = np.linalg.slogdet(a)
    assert sign == ref.sign
    assert math.isclose(logdet, ref.logabsdet, rel_tol=1e-9, abs_tol=1e-9)


@FAST
@given(st.integers(1, 40), st.integers(1, 400), seeds)
def test_slogdet_of_naswot_kernel(b, d, seed):
    codes = np.random.default_rng(seed).random((b, d)) > 0.5
    k = kernels.hamming_kernel(codes)
    sign, logdet = kernels.slogdet(k)
    if len(np.unique(codes, axis=0)) < b:
        # Identical codes give identical rows of K: exactly singular.
        assert (sign, logdet) == (0.0, -math.inf)
        return
    ref = np.linalg.slogdet(k)
    if ref.sign == 0 or ref.logabsdet < math.log(0.5):
        # K has integer entries, so its determinant is an integer: |det| < 1/2 means it is 0
        # and both values are rounding noise (hypothesis found logabsdet -9.27 vs -10.1).
        return
    assert sign == ref.sign
    assert math.isclose(logdet, ref.logabsdet, rel_tol=1e-9, abs_tol=1e-8)


def test_slogdet_edges():
    assert kernels.slogdet(np.zeros((0, 0))) == (1.0, 0.0)
    assert kernels.slogdet([[1.0, 2.0], [2.0, 4.0]]) == (0.0, -math.inf)
    assert kernels.slogdet(np.diag([-2.0, 3.0]))[0] == -1.0
    sign, logdet = kernels.slogdet(np.eye(3) * 1e200)  # det overflows, its log does not
    assert sign == 1.0 and math.isclose(logdet, 600 * math.log(10))
    assert all(math.isnan(v) for v in kernels.slogdet([[np.nan, 1.0], [1.0, 1.0]]))
    assert kernels.slogdet(torch.eye(4, dtype=torch.float32) * 2)[1] == pytest.approx(
        4 * math.log(2)
    )
    with pytest.raises(zcnas.ZcnasError, match=r"`a`.*square"):
        kernels.slogdet(np.ones((2, 3)))
    with pytest.raises(zcnas.ZcnasError, match="`a`"):
        kernels.slogdet(np.ones(3))


def test_slogdet_large_parallel():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((300, 300))
    sign, logdet = kernels.slogdet(a)
    ref = np.linalg.slogdet(a)
    assert sign == ref.sign and math.isclose(logdet, ref.logabsdet, rel_tol=1e-10)


# --- corrcoef ---------------------------------------------------------------------------------


@FAST
@given(st.integers(1, 20), st.integers(2, 60), seeds)
def test_corrcoef_random(n, d, seed):
    x = np.random.default_rng(seed).standard_normal((n, d)) * 10.0 ** np.arange(-3, n - 3)[:, None]
    np.testing.assert_allclose(kernels.corrcoef(x), np_corrcoef(x), rtol=0, atol=1e-12)


@FAST
@given(
    hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        elements=st.integers(-3, 3),
    )
)
def test_corrcoef_integers_with_constant_rows(x):
    # Small integers make constant rows (NaN row and column) and exact ties common.
    np.testing.assert_allclose(
        kernels.corrcoef(x), np_corrcoef(x.astype(np.float64)), rtol=0, atol=1e-12, equal_nan=True
    )


def test_corrcoef_edges():
    x = np.array([[1.0, np.inf, 2.0], [1.0, 2.0, 4.0], [3.0, np.nan, 1.0], [4.0, 1.0, 0.0]])
    np.testing.assert_allclose(kernels.corrcoef(x), np_corrcoef(x), atol=1e-12, equal_nan=True)
    assert kernels.corrcoef([[1.0, 2.0, 5.0]]).tolist() == [[1.0]]
    assert np.isnan(kernels.corrcoef(np.full((2, 4), 0.1))).all()  # numpy: rounding noise
    assert kernels.corrcoef(np.zeros((0, 3))).shape == (0, 0)
    big = np.array([[1e300, -1e300, 5e299], [1.0, -1.0, 0.5]])
    np.testing.assert_allclose(kernels.corrcoef(big), np.ones((2, 2)), atol=1e-12)
    with pytest.raises(zcnas.ZcnasError, match="`x`"):
        kernels.corrcoef(np.ones(4))


def test_corrcoef_jacobian_sized():
    j = torch.randn(64, 3 * 32 * 32, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(
        kernels.corrcoef(j), np_corrcoef(j.double().numpy()), rtol=0, atol=1e-12
    )


# --- eigvalsh ---------------------------------------------------------------------------------


@FAST
@given(st.integers(0, 40), seeds)
def test_eigvalsh_random_symmetric(n, seed):
    a = np.random.default_rng(seed).standard_normal((n, n))
    s = (a + a.T) / 2
    got = kernels.eigvalsh(s)
    want = np.linalg.eigvalsh(s)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-11 * scale)


@pytest.mark.parametrize("n", [1, 2, 17, 64, 256])
def test_eigvalsh_well_conditioned_relative(n):
    rng = np.random.default_rng(n)
    s = random_spectrum(rng, rng.uniform(1.0, 10.0, n))
    np.testing.assert_allclose(kernels.eigvalsh(s), np.linalg.eigvalsh(s), rtol=1e-9)


def test_eigvalsh_gram_and_repeated():
    rng = np.random.default_rng(5)
    g = rng.standard_normal((72, 500))
    ntk = g @ g.T  # computed by BLAS: symmetric only to rounding
    np.testing.assert_allclose(kernels.eigvalsh(ntk), np.linalg.eigvalsh(ntk), rtol=1e-10)
    s = random_spectrum(rng, np.repeat([-2.0, 0.0, 1.0, 5.0], 10))
    np.testing.assert_allclose(
        kernels.eigvalsh(s), np.repeat([-2.0, 0.0, 1.0, 5.0], 10), rtol=0, atol=1e-12
    )
    # AZ-NAS: covariance of (BHW) x C features.
    x = torch.randn(4096, 48, generator=torch.Generator().manual_seed(1)).double()
    x = x - x.mean(0)
    cov = (x.T @ x / x.shape[0]).numpy()
    np.testing.assert_allclose(kernels.eigvalsh(cov), np.linalg.eigvalsh(cov), rtol=1e-10)


@FAST
@given(st.integers(0, 30), seeds)
def test_eigvalsh_methods_agree(n, seed):
    """Householder + QL and Jacobi are independent algorithms; both match numpy."""
    a = np.random.default_rng(seed).standard_normal((n, n))
    s = a + a.T
    t = kernels.eigvalsh(s, method="tridiagonal")
    j = kernels.eigvalsh(s, method="jacobi")
    scale = max(1.0, float(np.abs(t).max(initial=0.0)))
    np.testing.assert_allclose(t, j, rtol=0, atol=1e-11 * scale)


def test_eigvalsh_jacobi_small_eigenvalues_relative():
    """Jacobi keeps relative accuracy of tiny eigenvalues of a positive definite matrix."""
    rng = np.random.default_rng(3)
    lam = np.geomspace(1e-12, 1.0, 12)
    s = random_spectrum(rng, lam)
    np.testing.assert_allclose(kernels.eigvalsh(s, method="jacobi"), lam, rtol=1e-3)
    with pytest.raises(zcnas.ZcnasError, match="`method`"):
        kernels.eigvalsh(s, method="qr")


def test_eigvalsh_errors():
    with pytest.raises(zcnas.ZcnasError, match=r"`s`.*symmetric"):
        kernels.eigvalsh([[1.0, 2.0], [2.1, 1.0]])
    assert kernels.eigvalsh([[1.0, 2.0], [2.1, 1.0]], symmetry_rtol=0.1).shape == (2,)
    with pytest.raises(zcnas.ZcnasError, match=r"`s`.*square"):
        kernels.eigvalsh(np.ones((2, 3)))
    with pytest.raises(zcnas.ZcnasError, match=r"`s`.*non-finite"):
        kernels.eigvalsh([[1.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(zcnas.ZcnasError, match="symmetry_rtol"):
        kernels.eigvalsh(np.eye(2), symmetry_rtol=-1.0)
    assert kernels.eigvalsh(np.zeros((0, 0))).shape == (0,)


# --- ZiCo -------------------------------------------------------------------------------------


def np_zico_layer(g: np.ndarray) -> float | None:
    """PROXIES.md 2.13, written the way the reference does it (numpy, ddof 0)."""
    g = g.reshape(g.shape[0], -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        std = np.std(g, axis=0)
        nz = np.nonzero(std)[0]
        mean_abs = np.mean(np.abs(g), axis=0)
        tmpsum = np.sum(mean_abs[nz] / std[nz])
        return None if tmpsum == 0 else float(np.log(tmpsum))


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@FAST
@given(st.integers(1, 6), st.integers(0, 300), seeds, st.booleans())
def test_zico_layer_random(b, p, seed, ties):
    rng = np.random.default_rng(seed)
    g = rng.integers(-2, 3, (b, p)) * 0.5 if ties else rng.standard_normal((b, p)) * 1e-3
    assert same(kernels.zico_layer(g), np_zico_layer(g))


def test_zico_layer_edges_and_score():
    assert kernels.zico_layer(np.ones((1, 10))) is None  # one batch: every std is 0
    assert kernels.zico_layer(np.ones((3, 10))) is None
    assert kernels.zico_layer(np.zeros((2, 0))) is None
    g = np.array([[1.0, -2.0, 5.0], [3.0, 2.0, 5.0]])
    assert math.isclose(kernels.zico_layer(g), math.log(2.0 + 1.0))  # std = |g1 - g2| / 2
    assert math.isnan(kernels.zico_layer([[np.nan, 1.0], [2.0, 1.0]]))
    rng = np.random.default_rng(7)
    conv = torch.from_numpy(rng.standard_normal((2, 16, 8, 3, 3))).float()
    assert same(kernels.zico_layer(conv), np_zico_layer(conv.double().numpy()))
    big = rng.standard_normal((2, 200_003))
    assert same(kernels.zico_layer(big), np_zico_layer(big))
    layers = [conv, np.ones((2, 5)), big]
    want = np_zico_layer(conv.double().numpy()) + np_zico_layer(big)
    assert math.isclose(kernels.zico(layers), want, rel_tol=1e-12)
    assert kernels.zico([]) == 0.0
    with pytest.raises(zcnas.ZcnasError, match="grads"):
        kernels.zico_layer(np.zeros((0, 3)))
    with pytest.raises(zcnas.ZcnasError, match="grads"):
        kernels.zico_layer(np.ones(3))
    with pytest.raises(zcnas.ZcnasError, match=r"layers\[1\]"):
        kernels.zico([conv, np.ones(3)])


# --- threads ----------------------------------------------------------------------------------


def test_concurrent_calls_agree():
    rng = np.random.default_rng(11)
    codes = rng.random((48, 5000)) > 0.5
    s = random_spectrum(rng, rng.uniform(1.0, 2.0, 96))
    want_k, want_e = kernels.hamming_kernel(codes), kernels.eigvalsh(s)
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(3):
                np.testing.assert_array_equal(kernels.hamming_kernel(codes), want_k)
                np.testing.assert_array_equal(kernels.eigvalsh(s), want_e)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
