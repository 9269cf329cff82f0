//! Batched statistics: many score vectors against one target, or many (scores, target)
//! pairs of equal length, computed in parallel with rayon.
//!
//! Arrays are row-major: `x` holds `rows` vectors of length `n` back to back. The functions run
//! on the current rayon pool (the bindings install a dedicated one).

use super::corr::pearson_with;
use super::kendall::{tau_b_finite, with_scratch, KendallPrepared};
use super::rank::rankdata_into;
use super::{check_finite, check_finite_matrix, paired, NanPolicy};
use crate::error::{CoreError, Result};
use rayon::prelude::*;

/// The second argument of a batched statistic.
#[derive(Debug, Clone, Copy)]
pub enum BatchTarget<'a> {
    /// One target of length `n`, shared by every row of `x`.
    One(&'a [f64]),
    /// One target per row: `rows * n` values, row-major, paired row by row with `x`.
    Many(&'a [f64]),
}

impl BatchTarget<'_> {
    fn row(&self, r: usize, n: usize) -> &[f64] {
        match self {
            Self::One(t) => t,
            Self::Many(t) => &t[r * n..(r + 1) * n],
        }
    }
}

/// Check the shapes of a batch and, under [`NanPolicy::Raise`], that every value is finite.
pub fn validate(
    x: &[f64],
    rows: usize,
    n: usize,
    target: BatchTarget<'_>,
    policy: NanPolicy,
) -> Result<()> {
    if x.len() != rows * n {
        return Err(CoreError::InvalidParameter {
            name: "x",
            reason: format!("has {} values, expected rows * n = {rows} * {n}", x.len()),
        });
    }
    let (t, expected) = match target {
        BatchTarget::One(t) => (t, n),
        BatchTarget::Many(t) => (t, rows * n),
    };
    if t.len() != expected {
        return Err(CoreError::LengthMismatch {
            left: "x",
            left_len: expected,
            right: "y",
            right_len: t.len(),
        });
    }
    if n < 2 {
        return Err(CoreError::TooFewElements {
            name: "x",
            needed: 2,
            got: n,
        });
    }
    if policy == NanPolicy::Raise {
        let omit = "pass nan_policy='omit' to drop such pairs";
        // The scan runs in parallel; the error (first value in row-major order) is built by
        // the sequential check, only when there is one.
        if !all_finite(x) {
            check_finite_matrix(x, n, "x", omit)?;
        }
        if !all_finite(t) {
            match target {
                BatchTarget::One(_) => check_finite(t, "y")?,
                BatchTarget::Many(_) => check_finite_matrix(t, n, "y", omit)?,
            }
        }
    }
    Ok(())
}

/// Whether every value is finite, scanned in parallel chunks.
fn all_finite(v: &[f64]) -> bool {
    v.par_chunks(1 << 15)
        .all(|c| c.iter().fold(true, |ok, a| ok & a.is_finite()))
}

/// Apply `per_row` to every (row, target row) pair in parallel. Rows with non-finite values
/// under [`NanPolicy::Omit`] are filtered pair-wise first; a row left with fewer than two pairs
/// is an error naming its index.
fn run_rows<S: Default + Send>(
    x: &[f64],
    rows: usize,
    n: usize,
    target: BatchTarget<'_>,
    policy: NanPolicy,
    per_row: impl Fn(&[f64], &[f64], usize, &mut S) -> f64 + Sync,
) -> Result<Vec<f64>> {
    validate(x, rows, n, target, policy)?;
    (0..rows)
        .into_par_iter()
        .with_min_len(4)
        .map_init(S::default, |scratch, r| {
            let xr = &x[r * n..(r + 1) * n];
            let tr = target.row(r, n);
            if policy == NanPolicy::Raise {
                // `validate` has checked every value.
                return Ok(per_row(xr, tr, r, scratch));
            }
            let (xs, ts) = paired(xr, tr, ("x", "y"), policy, 2).map_err(|e| match e {
                CoreError::TooFewElements { needed, got, .. } => CoreError::RowTooShort {
                    name: "x",
                    row: r,
                    got,
                    needed,
                },
                other => other,
            })?;
            Ok(per_row(&xs, &ts, r, scratch))
        })
        .collect()
}

/// Kendall tau-b of every row of `x` against its target.
///
/// With [`BatchTarget::One`] and finite data the target is sorted once
/// ([`KendallPrepared`]), so each row costs one merge sort.
pub fn kendall_tau_batch(
    x: &[f64],
    rows: usize,
    n: usize,
    target: BatchTarget<'_>,
    policy: NanPolicy,
) -> Result<Vec<f64>> {
    // Each row runs with its thread's kept buffers (`with_scratch`): fresh buffers per rayon
    // task were zeroed by the kernel on first touch, about a tenth of a 200 x 15,625 batch.
    if let BatchTarget::One(t) = target {
        if t.iter().all(|v| v.is_finite()) {
            let prepared = KendallPrepared::new(t);
            return run_rows(x, rows, n, target, policy, |xs, ts, _, (): &mut ()| {
                with_scratch(|s| {
                    if xs.len() == n {
                        prepared.tau(xs, s)
                    } else {
                        tau_b_finite(xs, ts, s, false)
                    }
                })
            });
        }
    }
    run_rows(x, rows, n, target, policy, |xs, ts, _, (): &mut ()| {
        with_scratch(|s| tau_b_finite(xs, ts, s, false))
    })
}

#[derive(Default)]
struct CorrScratch {
    rx: Vec<f64>,
    ry: Vec<f64>,
    cx: Vec<f64>,
    cy: Vec<f64>,
    sort: super::rank::RankScratch,
}

/// Pearson r of every row of `x` against its target.
pub fn pearson_batch(
    x: &[f64],
    rows: usize,
    n: usize,
    target: BatchTarget<'_>,
    policy: NanPolicy,
) -> Result<Vec<f64>> {
    run_rows(
        x,
        rows,
        n,
        target,
        policy,
        |xs, ts, _, s: &mut CorrScratch| pearson_with(xs, ts, &mut s.cx, &mut s.cy),
    )
}

/// Spearman rho of every row of `x` against its target.
pub fn spearman_batch(
    x: &[f64],
    rows: usize,
    n: usize,
    target: BatchTarget<'_>,
    policy: NanPolicy,
) -> Result<Vec<f64>> {
    run_rows(
        x,
        rows,
        n,
        target,
        policy,
        |xs, ts, _, s: &mut CorrScratch| {
            s.rx.clear();
            s.rx.resize(xs.len(), 0.0);
            s.ry.clear();
            s.ry.resize(ts.len(), 0.0);
            rankdata_into(xs, &mut s.rx, &mut s.sort);
            rankdata_into(ts, &mut s.ry, &mut s.sort);
            pearson_with(&s.rx, &s.ry, &mut s.cx, &mut s.cy)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::{kendall_tau, pearson, spearman};
    use super::*;

    fn data(rows: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
        let x = (0..rows * n)
            .map(|i| f64::from(((i * 7919) % 101) as u32 / 4))
            .collect();
        let t = (0..n)
            .map(|i| f64::from(((i * 31) % 53) as u32 / 2))
            .collect();
        (x, t)
    }

    #[test]
    fn batch_equals_single() {
        let (rows, n) = (9, 57);
        let (x, t) = data(rows, n);
        let many: Vec<f64> = (0..rows).flat_map(|_| t.clone()).collect();
        let k1 = kendall_tau_batch(&x, rows, n, BatchTarget::One(&t), NanPolicy::Raise).unwrap();
        let k2 =
            kendall_tau_batch(&x, rows, n, BatchTarget::Many(&many), NanPolicy::Raise).unwrap();
        let s1 = spearman_batch(&x, rows, n, BatchTarget::One(&t), NanPolicy::Raise).unwrap();
        let p1 = pearson_batch(&x, rows, n, BatchTarget::One(&t), NanPolicy::Raise).unwrap();
        for r in 0..rows {
            let xr = &x[r * n..(r + 1) * n];
            let k = kendall_tau(xr, &t, NanPolicy::Raise).unwrap();
            assert_eq!(k1[r], k);
            assert_eq!(k2[r], k);
            assert_eq!(s1[r], spearman(xr, &t, NanPolicy::Raise).unwrap());
            assert_eq!(p1[r], pearson(xr, &t, NanPolicy::Raise).unwrap());
        }
    }

    #[test]
    fn omit_filters_each_row() {
        let x = [1.0, 2.0, f64::NAN, 4.0, 3.0, 2.0, 1.0, 0.0];
        let t = [1.0, 2.0, 3.0, 4.0];
        let k = kendall_tau_batch(&x, 2, 4, BatchTarget::One(&t), NanPolicy::Omit).unwrap();
        assert_eq!(k, vec![1.0, -1.0]);
        assert!(kendall_tau_batch(&x, 2, 4, BatchTarget::One(&t), NanPolicy::Raise).is_err());
        assert!(kendall_tau_batch(&x, 3, 4, BatchTarget::One(&t), NanPolicy::Raise).is_err());
        let bad = [f64::NAN, f64::NAN, f64::NAN, 1.0];
        let err = kendall_tau_batch(&bad, 1, 4, BatchTarget::One(&t), NanPolicy::Omit).unwrap_err();
        assert!(err.to_string().contains("row 0"), "{err}");
    }
}
