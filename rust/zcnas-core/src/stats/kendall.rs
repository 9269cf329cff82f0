//! Kendall tau-b in O(n log n) (Knight's algorithm: sort, then count discordant pairs as
//! inversions), with ties handled exactly as `scipy.stats.kendalltau`.
//!
//! Two paths give the same integer pair counts:
//! * vectors of [`RADIX_MIN`] or more values: one side v is ranked (by counting when it has
//!   few distinct values, else by a radix sort, [`super::radix::sort_indices`]), the other
//!   side's keys laid out in v's order are radix-sorted, which puts the pairs in (u, v)
//!   order, and the discordant pairs are the inversions of the v ranks in that order,
//!   counted with digit counters ([`super::inversions`]). A prepared batch target is v for
//!   every row. (Long single calls on two threads rank both sides at once and merge them by
//!   a counting pass instead.)
//! * shorter vectors (the EZNAS fitness shape, n = 20): a comparison sort of the key pairs
//!   and a merge-sort inversion count, which has no table set-up cost. This path is also the
//!   reference of the property tests.

use super::inversions::{bits_for, count_inversions_small, par_count_inversions_small, InvScratch};
use super::radix::sort_indices;
use super::{order_key, paired, NanPolicy};
use crate::error::Result;
use rayon::slice::ParallelSliceMut;

/// From this length on, tau uses the radix / digit-counter path.
const RADIX_MIN: usize = 512;

/// From this length on, a single radix-path call ranks x and y on two threads and splits the
/// inversion count. At n = 15,625 the split measured slower on the shared 2-core machine
/// (0.347-0.377 ms against 0.305 ms on one thread, from Python, load about 12): the join
/// costs more than half of a 0.3 ms call saves when the second core is busy.
const RADIX_PARALLEL_MIN: usize = 1 << 16;

/// Shortest pair of vectors for which [`kendall_tau`] uses rayon (the current pool); shorter
/// calls run on the calling thread only, so a binding may skip the hand-off to a pool.
pub const KENDALL_PARALLEL_MIN: usize = RADIX_PARALLEL_MIN;

/// Kendall tau-b of `x` and `y`; `NaN` if either side is constant (as scipy).
///
/// The value is `(C - D) / sqrt(T - Tx) / sqrt(T - Ty)` with the integer pair counts of
/// scipy, so results agree with `scipy.stats.kendalltau(x, y).statistic` to rounding.
pub fn kendall_tau(x: &[f64], y: &[f64], policy: NanPolicy) -> Result<f64> {
    let (x, y) = paired(x, y, ("x", "y"), policy, 2)?;
    Ok(with_scratch(|s| tau_b_finite(&x, &y, s, true)))
}

thread_local! {
    /// Buffers kept between calls on the same thread: a fresh n-sized buffer costs page faults
    /// on every call (they were about a fifth of a single call at n = 15,625).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Buffers above this many elements are not kept after a call.
const KEEP_MAX: usize = 1 << 20;

/// Run `f` with this thread's kept [`Scratch`] (fresh buffers if it is already in use, e.g.
/// by a rayon task that this thread runs while it waits in a join).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let r = f(&mut s);
            if s.keys.capacity() > KEEP_MAX || s.pairs.capacity() > KEEP_MAX {
                *s = Scratch::default();
            }
            r
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Reusable buffers for repeated tau computations (one per rayon worker).
#[derive(Default)]
pub(crate) struct Scratch {
    pairs: Vec<(u64, u64)>,
    keys: Vec<u64>,
    buf: Vec<u64>,
    sorted: Vec<u64>,
    tmp: Vec<u64>,
    starts: Vec<bool>,
    /// A second set for ranking y while x is ranked on another thread.
    keys_y: Vec<u64>,
    sorted_y: Vec<u64>,
    tmp_y: Vec<u64>,
    starts_y: Vec<bool>,
    seq: Vec<u32>,
    inv: InvScratch,
}

/// Tau-b of two finite vectors of equal length >= 2; `parallel` lets a long single call use
/// two rayon tasks (batched calls are parallel over rows instead).
pub(crate) fn tau_b_finite(x: &[f64], y: &[f64], s: &mut Scratch, parallel: bool) -> f64 {
    if x.len() >= RADIX_MIN && u32::try_from(x.len()).is_ok() {
        return tau_b_radix(x, y, s, parallel && x.len() >= RADIX_PARALLEL_MIN);
    }
    tau_b_merge(x, y, s, parallel)
}

/// At most this many distinct values are ranked by counting (ids fit in a `u8`).
const FEW: usize = 256;

/// A vector's ascending order and dense ranks (radix path).
struct Ranked {
    /// Indices in ascending order of value (ties by index).
    perm: Vec<u32>,
    /// Dense 0-based rank at each sorted position (non-decreasing).
    ranks: Vec<u32>,
    /// Number of distinct values.
    distinct: usize,
    /// Number of tied pairs.
    ties: u64,
}

impl Ranked {
    /// Rank a finite vector shorter than 2^32 (the other arguments are scratch buffers).
    fn new(
        v: &[f64],
        keys: &mut Vec<u64>,
        sorted: &mut Vec<u64>,
        tmp: &mut Vec<u64>,
        starts: &mut Vec<bool>,
    ) -> Self {
        keys.clear();
        keys.extend(v.iter().map(|a| order_key(*a)));
        if let Some(r) = Self::few_distinct(keys) {
            return r;
        }
        let mask = sort_indices(keys, sorted, tmp, starts);
        let n = keys.len();
        let mut ranks = vec![0u32; n];
        let mut perm = vec![0u32; n];
        let (mut rank, mut run_start, mut ties) = (0u32, 0usize, 0u64);
        let items = sorted
            .iter()
            .zip(starts.iter())
            .zip(ranks.iter_mut().zip(&mut perm));
        for (k, ((&c, &new), (r, p))) in items.enumerate() {
            rank += u32::from(new && k > 0);
            run_start = if new { k } else { run_start };
            ties += (k - run_start) as u64;
            *r = rank;
            *p = (c & mask) as u32;
        }
        Self {
            perm,
            ranks,
            distinct: if n == 0 { 0 } else { rank as usize + 1 },
            ties,
        }
    }

    /// Ranks by counting when there are at most [`FEW`] distinct keys (model sizes, FLOPs and
    /// other proxies of a cell space often take a few dozen values): one pass through a
    /// small hash table, a sort of the distinct keys and a stable counting sort of the
    /// indices, instead of three radix passes. `None` (after at most `FEW + 1` new keys) when
    /// there are more.
    fn few_distinct(keys: &[u64]) -> Option<Self> {
        const SLOTS: usize = 4 * FEW;
        let mut table = [0u64; SLOTS];
        let mut used = [false; SLOTS];
        let mut id_of = [0u8; SLOTS];
        let mut distinct: Vec<u64> = Vec::with_capacity(FEW);
        let mut ids = vec![0u8; keys.len()];
        for (&k, id) in keys.iter().zip(&mut ids) {
            let mut h = (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
            loop {
                if !used[h] {
                    if distinct.len() == FEW {
                        return None;
                    }
                    used[h] = true;
                    table[h] = k;
                    id_of[h] = distinct.len() as u8;
                    distinct.push(k);
                    break;
                }
                if table[h] == k {
                    break;
                }
                h = (h + 1) % SLOTS;
            }
            *id = id_of[h];
        }
        // Dense rank of each id, count per rank, then a stable scatter of the indices.
        let d = distinct.len();
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_unstable_by_key(|&i| distinct[i]);
        let mut rank_of = [0u32; FEW];
        for (r, &i) in order.iter().enumerate() {
            rank_of[i] = r as u32;
        }
        let mut next = vec![0u32; d + 1];
        for &id in &ids {
            next[rank_of[usize::from(id)] as usize + 1] += 1;
        }
        let mut ties = 0u64;
        let mut ranks = Vec::with_capacity(keys.len());
        for r in 0..d {
            let c = u64::from(next[r + 1]);
            ties += c * c.saturating_sub(1) / 2;
            ranks.extend(std::iter::repeat_n(r as u32, c as usize));
            next[r + 1] += next[r];
        }
        let mut perm = vec![0u32; keys.len()];
        for (i, &id) in ids.iter().enumerate() {
            let slot = &mut next[rank_of[usize::from(id)] as usize];
            perm[*slot as usize] = i as u32;
            *slot += 1;
        }
        Some(Self {
            perm,
            ranks,
            distinct: d,
            ties,
        })
    }

    /// [`Ranked::new`] with this thread's kept buffers.
    fn of(v: &[f64]) -> Self {
        with_scratch(|s| Self::new(v, &mut s.keys, &mut s.sorted, &mut s.tmp, &mut s.starts))
    }
}

/// Radix path of [`tau_b_finite`] (`2^32 > n >= 2`); `parallel` uses two rayon tasks.
///
/// On one thread only one side `v` is ranked (x if it has at most [`FEW`] distinct values,
/// else y); the other side's keys are sorted once, laid out in v's order, and the scan and
/// the inversion count of [`tau_against`] follow. Ranking both sides and then merging them
/// by a counting pass (the two-thread path) cost three more passes over the data, two of
/// them random-access (n = 15,625: 0.25 ms against 0.2 ms, see `benches/RESULTS.md`).
fn tau_b_radix(x: &[f64], y: &[f64], s: &mut Scratch, parallel: bool) -> f64 {
    if !parallel {
        s.keys.clear();
        s.keys.extend(x.iter().map(|a| order_key(*a)));
        if let Some(rx) = Ranked::few_distinct(&s.keys) {
            let bits = bits_for(rx.distinct);
            return tau_against(&rx, bits, y, s, false);
        }
        let ry = Ranked::new(y, &mut s.keys, &mut s.sorted, &mut s.tmp, &mut s.starts);
        let bits = bits_for(ry.distinct);
        return tau_against(&ry, bits, x, s, true);
    }
    let n = x.len();
    let (rx, ry) = {
        let (kx, sx, tx, bx) = (&mut s.keys, &mut s.sorted, &mut s.tmp, &mut s.starts);
        let (ky, sy, ty, by) = (
            &mut s.keys_y,
            &mut s.sorted_y,
            &mut s.tmp_y,
            &mut s.starts_y,
        );
        rayon::join(
            || Ranked::new(x, kx, sx, tx, bx),
            || Ranked::new(y, ky, sy, ty, by),
        )
    };
    // Count inversions over the side v with fewer distinct values (fewer digit levels): put
    // the pairs in (u, v) order by a stable counting pass over v's sorted order into u's
    // rank buckets, then read v's ranks in that order.
    let (u, v) = if rx.distinct <= ry.distinct {
        (&ry, &rx)
    } else {
        (&rx, &ry)
    };
    let mut u_of = vec![0u32; n];
    for (&i, &r) in u.perm.iter().zip(&u.ranks) {
        u_of[i as usize] = r;
    }
    let mut next = vec![0u32; u.distinct];
    for (k, &r) in u.ranks.iter().enumerate().rev() {
        next[r as usize] = k as u32;
    }
    s.seq.clear();
    s.seq.resize(n, 0);
    for (&i, &r) in v.perm.iter().zip(&v.ranks) {
        let b = &mut next[u_of[i as usize] as usize];
        s.seq[*b as usize] = r;
        *b += 1;
    }
    // Position k of the sequence lies in u's bucket u.ranks[k]: joint ties are the runs of
    // equal (u rank, v rank).
    let joint = tie_pairs(u.ranks.iter().zip(&s.seq));
    let bits = bits_for(v.distinct);
    let dis = par_count_inversions_small(&s.seq, bits, v.distinct);
    finish(n, rx.ties, ry.ties, joint, dis)
}

/// Merge-sort path of [`tau_b_finite`].
fn tau_b_merge(x: &[f64], y: &[f64], s: &mut Scratch, parallel: bool) -> f64 {
    let parallel = parallel && x.len() >= PARALLEL_MIN;
    let n = x.len();
    s.pairs.clear();
    s.pairs
        .extend(x.iter().zip(y).map(|(a, b)| (order_key(*a), order_key(*b))));
    if parallel {
        s.pairs.par_sort_unstable();
    } else {
        s.pairs.sort_unstable();
    }
    let xtie = tie_pairs(s.pairs.iter().map(|p| p.0));
    let ntie = tie_pairs(s.pairs.iter().copied());
    s.keys.clear();
    s.keys.extend(s.pairs.iter().map(|p| p.1));
    let dis = if parallel {
        par_count_inversions(&mut s.keys, &mut s.buf)
    } else {
        count_inversions(&mut s.keys, &mut s.buf)
    };
    let ytie = tie_pairs(s.keys.iter().copied());
    finish(n, xtie, ytie, ntie, dis)
}

/// Combine the pair counts into tau-b with scipy's exact formula and clamping.
fn finish(n: usize, xtie: u64, ytie: u64, ntie: u64, dis: u64) -> f64 {
    let n = n as u64;
    let tot = n * (n - 1) / 2;
    if xtie == tot || ytie == tot {
        return f64::NAN;
    }
    let con_minus_dis = tot as i64 - xtie as i64 - ytie as i64 + ntie as i64 - 2 * dis as i64;
    let tau = con_minus_dis as f64 / ((tot - xtie) as f64).sqrt() / ((tot - ytie) as f64).sqrt();
    tau.clamp(-1.0, 1.0)
}

/// Number of tied pairs, sum of c*(c-1)/2 over runs of equal consecutive items of a sorted
/// sequence.
fn tie_pairs<T: PartialEq>(mut it: impl Iterator<Item = T>) -> u64 {
    let Some(mut prev) = it.next() else {
        return 0;
    };
    let mut run: u64 = 1;
    let mut total: u64 = 0;
    for item in it {
        if item == prev {
            run += 1;
        } else {
            total += run * (run - 1) / 2;
            run = 1;
            prev = item;
        }
    }
    total + run * (run - 1) / 2
}

const INSERTION_BLOCK: usize = 24;

/// Sort `a` ascending and return the number of pairs `i < j` with `a[i] > a[j]` (equal items
/// are never counted). Stable bottom-up merge sort with insertion-sorted blocks.
pub(crate) fn count_inversions(a: &mut [u64], buf: &mut Vec<u64>) -> u64 {
    let n = a.len();
    let mut inv: u64 = 0;
    for block in a.chunks_mut(INSERTION_BLOCK) {
        for i in 1..block.len() {
            let v = block[i];
            let mut j = i;
            while j > 0 && block[j - 1] > v {
                block[j] = block[j - 1];
                j -= 1;
            }
            block[j] = v;
            inv += (i - j) as u64;
        }
    }
    if n <= INSERTION_BLOCK {
        return inv;
    }
    buf.clear();
    buf.resize(n, 0);
    let mut width = INSERTION_BLOCK;
    let mut in_a = true;
    while width < n {
        inv += if in_a {
            merge_pass(a, buf, width)
        } else {
            merge_pass(buf, a, width)
        };
        in_a = !in_a;
        width *= 2;
    }
    if !in_a {
        a.copy_from_slice(buf);
    }
    inv
}

/// One pass of the bottom-up merge sort: merge runs of `width` pairwise from `src` to `dst`.
fn merge_pass(src: &[u64], dst: &mut [u64], width: usize) -> u64 {
    let n = src.len();
    let mut inv = 0;
    let mut lo = 0;
    while lo < n {
        let mid = (lo + width).min(n);
        let hi = (lo + 2 * width).min(n);
        inv += merge(&src[lo..mid], &src[mid..hi], &mut dst[lo..hi]);
        lo = hi;
    }
    inv
}

/// Merge two sorted runs into `out`, counting pairs (l in left, r in right) with l > r.
///
/// The loop body is branch-free (a select instead of a jump): on random runs a branching
/// merge mispredicts about every other element (measured about 1.7x slower inside the sort).
#[inline]
fn merge(left: &[u64], right: &[u64], out: &mut [u64]) -> u64 {
    let (nl, nr) = (left.len(), right.len());
    let (mut i, mut j, mut k) = (0, 0, 0);
    let mut inv: u64 = 0;
    while i < nl && j < nr {
        let (l, r) = (left[i], right[j]);
        let take_right = usize::from(r < l);
        out[k] = l.min(r);
        inv += ((nl - i) * take_right) as u64;
        j += take_right;
        i += 1 - take_right;
        k += 1;
    }
    out[k..k + nl - i].copy_from_slice(&left[i..]);
    k += nl - i;
    out[k..].copy_from_slice(&right[j..]);
    inv
}

/// Below this length a single call stays on one thread; above, the sort and the inversion
/// count are split over two rayon tasks.
const PARALLEL_MIN: usize = 4096;

/// [`count_inversions`] split in two halves counted in parallel, then one counting merge.
fn par_count_inversions(a: &mut [u64], buf: &mut Vec<u64>) -> u64 {
    let n = a.len();
    if n < PARALLEL_MIN {
        return count_inversions(a, buf);
    }
    let (lo, hi) = a.split_at_mut(n / 2);
    let (il, ih) = rayon::join(
        || count_inversions(lo, &mut Vec::new()),
        || count_inversions(hi, &mut Vec::new()),
    );
    buf.clear();
    buf.resize(n, 0);
    let cross = merge(lo, hi, buf);
    a.copy_from_slice(buf);
    il + ih + cross
}

/// A target vector prepared once for Kendall tau against many score vectors.
///
/// The target's sort order, dense ranks and ties are computed once; each score vector then
/// costs one radix sort of (score key, target rank) pairs laid out in the target's order
/// (stable, so the result is in (score, target) order), a scan for ties, and an inversion
/// count of the target ranks. `tau(scores)` equals `kendall_tau(scores, target)` (scores as
/// `x`, target as `y`).
pub struct KendallPrepared {
    inner: Prepared,
}

enum Prepared {
    Ranked {
        target: Ranked,
        bits: u32,
    },
    /// Shorter than [`RADIX_MIN`] or too long for 32-bit indices: the pair path per call.
    Plain(Vec<f64>),
}

impl KendallPrepared {
    /// Prepare a finite target of length >= 2.
    pub fn new(target: &[f64]) -> Self {
        let inner = if target.len() >= RADIX_MIN && u32::try_from(target.len()).is_ok() {
            let target = Ranked::of(target);
            let bits = bits_for(target.distinct);
            Prepared::Ranked { target, bits }
        } else {
            Prepared::Plain(target.to_vec())
        };
        Self { inner }
    }

    /// Length of the target.
    pub fn len(&self) -> usize {
        match &self.inner {
            Prepared::Ranked { target, .. } => target.perm.len(),
            Prepared::Plain(t) => t.len(),
        }
    }

    /// Whether the target is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tau-b of finite `scores` (same length as the target) against the target.
    pub(crate) fn tau(&self, scores: &[f64], s: &mut Scratch) -> f64 {
        match &self.inner {
            Prepared::Ranked { target, bits } => tau_against(target, *bits, scores, s, true),
            Prepared::Plain(t) => tau_b_finite(scores, t, s, false),
        }
    }
}

/// Tau-b of the finite values `u` (same length as `v`) against the ranked side `v`, with
/// `bits = bits_for(v.distinct)`; `u_is_x` says which argument of tau `u` is (the tie counts
/// enter [`finish`] in argument order, so the result is bit-identical either way round).
///
/// u's keys are laid out in v's sorted order; sorting their positions by (key, position)
/// puts the pairs in (u, v) order, since v's ranks grow with the position. One scan then
/// counts u's ties and the joint ties and lays out v's ranks in that order, and the
/// discordant pairs are their inversions.
fn tau_against(v: &Ranked, bits: u32, u: &[f64], s: &mut Scratch, u_is_x: bool) -> f64 {
    let n = v.perm.len();
    // Keys in index order first, then gathered: reading `u` itself in v's (random) order
    // missed the cache on every new line of a row not yet read (a batch row comes from a
    // large matrix), about a tenth of a batch row.
    s.buf.clear();
    s.buf.extend(u.iter().map(|a| order_key(*a)));
    s.keys.clear();
    s.keys.extend(v.perm.iter().map(|&i| s.buf[i as usize]));
    let mask = sort_indices(&s.keys, &mut s.sorted, &mut s.tmp, &mut s.starts);
    let (mut u_start, mut j_start) = (0usize, 0usize);
    let (mut u_ties, mut joint) = (0u64, 0u64);
    s.seq.clear();
    s.seq.resize(n, 0);
    let mut prev_r = u32::MAX;
    let items = s.sorted.iter().zip(&s.starts).zip(&mut s.seq);
    for (k, ((&c, &new), out)) in items.enumerate() {
        let r = v.ranks[(c & mask) as usize];
        let same_joint = !new && r == prev_r;
        u_start = if new { k } else { u_start };
        j_start = if same_joint { j_start } else { k };
        u_ties += (k - u_start) as u64;
        joint += (k - j_start) as u64;
        *out = r;
        prev_r = r;
    }
    let dis = count_inversions_small(&s.seq, bits, &mut s.inv);
    if u_is_x {
        finish(n, u_ties, v.ties, joint, dis)
    } else {
        finish(n, v.ties, u_ties, joint, dis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len();
        let (mut c, mut d, mut tx, mut ty) = (0i64, 0i64, 0i64, 0i64);
        for i in 0..n {
            for j in i + 1..n {
                let a = (x[i] - x[j]).signum() as i64 * i64::from(x[i] != x[j]);
                let b = (y[i] - y[j]).signum() as i64 * i64::from(y[i] != y[j]);
                if a == 0 && b == 0 {
                } else if a == 0 {
                    tx += 1;
                } else if b == 0 {
                    ty += 1;
                } else if a == b {
                    c += 1;
                } else {
                    d += 1;
                }
            }
        }
        (c - d) as f64 / (((c + d + tx) * (c + d + ty)) as f64).sqrt()
    }

    #[test]
    fn scipy_docstring_example() {
        let t = kendall_tau(
            &[12.0, 2.0, 1.0, 12.0, 2.0],
            &[1.0, 4.0, 7.0, 1.0, 0.0],
            NanPolicy::Raise,
        )
        .unwrap();
        assert!((t - -0.471_404_520_791_031_73).abs() < 1e-15, "{t}");
    }

    #[test]
    fn matches_brute_force_with_ties() {
        let x: Vec<f64> = (0..200).map(|i| f64::from((i * 37 % 23) / 3)).collect();
        let y: Vec<f64> = (0..200).map(|i| f64::from((i * 11 % 17) / 2)).collect();
        let t = kendall_tau(&x, &y, NanPolicy::Raise).unwrap();
        assert!((t - brute(&x, &y)).abs() < 1e-12);
        let p = KendallPrepared::new(&y);
        let mut s = Scratch::default();
        assert!((p.tau(&x, &mut s) - t).abs() < 1e-15);
        let xl: Vec<f64> = (0..9000).map(|i| f64::from((i * 37 % 101) / 3)).collect();
        let yl: Vec<f64> = (0..9000).map(|i| f64::from((i * 11 % 97) / 2)).collect();
        let mut s = Scratch::default();
        assert_eq!(
            tau_b_finite(&xl, &yl, &mut s, true),
            tau_b_finite(&xl, &yl, &mut s, false)
        );
    }

    #[test]
    fn constant_is_nan() {
        assert!(
            kendall_tau(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0], NanPolicy::Raise)
                .unwrap()
                .is_nan()
        );
    }

    /// Values with many ties (`levels` distinct) or none (`levels == 0`), from a seed.
    fn sample(n: usize, seed: u64, levels: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                if levels == 0 {
                    (s >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0
                } else {
                    (s % levels) as f64 - 2.0
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn radix_path_equals_merge_path_and_brute_force(
            n in 512usize..1400,
            sx in any::<u64>(),
            sy in any::<u64>(),
            lx in prop_oneof![Just(0u64), 1u64..6, 6u64..3000],
            ly in prop_oneof![Just(0u64), 1u64..6, 6u64..3000],
            signed_zero in any::<bool>(),
        ) {
            let mut x = sample(n, sx, lx);
            let y = sample(n, sy, ly);
            if signed_zero {
                // -0.0 and 0.0 tie, as in numpy.
                for (i, v) in x.iter_mut().enumerate().take(40) {
                    *v = if i % 2 == 0 { 0.0 } else { -0.0 };
                }
            }
            let mut s = Scratch::default();
            let merge = tau_b_merge(&x, &y, &mut s, false);
            let serial = tau_b_radix(&x, &y, &mut s, false);
            let par = tau_b_radix(&x, &y, &mut s, true);
            let prep = KendallPrepared::new(&y).tau(&x, &mut s);
            // The one-thread radix path ranks x or y depending on which has few distinct
            // values: both argument orders agree with the merge path to the last bit.
            let swapped = tau_b_radix(&y, &x, &mut s, false);
            let swapped_merge = tau_b_merge(&y, &x, &mut s, false);
            prop_assert!(swapped == swapped_merge || (swapped.is_nan() && swapped_merge.is_nan()));
            let b = brute(&x, &y);
            if b.is_nan() {
                prop_assert!(merge.is_nan() && serial.is_nan() && par.is_nan() && prep.is_nan());
            } else {
                prop_assert_eq!(serial, merge);
                prop_assert_eq!(par, merge);
                prop_assert_eq!(prep, merge);
                prop_assert!((merge - b).abs() < 1e-12, "{} vs {}", merge, b);
            }
        }
    }

    #[test]
    fn long_parallel_radix_equals_merge() {
        for (lx, ly) in [(0, 0), (7, 0), (300, 5000), (2, 3)] {
            let x = sample(20_000, 3, lx);
            let y = sample(20_000, 4, ly);
            let mut s = Scratch::default();
            let want = tau_b_merge(&x, &y, &mut s, false);
            assert_eq!(tau_b_finite(&x, &y, &mut s, true), want);
            assert_eq!(KendallPrepared::new(&y).tau(&x, &mut s), want);
        }
    }

    #[test]
    fn inversions_count() {
        let mut v: Vec<u64> = (0..100).rev().collect();
        let mut buf = Vec::new();
        assert_eq!(count_inversions(&mut v, &mut buf), 4950);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
    }
}
