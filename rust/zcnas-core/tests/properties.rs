//! Property tests of the rank statistics and rank aggregation.

use proptest::prelude::*;
use zcnas_core::rankagg::{aggregate, IncrementalAggregator, Method, MissingPolicy, Spec};
use zcnas_core::stats::{
    kendall_tau, kendall_tau_batch, pearson, rankdata, spearman, BatchTarget, NanPolicy,
};

/// O(n^2) tau-b straight from the definition.
fn brute_tau(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    let (mut s, mut tx, mut ty) = (0i64, 0i64, 0i64);
    let mut tot = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            tot += 1;
            let a = x[i].partial_cmp(&x[j]).unwrap() as i64;
            let b = y[i].partial_cmp(&y[j]).unwrap() as i64;
            s += a * b;
            tx += i64::from(a == 0);
            ty += i64::from(b == 0);
        }
    }
    if tx == tot || ty == tot {
        return f64::NAN;
    }
    s as f64 / (((tot - tx) * (tot - ty)) as f64).sqrt()
}

/// Small integer-valued vectors: many ties.
fn tied(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((0i32..6).prop_map(f64::from), n)
}

fn pair(n: std::ops::Range<usize>) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    n.prop_flat_map(|n| {
        (
            prop::collection::vec(-1e6f64..1e6, n),
            prop::collection::vec(-1e6f64..1e6, n),
        )
    })
}

fn tied_pair(n: std::ops::Range<usize>) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    n.prop_flat_map(|n| (tied(n..n + 1), tied(n..n + 1)))
}

proptest! {
    #[test]
    fn tau_in_range_and_symmetric((x, y) in pair(2..300)) {
        let t = kendall_tau(&x, &y, NanPolicy::Raise).unwrap();
        prop_assert!((-1.0..=1.0).contains(&t));
        prop_assert_eq!(t, kendall_tau(&y, &x, NanPolicy::Raise).unwrap());
        let neg: Vec<f64> = y.iter().map(|v| -v).collect();
        prop_assert!((kendall_tau(&x, &neg, NanPolicy::Raise).unwrap() + t).abs() < 1e-12);
    }

    #[test]
    fn tau_matches_definition_with_ties((x, y) in tied_pair(2..120)) {
        let t = kendall_tau(&x, &y, NanPolicy::Raise).unwrap();
        let b = brute_tau(&x, &y);
        prop_assert!((t.is_nan() && b.is_nan()) || (t - b).abs() < 1e-12, "{} vs {}", t, b);
    }

    #[test]
    fn rank_stats_invariant_under_monotone_maps((x, y) in pair(2..200)) {
        // x -> exp(x / 1e5) and y -> y^3 are strictly increasing.
        let fx: Vec<f64> = x.iter().map(|v| (v / 1e5).exp()).collect();
        let fy: Vec<f64> = y.iter().map(|v| v * v * v).collect();
        prop_assert_eq!(kendall_tau(&x, &y, NanPolicy::Raise).unwrap(), kendall_tau(&fx, &fy, NanPolicy::Raise).unwrap());
        let s1 = spearman(&x, &y, NanPolicy::Raise).unwrap();
        let s2 = spearman(&fx, &fy, NanPolicy::Raise).unwrap();
        prop_assert!((s1 - s2).abs() < 1e-12);
        prop_assert_eq!(rankdata(&x, NanPolicy::Raise).unwrap(), rankdata(&fx, NanPolicy::Raise).unwrap());
    }

    #[test]
    fn ranks_sum_to_triangle(x in tied(1..300)) {
        let r = rankdata(&x, NanPolicy::Raise).unwrap();
        let n = x.len() as f64;
        prop_assert!((r.iter().sum::<f64>() - n * (n + 1.0) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn pearson_bounded_and_scale_free((x, y) in pair(3..100), a in 0.1f64..10.0, b in -5.0f64..5.0) {
        let r = pearson(&x, &y, NanPolicy::Raise).unwrap();
        prop_assert!(r.is_nan() || (-1.0..=1.0).contains(&r));
        let ax: Vec<f64> = x.iter().map(|v| a * v + b).collect();
        let r2 = pearson(&ax, &y, NanPolicy::Raise).unwrap();
        prop_assert!((r - r2).abs() < 1e-9);
    }

    #[test]
    fn batch_equals_single(rows in 1usize..8, (x, t) in tied_pair(2..40)) {
        let n = t.len();
        let xs: Vec<f64> = (0..rows).flat_map(|r| x.iter().map(move |v| (v + r as f64) % 5.0)).collect();
        let got = kendall_tau_batch(&xs, rows, n, BatchTarget::One(&t), NanPolicy::Raise).unwrap();
        for r in 0..rows {
            let want = kendall_tau(&xs[r * n..(r + 1) * n], &t, NanPolicy::Raise).unwrap();
            prop_assert!((got[r].is_nan() && want.is_nan()) || got[r] == want);
        }
    }

    #[test]
    fn incremental_equals_batch(rows in prop::collection::vec(prop::collection::vec(0i32..5, 3), 1..30), drop in 0usize..30) {
        for method in [Method::Linear, Method::NonLinear, Method::Borda, Method::Majority] {
            let spec = Spec::new(method, vec![true, false, true], None, MissingPolicy::Raise).unwrap();
            let mut inc = IncrementalAggregator::new(spec.clone());
            for r in &rows {
                let r: Vec<f64> = r.iter().map(|v| f64::from(*v)).collect();
                inc.push(&r).unwrap();
            }
            if rows.len() > 1 && drop < rows.len() {
                inc.remove(drop).unwrap();
            }
            let (ids, got) = inc.scores();
            let flat: Vec<f64> = ids.iter().flat_map(|&i| rows[i].iter().map(|v| f64::from(*v))).collect();
            prop_assert_eq!(got, aggregate(&flat, ids.len(), &spec).unwrap());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Long single calls split the sort and inversion count over two rayon tasks.
    #[test]
    fn long_tau_matches_definition(n in 4096usize..4600, levels in 2i32..400, seed in 0u64..1000) {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            f64::from((s % levels as u64) as i32)
        };
        let x: Vec<f64> = (0..n).map(|_| next()).collect();
        let y: Vec<f64> = x.iter().map(|v| v + next()).collect();
        let t = kendall_tau(&x, &y, NanPolicy::Raise).unwrap();
        prop_assert!((t - brute_tau(&x, &y)).abs() < 1e-12);
    }
}
