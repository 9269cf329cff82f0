"""Proxy post-processing kernels (Rust) vs the numpy/torch code the references run.

Shapes of NAS-Bench-201 at batch 30: NASWOT's codes of one network's ReLUs (about 0.5 M units
per sample for C=16, N=5), the 30 x 3072 input Jacobian of jacov, and symmetric eigenvalues at
the sizes of TE-NAS's NTK (64) and of wide covariance matrices (256). Run with ``make bench``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zcnas import kernels

RNG = np.random.default_rng(0)
CODES = RNG.random((30, 500_000)) < 0.5
JAC = RNG.standard_normal((30, 3 * 32 * 32))


def _naswot_torch(codes: np.ndarray) -> float:
    """The reference's K = c c^T + (1-c)(1-c)^T in float64, then slogdet."""
    c = torch.from_numpy(codes).to(torch.float64)
    k = c @ c.T + (1.0 - c) @ (1.0 - c).T
    return float(torch.linalg.slogdet(k).logabsdet)


@pytest.mark.benchmark(group="naswot K + logdet, 30 x 500k codes")
def test_naswot_zcnas(benchmark):
    benchmark(lambda: kernels.slogdet(kernels.hamming_kernel(CODES))[1])


@pytest.mark.benchmark(group="naswot K + logdet, 30 x 500k codes")
def test_naswot_torch(benchmark):
    benchmark(_naswot_torch, CODES)


@pytest.mark.benchmark(group="corrcoef 30 x 3072")
def test_corrcoef_zcnas(benchmark):
    benchmark(kernels.corrcoef, JAC)


@pytest.mark.benchmark(group="corrcoef 30 x 3072")
def test_corrcoef_numpy(benchmark):
    benchmark(np.corrcoef, JAC)


@pytest.mark.parametrize("n", [64, 256])
@pytest.mark.benchmark(group="eigvalsh")
def test_eigvalsh_zcnas(benchmark, n):
    a = RNG.standard_normal((n, n))
    benchmark(kernels.eigvalsh, a + a.T)


@pytest.mark.parametrize("n", [64, 256])
@pytest.mark.benchmark(group="eigvalsh")
def test_eigvalsh_numpy(benchmark, n):
    a = RNG.standard_normal((n, n))
    benchmark(np.linalg.eigvalsh, a + a.T)


@pytest.mark.benchmark(group="unique codes 64 x 500k")
def test_unique_zcnas(benchmark):
    codes = np.repeat(CODES[:32], 2, axis=0)
    benchmark(kernels.count_unique_rows, codes)


@pytest.mark.benchmark(group="unique codes 64 x 500k")
def test_unique_numpy(benchmark):
    codes = np.repeat(CODES[:32], 2, axis=0)
    benchmark(lambda: len({r.tobytes() for r in np.packbits(codes, axis=1)}))


# SWAP: distinct sample-wise activation patterns (columns) of 30 x 500k codes in 10 blocks,
# one per hooked ReLU call. Baseline: SWAP's reference, torch.unique over the rows of the
# transposed concatenation; zcnas before 2026-12-04 late: transpose + count_unique_rows.
SWAP_BLOCKS = [torch.from_numpy(b) for b in np.split(CODES, 10, axis=1)]


@pytest.mark.benchmark(group="SWAP patterns 30 x 500k in 10 blocks")
def test_swap_count_zcnas(benchmark):
    benchmark(lambda: kernels.count_unique_columns([b.numpy() for b in SWAP_BLOCKS]))


@pytest.mark.benchmark(group="SWAP patterns 30 x 500k in 10 blocks")
def test_swap_count_transpose_rows(benchmark):
    benchmark(lambda: kernels.count_unique_rows(torch.cat(SWAP_BLOCKS, 1).T.contiguous().numpy()))


@pytest.mark.benchmark(group="SWAP patterns 30 x 500k in 10 blocks")
def test_swap_count_torch_unique(benchmark):
    want = kernels.count_unique_columns([b.numpy() for b in SWAP_BLOCKS])
    got = benchmark(lambda: torch.unique(torch.cat(SWAP_BLOCKS, 1).T, dim=0).shape[0])
    assert got == want
