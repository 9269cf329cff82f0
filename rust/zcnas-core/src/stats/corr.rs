//! Pearson r and Spearman rho (Pearson r of average ranks), as in `scipy.stats`.

use super::rank::rankdata_into;
use super::{paired, NanPolicy};
use crate::error::Result;

/// Pearson correlation; `NaN` if either side is constant (as scipy).
pub fn pearson(x: &[f64], y: &[f64], policy: NanPolicy) -> Result<f64> {
    let (x, y) = paired(x, y, ("x", "y"), policy, 2)?;
    Ok(pearson_finite(&x, &y))
}

/// Spearman rank correlation (average ranks for ties); `NaN` if either side is constant.
pub fn spearman(x: &[f64], y: &[f64], policy: NanPolicy) -> Result<f64> {
    let (x, y) = paired(x, y, ("x", "y"), policy, 2)?;
    let mut rx = vec![0.0; x.len()];
    let mut ry = vec![0.0; y.len()];
    let mut scratch = super::rank::RankScratch::default();
    rankdata_into(&x, &mut rx, &mut scratch);
    rankdata_into(&y, &mut ry, &mut scratch);
    Ok(pearson_finite(&rx, &ry))
}

/// Pairwise (cascade) summation of `f(i)` over `lo..hi`: error O(log n * eps) as numpy's sum.
pub(crate) fn pairwise_sum(lo: usize, hi: usize, f: &impl Fn(usize) -> f64) -> f64 {
    if hi - lo <= 128 {
        let mut acc = [0.0f64; 4];
        let mut i = lo;
        while i + 4 <= hi {
            for (k, a) in acc.iter_mut().enumerate() {
                *a += f(i + k);
            }
            i += 4;
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        while i < hi {
            s += f(i);
            i += 1;
        }
        s
    } else {
        let mid = lo + (hi - lo) / 2;
        pairwise_sum(lo, mid, f) + pairwise_sum(mid, hi, f)
    }
}

/// Centred and max-abs scaled copy of `x` (scipy scales before normalising to avoid
/// overflow), or `None` when `x` is constant.
pub(crate) fn centred(x: &[f64], out: &mut Vec<f64>) -> bool {
    let n = x.len();
    if x.iter().all(|v| *v == x[0]) {
        // Exactly constant (scipy's test): the rounded mean could leave a spurious residue.
        return false;
    }
    let mean = pairwise_sum(0, n, &|i| x[i]) / n as f64;
    out.clear();
    out.extend(x.iter().map(|v| v - mean));
    let max = out.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        return false;
    }
    for v in out.iter_mut() {
        *v /= max;
    }
    let norm = pairwise_sum(0, n, &|i| out[i] * out[i]).sqrt();
    if norm == 0.0 {
        return false;
    }
    for v in out.iter_mut() {
        *v /= norm;
    }
    true
}

/// Dot product of two centred, unit-norm vectors, clamped to [-1, 1].
pub(crate) fn unit_dot(a: &[f64], b: &[f64]) -> f64 {
    pairwise_sum(0, a.len(), &|i| a[i] * b[i]).clamp(-1.0, 1.0)
}

/// Pearson r of finite vectors of equal length >= 2.
pub(crate) fn pearson_finite(x: &[f64], y: &[f64]) -> f64 {
    pearson_with(x, y, &mut Vec::new(), &mut Vec::new())
}

/// Pearson r using `cx`, `cy` as buffers for the centred vectors; `NaN` if one is constant.
pub(crate) fn pearson_with(x: &[f64], y: &[f64], cx: &mut Vec<f64>, cy: &mut Vec<f64>) -> f64 {
    if centred(x, cx) && centred(y, cy) {
        unit_dot(cx, cy)
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_anti() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!(
            (pearson(&x, &[2.0, 4.0, 6.0, 8.0], NanPolicy::Raise).unwrap() - 1.0).abs() < 1e-15
        );
        assert!(
            (spearman(&x, &[9.0, 3.0, 2.0, 1.0], NanPolicy::Raise).unwrap() + 1.0).abs() < 1e-15
        );
        assert!(pearson(&x, &[1.0; 4], NanPolicy::Raise).unwrap().is_nan());
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let r = pearson(&[1e300, -1e300, 5e299], &[1.0, -1.0, 0.5], NanPolicy::Raise).unwrap();
        assert!((r - 1.0).abs() < 1e-12, "{r}");
    }
}
