//! The large-n Kendall path: dense ranks by LSD radix sort, pairs ordered by counting sort,
//! discordant pairs counted with a Fenwick tree.
//!
//! Comparison sorts and the merge-sort inversion count are latency bound (about 2-3 ns per
//! element per level here); radix and counting sorts stream through memory instead. Every step
//! is exact integer work, so the result equals the merge-sort path bit for bit (tested).

use super::order_key;

const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
const PASSES: usize = 6; // 6 * 11 >= 64

/// Stable LSD radix sort of `(key, index)` pairs by key. Passes whose digit is the same for
/// every key are skipped (common for data in a narrow range, whose exponents agree).
pub(crate) fn radix_sort(items: &mut Vec<(u64, u32)>, tmp: &mut Vec<(u64, u32)>) {
    let n = items.len();
    let mut hist = vec![[0u32; BUCKETS]; PASSES];
    for &(k, _) in items.iter() {
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    tmp.clear();
    tmp.resize(n, (0, 0));
    for (p, h) in hist.iter_mut().enumerate() {
        if h.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut sum = 0;
        for c in h.iter_mut() {
            let t = *c;
            *c = sum;
            sum += t;
        }
        let shift = p as u32 * DIGIT_BITS;
        for &item in items.iter() {
            let d = ((item.0 >> shift) as usize) & (BUCKETS - 1);
            tmp[h[d] as usize] = item;
            h[d] += 1;
        }
        std::mem::swap(items, tmp);
    }
}

/// Dense 0-based ranks of `v` (equal values share a rank), the indices in ascending order
/// (ties in index order), the number of distinct values and the number of tied pairs.
pub(crate) struct Dense {
    pub ranks: Vec<u32>,
    pub order: Vec<u32>,
    pub distinct: usize,
    pub ties: u64,
}

pub(crate) fn dense_ranks(v: &[f64]) -> Dense {
    let mut items: Vec<(u64, u32)> = v
        .iter()
        .enumerate()
        .map(|(i, x)| (order_key(*x), i as u32))
        .collect();
    radix_sort(&mut items, &mut Vec::new());
    let mut ranks = vec![0u32; v.len()];
    let mut order = Vec::with_capacity(v.len());
    let (mut rank, mut run, mut ties) = (0u32, 0u64, 0u64);
    let mut prev = items.first().map_or(0, |p| p.0);
    for &(k, i) in &items {
        if k != prev {
            ties += run * run.saturating_sub(1) / 2;
            rank += 1;
            run = 0;
            prev = k;
        }
        run += 1;
        ranks[i as usize] = rank;
        order.push(i);
    }
    ties += run * run.saturating_sub(1) / 2;
    Dense {
        ranks,
        order,
        distinct: if v.is_empty() { 0 } else { rank as usize + 1 },
        ties,
    }
}

/// Number of pairs `i < j` with `seq[i] > seq[j]`, for values below `m`.
pub(crate) fn inversions(seq: &[u32], m: usize) -> u64 {
    let mut tree = vec![0u32; m + 1];
    let mut dis = 0u64;
    for (k, &v) in seq.iter().enumerate() {
        let mut i = v as usize + 1;
        let mut at_most = 0u32;
        while i > 0 {
            at_most += tree[i];
            i &= i - 1;
        }
        dis += k as u64 - u64::from(at_most);
        let mut i = v as usize + 1;
        while i <= m {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    dis
}

/// [`inversions`] with the two halves counted on two rayon tasks; the pairs across the halves
/// come from a histogram of the first half.
pub(crate) fn par_inversions(seq: &[u32], m: usize) -> u64 {
    let (a, b) = seq.split_at(seq.len() / 2);
    let (ia, ib) = rayon::join(|| inversions(a, m), || inversions(b, m));
    // greater[v] = number of values in `a` above v
    let mut greater = vec![0u64; m + 1];
    for &v in a {
        greater[v as usize] += 1;
    }
    let mut above = 0u64;
    for g in greater.iter_mut().rev() {
        let c = *g;
        *g = above;
        above += c;
    }
    let cross: u64 = b.iter().map(|&v| greater[v as usize]).sum();
    ia + ib + cross
}

/// Pair counts of Kendall tau-b for finite `x`, `y`: (x ties, y ties, joint ties, discordant).
pub(crate) fn counts(x: &[f64], y: &[f64], parallel: bool) -> (u64, u64, u64, u64) {
    let (dx, dy) = if parallel {
        rayon::join(|| dense_ranks(x), || dense_ranks(y))
    } else {
        (dense_ranks(x), dense_ranks(y))
    };
    // Stable counting sort of the y-ordered indices by x rank: order by (x rank, y rank).
    let mut start = vec![0u32; dx.distinct + 1];
    for &r in &dx.ranks {
        start[r as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut seq = vec![0u32; x.len()];
    let mut xs = vec![0u32; x.len()];
    for &i in &dy.order {
        let rx = dx.ranks[i as usize];
        let pos = start[rx as usize] as usize;
        seq[pos] = dy.ranks[i as usize];
        xs[pos] = rx;
        start[rx as usize] += 1;
    }
    let mut joint = 0u64;
    let mut run = 1u64;
    for k in 1..seq.len() {
        if seq[k] == seq[k - 1] && xs[k] == xs[k - 1] {
            run += 1;
        } else {
            joint += run * (run - 1) / 2;
            run = 1;
        }
    }
    joint += run * (run - 1) / 2;
    let dis = if parallel {
        par_inversions(&seq, dy.distinct)
    } else {
        inversions(&seq, dy.distinct)
    };
    (dx.ties, dy.ties, joint, dis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sorts_stably() {
        let v: Vec<f64> = (0..5000)
            .map(|i| f64::from((i * 7919) % 1013) - 500.5)
            .collect();
        let d = dense_ranks(&v);
        let mut want: Vec<u32> = (0..v.len() as u32).collect();
        want.sort_by(|&a, &b| v[a as usize].total_cmp(&v[b as usize]).then(a.cmp(&b)));
        assert_eq!(d.order, want);
        assert_eq!(d.distinct, 1013);
    }

    #[test]
    fn inversions_match_quadratic() {
        let seq: Vec<u32> = (0..700).map(|i| (i * 37 % 53) as u32).collect();
        let mut brute = 0u64;
        for i in 0..seq.len() {
            for j in i + 1..seq.len() {
                brute += u64::from(seq[i] > seq[j]);
            }
        }
        assert_eq!(inversions(&seq, 53), brute);
        assert_eq!(par_inversions(&seq, 53), brute);
    }
}
