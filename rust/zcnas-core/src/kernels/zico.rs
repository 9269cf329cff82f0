//! One layer's term of the `ZiCo` score.

use super::{check_shape, PAR_MIN_WORK};
use crate::error::{CoreError, Result};
use rayon::prelude::*;

/// Columns per parallel block (the per-block sums are added in block order, so the result does
/// not depend on the number of threads).
const BLOCK: usize = 4096;

/// The `ZiCo` term of one layer from its gradients `grads`, a row-major `rows` x `cols` matrix:
/// one row per batch (or sample) `b`, one column per weight element `θ`.
///
/// As `ZiCo`'s reference (`SLDGroup/ZiCo`, `compute_zico.py`): per column,
/// `μ_θ = mean_b |g_bθ|` and `σ_θ = std_b(g_bθ)`, the *population* standard deviation (ddof 0,
/// `numpy.std`'s default, not `torch.std`'s); only columns with `σ_θ ≠ 0` are kept; the term is
/// `ln( Σ_{θ: σ_θ≠0} μ_θ / σ_θ )`. The full score is the sum of the terms over the layers.
///
/// * When the inner sum is 0 (every `σ_θ` is 0: one row only, identical rows, or no columns)
///   the reference skips the layer: `Ok(None)`, add nothing.
/// * NaN and ±inf propagate as in the reference (`NumPy` semantics): a NaN `σ_θ` counts as
///   nonzero, so a NaN gradient makes the term NaN; an infinite gradient makes it NaN too.
///
/// The argument is called `grads` in error messages; it needs at least one row.
pub fn zico_layer(grads: &[f64], rows: usize, cols: usize) -> Result<Option<f64>> {
    check_shape("grads", grads.len(), rows, cols)?;
    if rows == 0 {
        return Err(CoreError::TooFewElements {
            name: "grads (rows)",
            needed: 1,
            got: 0,
        });
    }
    let block_sum = |start: usize| -> f64 {
        let end = (start + BLOCK).min(cols);
        let w = end - start;
        let mut sum = vec![0.0f64; w];
        let mut abs = vec![0.0f64; w];
        for r in 0..rows {
            let row = &grads[r * cols + start..r * cols + end];
            for ((s, a), &g) in sum.iter_mut().zip(abs.iter_mut()).zip(row) {
                *s += g;
                *a += g.abs();
            }
        }
        let inv = 1.0 / rows as f64;
        for s in &mut sum {
            *s *= inv; // now the mean
        }
        let mut sq = vec![0.0f64; w];
        for r in 0..rows {
            let row = &grads[r * cols + start..r * cols + end];
            for ((q, &m), &g) in sq.iter_mut().zip(&sum).zip(row) {
                let d = g - m;
                *q += d * d;
            }
        }
        abs.iter()
            .zip(&sq)
            .filter_map(|(&a, &q)| {
                let sigma = (q * inv).sqrt();
                // `!=` keeps NaN, as numpy's `nonzero` does.
                (sigma != 0.0).then(|| (a * inv) / sigma)
            })
            .sum()
    };
    let starts: Vec<usize> = (0..cols).step_by(BLOCK).collect();
    let parts: Vec<f64> = if grads.len() >= PAR_MIN_WORK && starts.len() > 1 {
        starts.par_iter().map(|&s| block_sum(s)).collect()
    } else {
        starts.iter().map(|&s| block_sum(s)).collect()
    };
    let total: f64 = parts.iter().sum();
    Ok((total != 0.0).then(|| total.ln()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(g: &[f64], rows: usize, cols: usize) -> Option<f64> {
        let mut total = 0.0;
        for c in 0..cols {
            let col: Vec<f64> = (0..rows).map(|r| g[r * cols + c]).collect();
            let n = rows as f64;
            let mean = col.iter().sum::<f64>() / n;
            let mu = col.iter().map(|x| x.abs()).sum::<f64>() / n;
            let sd = (col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            if sd != 0.0 {
                total += mu / sd;
            }
        }
        (total != 0.0).then(|| total.ln())
    }

    #[test]
    fn two_batches() {
        // sigma = |g1 - g2| / 2; column 2 has sigma 0 and is dropped.
        let g = [1.0, -2.0, 5.0, 3.0, 2.0, 5.0];
        let want = (2.0f64 / 1.0 + 2.0 / 2.0).ln();
        assert!((zico_layer(&g, 2, 3).unwrap().unwrap() - want).abs() < 1e-15);
    }

    #[test]
    fn skipped_and_errors() {
        assert_eq!(zico_layer(&[1.0, 2.0], 1, 2).unwrap(), None);
        assert_eq!(zico_layer(&[1.0, 2.0, 1.0, 2.0], 2, 2).unwrap(), None);
        assert_eq!(zico_layer(&[], 3, 0).unwrap(), None);
        assert!(zico_layer(&[], 0, 0).is_err());
        assert!(zico_layer(&[1.0, 2.0, 3.0], 2, 2).is_err());
        assert!(zico_layer(&[f64::NAN, 1.0, 2.0, 1.0], 2, 2)
            .unwrap()
            .unwrap()
            .is_nan());
        assert!(zico_layer(&[f64::INFINITY, 1.0, 2.0, 1.0], 2, 2)
            .unwrap()
            .unwrap()
            .is_nan());
    }

    #[test]
    fn many_blocks_in_parallel() {
        let (rows, cols) = (3, 3 * BLOCK + 17);
        let g: Vec<f64> = (0..rows * cols)
            .map(|i| ((i * 7919) % 101) as f64 - 50.0)
            .collect();
        let got = zico_layer(&g, rows, cols).unwrap().unwrap();
        let want = naive(&g, rows, cols).unwrap();
        assert!((got - want).abs() < 1e-12 * want.abs().max(1.0));
    }

    proptest! {
        #[test]
        fn matches_naive(rows in 1usize..6, cols in 0usize..30,
                         vals in proptest::collection::vec(-3i32..4, 180)) {
            // Small integers make zero and repeated columns common.
            let g: Vec<f64> = vals[..rows * cols].iter().map(|&v| f64::from(v) * 0.25).collect();
            let got = zico_layer(&g, rows, cols).unwrap();
            let want = naive(&g, rows, cols);
            match (got, want) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-12, "{} {}", a, b),
                (a, b) => prop_assert_eq!(a, b),
            }
        }
    }
}
