//! Top-k precision and Kendall tau restricted to the true top architectures.

use super::kendall::{tau_b_finite, Scratch};
use super::{order_key, paired, NanPolicy};
use crate::error::{CoreError, Result};

/// Indices of the `k` largest finite values, best first; ties broken by the lower index.
pub fn top_k_indices(v: &[f64], k: usize) -> Vec<usize> {
    // Descending by value, ascending by index: sort keys (!key, index).
    let mut keyed: Vec<(u64, usize)> = v
        .iter()
        .enumerate()
        .map(|(i, x)| (!order_key(*x), i))
        .collect();
    let k = k.min(keyed.len());
    if k == 0 {
        return Vec::new();
    }
    if k < keyed.len() {
        keyed.select_nth_unstable(k - 1);
        keyed.truncate(k);
    }
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Share of the true top-`k` (by `target`) that the proxy's top-`k` (by `scores`) contains.
///
/// Higher is better for both `scores` and `target`. Ties at the cut are broken by the lower
/// index, so the result is deterministic.
pub fn top_k_precision(scores: &[f64], target: &[f64], k: usize, policy: NanPolicy) -> Result<f64> {
    let (s, t) = paired(scores, target, ("scores", "target"), policy, 1)?;
    if k == 0 || k > s.len() {
        return Err(CoreError::InvalidParameter {
            name: "k",
            reason: format!(
                "must be in 1..={} (the number of usable pairs), got {k}",
                s.len()
            ),
        });
    }
    let mut in_true = vec![false; s.len()];
    for i in top_k_indices(&t, k) {
        in_true[i] = true;
    }
    let hits = top_k_indices(&s, k)
        .into_iter()
        .filter(|&i| in_true[i])
        .count();
    Ok(hits as f64 / k as f64)
}

/// Kendall tau-b between `scores` and `target` on the architectures whose `target` lies in the
/// top `frac` share (`k = ceil(frac * n)`, ties at the cut broken by the lower index).
pub fn kendall_tau_top(
    scores: &[f64],
    target: &[f64],
    frac: f64,
    policy: NanPolicy,
) -> Result<f64> {
    if !(frac > 0.0 && frac <= 1.0) {
        return Err(CoreError::InvalidParameter {
            name: "top",
            reason: format!("must be a fraction in (0, 1], got {frac}"),
        });
    }
    let (s, t) = paired(scores, target, ("scores", "target"), policy, 2)?;
    let k = (frac * s.len() as f64).ceil() as usize;
    if k < 2 {
        return Err(CoreError::TooFewElements {
            name: "scores",
            needed: (2.0 / frac).ceil() as usize,
            got: s.len(),
        });
    }
    let idx = top_k_indices(&t, k);
    let ss: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
    let ts: Vec<f64> = idx.iter().map(|&i| t[i]).collect();
    Ok(tau_b_finite(&ss, &ts, &mut Scratch::default(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_basic() {
        let target = [1.0, 5.0, 3.0, 4.0, 2.0];
        let scores = [5.0, 4.0, 3.0, 2.0, 1.0];
        assert_eq!(top_k_indices(&target, 2), vec![1, 3]);
        // proxy top-2 = {0, 1}; true top-2 = {1, 3} -> 1/2
        assert_eq!(
            top_k_precision(&scores, &target, 2, NanPolicy::Raise).unwrap(),
            0.5
        );
        assert_eq!(
            top_k_precision(&target, &target, 3, NanPolicy::Raise).unwrap(),
            1.0
        );
        assert!(top_k_precision(&scores, &target, 6, NanPolicy::Raise).is_err());
    }

    #[test]
    fn ties_break_by_index() {
        assert_eq!(top_k_indices(&[1.0, 2.0, 2.0, 2.0], 2), vec![1, 2]);
    }

    #[test]
    fn tau_top_subset() {
        let target: Vec<f64> = (0..10).map(f64::from).collect();
        let mut scores = target.clone();
        scores.swap(8, 9);
        // top 20% = indices 9, 8 whose scores are swapped -> tau -1
        assert_eq!(
            kendall_tau_top(&scores, &target, 0.2, NanPolicy::Raise).unwrap(),
            -1.0
        );
        assert!(kendall_tau_top(&scores, &target, 0.1, NanPolicy::Raise).is_err());
        assert!(kendall_tau_top(&scores, &target, 1.5, NanPolicy::Raise).is_err());
    }
}
