//! Pearson correlation matrix of the rows of a matrix, as `numpy.corrcoef`.

use super::{check_shape, PAR_MIN_WORK};
use crate::error::Result;
use rayon::prelude::*;

/// The `rows` x `rows` correlation matrix of the rows (variables) of a row-major `rows` x
/// `cols` matrix (columns are observations), as `numpy.corrcoef(x)`, row-major.
///
/// Each row is scaled by its largest absolute value (so that huge values do not overflow, where
/// numpy returns NaN), centred and normalised to unit length; then `r_ij = <z_i, z_j>`, clipped
/// to `[-1, 1]` as numpy does, with an exact 1 on the diagonal. Agreement with numpy is to
/// rounding (about 1e-15).
///
/// * A constant row (including every row when `cols < 2`) has zero variance: its whole row and
///   column of the result are NaN, diagonal included, as numpy gives (numpy also warns). The
///   scaling makes a constant row exactly constant, so this holds for every constant, where
///   numpy's rounded mean can leave a tiny spurious variance (e.g. a row of `0.1`s).
/// * A row holding NaN or ±inf gives a NaN row and column, as in numpy.
/// * One row gives the `1 x 1` matrix `[[1.0]]` (NaN if the row is constant), where numpy
///   returns the 0-d value; zero rows give an empty matrix.
///
/// The argument is called `x` in error messages.
pub fn corrcoef(x: &[f64], rows: usize, cols: usize) -> Result<Vec<f64>> {
    check_shape("x", x.len(), rows, cols)?;
    let mut z = x.to_vec();
    // Centre and scale each row; remember which rows have no usable variance.
    let normalise = |row: &mut [f64]| -> bool {
        // A NaN or infinite value makes numpy's mean, hence the whole row, NaN.
        if row.is_empty() || row.iter().any(|v| !v.is_finite()) {
            row.fill(f64::NAN);
            return false;
        }
        // Scale first so that nothing below overflows; a constant row becomes exactly +-1.
        let scale = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if scale == 0.0 {
            return false;
        }
        for v in row.iter_mut() {
            *v /= scale;
        }
        let mean = row.iter().sum::<f64>() / row.len() as f64;
        let mut ss = 0.0;
        for v in row.iter_mut() {
            *v -= mean;
            ss += *v * *v;
        }
        if ss == 0.0 {
            return false;
        }
        let norm = ss.sqrt();
        for v in row.iter_mut() {
            *v /= norm;
        }
        true
    };
    let ok: Vec<bool> = if cols == 0 {
        vec![false; rows]
    } else if x.len() >= PAR_MIN_WORK {
        z.par_chunks_mut(cols).map(normalise).collect()
    } else {
        z.chunks_mut(cols).map(normalise).collect()
    };
    let mut r = vec![0.0f64; rows * rows];
    let z = &z;
    let ok = &ok;
    let fill = |(i, out): (usize, &mut [f64])| {
        for (j, o) in out.iter_mut().enumerate().skip(i) {
            *o = if i == j && ok[i] {
                1.0
            } else if ok[i] && ok[j] {
                let zi = &z[i * cols..(i + 1) * cols];
                let zj = &z[j * cols..(j + 1) * cols];
                zi.iter()
                    .zip(zj)
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    .clamp(-1.0, 1.0)
            } else {
                f64::NAN
            };
        }
    };
    if rows * rows * cols / 2 >= PAR_MIN_WORK {
        r.par_chunks_mut(rows.max(1)).enumerate().for_each(fill);
    } else {
        r.chunks_mut(rows.max(1)).enumerate().for_each(fill);
    }
    for i in 1..rows {
        for j in 0..i {
            r[i * rows + j] = r[j * rows + i];
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Textbook two-pass Pearson correlation of two rows.
    fn pearson(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
        cov / (va.sqrt() * vb.sqrt())
    }

    #[test]
    fn constant_and_nan_rows() {
        let x = [1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 3.0, 1.0, 2.0];
        let r = corrcoef(&x, 3, 3).unwrap();
        assert!((r[0] - 1.0).abs() < 1e-15 && (r[2] + 0.5).abs() < 1e-15);
        assert!((r[6] + 0.5).abs() < 1e-15 && (r[8] - 1.0).abs() < 1e-15);
        for k in [1, 3, 4, 5, 7] {
            assert!(r[k].is_nan());
        }
        let r = corrcoef(&[1.0, f64::INFINITY, 2.0, 1.0, 2.0, 4.0], 2, 3).unwrap();
        assert!(r[0].is_nan() && r[1].is_nan() && r[2].is_nan() && (r[3] - 1.0).abs() < 1e-15);
        assert!(corrcoef(&[1.0, 2.0], 2, 1)
            .unwrap()
            .iter()
            .all(|v| v.is_nan()));
        assert_eq!(corrcoef(&[1.0, 2.0], 1, 2).unwrap(), vec![1.0]);
        assert!(corrcoef(&[], 0, 4).unwrap().is_empty());
        assert!(corrcoef(&[1.0, 2.0, 3.0], 2, 2).is_err());
    }

    #[test]
    fn huge_values() {
        let r = corrcoef(&[1e300, -1e300, 5e299, 1.0, -1.0, 0.5], 2, 3).unwrap();
        assert!((r[1] - 1.0).abs() < 1e-12, "{r:?}");
    }

    proptest! {
        #[test]
        fn matches_textbook(rows in 1usize..6, cols in 2usize..40,
                            vals in proptest::collection::vec(-1e3f64..1e3, 240)) {
            let x = &vals[..rows * cols];
            let r = corrcoef(x, rows, cols).unwrap();
            for i in 0..rows {
                for j in 0..rows {
                    let want = pearson(&x[i * cols..(i + 1) * cols], &x[j * cols..(j + 1) * cols]);
                    prop_assert!((r[i * rows + j] - want).abs() < 1e-12);
                    prop_assert_eq!(r[i * rows + j], r[j * rows + i]);
                }
            }
        }
    }
}
