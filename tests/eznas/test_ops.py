"""Every EZNAS operation in Rust against the numpy reference and, where one exists, against
PyTorch/numpy directly, on random tensors with edge cases (NaN, inf, zeros, shape mismatch,
singular matrices)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from zcnas import _native
from zcnas.exceptions import ZcnasError
from zcnas.eznas import reference as ref

OPS = dict(_native.eznas_ops())
UNARY = [n for n, a in OPS.items() if a == 1]
BINARY = [n for n, a in OPS.items() if a == 2]

UNARY_SHAPES = [(), (3,), (1,), (2, 3), (3, 3), (1, 2, 4, 4), (2, 3, 3), (3, 2, 3, 3), (0, 2)]
BINARY_SHAPES = [
    ((2, 3), (2, 3)),
    ((2, 1, 3), (4, 3)),
    ((), (2, 3)),
    ((1, 2, 4, 4), (1, 2, 4, 4)),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3), (3, 2)),
    ((4, 4), (2, 4, 4)),
    ((3, 2, 3, 3), (2, 3, 3)),
]


def values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    x = rng.normal(size=shape)
    if kind == "edge" and x.size:
        flat = x.reshape(-1)
        specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e-300]
        idx = rng.choice(flat.size, size=min(flat.size, 3), replace=False)
        flat[idx] = rng.choice(specials, size=idx.size)
    elif kind == "sign":
        x = np.sign(x) * (rng.random(shape) < 0.8)
    elif kind == "int":
        x = rng.integers(-2, 3, size=shape).astype(np.float64)
    return x


def run_rust(expr: str, **arrays: np.ndarray) -> np.ndarray:
    return _native.eznas_eval_tensor(
        expr, {k: np.asarray(v, dtype=np.float64, order="C") for k, v in arrays.items()}
    )


def both(expr: str, **arrays: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    try:
        r = run_rust(expr, **arrays)
    except ZcnasError:
        r = None
    try:
        p = ref.eval_tensor(expr, arrays)
    except ref.OpFailure:
        p = None
    return r, p


def assert_same(expr: str, r: np.ndarray | None, p: np.ndarray | None) -> None:
    assert (r is None) == (p is None), f"{expr}: rust {'failed' if r is None else 'ran'}"
    if r is None or p is None:
        return
    assert r.shape == p.shape, expr
    np.testing.assert_allclose(r, p, rtol=1e-9, atol=1e-10, equal_nan=True, err_msg=expr)


def test_the_table_has_34_operations_matching_the_reference() -> None:
    assert len(OPS) == 34
    assert {n: a for n, (a, _) in ref.OPS.items()} == OPS
    assert len(UNARY) == 24 and len(BINARY) == 10


@pytest.mark.parametrize("op", UNARY)
def test_unary_matches_reference(op: str) -> None:
    rng = np.random.default_rng(zlib.crc32(op.encode()))
    for shape in UNARY_SHAPES:
        for kind in ("normal", "edge", "sign", "int"):
            a = values(rng, shape, kind)
            r, p = both(f"{op}(T1D)", T1D=a)
            assert_same(f"{op}{shape} {kind}", r, p)


@pytest.mark.parametrize("op", BINARY)
def test_binary_matches_reference(op: str) -> None:
    rng = np.random.default_rng(zlib.crc32(op.encode()))
    for sa, sb in BINARY_SHAPES:
        for kind in ("normal", "edge", "int"):
            a, b = values(rng, sa, kind), values(rng, sb, kind)
            if op == "KLDiv" and kind == "normal":
                b = np.abs(b)
            r, p = both(f"{op}(T1D, T2D)", T1D=a, T2D=b)
            assert_same(f"{op}{sa}{sb} {kind}", r, p)


def test_shape_mismatch_fails_with_a_clear_error() -> None:
    a, b = np.ones((2, 3)), np.ones((3, 2))
    with pytest.raises(ZcnasError, match="cannot be broadcast"):
        run_rust("Add(T1D, T2D)", T1D=a, T2D=b)
    with pytest.raises(ZcnasError, match="not aligned"):
        run_rust("MatMul(T1D, T2D)", T1D=a, T2D=a)
    with pytest.raises(ZcnasError, match=r"\(\.\.\., n, n\)"):
        run_rust("Det(T1D)", T1D=a)
    with pytest.raises(ZcnasError, match="at least 1 dimension"):
        run_rust("MatMul(FrobeniusNorm(T1D), T1D)", T1D=a)
    with pytest.raises(ZcnasError, match=r"no terminal|not loaded"):
        run_rust("Add(T1D, T3)", T1D=a)


def test_against_pytorch(torch_one_thread: None) -> None:
    import torch

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(2, 3, 4, 4))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    close = np.testing.assert_allclose
    close(run_rust("MatMul(T1D, T2D)", T1D=a, T2D=b), torch.matmul(ta, tb).numpy(), rtol=1e-12)
    v = rng.normal(size=4)
    close(run_rust("MatMul(T1D, T2D)", T1D=a, T2D=v), torch.matmul(ta, torch.from_numpy(v)))
    for x in (a, a[0], a[0, 0], a[0, 0, 0]):  # implicit dim: 1 (4-d, 2-d), 0 (3-d, 1-d)
        dim = 0 if x.ndim in (1, 3) else 1
        close(run_rust("Softmax(T1D)", T1D=x), torch.softmax(torch.from_numpy(x), dim).numpy())
    t = torch.from_numpy(a)
    close(run_rust("Normalize(T1D)", T1D=a), ((t - t.mean()) / t.std()).numpy(), rtol=1e-12)
    close(run_rust("Sigmoid(T1D)", T1D=a), torch.sigmoid(t).numpy(), rtol=1e-12)
    target = np.abs(b) / np.abs(b).sum()
    kl = torch.nn.KLDivLoss(reduction="batchmean")(t, torch.from_numpy(target))
    close(run_rust("KLDiv(T1D, T2D)", T1D=a, T2D=target), kl.numpy(), rtol=1e-12)
    cos = torch.nn.CosineSimilarity()(ta.reshape(2, -1), tb.reshape(2, -1)).sum()
    close(run_rust("CosineSimilarity(T1D, T2D)", T1D=a, T2D=b), cos.numpy(), rtol=1e-12)
    close(run_rust("Det(T1D)", T1D=a), torch.det(ta).numpy(), rtol=1e-10)
    w = rng.normal(size=(5, 3, 3, 3))
    m = torch.from_numpy(w.reshape(5, -1))
    e = torch.linalg.eigvalsh(m @ m.T + (m @ m.T).T)
    close(run_rust("SymEigRatio(T1D)", T1D=w), (e[-1] / e[0]).numpy(), rtol=1e-8)
    close(run_rust("EigRatio(T1D)", T1D=w), (e[-1] / e[0]).numpy(), rtol=1e-8)
    hd = (torch.heaviside(ta, torch.tensor(0.0, dtype=torch.float64)) != (tb > 0)).sum()
    assert run_rust("Hamming(T1D, T2D)", T1D=a, T2D=b) == hd.item()
    assert run_rust("FrobeniusNorm(T1D)", T1D=a) == pytest.approx(torch.norm(ta).item(), 1e-12)
    assert run_rust("Numel(T1D)", T1D=a).tolist() == [float(a.size)]
    close(run_rust("Log(T1D)", T1D=a), torch.log(torch.where(ta <= 0, 1.0, ta)).numpy())


def test_edge_semantics() -> None:
    x = np.array([np.nan, -1.0, 0.0, 2.0])
    r = lambda e: run_rust(e, T1D=x)  # noqa: E731
    np.testing.assert_array_equal(r("Log(T1D)"), [np.nan, 0.0, 0.0, np.log(2.0)])
    np.testing.assert_array_equal(r("AbsLog(T1D)"), [np.nan, 0.0, 0.0, np.log(2.0)])
    np.testing.assert_array_equal(r("GtZero(T1D)"), [0, 0, 0, 1])
    np.testing.assert_array_equal(r("LtZero(T1D)"), [0, 1, 0, 0])
    np.testing.assert_array_equal(r("Heaviside(T1D)"), [np.nan, 0, 0, 1])
    np.testing.assert_array_equal(r("Sign(T1D)"), [np.nan, -1, 0, 1])
    np.testing.assert_array_equal(r("Eq(T1D, T1D)"), [0, 1, 1, 1])
    np.testing.assert_array_equal(r("Invert(T1D)"), [np.nan, -1.0, np.inf, 0.5])
    assert np.isnan(r("NormalizedSum(T1D)"))
    # Normalize: NaN -> 0 (a constant tensor has std 0).
    np.testing.assert_array_equal(run_rust("Normalize(T1D)", T1D=np.ones(3)), np.zeros(3))
    np.testing.assert_array_equal(run_rust("Normalize(T1D)", T1D=np.ones(1)), np.zeros(1))
    # Singular and negative determinants.
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    flip = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert run_rust("Det(T1D)", T1D=singular) == 0.0
    assert run_rust("LogDet(T1D)", T1D=singular) == -np.inf
    assert run_rust("Sigmoid(LogDet(T1D))", T1D=singular) == 0.0
    assert run_rust("LogDet(T1D)", T1D=flip) == 0.0
    assert run_rust("Det(T1D)", T1D=flip) == pytest.approx(-1.0)
    # A singular integer matrix that LU leaves with a rounding-level pivot is still singular.
    m = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    assert run_rust("LogDet(T1D)", T1D=m) == -np.inf
    assert run_rust("LogDet(T1D)", T1D=np.full((2, 2), np.nan)) == 0.0
    # Rank-deficient Gram matrix: the eigen ratio is infinite (an invalid program).
    assert run_rust("SymEigRatio(T1D)", T1D=np.ones((3, 4))) == np.inf
    assert run_rust("SymEigRatio(T1D)", T1D=np.ones((1, 4))) == 1.0
    # KL: zero targets contribute 0, negative targets NaN.
    assert run_rust("KLDiv(T1D, T2D)", T1D=np.ones(2), T2D=np.array([0.0, 1.0])) == -0.5
    assert np.isnan(run_rust("KLDiv(T1D, T2D)", T1D=np.ones(2), T2D=np.array([-1.0, 1.0])))
    assert run_rust("Hamming(T1D, T2D)", T1D=x, T2D=x) == 1.0  # NaN differs from itself
