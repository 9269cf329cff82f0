//! Eigenvalues of a symmetric matrix: Householder tridiagonalisation + implicit QL (default),
//! or the cyclic Jacobi method in round-robin order (high relative accuracy).

use super::{check_finite, check_square};
use crate::error::{CoreError, Result};
use rayon::prelude::*;

/// Default symmetry tolerance of [`eigvalsh`]: `|s_ij − s_ji|` may be at most this times the
/// largest `|s_kl|` (room for the rounding of a Gram matrix computed without exploiting its
/// symmetry).
pub const SYMMETRY_RTOL: f64 = 1e-9;

/// Most Jacobi sweeps [`eigvalsh`] runs before giving up (about 10 are typical; convergence is
/// quadratic).
pub const MAX_SWEEPS: usize = 100;

/// Below this much work per round (`n² · rotations`) the rotations are applied serially.
const PAR_MIN_ROUND: usize = 1 << 20;

/// One plane rotation of a round: indices `p < q`, cosine, sine, tangent, and the entries
/// `a_pp`, `a_qq`, `a_pq` before it.
#[derive(Clone, Copy)]
struct Rotation {
    p: usize,
    q: usize,
    c: f64,
    s: f64,
    t: f64,
    app: f64,
    aqq: f64,
    apq: f64,
}

/// Algorithm of [`eigvalsh_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EigMethod {
    /// Householder reduction to tridiagonal form, then the implicit QL iteration with
    /// Wilkinson-type shifts (as LAPACK's `dsyev`/`dsterf` family and `numpy.linalg.eigvalsh`):
    /// `(4/3) n³` flops, errors about `n · ε · max|λ|` (absolute).
    Tridiagonal,
    /// Cyclic Jacobi: slower (a few `n³` per sweep, about 10 sweeps) but small eigenvalues of
    /// positive definite matrices come out with high *relative* accuracy.
    Jacobi,
}

/// The eigenvalues of a real symmetric row-major `rows` x `cols` matrix, ascending, as
/// `numpy.linalg.eigvalsh` (to about 1e-12 of the largest `|λ|`): [`eigvalsh_with`] and
/// [`EigMethod::Tridiagonal`].
///
/// # Errors
/// As [`eigvalsh_with`].
pub fn eigvalsh(s: &[f64], rows: usize, cols: usize, symmetry_rtol: f64) -> Result<Vec<f64>> {
    eigvalsh_with(s, rows, cols, symmetry_rtol, EigMethod::Tridiagonal)
}

/// The eigenvalues of a real symmetric row-major `rows` x `cols` matrix, ascending.
///
/// [`EigMethod::Tridiagonal`]: Householder tridiagonalisation and implicit QL (the method of
/// LAPACK and numpy). [`EigMethod::Jacobi`]: cyclic Jacobi, sweeps of plane rotations
/// `A ← JᵀAJ`, each zeroing one off-diagonal pair, in round-robin (tournament) order so that
/// the `n/2` rotations of a round touch disjoint rows and columns and are applied in parallel
/// for large matrices (the result does not depend on the number of threads). A pair is rotated
/// only while `|a_pq| > ε·sqrt(|a_pp|·|a_qq|)` and `|a_pq| > 1e-4·ε·max|A|`
/// (ε = `f64::EPSILON`); the iteration stops after the first sweep without rotations. Small
/// eigenvalues of positive definite matrices come out with high relative accuracy.
///
/// The input must be finite and symmetric: `|s_ij − s_ji| ≤ symmetry_rtol · max|s|` for every
/// pair ([`SYMMETRY_RTOL`] is the usual value); the two triangles are then averaged. (numpy
/// reads only one triangle and never checks.)
///
/// The argument is called `s` in error messages.
///
/// # Errors
/// [`CoreError::InvalidParameter`] for a non-square, asymmetric or badly sized input or a bad
/// tolerance, [`CoreError::NonFinite`] for NaN/inf entries, [`CoreError::NoConvergence`] if the
/// iteration does not converge (not seen in practice).
pub fn eigvalsh_with(
    s: &[f64],
    rows: usize,
    cols: usize,
    symmetry_rtol: f64,
    method: EigMethod,
) -> Result<Vec<f64>> {
    check_square("s", s.len(), rows, cols)?;
    if !(symmetry_rtol >= 0.0 && symmetry_rtol.is_finite()) {
        return Err(CoreError::InvalidParameter {
            name: "symmetry_rtol",
            reason: format!("must be a finite number >= 0, got {symmetry_rtol}"),
        });
    }
    check_finite("s", s, cols)?;
    let n = rows;
    let max_abs = s.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = symmetry_rtol * max_abs;
    let mut a = s.to_vec();
    for i in 0..n {
        for j in i + 1..n {
            let (u, l) = (s[i * n + j], s[j * n + i]);
            if (u - l).abs() > tol {
                return Err(CoreError::InvalidParameter {
                    name: "s",
                    reason: format!(
                        "must be symmetric: s[{i}, {j}] = {u} but s[{j}, {i}] = {l} \
                         (tolerance {symmetry_rtol:e} x max|s|)"
                    ),
                });
            }
            let m = 0.5 * (u + l);
            a[i * n + j] = m;
            a[j * n + i] = m;
        }
    }
    match method {
        EigMethod::Tridiagonal => tridiagonal_ql(a, n),
        EigMethod::Jacobi => jacobi(a, n, max_abs),
    }
}

/// Most QL iterations per eigenvalue before [`tridiagonal_ql`] gives up (2–3 are typical).
const MAX_QL_ITERATIONS: usize = 60;

/// Eigenvalues of the symmetric `n` x `n` matrix `a` (row-major, exactly symmetric): Householder
/// reduction to a tridiagonal `(d, e)`, then the implicit QL iteration.
pub(crate) fn tridiagonal_ql(mut a: Vec<f64>, n: usize) -> Result<Vec<f64>> {
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n]; // e[i] couples d[i] and d[i + 1]
    let mut v = vec![0.0; n];
    let mut p = vec![0.0; n];
    for k in 0..n.saturating_sub(1) {
        d[k] = a[k * n + k];
        // Householder vector of the column below the diagonal: H x = alpha e_1.
        let lo = k + 1;
        let scale = (lo..n).fold(0.0f64, |m, i| m.max(a[i * n + k].abs()));
        if scale == 0.0 {
            e[k] = 0.0;
            continue;
        }
        let mut norm2 = 0.0;
        for i in lo..n {
            v[i] = a[i * n + k] / scale;
            norm2 += v[i] * v[i];
        }
        let norm = norm2.sqrt();
        let alpha = if v[lo] > 0.0 { -norm } else { norm };
        e[k] = alpha * scale;
        v[lo] -= alpha;
        let vv = norm2 - 2.0 * alpha * (v[lo] + alpha) + alpha * alpha; // |x - alpha e1|²
        if vv == 0.0 {
            continue;
        }
        let beta = 2.0 / vv;
        // p = beta S v over the trailing block S; then q = p - (beta/2)(vᵀp) v; S -= v qᵀ + q vᵀ.
        let mut vp = 0.0;
        for i in lo..n {
            let row = &a[i * n + lo..i * n + n];
            let sv: f64 = row.iter().zip(&v[lo..n]).map(|(x, y)| x * y).sum();
            p[i] = beta * sv;
            vp += v[i] * p[i];
        }
        let kappa = 0.5 * beta * vp;
        for i in lo..n {
            p[i] -= kappa * v[i];
        }
        for i in lo..n {
            let (vi, qi) = (v[i], p[i]);
            let row = &mut a[i * n + lo..i * n + n];
            for ((x, &vj), &qj) in row.iter_mut().zip(&v[lo..n]).zip(&p[lo..n]) {
                *x -= vi * qj + qi * vj;
            }
        }
    }
    if n > 0 {
        d[n - 1] = a[(n - 1) * n + n - 1];
    }
    ql_implicit(&mut d, &mut e)?;
    d.sort_by(f64::total_cmp);
    Ok(d)
}

/// The implicit QL iteration with shifts on the symmetric tridiagonal matrix with diagonal `d`
/// and off-diagonal `e` (`e[i]` between `i` and `i + 1`; the last entry unused); the
/// eigenvalues are left in `d`, unsorted.
fn ql_implicit(d: &mut [f64], e: &mut [f64]) -> Result<()> {
    let n = d.len();
    if n < 2 {
        return Ok(());
    }
    e[n - 1] = 0.0;
    // An off-diagonal entry below eps * |T| is negligible in absolute terms too (the Householder
    // reduction already perturbs T by that much): without this, a cluster of (near-)zero
    // eigenvalues (a rank-deficient correlation matrix) never meets the relative test alone.
    let tnorm = d.iter().chain(e.iter()).fold(0.0f64, |m, x| m.max(x.abs()));
    for l in 0..n {
        let mut iterations = 0;
        loop {
            // the first negligible off-diagonal entry at or after l splits the matrix
            let mut m = l;
            while m < n - 1 {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd || e[m].abs() <= f64::EPSILON * tnorm {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iterations += 1;
            if iterations > MAX_QL_ITERATIONS {
                return Err(CoreError::NoConvergence {
                    name: "s",
                    algorithm: "implicit QL iteration",
                    iterations: MAX_QL_ITERATIONS,
                });
            }
            // shift from the leading 2 x 2 block (Wilkinson-type)
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
            let mut underflow = false;
            for i in (l..m).rev() {
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    underflow = true;
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
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    Ok(())
}

/// Cyclic Jacobi on the exactly symmetric `a` (see [`eigvalsh_with`]).
fn jacobi(mut a: Vec<f64>, n: usize, max_abs: f64) -> Result<Vec<f64>> {
    let floor = 1e-4 * f64::EPSILON * max_abs;
    // Players of the round-robin tournament; an odd `n` gets a dummy player `n`.
    let m = n + n % 2;
    let mut rotations: Vec<Rotation> = Vec::with_capacity(m / 2);
    for _ in 0..MAX_SWEEPS {
        let mut any = false;
        for round in 0..m.saturating_sub(1) {
            rotations.clear();
            for k in 0..m / 2 {
                let (x, y) = if k == 0 {
                    (m - 1, round)
                } else {
                    ((round + k) % (m - 1), (round + m - 1 - k) % (m - 1))
                };
                let (p, q) = (x.min(y), x.max(y));
                if q >= n {
                    continue;
                }
                if let Some(r) = rotation(&a, n, p, q, floor) {
                    rotations.push(r);
                }
            }
            if rotations.is_empty() {
                continue;
            }
            any = true;
            apply(&mut a, n, &rotations);
        }
        if !any {
            let mut diag: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
            diag.sort_by(f64::total_cmp);
            return Ok(diag);
        }
        // Keep the iterate exactly symmetric despite rounding.
        for i in 0..n {
            for j in i + 1..n {
                let m = 0.5 * (a[i * n + j] + a[j * n + i]);
                a[i * n + j] = m;
                a[j * n + i] = m;
            }
        }
    }
    Err(CoreError::NoConvergence {
        name: "s",
        algorithm: "Jacobi eigenvalue iteration",
        iterations: MAX_SWEEPS,
    })
}

/// The rotation that zeroes `a_pq`, or `None` when `a_pq` is already negligible.
fn rotation(a: &[f64], n: usize, p: usize, q: usize, floor: f64) -> Option<Rotation> {
    let (app, aqq, apq) = (a[p * n + p], a[q * n + q], a[p * n + q]);
    if apq.abs() <= floor || apq.abs() <= f64::EPSILON * app.abs().sqrt() * aqq.abs().sqrt() {
        return None;
    }
    // tan of the angle: the smaller root of t² + 2θt − 1 = 0, θ = (a_qq − a_pp) / (2 a_pq).
    let theta = (aqq - app) / (2.0 * apq);
    let t = if theta.abs() > 1e150 {
        0.5 / theta
    } else {
        theta.signum() / (theta.abs() + theta.mul_add(theta, 1.0).sqrt())
    };
    let c = 1.0 / t.mul_add(t, 1.0).sqrt();
    Some(Rotation {
        p,
        q,
        c,
        s: t * c,
        t,
        app,
        aqq,
        apq,
    })
}

/// `A ← JᵀAJ` for the disjoint rotations of one round: rows first, then columns.
fn apply(a: &mut [f64], n: usize, rotations: &[Rotation]) {
    let par = n * n * rotations.len() >= PAR_MIN_ROUND;
    {
        let mut slots: Vec<Option<&mut [f64]>> = a.chunks_mut(n).map(Some).collect();
        let mut pairs: Vec<(&mut [f64], &mut [f64], f64, f64)> = rotations
            .iter()
            .filter_map(|r| {
                let rp = slots[r.p].take()?;
                let rq = slots[r.q].take()?;
                Some((rp, rq, r.c, r.s))
            })
            .collect();
        let rows = |(rp, rq, c, s): &mut (&mut [f64], &mut [f64], f64, f64)| {
            for (x, y) in rp.iter_mut().zip(rq.iter_mut()) {
                let (u, v) = (*x, *y);
                *x = *c * u - *s * v;
                *y = *s * u + *c * v;
            }
        };
        if par {
            pairs.par_iter_mut().for_each(rows);
        } else {
            pairs.iter_mut().for_each(rows);
        }
    }
    let cols = |row: &mut [f64]| {
        for r in rotations {
            let (u, v) = (row[r.p], row[r.q]);
            row[r.p] = r.c * u - r.s * v;
            row[r.q] = r.s * u + r.c * v;
        }
    };
    if par {
        a.par_chunks_mut(n).for_each(cols);
    } else {
        a.chunks_mut(n).for_each(cols);
    }
    // The 2x2 blocks, exactly: the rotation annihilates a_pq.
    for r in rotations {
        a[r.p * n + r.p] = r.app - r.t * r.apq;
        a[r.q * n + r.q] = r.aqq + r.t * r.apq;
        a[r.p * n + r.q] = 0.0;
        a[r.q * n + r.p] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `Q diag(lambda) Qᵀ` with `Q` a product of two Householder reflections.
    fn with_spectrum(lambda: &[f64], v: &[f64], w: &[f64]) -> Vec<f64> {
        let n = lambda.len();
        let reflect = |m: &mut Vec<f64>, h: &[f64]| {
            // m ← H m H with H = I − 2hhᵀ/hᵀh.
            let hh: f64 = h.iter().map(|x| x * x).sum();
            if hh == 0.0 {
                return;
            }
            let mut hm = m.clone();
            for j in 0..n {
                let d: f64 = (0..n).map(|i| h[i] * m[i * n + j]).sum();
                for i in 0..n {
                    hm[i * n + j] -= 2.0 * h[i] * d / hh;
                }
            }
            for i in 0..n {
                let d: f64 = (0..n).map(|j| hm[i * n + j] * h[j]).sum();
                for j in 0..n {
                    m[i * n + j] = hm[i * n + j] - 2.0 * d * h[j] / hh;
                }
            }
        };
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            m[i * n + i] = lambda[i];
        }
        reflect(&mut m, v);
        reflect(&mut m, w);
        // Exact symmetry.
        for i in 0..n {
            for j in i + 1..n {
                let s = 0.5 * (m[i * n + j] + m[j * n + i]);
                m[i * n + j] = s;
                m[j * n + i] = s;
            }
        }
        m
    }

    fn close(got: &[f64], want: &[f64], rtol: f64) -> bool {
        let scale = want.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(g, w)| (g - w).abs() <= rtol * scale)
    }

    #[test]
    fn small_cases() {
        assert!(eigvalsh(&[], 0, 0, SYMMETRY_RTOL).unwrap().is_empty());
        assert_eq!(eigvalsh(&[3.0], 1, 1, SYMMETRY_RTOL).unwrap(), vec![3.0]);
        let e = eigvalsh(&[2.0, 1.0, 1.0, 2.0], 2, 2, SYMMETRY_RTOL).unwrap();
        assert!(close(&e, &[1.0, 3.0], 1e-15), "{e:?}");
        let e = eigvalsh(&[0.0, 1.0, 1.0, 0.0], 2, 2, SYMMETRY_RTOL).unwrap();
        assert!(close(&e, &[-1.0, 1.0], 1e-15), "{e:?}");
        assert_eq!(
            eigvalsh(&[0.0; 9], 3, 3, SYMMETRY_RTOL).unwrap(),
            vec![0.0; 3]
        );
    }

    #[test]
    fn bad_input() {
        assert!(eigvalsh(&[1.0, 2.0], 1, 2, SYMMETRY_RTOL).is_err());
        assert!(eigvalsh(&[1.0, 2.0, 2.1, 1.0], 2, 2, SYMMETRY_RTOL).is_err());
        assert!(eigvalsh(&[1.0, 2.0, 2.1, 1.0], 2, 2, 0.1).is_ok());
        assert!(eigvalsh(&[1.0, f64::NAN, f64::NAN, 1.0], 2, 2, SYMMETRY_RTOL).is_err());
        assert!(eigvalsh(&[1.0], 1, 1, -1.0).is_err());
        assert!(eigvalsh(&[1.0], 1, 1, f64::NAN).is_err());
    }

    #[test]
    fn large_parallel_path() {
        let n = 160;
        let lambda: Vec<f64> = (0..n).map(|i| 1.0 + i as f64 * 0.37).collect();
        let v: Vec<f64> = (0..n).map(|i| ((i * 31 % 17) as f64) - 8.0).collect();
        let w: Vec<f64> = (0..n).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
        let a = with_spectrum(&lambda, &v, &w);
        for method in METHODS {
            let e = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, method).unwrap();
            assert!(close(&e, &lambda, 1e-12), "{method:?}");
        }
    }

    const METHODS: [EigMethod; 2] = [EigMethod::Tridiagonal, EigMethod::Jacobi];

    #[test]
    fn rank_deficient_gram_converges() {
        // X Xᵀ with X 96 x 8: 88 (near-)zero eigenvalues, which stalled the QL iteration's
        // relative deflation test (MeCo's channel correlations, TE-NAS Grams).
        let (n, k) = (96, 8);
        let x: Vec<f64> = (0..n * k)
            .map(|i| (((i * 2_654_435_761usize) % 1_000) as f64) / 500.0 - 1.0)
            .collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..k).map(|t| x[i * k + t] * x[j * k + t]).sum();
            }
        }
        let ql = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, EigMethod::Tridiagonal).unwrap();
        let jac = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, EigMethod::Jacobi).unwrap();
        let top = jac[n - 1];
        assert!(ql
            .iter()
            .zip(&jac)
            .all(|(p, q)| (p - q).abs() <= 1e-10 * top));
        assert!(ql[..n - k].iter().all(|v| v.abs() <= 1e-10 * top));
    }

    #[test]
    fn methods_agree_on_dense_matrices() {
        // a dense symmetric matrix with clustered and negative eigenvalues: the two
        // independent algorithms must agree
        for n in [2usize, 3, 7, 33, 64] {
            let mut a = vec![0.0; n * n];
            let mut x = 0.5f64;
            for i in 0..n {
                for j in 0..=i {
                    x = (x * 3.7 * (1.0 - x)).clamp(1e-6, 1.0 - 1e-6); // logistic map
                    let v = if i == j { 4.0 * x } else { x - 0.5 };
                    a[i * n + j] = v;
                    a[j * n + i] = v;
                }
            }
            let t = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, EigMethod::Tridiagonal).unwrap();
            let j = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, EigMethod::Jacobi).unwrap();
            assert!(close(&t, &j, 1e-12), "n = {n}: {t:?} vs {j:?}");
            let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
            assert!((t.iter().sum::<f64>() - trace).abs() <= 1e-11 * trace.abs().max(1.0));
        }
    }

    #[test]
    fn tridiagonal_input_and_diagonal_input() {
        // already tridiagonal (1-2-1 Laplacian): eigenvalues 2 - 2 cos(k pi / (n + 1))
        let n = 50;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 2.0;
            if i + 1 < n {
                a[i * n + i + 1] = -1.0;
                a[(i + 1) * n + i] = -1.0;
            }
        }
        let want: Vec<f64> = (1..=n)
            .map(|k| 2.0 - 2.0 * (k as f64 * std::f64::consts::PI / (n as f64 + 1.0)).cos())
            .collect();
        for method in METHODS {
            let e = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, method).unwrap();
            assert!(close(&e, &want, 1e-13), "{method:?}");
        }
        let diag = [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0];
        let e = eigvalsh_with(&diag, 3, 3, SYMMETRY_RTOL, EigMethod::Tridiagonal).unwrap();
        assert_eq!(e, vec![0.0, 3.0, 5.0]);
    }

    proptest! {
        #[test]
        fn recovers_spectrum(
            mut lambda in proptest::collection::vec(-100.0f64..100.0, 1..24),
            v in proptest::collection::vec(-1.0f64..1.0, 24),
            w in proptest::collection::vec(-1.0f64..1.0, 24),
        ) {
            let n = lambda.len();
            let a = with_spectrum(&lambda, &v[..n], &w[..n]);
            lambda.sort_by(f64::total_cmp);
            for method in METHODS {
                let e = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, method).unwrap();
                prop_assert!(close(&e, &lambda, 1e-12), "{:?}: {:?} vs {:?}", method, e, lambda);
            }
        }

        #[test]
        fn repeated_eigenvalues(k in 1usize..5, n in 2usize..20, v in proptest::collection::vec(-1.0f64..1.0, 20)) {
            let lambda: Vec<f64> = (0..n).map(|i| (i % k) as f64).collect();
            let a = with_spectrum(&lambda, &v[..n], &v[..n].iter().rev().copied().collect::<Vec<_>>());
            let mut want = lambda.clone();
            want.sort_by(f64::total_cmp);
            for method in METHODS {
                let e = eigvalsh_with(&a, n, n, SYMMETRY_RTOL, method).unwrap();
                prop_assert!(close(&e, &want, 1e-12), "{:?}: {:?} vs {:?}", method, e, want);
            }
        }
    }
}
