//! Rank aggregation: combine k proxies' scores of m architectures into one score each.
//!
//! Every proxy is first oriented so that higher means better (`higher_is_better[j] == false`
//! negates column j), then ranked ascending with average ties (rank m = best, as
//! `scipy.stats.rankdata`). The methods combine those ranks; for all of them the aggregated
//! score is **higher = better**.
//!
//! | method | score of architecture i |
//! |---|---|
//! | `Linear` | `sum_j r_ij` (TE-NAS style sum of ranks) |
//! | `NonLinear` | `sum_j ln(r_ij / m)` (AZ-NAS, eq. 12): one poor rank drags the sum down |
//! | `Borda` | `sum_j (r_ij - 1)`: points = architectures beaten + half of those tied; same order as `Linear` |
//! | `Majority` | Copeland score: pairwise majority wins minus losses over all other architectures |
//! | `Weighted` | `sum_j w_j r_ij` |
//!
//! [`IncrementalAggregator`] keeps the same quantities for a growing (or shrinking) pool
//! without re-sorting: each insertion is a binary search and one shift per proxy, and its
//! `scores()` equal [`aggregate`] on the current pool exactly.

use crate::error::{CoreError, Result};
use crate::stats::{order_key, sort_pairs};
use rayon::prelude::*;
use std::cmp::Ordering;

/// An aggregation method; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Sum of ranks.
    Linear,
    /// AZ-NAS non-linear aggregation, sum of ln(rank / m).
    NonLinear,
    /// Borda count.
    Borda,
    /// Copeland pairwise majority vote.
    Majority,
    /// Weighted sum of ranks.
    Weighted,
}

impl std::str::FromStr for Method {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "linear" => Self::Linear,
            "nonlinear" | "aznas" => Self::NonLinear,
            "borda" => Self::Borda,
            "majority" | "copeland" => Self::Majority,
            "weighted" => Self::Weighted,
            other => {
                return Err(CoreError::InvalidParameter {
                    name: "method",
                    reason: format!(
                        "unknown method '{other}'; expected one of 'linear', 'nonlinear', \
                         'borda', 'majority', 'weighted'"
                    ),
                })
            }
        })
    }
}

/// What to do with a NaN score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    /// Fail with [`CoreError::NonFinite`] (the default).
    #[default]
    Raise,
    /// Treat it as the worst possible value of its proxy (AZ-NAS maps NaN to -inf).
    Lowest,
}

impl std::str::FromStr for MissingPolicy {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "raise" => Ok(Self::Raise),
            "lowest" => Ok(Self::Lowest),
            other => Err(CoreError::InvalidParameter {
                name: "nan_policy",
                reason: format!("expected 'raise' or 'lowest', got '{other}'"),
            }),
        }
    }
}

/// A validated aggregation configuration for `k` proxies.
#[derive(Debug, Clone)]
pub struct Spec {
    method: Method,
    higher_is_better: Vec<bool>,
    weights: Vec<f64>,
    nan_policy: MissingPolicy,
}

impl Spec {
    /// Build a spec. `weights` is required for [`Method::Weighted`] and rejected otherwise;
    /// both it and `higher_is_better` need one entry per proxy.
    pub fn new(
        method: Method,
        higher_is_better: Vec<bool>,
        weights: Option<Vec<f64>>,
        nan_policy: MissingPolicy,
    ) -> Result<Self> {
        let k = higher_is_better.len();
        if k == 0 {
            return Err(CoreError::InvalidParameter {
                name: "higher_is_better",
                reason: "there must be at least one proxy".into(),
            });
        }
        let weights = match (method, weights) {
            (Method::Weighted, Some(w)) => {
                if w.len() != k {
                    return Err(CoreError::LengthMismatch {
                        left: "weights",
                        left_len: w.len(),
                        right: "higher_is_better",
                        right_len: k,
                    });
                }
                crate::stats::check_finite(&w, "weights")?;
                w
            }
            (Method::Weighted, None) => {
                return Err(CoreError::InvalidParameter {
                    name: "weights",
                    reason: "method 'weighted' needs one weight per proxy".into(),
                })
            }
            (_, Some(_)) => {
                return Err(CoreError::InvalidParameter {
                    name: "weights",
                    reason: "weights are only used by method 'weighted'".into(),
                })
            }
            (_, None) => Vec::new(),
        };
        Ok(Self {
            method,
            higher_is_better,
            weights,
            nan_policy,
        })
    }

    /// Number of proxies.
    pub fn k(&self) -> usize {
        self.higher_is_better.len()
    }

    /// Oriented order keys of one architecture's row (higher key = better).
    fn keys(&self, row: &[f64], row_index: usize, out: &mut Vec<u64>) -> Result<()> {
        out.clear();
        for (j, &v) in row.iter().enumerate() {
            if v.is_nan() && self.nan_policy == MissingPolicy::Raise {
                return Err(nan_error(row_index, j, v));
            }
            out.push(self.key(j, v));
        }
        Ok(())
    }

    /// Oriented order key of value `v` of proxy `j` (a NaN is the lowest value).
    #[inline]
    fn key(&self, j: usize, v: f64) -> u64 {
        let v = if v.is_nan() {
            f64::NEG_INFINITY
        } else if self.higher_is_better[j] {
            v
        } else {
            -v
        };
        order_key(v)
    }

    /// The aggregated score from the average ranks `rank(j)` in a pool of `m`.
    fn combine(&self, m: usize, rank: impl Fn(usize) -> f64) -> f64 {
        let m = m as f64;
        let k = self.k();
        match self.method {
            Method::Linear => (0..k).map(&rank).sum(),
            Method::NonLinear => (0..k).map(|j| (rank(j) / m).ln()).sum(),
            Method::Borda => (0..k).map(|j| rank(j) - 1.0).sum(),
            Method::Weighted => (0..k).map(|j| self.weights[j] * rank(j)).sum(),
            Method::Majority => f64::NAN,
        }
    }
}

/// The error for a NaN score under [`MissingPolicy::Raise`].
fn nan_error(row: usize, column: usize, value: f64) -> CoreError {
    CoreError::NonFiniteAt {
        name: "scores",
        row,
        column,
        value,
        remedy: "pass nan_policy='lowest' to rank a NaN as the worst value of its proxy",
    }
}

/// Average 1-based rank of `key` among the sorted `col` (which contains it).
#[inline]
fn avg_rank(col: &[u64], key: u64) -> f64 {
    let lo = col.partition_point(|&v| v < key);
    let hi = col.partition_point(|&v| v <= key);
    (lo + 1 + hi) as f64 / 2.0
}

/// Copeland contribution of `a` against `b`: +1 if a majority of proxies prefer `a`, -1 if a
/// majority prefer `b`, 0 on a draw.
#[inline]
fn duel(a: &[u64], b: &[u64]) -> i64 {
    let votes: i64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| match x.cmp(y) {
            Ordering::Greater => 1,
            Ordering::Less => -1,
            Ordering::Equal => 0,
        })
        .sum();
    votes.signum()
}

/// Aggregate an `m x k` row-major score matrix into one score per architecture.
pub fn aggregate(scores: &[f64], m: usize, spec: &Spec) -> Result<Vec<f64>> {
    let k = spec.k();
    if m == 0 {
        return Err(CoreError::TooFewElements {
            name: "scores",
            needed: 1,
            got: 0,
        });
    }
    if scores.len() != m * k {
        return Err(CoreError::InvalidParameter {
            name: "scores",
            reason: format!("has {} values, expected m * k = {m} * {k}", scores.len()),
        });
    }
    if spec.method != Method::Majority && u32::try_from(2 * m + 1).is_ok() {
        if spec.nan_policy == MissingPolicy::Raise {
            if let Some(p) = scores.iter().position(|v| v.is_nan()) {
                return Err(nan_error(p / k, p % k, scores[p]));
            }
        }
        return Ok(aggregate_ranked(scores, m, spec));
    }
    let mut keys = Vec::with_capacity(m * k);
    let mut row = Vec::with_capacity(k);
    for i in 0..m {
        spec.keys(&scores[i * k..(i + 1) * k], i, &mut row)?;
        keys.extend_from_slice(&row);
    }
    if spec.method == Method::Majority {
        return Ok((0..m)
            .into_par_iter()
            .map(|a| {
                let ka = &keys[a * k..(a + 1) * k];
                (0..m)
                    .map(|b| duel(ka, &keys[b * k..(b + 1) * k]))
                    .sum::<i64>() as f64
            })
            .collect());
    }
    let cols: Vec<Vec<u64>> = (0..k)
        .into_par_iter()
        .map(|j| {
            let mut c: Vec<u64> = (0..m).map(|i| keys[i * k + j]).collect();
            c.sort_unstable();
            c
        })
        .collect();
    Ok((0..m)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| spec.combine(m, |j| avg_rank(&cols[j], keys[i * k + j])))
        .collect())
}

/// The rank-sum methods with every column ranked once: each column is radix-sorted (in
/// parallel over columns) into twice its average ranks (`lo + 1 + hi`, an integer), and the
/// non-linear method reads `ln(rank / m)` from a table over the `2m + 1` possible values
/// instead of taking one logarithm per score. The values are bit-identical to ranking by
/// binary search and [`Spec::combine`] (same rank, same logarithm, same summation order).
/// Needs `2m + 1 < 2^32` and the scores checked for NaN under [`MissingPolicy::Raise`].
fn aggregate_ranked(scores: &[f64], m: usize, spec: &Spec) -> Vec<f64> {
    let k = spec.k();
    let twice: Vec<Vec<u32>> = (0..k)
        .into_par_iter()
        .map(|j| {
            let mut items: Vec<(u64, u32)> = (0..m)
                .map(|i| (spec.key(j, scores[i * k + j]), i as u32))
                .collect();
            sort_pairs(&mut items, &mut Vec::new());
            let mut t = vec![0u32; m];
            let mut start = 0;
            while start < m {
                let mut end = start + 1;
                while end < m && items[end].0 == items[start].0 {
                    end += 1;
                }
                let r = (start + 1 + end) as u32;
                for item in &items[start..end] {
                    t[item.1 as usize] = r;
                }
                start = end;
            }
            t
        })
        .collect();
    let mf = m as f64;
    let log_table: Vec<f64> = if spec.method == Method::NonLinear {
        (0..2 * m + 1)
            .into_par_iter()
            .with_min_len(1024)
            .map(|t| (t as f64 / 2.0 / mf).ln())
            .collect()
    } else {
        Vec::new()
    };
    (0..m)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let t = |j: usize| twice[j][i] as usize;
            if spec.method == Method::NonLinear {
                (0..k).map(|j| log_table[t(j)]).sum()
            } else {
                spec.combine(m, |j| t(j) as f64 / 2.0)
            }
        })
        .collect()
}

/// Rank aggregation over a pool that grows (and may shrink) one architecture at a time, as in
/// AZ-NAS evolution (re-rank the whole history after every candidate) or aging evolution.
///
/// Insertion costs O(k log m) comparisons plus one memory shift per proxy (O(m k) for the
/// Copeland method, which updates every member's pairwise record); `scores` costs
/// O(m k log m). Results equal [`aggregate`] on the live members in id order.
#[derive(Debug, Clone)]
pub struct IncrementalAggregator {
    spec: Spec,
    sorted: Vec<Vec<u64>>,
    rows: Vec<Option<Vec<u64>>>,
    copeland: Vec<i64>,
    alive: usize,
}

impl IncrementalAggregator {
    /// An empty pool.
    pub fn new(spec: Spec) -> Self {
        let k = spec.k();
        Self {
            spec,
            sorted: vec![Vec::new(); k],
            rows: Vec::new(),
            copeland: Vec::new(),
            alive: 0,
        }
    }

    /// Number of live members.
    pub fn len(&self) -> usize {
        self.alive
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.alive == 0
    }

    /// Add one architecture's k scores; returns its id (ids count up from 0 and are never
    /// reused).
    pub fn push(&mut self, row: &[f64]) -> Result<usize> {
        let k = self.spec.k();
        if row.len() != k {
            return Err(CoreError::LengthMismatch {
                left: "row",
                left_len: row.len(),
                right: "higher_is_better",
                right_len: k,
            });
        }
        let id = self.rows.len();
        let mut keys = Vec::with_capacity(k);
        self.spec.keys(row, id, &mut keys).map_err(|e| match e {
            CoreError::NonFiniteAt {
                row,
                column,
                value,
                remedy,
                ..
            } => CoreError::NonFiniteAt {
                name: "row",
                row,
                column,
                value,
                remedy,
            },
            other => other,
        })?;
        for (col, &key) in self.sorted.iter_mut().zip(&keys) {
            let pos = col.partition_point(|&v| v < key);
            col.insert(pos, key);
        }
        let mut mine = 0;
        if self.spec.method == Method::Majority {
            for (other, rec) in self.rows.iter().zip(self.copeland.iter_mut()) {
                if let Some(o) = other {
                    let d = duel(&keys, o);
                    mine += d;
                    *rec -= d;
                }
            }
        }
        self.rows.push(Some(keys));
        self.copeland.push(mine);
        self.alive += 1;
        Ok(id)
    }

    /// Remove a live member (for example the oldest one in aging evolution).
    pub fn remove(&mut self, id: usize) -> Result<()> {
        let keys = self
            .rows
            .get_mut(id)
            .and_then(Option::take)
            .ok_or(CoreError::UnknownId { name: "id", id })?;
        for (col, &key) in self.sorted.iter_mut().zip(&keys) {
            let pos = col.partition_point(|&v| v < key);
            col.remove(pos);
        }
        if self.spec.method == Method::Majority {
            for (other, rec) in self.rows.iter().zip(self.copeland.iter_mut()) {
                if let Some(o) = other {
                    *rec += duel(&keys, o);
                }
            }
            self.copeland[id] = 0;
        }
        self.alive -= 1;
        Ok(())
    }

    /// Ids of the live members (ascending) and their aggregated scores.
    pub fn scores(&self) -> (Vec<usize>, Vec<f64>) {
        let ids: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.rows[i].is_some())
            .collect();
        let m = self.alive;
        let scores = ids
            .par_iter()
            .with_min_len(256)
            .map(|&i| {
                if self.spec.method == Method::Majority {
                    return self.copeland[i] as f64;
                }
                let keys = self.rows[i].as_deref().unwrap_or_default();
                self.spec.combine(m, |j| avg_rank(&self.sorted[j], keys[j]))
            })
            .collect();
        (ids, scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(method: Method, k: usize) -> Spec {
        let w = (method == Method::Weighted).then(|| (0..k).map(|j| 1.0 + j as f64).collect());
        Spec::new(method, vec![true; k], w, MissingPolicy::Raise).unwrap()
    }

    #[test]
    fn nonlinear_penalises_one_bad_rank() {
        // arch 0: ranks (3, 1) ; arch 1: ranks (2, 2) ; arch 2: ranks (1, 3)
        let s = [3.0, 1.0, 2.0, 2.0, 1.0, 3.0];
        let lin = aggregate(&s, 3, &spec(Method::Linear, 2)).unwrap();
        assert_eq!(lin, vec![4.0, 4.0, 4.0]);
        let nl = aggregate(&s, 3, &spec(Method::NonLinear, 2)).unwrap();
        assert!(nl[1] > nl[0] && (nl[0] - nl[2]).abs() < 1e-15);
        assert!((nl[1] - 2.0 * (2.0f64 / 3.0).ln()).abs() < 1e-15);
    }

    #[test]
    fn direction_and_missing() {
        let s = [1.0, f64::NAN, 2.0, 5.0];
        let sp = Spec::new(
            Method::Linear,
            vec![false, true],
            None,
            MissingPolicy::Lowest,
        )
        .unwrap();
        // column 0 lower-better: arch 0 best; column 1: NaN lowest -> arch 1 best
        assert_eq!(aggregate(&s, 2, &sp).unwrap(), vec![3.0, 3.0]);
        assert!(aggregate(&s, 2, &spec(Method::Linear, 2)).is_err());
    }

    #[test]
    fn copeland_condorcet_winner() {
        // three voters, arch 0 beats everyone in 2 of 3 proxies
        let s = [3.0, 3.0, 1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 2.0];
        let c = aggregate(&s, 3, &spec(Method::Majority, 3)).unwrap();
        assert_eq!(c[0], 2.0);
    }

    #[test]
    fn spec_validation() {
        assert!(Spec::new(Method::Weighted, vec![true; 2], None, MissingPolicy::Raise).is_err());
        assert!(Spec::new(
            Method::Linear,
            vec![true; 2],
            Some(vec![1.0; 2]),
            MissingPolicy::Raise
        )
        .is_err());
        assert!(Spec::new(
            Method::Weighted,
            vec![true; 2],
            Some(vec![1.0]),
            MissingPolicy::Raise
        )
        .is_err());
        assert!(aggregate(&[1.0; 5], 3, &spec(Method::Linear, 2)).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn radix_ranks_equal_binary_search_ranks(
            m in 1usize..1500,
            seed in proptest::prelude::any::<u64>(),
            levels in 1u64..400,
            hib in proptest::prelude::any::<[bool; 3]>(),
        ) {
            // Tied values, signed zeros and NaN (as the lowest value).
            let mut s = seed | 1;
            let scores: Vec<f64> = (0..m * 3)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    match s % 50 {
                        0 => f64::NAN,
                        1 => -0.0,
                        2 => 0.0,
                        _ => (s % levels) as f64 * 0.37 - 20.0,
                    }
                })
                .collect();
            for method in [Method::Linear, Method::NonLinear, Method::Borda, Method::Weighted] {
                let w = (method == Method::Weighted).then(|| vec![0.5, -1.0, 3.0]);
                let sp = Spec::new(method, hib.to_vec(), w, MissingPolicy::Lowest).unwrap();
                let got = aggregate(&scores, m, &sp).unwrap();
                // Reference: binary-search ranks and Spec::combine.
                let mut inc = IncrementalAggregator::new(sp.clone());
                for row in scores.chunks(3) {
                    inc.push(row).unwrap();
                }
                proptest::prop_assert_eq!(got, inc.scores().1);
            }
        }
    }

    #[test]
    fn raise_names_the_first_nan() {
        let s = [1.0, 2.0, 3.0, f64::NAN, 5.0, f64::NAN];
        let err = aggregate(&s, 3, &spec(Method::NonLinear, 2)).unwrap_err();
        assert!(
            matches!(
                err,
                CoreError::NonFiniteAt {
                    row: 1,
                    column: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn incremental_matches_batch() {
        let k = 3;
        let rows: Vec<[f64; 3]> = (0..40)
            .map(|i| {
                [
                    f64::from(i * 7 % 11),
                    f64::from(i * 5 % 13),
                    f64::from(i % 4),
                ]
            })
            .collect();
        for method in [
            Method::Linear,
            Method::NonLinear,
            Method::Borda,
            Method::Majority,
            Method::Weighted,
        ] {
            let mut inc = IncrementalAggregator::new(spec(method, k));
            for r in &rows {
                inc.push(r).unwrap();
            }
            inc.remove(3).unwrap();
            inc.remove(17).unwrap();
            assert!(inc.remove(17).is_err());
            let (ids, got) = inc.scores();
            let flat: Vec<f64> = ids.iter().flat_map(|&i| rows[i]).collect();
            let want = aggregate(&flat, ids.len(), &spec(method, k)).unwrap();
            assert_eq!(got, want, "{method:?}");
        }
    }
}
