//! Ranks with ties, as `scipy.stats.rankdata(method="average")`.

use super::{check_finite, order_key, NanPolicy};
use crate::error::Result;

/// 1-based average ranks of `x` (ties share the mean of the positions they span).
///
/// With [`NanPolicy::Omit`], non-finite entries get a `NaN` rank and the others are ranked
/// among themselves (scipy's `nan_policy="omit"` for `rankdata`).
pub fn rankdata(x: &[f64], policy: NanPolicy) -> Result<Vec<f64>> {
    let mut out = vec![f64::NAN; x.len()];
    let mut scratch = RankScratch::default();
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

/// Reusable buffers of [`rankdata_into`].
#[derive(Default)]
pub struct RankScratch {
    items: Vec<(u64, u32)>,
    tmp: Vec<(u64, u32)>,
}

/// Below this length ranks come from a comparison sort, above from the radix sort.
const RADIX_MIN: usize = 1024;

/// Rank the non-NaN entries of `x` (infinities included) into `out` (NaN entries are left
/// untouched), reusing `scratch`. `out` must be as long as `x`.
pub fn rankdata_into(x: &[f64], out: &mut [f64], scratch: &mut RankScratch) {
    let keyed = x
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, v)| (order_key(*v), i));
    if u32::try_from(x.len()).is_err() {
        let mut wide: Vec<(u64, usize)> = keyed.collect();
        wide.sort_unstable();
        assign_average(&wide, out, |i| i);
        return;
    }
    let items = &mut scratch.items;
    items.clear();
    items.extend(keyed.map(|(k, i)| (k, i as u32)));
    if items.len() >= RADIX_MIN {
        super::radix::sort_pairs(items, &mut scratch.tmp);
    } else {
        items.sort_unstable();
    }
    assign_average(items, out, |i| i as usize);
}

/// Give each run of equal keys in `sorted` the mean of the 1-based positions it spans.
fn assign_average<I: Copy>(sorted: &[(u64, I)], out: &mut [f64], index: impl Fn(I) -> usize) {
    let n = sorted.len();
    let mut start = 0;
    while start < n {
        let key = sorted[start].0;
        let mut end = start + 1;
        while end < n && sorted[end].0 == key {
            end += 1;
        }
        // Positions start+1 ..= end share the rank (start + 1 + end) / 2.
        let r = (start + 1 + end) as f64 / 2.0;
        for item in &sorted[start..end] {
            out[index(item.1)] = r;
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
