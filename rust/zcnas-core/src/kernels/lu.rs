//! Log-determinant by LU factorisation with partial pivoting.

use super::{check_square, PAR_MIN_WORK};
use crate::error::Result;
use rayon::prelude::*;

/// Sign and natural log of the absolute determinant of a row-major `rows` x `cols` (square)
/// matrix, as `numpy.linalg.slogdet`: `det = sign * exp(logabsdet)`.
///
/// Gaussian elimination with partial pivoting (the largest `|a_ik|` of the column) in `f64`; the
/// rows below the pivot are eliminated in parallel for large matrices. The log is the sum of
/// `ln|u_kk|`, so it neither overflows nor underflows.
///
/// * An exactly zero pivot column (a singular matrix) gives `(0.0, -inf)`, as numpy. A matrix
///   that is singular in exact arithmetic but not in floating point (rounding leaves a tiny
///   pivot) gives a large negative finite `logabsdet`, as in numpy, though not necessarily the
///   same number.
/// * The empty `0 x 0` matrix gives `(1.0, 0.0)`.
/// * Any NaN or infinite entry gives `(NaN, NaN)` (numpy's result there is unspecified).
///
/// The argument is called `a` in error messages.
pub fn slogdet(a: &[f64], rows: usize, cols: usize) -> Result<(f64, f64)> {
    check_square("a", a.len(), rows, cols)?;
    if a.iter().any(|v| !v.is_finite()) {
        return Ok((f64::NAN, f64::NAN));
    }
    let (sign, logdet, _) = lu_slogdet(a.to_vec(), rows, 0.0);
    Ok((sign, logdet))
}

/// `(sign, ln|det|, singular)` of the finite row-major `n` x `n` matrix `m` by LU with partial
/// pivoting (the first row with the largest `|a_ik|`, as LAPACK's `getrf`); the rows below the
/// pivot are eliminated in parallel for large matrices. A pivot of magnitude at most `tol`
/// (or exactly 0) stops the factorisation: `(0.0, -inf, true)`. Shared by [`slogdet`]
/// (`tol = 0`) and the EZNAS `Det`/`LogDet` operations (a relative pivot threshold).
pub(crate) fn lu_slogdet(mut m: Vec<f64>, n: usize, tol: f64) -> (f64, f64, bool) {
    let mut sign = 1.0f64;
    let mut logdet = 0.0f64;
    for k in 0..n {
        // Pivot: the largest magnitude in column k at or below the diagonal.
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
            for c in k..n {
                m.swap(k * n + c, p * n + c);
            }
            sign = -sign;
        }
        let (top, bottom) = m.split_at_mut((k + 1) * n);
        let pivot_row = &top[k * n..];
        let pivot = pivot_row[k];
        if pivot < 0.0 {
            sign = -sign;
        }
        logdet += pivot.abs().ln();
        let eliminate = |row: &mut [f64]| {
            let l = row[k] / pivot;
            if l != 0.0 {
                for (r, &u) in row[k + 1..].iter_mut().zip(&pivot_row[k + 1..]) {
                    *r -= l * u;
                }
            }
        };
        let left = n - k - 1;
        if left * left >= PAR_MIN_WORK {
            bottom.par_chunks_mut(n).for_each(eliminate);
        } else {
            bottom.chunks_mut(n).for_each(eliminate);
        }
    }
    (sign, logdet, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Determinant by Laplace expansion (tiny matrices only).
    fn det(a: &[f64], n: usize) -> f64 {
        if n == 0 {
            return 1.0;
        }
        (0..n)
            .map(|c| {
                let minor: Vec<f64> = (1..n)
                    .flat_map(|r| (0..n).filter(move |&cc| cc != c).map(move |cc| (r, cc)))
                    .map(|(r, cc)| a[r * n + cc])
                    .collect();
                let s = if c % 2 == 0 { 1.0 } else { -1.0 };
                s * a[c] * det(&minor, n - 1)
            })
            .sum()
    }

    #[test]
    fn known_values() {
        assert_eq!(slogdet(&[], 0, 0).unwrap(), (1.0, 0.0));
        let (s, l) = slogdet(&[0.0, 2.0, 3.0, 0.0], 2, 2).unwrap();
        assert_eq!(s, -1.0);
        assert!((l - 6f64.ln()).abs() < 1e-15);
        assert_eq!(
            slogdet(&[1.0, 2.0, 2.0, 4.0], 2, 2).unwrap(),
            (0.0, f64::NEG_INFINITY)
        );
        assert_eq!(
            slogdet(&[0.0, 0.0, 0.0, 1.0], 2, 2).unwrap(),
            (0.0, f64::NEG_INFINITY)
        );
        let (s, l) = slogdet(&[f64::NAN, 1.0, 1.0, 1.0], 2, 2).unwrap();
        assert!(s.is_nan() && l.is_nan());
        assert!(slogdet(&[1.0, 2.0], 1, 2).is_err());
        assert!(slogdet(&[1.0, 2.0, 3.0], 2, 2).is_err());
    }

    #[test]
    fn no_overflow() {
        // det = 1e400 would overflow f64; its log does not.
        let n = 4;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 1e100;
        }
        let (s, l) = slogdet(&a, n, n).unwrap();
        assert_eq!(s, 1.0);
        assert!((l - 400.0 * 10f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn large_parallel_path_of_identity_times_two() {
        let n = 300;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 2.0;
            if i + 1 < n {
                a[i * n + i + 1] = 1.0; // upper bidiagonal: det = 2^n
            }
        }
        let (s, l) = slogdet(&a, n, n).unwrap();
        assert_eq!(s, 1.0);
        assert!((l - n as f64 * 2f64.ln()).abs() < 1e-10);
    }

    proptest! {
        #[test]
        fn matches_laplace(n in 1usize..6, vals in proptest::collection::vec(-10i32..10, 36)) {
            let a: Vec<f64> = vals[..n * n].iter().map(|&v| f64::from(v)).collect();
            let d = det(&a, n);
            let (s, l) = slogdet(&a, n, n).unwrap();
            if d == 0.0 {
                // Integer matrices: exact singularity may leave a rounding-size pivot.
                prop_assert!(s == 0.0 || l < -5.0, "{} {}", s, l);
            } else {
                prop_assert_eq!(s, d.signum());
                prop_assert!((l - d.abs().ln()).abs() < 1e-9, "{} vs {}", l, d.abs().ln());
            }
        }
    }
}
