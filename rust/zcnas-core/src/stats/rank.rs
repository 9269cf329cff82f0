//! Ranks with ties, as `scipy.stats.rankdata(method="average")`.

use super::{check_finite, order_key, NanPolicy};
use crate::error::Result;

/// 1-based average ranks of `x` (ties share the mean of the positions they span).
///
/// With [`NanPolicy::Omit`], non-finite entries get a `NaN` rank and the others are ranked
/// among themselves (scipy's `nan_policy="omit"` for `rankdata`).
pub fn rankdata(x: &[f64], policy: NanPolicy) -> Result<Vec<f64>> {
    let mut out = vec![f64::NAN; x.len()];
    let mut scratch = Vec::with_capacity(x.len());
    if policy == NanPolicy::Raise {
        check_finite(x, "x")?;
        rankdata_into(x, &mut out, &mut scratch);
    } else {
        let finite: Vec<f64> = x
            .iter()
            .map(|v| if v.is_finite() { *v } else { f64::NAN })
            .collect();
        rankdata_into(&finite, &mut out, &mut scratch);
    }
    Ok(out)
}

/// Rank the non-NaN entries of `x` (infinities included) into `out` (NaN entries are left
/// untouched), reusing
/// `scratch` as the sort buffer. `out` must be as long as `x`.
pub fn rankdata_into(x: &[f64], out: &mut [f64], scratch: &mut Vec<(u64, usize)>) {
    scratch.clear();
    scratch.extend(
        x.iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, v)| (order_key(*v), i)),
    );
    scratch.sort_unstable();
    let n = scratch.len();
    let mut start = 0;
    while start < n {
        let key = scratch[start].0;
        let mut end = start + 1;
        while end < n && scratch[end].0 == key {
            end += 1;
        }
        // Positions start+1 ..= end share the rank (start + 1 + end) / 2.
        let r = (start + 1 + end) as f64 / 2.0;
        for item in &scratch[start..end] {
            out[item.1] = r;
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_average() {
        let r = rankdata(&[10.0, 20.0, 10.0, 30.0, 10.0], NanPolicy::Raise).unwrap();
        assert_eq!(r, vec![2.0, 4.0, 2.0, 5.0, 2.0]);
    }

    #[test]
    fn omit_leaves_nan() {
        let r = rankdata(&[3.0, f64::NAN, 1.0], NanPolicy::Omit).unwrap();
        assert_eq!(r[0], 2.0);
        assert!(r[1].is_nan());
        assert_eq!(r[2], 1.0);
        assert!(rankdata(&[3.0, f64::NAN], NanPolicy::Raise).is_err());
    }
}
