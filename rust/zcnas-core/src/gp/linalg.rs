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
    let tol = PIVOT_RTOL * max_abs;
    let mut m = a.to_vec();
    let mut sign = 1.0f64;
    let mut logdet = 0.0f64;
    for k in 0..n {
        let mut p = k;
        let mut best = m[k * n + k].abs();
        for i in k + 1..n {
            let v = m[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        if best <= tol || best == 0.0 {
            return (0.0, f64::NEG_INFINITY, true);
        }
        if p != k {
            for c in 0..n {
                m.swap(k * n + c, p * n + c);
            }
            sign = -sign;
        }
        let pivot = m[k * n + k];
        if pivot < 0.0 {
            sign = -sign;
        }
        logdet += pivot.abs().ln();
        let (top, bottom) = m.split_at_mut((k + 1) * n);
        let prow = &top[k * n..];
        for row in bottom.chunks_mut(n) {
            let l = row[k] / pivot;
            if l != 0.0 {
                for (r, &u) in row[k + 1..].iter_mut().zip(&prow[k + 1..]) {
                    *r -= l * u;
                }
            }
        }
    }
    (sign, logdet, false)
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

/// Eigenvalues (ascending) of a finite symmetric row-major `n` x `n` matrix: Householder
/// reduction to tridiagonal form, then the implicit QL iteration with Wilkinson-type shifts
/// (eigenvalues only, O(n³) with a small constant; absolute accuracy about `eps * ||A||`, as
/// LAPACK's `syev`). `None` if the QL iteration does not converge in 60 sweeps per eigenvalue.
pub fn sym_eigvals(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let mut v = vec![0.0; n];
    let mut p = vec![0.0; n];
    for k in 0..n.saturating_sub(2) {
        let m = n - k - 1; // size of the trailing block
        let norm = (k + 1..n)
            .map(|i| a[i * n + k] * a[i * n + k])
            .sum::<f64>()
            .sqrt();
        if norm == 0.0 {
            continue;
        }
        let x0 = a[(k + 1) * n + k];
        let alpha = if x0 > 0.0 { -norm } else { norm };
        let v = &mut v[..m];
        for (j, vj) in v.iter_mut().enumerate() {
            *vj = a[(k + 1 + j) * n + k];
        }
        v[0] -= alpha;
        let vn = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if vn == 0.0 {
            continue;
        }
        for vj in v.iter_mut() {
            *vj /= vn;
        }
        // B <- H B H on the trailing block, H = I - 2 v v^T.
        let p = &mut p[..m];
        for (i, pi) in p.iter_mut().enumerate() {
            let row = &a[(k + 1 + i) * n + k + 1..(k + 1 + i) * n + n];
            *pi = 2.0 * row.iter().zip(v.iter()).map(|(x, y)| x * y).sum::<f64>();
        }
        let kk = v.iter().zip(p.iter()).map(|(x, y)| x * y).sum::<f64>();
        for (pi, vi) in p.iter_mut().zip(v.iter()) {
            *pi -= kk * vi;
        }
        for i in 0..m {
            let row = &mut a[(k + 1 + i) * n + k + 1..(k + 1 + i) * n + n];
            for (j, x) in row.iter_mut().enumerate() {
                *x -= v[i] * p[j] + p[i] * v[j];
            }
        }
        a[(k + 1) * n + k] = alpha;
        a[k * n + k + 1] = alpha;
        for i in k + 2..n {
            a[i * n + k] = 0.0;
            a[k * n + i] = 0.0;
        }
    }
    let mut d: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
    let mut e: Vec<f64> = (0..n)
        .map(|i| if i + 1 < n { a[(i + 1) * n + i] } else { 0.0 })
        .collect();
    tridiagonal_ql(&mut d, &mut e)?;
    d.sort_by(f64::total_cmp);
    Some(d)
}

/// Eigenvalues of the symmetric tridiagonal matrix with diagonal `d` and off-diagonal `e`
/// (`e[i]` couples `d[i]` and `d[i + 1]`; `e[n-1]` is ignored), in place in `d`.
fn tridiagonal_ql(d: &mut [f64], e: &mut [f64]) -> Option<()> {
    let n = d.len();
    if n == 0 {
        return Some(());
    }
    e[n - 1] = 0.0;
    for l in 0..n {
        let mut iter = 0;
        loop {
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iter += 1;
            if iter > 60 {
                return None;
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + if g >= 0.0 { r.abs() } else { -r.abs() });
            let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
            let mut deflated = false;
            for i in (l..m).rev() {
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if deflated {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_match_jacobi() {
        let n = 9;
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let b: Vec<f64> = (0..n * n).map(|_| next()).collect();
        let mut s = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                s[i * n + j] = b[i * n + j] + b[j * n + i];
            }
        }
        let ours = sym_eigvals(s.clone(), n).unwrap();
        let jacobi = crate::kernels::eigvalsh(&s, n, n, 1e-12).unwrap();
        for (x, y) in ours.iter().zip(&jacobi) {
            assert!((x - y).abs() < 1e-12, "{x} {y}");
        }
        assert_eq!(sym_eigvals(vec![3.0], 1).unwrap(), vec![3.0]);
        let two = sym_eigvals(vec![2.0, 1.0, 1.0, 2.0], 2).unwrap();
        assert!((two[0] - 1.0).abs() < 1e-15 && (two[1] - 3.0).abs() < 1e-15);
        assert!(sym_eigvals(Vec::new(), 0).unwrap().is_empty());
    }
}
