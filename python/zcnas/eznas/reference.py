"""A plain numpy interpreter of EZNAS programs, with the Rust interpreter's semantics.

It exists to check the Rust core (tests compare the two on every operation and on random
trees) and as the baseline of ``benches/eznas_interpreter.py``. It is slow on purpose: no
caching, one tensor at a time. The semantics of every operation are documented in the Rust
module ``zcnas_core::gp::ops`` and in :mod:`zcnas.eznas.program`; in short:

* shapes follow PyTorch: element-wise binary operations broadcast, reductions give 0-d arrays,
  ``MatMul`` follows ``torch.matmul``; an operation that cannot be applied raises
  :class:`OpFailure` (the program is then invalid on that instance);
* ``Det``/``LogDet`` act on trailing square matrices through an LU factorisation with partial
  pivoting (LAPACK ``getrf`` via :func:`scipy.linalg.lu_factor`, numpy has no LU); a pivot of
  at most ``1e-9 * max|a|`` (:data:`PIVOT_RTOL`) makes the matrix singular (``Det`` 0,
  ``LogDet`` -inf);
* the eigen ratios set eigenvalues within ``1e-9 * max|e|`` of zero to 0.

The network score is the mean over instances of ``to_scalar`` (mean or L2) of the program's
output, NaN when the program fails or gives a non-finite value on any instance.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

#: Largest number of elements of any intermediate value (as the Rust core).
MAX_ELEMENTS = 1 << 24
#: Largest multiply-add count of a matrix operation (as the Rust core).
MAX_WORK = 1 << 31
#: Largest side of a matrix whose eigenvalues are computed.
MAX_EIG_SIDE = 512
#: An LU pivot of at most ``PIVOT_RTOL * max|a|`` makes a matrix singular (``Det``, ``LogDet``).
PIVOT_RTOL = 1e-9
#: Eigenvalues with ``|e| <= EIG_ZERO_RTOL * max|e|`` count as zero in the eigen ratios.
EIG_ZERO_RTOL = 1e-9

Array = np.ndarray
Tree = tuple[str, tuple[Any, ...]]


class OpFailure(Exception):
    """An operation could not be applied (shape mismatch, wrong rank, too large)."""


def _check(a: Array) -> Array:
    if a.size > MAX_ELEMENTS:
        raise OpFailure(f"shape {a.shape} exceeds {MAX_ELEMENTS} elements")
    return a


def _bshape(a: Array, b: Array) -> tuple[int, ...]:
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError as e:
        raise OpFailure(str(e)) from None
    if int(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS:
        raise OpFailure(f"shape {shape} exceeds {MAX_ELEMENTS} elements")
    return shape


def _elementwise(f: Callable[[Array, Array], Array]) -> Callable[[Array, Array], Array]:
    def op(a: Array, b: Array) -> Array:
        _bshape(a, b)
        return np.asarray(f(a, b), dtype=np.float64)

    return op


def _heaviside(a: Array) -> Array:
    return np.heaviside(a, 0.0)


def _matmul(a: Array, b: Array) -> Array:
    if a.ndim == 0 or b.ndim == 0:
        raise OpFailure("MatMul needs tensors of at least 1 dimension")
    sa = (1, a.shape[0]) if a.ndim == 1 else a.shape
    sb = (b.shape[0], 1) if b.ndim == 1 else b.shape
    if sa[-1] != sb[-2]:
        raise OpFailure(f"MatMul: shapes {a.shape} and {b.shape} are not aligned")
    try:
        batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError as e:
        raise OpFailure(str(e)) from None
    work = float(np.prod(batch, dtype=np.float64)) * sa[-2] * sa[-1] * sb[-1]
    if work > MAX_WORK:
        raise OpFailure("MatMul too large")
    if np.isfinite(a).all() and np.isfinite(b).all():
        return _check(np.matmul(a, b))
    # IEEE products summed (0 * inf = NaN), as the core computes them: BLAS kernels may skip
    # zero operands and turn such a NaN into an infinity, depending on the library.
    out = (np.reshape(a, sa)[..., :, :, None] * np.reshape(b, sb)[..., None, :, :]).sum(axis=-2)
    if b.ndim == 1:
        out = out[..., 0]
    if a.ndim == 1:
        out = out[..., 0, :] if b.ndim > 1 else out[..., 0]
    return _check(out)


def _lu_slogdet(m: Array) -> tuple[float, float, bool]:
    """(sign, log|det|, singular) by LAPACK LU with the core's singularity rule."""
    import scipy.linalg

    n = m.shape[0]
    if n == 0:
        return 1.0, 0.0, False
    if not np.all(np.isfinite(m)):
        return float("nan"), float("nan"), False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lu, piv = scipy.linalg.lu_factor(m, check_finite=False)
    d = np.diag(lu)
    tol = PIVOT_RTOL * np.max(np.abs(m))
    if np.any(np.abs(d) <= tol) or np.any(d == 0):
        return 0.0, float("-inf"), True
    swaps = int(np.sum(piv != np.arange(n)))
    sign = (-1.0) ** swaps * float(np.prod(np.sign(d)))
    return sign, float(np.sum(np.log(np.abs(d)))), False


def _batched_square(a: Array, name: str, f: Callable[[Array], float]) -> Array:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise OpFailure(f"{name} needs a (..., n, n) tensor, got shape {a.shape}")
    n = a.shape[-1]
    batch = a.shape[:-2]
    if float(np.prod(batch, dtype=np.float64)) * n**3 > MAX_WORK:
        raise OpFailure(f"{name} too large")
    mats = a.reshape(-1, n, n)
    return np.array([f(m) for m in mats], dtype=np.float64).reshape(batch)


def _det(m: Array) -> float:
    s, logabs, singular = _lu_slogdet(m)
    return 0.0 if singular else s * np.exp(logabs)


def _logdet(m: Array) -> float:
    s, logabs, singular = _lu_slogdet(m)
    if singular:
        return float("-inf")
    if np.isnan(s) or s < 0:
        return 0.0
    return logabs


def _eig_ratio(a: Array) -> Array:
    if a.ndim == 0 or a.shape[0] == 0:
        raise OpFailure(f"eigen ratio needs a non-empty first dimension, got {a.shape}")
    n = a.shape[0]
    a2 = a.reshape(n, -1)
    if n > MAX_EIG_SIDE or n * n * a2.shape[1] > MAX_WORK:
        raise OpFailure("eigen ratio too large")
    if not np.all(np.isfinite(a2)):
        return np.float64(np.nan)
    m = a2 @ a2.T
    s = m + m.T
    if not np.all(np.isfinite(s)):
        return np.float64(np.nan)
    e = np.linalg.eigvalsh(s)
    top = np.max(np.abs(e))
    e = np.where(np.abs(e) <= EIG_ZERO_RTOL * top, 0.0, e)
    return np.float64(e[-1] / e[0])


def _normalize(a: Array) -> Array:
    n = a.size
    mean = a.sum() / n
    std = np.sqrt(((a - mean) ** 2).sum() / (n - 1))
    c = (a - mean) / std
    return np.where(np.isnan(c), 0.0, c)


def _softmax(a: Array) -> Array:
    if a.ndim == 0:
        return np.where(np.isnan(a), a, 1.0)
    dim = 0 if a.ndim in (1, 3) else 1
    m = np.max(a, axis=dim, keepdims=True) if a.shape[dim] > 0 else a
    e = np.exp(a - m)
    return e / np.sum(e, axis=dim, keepdims=True)


def _sigmoid(a: Array) -> Array:
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _xlogy(x: Array) -> Array:
    return np.where(x == 0, 0.0, x * np.log(x))


def _kldiv(a: Array, b: Array) -> Array:
    shape = _bshape(a, b)
    a2, b2 = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    s = np.sum(_xlogy(b2) - b2 * a2)
    if a.ndim > 0:
        s = s / a.shape[0]
    return np.float64(s)


def _rows(a: Array) -> Array:
    if a.ndim == 0:
        raise OpFailure("CosineSimilarity needs tensors of at least 1 dimension")
    r = a.shape[0]
    return a.reshape(r, a.size // r if r else 0)


def _cosine(a: Array, b: Array) -> Array:
    a2, b2 = _rows(a), _rows(b)
    try:
        shape = np.broadcast_shapes(a2.shape, b2.shape)
    except ValueError as e:
        raise OpFailure(str(e)) from None
    x, y = np.broadcast_to(a2, shape), np.broadcast_to(b2, shape)
    eps = 1e-8
    na = np.maximum(np.sqrt(np.sum(x * x, axis=1)), eps)
    nb = np.maximum(np.sqrt(np.sum(y * y, axis=1)), eps)
    return np.float64(np.sum(np.sum(x * y, axis=1) / (na * nb)))


def _hamming(a: Array, b: Array) -> Array:
    _bshape(a, b)
    return np.float64(np.sum(_heaviside(a) != _heaviside(b)))


def _f(x: Any) -> Array:
    return np.asarray(x, dtype=np.float64)


#: name -> (arity, function), in Table 5 order.
OPS: dict[str, tuple[int, Callable[..., Array]]] = {
    "Add": (2, _elementwise(lambda a, b: a + b)),
    "Sub": (2, _elementwise(lambda a, b: a - b)),
    "Mul": (2, _elementwise(lambda a, b: a * b)),
    "MatMul": (2, _matmul),
    "Lt": (2, _elementwise(lambda a, b: a < b)),
    "Gt": (2, _elementwise(lambda a, b: a > b)),
    "Eq": (2, _elementwise(lambda a, b: a == b)),
    "Log": (1, lambda a: np.log(np.where(a <= 0, 1.0, a))),
    "AbsLog": (1, lambda a: np.log(np.abs(np.where(a == 0, 1.0, a)))),
    "Abs": (1, np.abs),
    "Square": (1, lambda a: a * a),
    "Exp": (1, np.exp),
    "Normalize": (1, _normalize),
    "Relu": (1, lambda a: np.where(a < 0, 0.0, a)),
    "Sign": (1, np.sign),
    "Heaviside": (1, _heaviside),
    "Invert": (1, lambda a: 1.0 / a),
    "FrobeniusNorm": (1, lambda a: _f(np.sqrt(np.sum(a * a)))),
    "Det": (1, lambda a: _batched_square(a, "Det", _det)),
    "LogDet": (1, lambda a: _batched_square(a, "LogDet", _logdet)),
    "SymEigRatio": (1, _eig_ratio),
    "EigRatio": (1, _eig_ratio),
    "NormalizedSum": (1, lambda a: _f(np.sum(a) / a.size)),
    "L1Norm": (1, lambda a: _f(np.sum(np.abs(a)) / a.size)),
    "Hamming": (2, _hamming),
    "KLDiv": (2, _kldiv),
    "CosineSimilarity": (2, _cosine),
    "Softmax": (1, _softmax),
    "Sigmoid": (1, _sigmoid),
    "OnesLike": (1, np.ones_like),
    "ZerosLike": (1, np.zeros_like),
    "GtZero": (1, lambda a: _f(a > 0)),
    "LtZero": (1, lambda a: _f(a < 0)),
    "Numel": (1, lambda a: np.array([float(a.size)])),
}

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([(),]))")


def parse(expr: str) -> Tree | str:
    """Parse a formula into nested ``(op, args)`` tuples; terminals stay strings."""
    toks: list[str] = []
    pos = 0
    expr_s = expr.strip()
    while pos < len(expr_s):
        m = _TOKEN.match(expr_s, pos)
        if not m:
            raise ValueError(f"cannot parse {expr!r} at {pos}")
        toks.append(m.group(1) or m.group(2))
        pos = m.end()
    i = 0

    def node() -> Tree | str:
        nonlocal i
        tok = toks[i]
        i += 1
        if tok not in OPS:
            return tok
        arity = OPS[tok][0]
        if toks[i] != "(":
            raise ValueError(f"expected '(' after {tok}")
        i += 1
        args = []
        for k in range(arity):
            if k:
                if toks[i] != ",":
                    raise ValueError(f"expected ',' in {tok}")
                i += 1
            args.append(node())
        if toks[i] != ")":
            raise ValueError(f"expected ')' after the arguments of {tok}")
        i += 1
        return (tok, tuple(args))

    tree = node()
    if i != len(toks):
        raise ValueError(f"trailing tokens in {expr!r}")
    return tree


def _eval(tree: Tree | str, instance: Mapping[str, Array]) -> Array:
    if isinstance(tree, str):
        if tree not in instance:
            raise OpFailure(f"terminal {tree} is missing")
        return np.asarray(instance[tree], dtype=np.float64)
    name, args = tree
    vals = [_eval(a, instance) for a in args]
    return _check(np.asarray(OPS[name][1](*vals), dtype=np.float64))


def eval_tensor(expr: str | Tree, instance: Mapping[str, Array]) -> Array:
    """The output tensor of a program on one instance; raises :class:`OpFailure`."""
    tree = parse(expr) if isinstance(expr, str) else expr
    with np.errstate(all="ignore"):
        return _eval(tree, instance)


def to_scalar(t: Array, how: str = "mean") -> float:
    """``mean`` (NaN when empty) or ``l2`` of a tensor."""
    with np.errstate(all="ignore"):
        if how == "mean":
            return float(np.sum(t) / t.size) if t.size else float("nan")
        return float(np.sqrt(np.sum(t * t)))


def score(expr: str | Tree, instances: Sequence[Mapping[str, Array]], how: str = "mean") -> float:
    """Network score: mean over instances of ``to_scalar(output)``; NaN where invalid."""
    tree = parse(expr) if isinstance(expr, str) else expr
    if not instances:
        return float("nan")
    total = 0.0
    for inst in instances:
        try:
            v = to_scalar(eval_tensor(tree, inst), how)
        except OpFailure:
            return float("nan")
        if not np.isfinite(v):
            return float("nan")
        total += v
    return total / len(instances)
