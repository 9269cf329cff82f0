//! The small dense linear algebra behind `Det`, `LogDet` and the eigen ratios.

use super::tensor::{OpError, OpResult, Tensor, MAX_EIG_SIDE, MAX_WORK};

/// Relative threshold below which an eigenvalue counts as zero in the eigen ratios: an
/// eigenvalue with `|e| <= EIG_ZERO_RTOL * max|e|` is set to exactly 0.
pub const EIG_ZERO_RTOL: f64 = 1e-9;

/// Relative pivot threshold of `Det`/`LogDet`: a matrix with an LU pivot of at most
/// `PIVOT_RTOL * max|a_ij|` counts as singular. Exactly singular matrices leave rounding-level
/// pivots (about `n² eps`), far below it, whichever LU variant computes them, so the
/// decision does not depend on the implementation (LAPACK's recursive `getrf` in the numpy
/// reference, a right-looking LU here).
pub const PIVOT_RTOL: f64 = 1e-9;

/// `(sign, ln|det|, numerically_singular)` of a row-major `n` x `n` matrix by LU with partial
/// pivoting (the first row with the largest `|a_ik|`, as LAPACK's `getrf`).
///
/// The matrix counts as singular when a pivot is at most [`PIVOT_RTOL`]` * max|a_ij|`; the
/// sign and log are then meaningless. A non-finite entry gives `(NaN, NaN, false)`.
pub fn lu_slogdet(a: &[f64], n: usize) -> (f64, f64, bool) {
    if a.iter().any(|v| !v.is_finite()) {
        return (f64::NAN, f64::NAN, false);
    }
    let max_abs = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    crate::kernels::lu::lu_slogdet(a.to_vec(), n, PIVOT_RTOL * max_abs)
}

/// Apply `f` to every trailing square matrix of `a` (shape `(..., n, n)`); the result has the
/// leading (batch) shape.
pub fn batched_square(
    a: &Tensor,
    name: &str,
    f: impl Fn(&[f64], usize) -> f64,
) -> OpResult<Tensor> {
    let nd = a.ndim();
    if nd < 2 || a.shape[nd - 1] != a.shape[nd - 2] {
        return Err(OpError(format!(
            "{name} needs a (..., n, n) tensor, got shape {:?}",
            a.shape
        )));
    }
    let n = a.shape[nd - 1];
    let batch: usize = a.shape[..nd - 2].iter().product();
    if batch.saturating_mul(n.saturating_pow(3)) > MAX_WORK {
        return Err(OpError(format!(
            "{name} of shape {:?} is too large",
            a.shape
        )));
    }
    let data = if n == 0 {
        (0..batch).map(|_| f(&[], 0)).collect()
    } else {
        a.data.chunks(n * n).map(|m| f(m, n)).collect()
    };
    Ok(Tensor {
        shape: a.shape[..nd - 2].to_vec(),
        data,
    })
}

/// Dot product with eight independent partial sums (vectorisable; the summation order is
/// fixed, so results do not depend on the machine's thread count).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `e_max / e_min` of the symmetric matrix `2 A Aᵀ` (`A` = the input reshaped to
/// `(shape[0], -1)`), eigenvalues ascending, those within [`EIG_ZERO_RTOL`] of zero set to 0.
pub fn gram_eig_ratio(a: &Tensor, name: &str) -> OpResult<Tensor> {
    if a.ndim() == 0 || a.shape[0] == 0 {
        return Err(OpError(format!(
            "{name} needs a tensor with a non-empty first dimension, got shape {:?}",
            a.shape
        )));
    }
    let n = a.shape[0];
    let c = a.numel() / n;
    if n > MAX_EIG_SIDE || n.saturating_mul(n).saturating_mul(c) > MAX_WORK {
        return Err(OpError(format!(
            "{name} of shape {:?} is too large",
            a.shape
        )));
    }
    if a.data.iter().any(|v| !v.is_finite()) {
        return Ok(Tensor::scalar(f64::NAN));
    }
    let mut g = vec![0.0; n * n];
    for i in 0..n {
        let ri = &a.data[i * c..(i + 1) * c];
        for j in 0..=i {
            let rj = &a.data[j * c..(j + 1) * c];
            let s = dot(ri, rj);
            g[i * n + j] = 2.0 * s;
            g[j * n + i] = 2.0 * s;
        }
    }
    if g.iter().any(|v| !v.is_finite()) {
        return Ok(Tensor::scalar(f64::NAN));
    }
    let Some(mut e) = sym_eigvals(g, n) else {
        return Ok(Tensor::scalar(f64::NAN));
    };
    let top = e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for v in &mut e {
        if v.abs() <= EIG_ZERO_RTOL * top {
            *v = 0.0;
        }
    }
    Ok(Tensor::scalar(e[n - 1] / e[0]))
}

/// Eigenvalues (ascending) of a finite, exactly symmetric row-major `n` x `n` matrix:
/// Householder reduction to tridiagonal form, then the implicit QL iteration (the kernel of
/// `zcnas.kernels.eigvalsh`; absolute accuracy about `eps * ||A||`, as LAPACK's `syev`).
/// `None` if the QL iteration does not converge in 60 sweeps per eigenvalue.
pub fn sym_eigvals(a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    crate::kernels::eig::tridiagonal_ql(a, n).ok()
}
