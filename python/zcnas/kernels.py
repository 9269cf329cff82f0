"""Numeric kernels of the proxy engine, computed in Rust with the GIL released.

These are the O(N²)–O(N³) post-processing steps that zero-cost proxies run once PyTorch has
produced activations or gradients (see ``PROXIES.md`` §2.5, 2.9, 2.10, 2.13–2.15):

* :func:`hamming_kernel` — NASWOT's kernel of binary ReLU codes, exact in integers;
* :func:`slogdet` — NASWOT's score ``log|det K|`` (and sign);
* :func:`corrcoef` — ``numpy.corrcoef`` of rows (jacob_cov, epe_nas);
* :func:`eigvalsh` — eigenvalues of a symmetric matrix (jacob_cov, TE-NAS NTK, AZ-NAS);
* :func:`count_unique_rows` — number of distinct codes (TE-NAS linear regions);
* :func:`count_unique_columns` — distinct columns over blocks of codes (SWAP's patterns);
* :func:`zico_layer` / :func:`zico` — the ZiCo reduction of per-batch gradients.

Every function accepts numpy arrays, torch tensors (moved to the CPU) or nested sequences and
returns numpy arrays or Python numbers. Bad input raises :class:`zcnas.ZcnasError` (a
``ValueError``) naming the argument. Inputs must not be modified by another thread while a
call runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from zcnas import _native
from zcnas._arrays import _to_numpy, as_f64
from zcnas.exceptions import ZcnasError

__all__ = [
    "SYMMETRY_RTOL",
    "corrcoef",
    "count_unique_columns",
    "count_unique_rows",
    "eigvalsh",
    "hamming_kernel",
    "slogdet",
    "zico",
    "zico_layer",
]

#: Default ``symmetry_rtol`` of :func:`eigvalsh`.
SYMMETRY_RTOL: float = _native.SYMMETRY_RTOL


def _as_codes(x: Any, name: str) -> np.ndarray:
    """``x`` as a C-contiguous 2-D uint8 array (nonzero = 1) without copying bool/uint8 input."""
    try:
        arr = _to_numpy(x)
    except (TypeError, ValueError) as e:
        raise ZcnasError(f"`{name}` could not be read as an array: {e}") from e
    if arr.ndim != 2:
        raise ZcnasError(f"`{name}` must be 2-D (rows x units), got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return np.ascontiguousarray(arr).view(np.uint8)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind in "iu":
        return (arr != 0).view(np.uint8)
    raise ZcnasError(
        f"`{name}` must be a bool or integer array of binary codes (nonzero = 1), got dtype "
        f"{arr.dtype}; binarise activations first, e.g. `x > 0`"
    )


def hamming_kernel(codes: Any) -> np.ndarray:
    """NASWOT's kernel of binary activation codes.

    ``K[i, j]`` is the number of units on which rows ``i`` and ``j`` agree, i.e. ``D`` minus
    their Hamming distance, which equals ``c @ c.T + (1 - c) @ (1 - c).T``. Rows are bit-packed
    into 64-bit words and compared by popcount of XOR, in integers (exact), rows in parallel.

    Kernels of several layers add: concatenate the layers' codes along axis 1
    (``torch.cat([c.flatten(1) for c in codes], 1)``) or sum the per-layer results; either gives
    NASWOT's K over all ReLUs. Entries are exact up to 2**53.

    Args:
        codes: ``(B, D)`` bool array (or integer array, nonzero = 1), one row per sample.
            Floats are refused, so that raw pre-activations are not mistaken for codes.

    Returns:
        ``(B, B)`` float64 symmetric matrix with ``D`` on the diagonal.

    >>> hamming_kernel([[True, False, True], [True, True, True]]).tolist()
    [[3.0, 2.0], [2.0, 3.0]]
    """
    return _native.hamming_kernel(_as_codes(codes, "codes"))


def count_unique_rows(codes: Any) -> int:
    """Number of distinct rows of a binary matrix (bit-packed and hashed).

    With rows = samples this is TE-NAS's linear-region count
    ``Σ_i 1 / #{j : code_j = code_i}``; for SWAP, pass the transpose (rows = units). A matrix
    with no columns has one distinct row (if it has any rows).

    Args:
        codes: ``(N, D)`` bool array (or integer array, nonzero = 1).

    >>> count_unique_rows([[1, 0], [1, 0], [0, 1]])
    2
    """
    return _native.count_unique_rows(_as_codes(codes, "codes"))


def _is_block_list(x: Any) -> bool:
    """True for a sequence of 2-D blocks, False for one 2-D array (or nested lists of rows)."""
    if hasattr(x, "ndim") or not isinstance(x, list | tuple) or not x:
        return False
    first = x[0]
    if hasattr(first, "ndim"):
        return int(first.ndim) == 2
    return isinstance(first, list | tuple) and bool(first) and isinstance(first[0], list | tuple)


def count_unique_columns(blocks: Any) -> int:
    """Number of distinct columns of binary matrices concatenated along the columns.

    SWAP's score before averaging: with ``(B, N_l)`` blocks (rows = samples, columns = the
    units of one hooked ReLU call) it counts the distinct sample-wise activation patterns over
    all units, ``count_unique_rows(concatenate(blocks, axis=1).T)``, without building the
    concatenation or its transpose: each column is bit-packed straight from the row-major
    blocks (``ceil(B / 64)`` 64-bit words) and the packed columns are sorted and counted.

    Args:
        blocks: one ``(B, N)`` bool array (or integer array, nonzero = 1) or a sequence of
            ``(B, N_l)`` arrays with the same ``B``.

    Returns:
        The number of distinct columns (0 without columns; 1 if ``B == 0``).

    Raises:
        ZcnasError: a block that is not 2-D binary codes, or blocks with different ``B``.

    >>> count_unique_columns([[[1, 0], [0, 1]], [[1], [0]]])  # columns 10, 01, 10
    2
    """
    if isinstance(blocks, list | tuple) and not blocks:
        return 0
    if blocks is None:
        raise ZcnasError("`blocks` must be a 2-D array of codes or a sequence of them, got None")
    if _is_block_list(blocks):
        arrs = [_as_codes(b, f"blocks[{i}]") for i, b in enumerate(blocks)]
    else:
        arrs = [_as_codes(blocks, "blocks")]
    return _native.count_unique_columns(arrs)


def slogdet(a: Any) -> tuple[float, float]:
    """Sign and natural log of ``|det a|``, as ``numpy.linalg.slogdet``.

    LU with partial pivoting in float64. A singular matrix (an exactly zero pivot, e.g. two
    identical codes in NASWOT's K) gives ``(0.0, -inf)``; a ``0 x 0`` matrix ``(1.0, 0.0)``; any
    NaN or infinite entry ``(nan, nan)``. NASWOT's score is the ``logabsdet``.

    Args:
        a: square 2-D real matrix.

    >>> slogdet([[0.0, 2.0], [3.0, 0.0]])[0]
    -1.0
    """
    return _native.slogdet(as_f64(a, "a", 2))


def corrcoef(x: Any) -> np.ndarray:
    """Correlation matrix of the rows of ``x`` (variables in rows), as ``numpy.corrcoef(x)``.

    Agreement with numpy is to rounding (about 1e-15), with an exact 1 on the diagonal.
    Differences from numpy, on purpose:

    * a constant row (every row if ``x`` has fewer than 2 columns) gives NaN in its row and
      column, as numpy, but without a warning, and for every constant (numpy's rounded mean can
      leave rounding noise instead of NaN for constants such as 0.1);
    * one row gives ``[[1.0]]`` (a 2-D array) where numpy gives the scalar ``1.0``;
    * huge values (near the float64 limit) do not overflow.

    A row holding NaN or ±inf gives NaN in its row and column, as in numpy.

    Args:
        x: ``(N, D)`` real matrix: ``N`` variables observed ``D`` times.

    Returns:
        ``(N, N)`` float64 matrix.
    """
    return _native.corrcoef(as_f64(x, "x", 2))


def eigvalsh(
    s: Any, *, symmetry_rtol: float = SYMMETRY_RTOL, method: str = "tridiagonal"
) -> np.ndarray:
    """Eigenvalues of a real symmetric matrix in ascending order, as ``numpy.linalg.eigvalsh``.

    ``method="tridiagonal"`` (default): Householder reduction to tridiagonal form and the
    implicit QL iteration, the method of LAPACK behind numpy; agrees with numpy to about 1e-12
    of the largest ``|λ|``. ``method="jacobi"``: cyclic Jacobi (round-robin order, parallel for
    large matrices), several times slower but small eigenvalues of positive definite matrices
    come out with high relative accuracy.

    Unlike numpy, which reads one triangle only, the input is checked: it must be finite and
    ``|s[i, j] - s[j, i]| <= symmetry_rtol * max|s|``; the two triangles are then averaged.

    Args:
        s: square, symmetric, finite 2-D real matrix.
        symmetry_rtol: allowed asymmetry relative to the largest entry (default 1e-9).
        method: ``"tridiagonal"`` or ``"jacobi"``.

    Returns:
        float64 array of the ``n`` eigenvalues, ascending.

    >>> eigvalsh([[2.0, 1.0], [1.0, 2.0]]).round(12).tolist()
    [1.0, 3.0]
    """
    return _native.eigvalsh(
        as_f64(s, "s", 2), symmetry_rtol=float(symmetry_rtol), method=str(method)
    )


def _as_grads(grads: Any, name: str) -> np.ndarray:
    arr = as_f64(grads, name, (2, 3, 4, 5, 6))
    return arr.reshape(arr.shape[0], math.prod(arr.shape[1:]))


def zico_layer(grads: Any) -> float | None:
    """One layer's ZiCo term, exactly as the reference (``SLDGroup/ZiCo`` ``compute_zico.py``).

    With ``g[b, θ]`` the gradient of weight ``θ`` in batch ``b``: ``μ_θ = mean_b |g|`` and
    ``σ_θ = std_b(g)`` with **ddof 0** (numpy's default, *not* ``torch.std``'s unbiased one);
    only weights with ``σ_θ != 0`` are kept, and the term is ``log(Σ_θ μ_θ / σ_θ)``. With two
    batches ``σ = |g1 - g2| / 2``.

    Returns ``None`` when the sum is 0 (every ``σ_θ`` is 0: one batch, identical batches or no
    weights): the reference skips such a layer. NaN or infinite gradients make the term NaN, as
    in the reference.

    Args:
        grads: ``(B, P)`` gradients, one row per batch (or sample); more dimensions
            (``(B, *weight.shape)``) are flattened. Needs ``B >= 1``.
    """
    return _native.zico_layer(_as_grads(grads, "grads"))


def zico(layers: Iterable[Any]) -> float:
    """The ZiCo score: the sum of :func:`zico_layer` over layers, skipped layers adding nothing.

    Args:
        layers: per layer, its ``(B, ...)`` gradients across the ``B`` batches (ZiCo uses
            ``B = 2``). Layers without gradients should be left out (the AZ-NAS port skips
            them; the original crashes).

    Returns:
        The score; 0.0 if every layer is skipped, as the reference.
    """
    total = 0.0
    for i, g in enumerate(layers):
        term = _native.zico_layer(_as_grads(g, f"layers[{i}]"))
        if term is not None:
            total += term
    return total
