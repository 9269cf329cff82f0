//! Sorting `(order key, payload)` pairs for ranks and Kendall tau of long vectors.
//!
//! [`sort_pairs`] is an LSD radix sort on a **33-bit window** of the key (three 11-bit
//! digits) placed just below the bits that all keys share (found from the minimum and maximum
//! key), followed by a fix-up of each run of keys that agree on the window: short runs are
//! re-sorted by comparison, long ones by the same function on the run (whose keys then share
//! at least 33 more leading bits, so the recursion ends within two levels). An order key of an
//! `f64` starts with the sign and the exponent, so for real data the window holds the
//! exponent and about 20 leading mantissa bits and the runs are rare (near-equal values, or
//! exact ties, which need no fix-up). At n = 15,625 a full 64-bit radix sort (six passes)
//! measured 110-128 us, the 33-bit window 77-88 us, `sort_unstable` about 170 us (2-core
//! reference machine, loaded); a 22-bit window (two passes) lost more in fix-ups of uniform
//! data than it saved.
//!
//! [`sort_indices`] sorts indices by key with 8-byte items (window bits and index packed into
//! one `u64`), half the memory traffic of `(key, payload)` pairs.

/// An `(order key, payload)` pair.
type Pair = (u64, u32);

const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
const PASSES: usize = 3;
const WINDOW_BITS: u32 = DIGIT_BITS * PASSES as u32;
/// Below this length a comparison sort is faster than the histogram set-up.
const RADIX_MIN: usize = 512;

/// Sort `items` by `(key, payload)` lexicographically, provided the payloads arrive in
/// non-decreasing order (an index, or a rank in an order already sorted by it): the radix
/// passes are stable, so equal keys keep the payload order they came in, and runs re-sorted
/// by comparison are sorted by `(key, payload)`.
///
/// `tmp` is scratch space (its contents are overwritten).
pub(crate) fn sort_pairs(items: &mut [Pair], tmp: &mut Vec<Pair>) {
    if items.len() < RADIX_MIN {
        items.sort_unstable();
        return;
    }
    tmp.clear();
    tmp.resize(items.len(), (0, 0));
    sort_slice(items, tmp);
}

/// [`sort_pairs`] on a slice with a scratch slice of the same length.
fn sort_slice(items: &mut [Pair], tmp: &mut [Pair]) {
    let n = items.len();
    if n < RADIX_MIN {
        items.sort_unstable();
        return;
    }
    let (lo, hi) = items
        .iter()
        .fold((u64::MAX, 0u64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    if lo == hi {
        return; // all keys equal: already in payload order
    }
    // Bits below the common prefix of all keys; the window is the top WINDOW_BITS of them.
    let varying = 64 - (lo ^ hi).leading_zeros();
    let low = varying.saturating_sub(WINDOW_BITS);
    let mut hist = histograms(items, |p| p.0 >> low);
    let mut in_items = true;
    for (p, h) in hist.iter_mut().enumerate() {
        if h.iter().any(|&c| c as usize == n) {
            continue; // every key has the same digit here
        }
        let mut sum = 0;
        for c in h.iter_mut() {
            let t = *c;
            *c = sum;
            sum += t;
        }
        let shift = low + p as u32 * DIGIT_BITS;
        let (src, dst): (&[Pair], &mut [Pair]) = if in_items {
            (&*items, &mut *tmp)
        } else {
            (&*tmp, &mut *items)
        };
        for &item in src {
            let d = ((item.0 >> shift) as usize) & (BUCKETS - 1);
            dst[h[d] as usize] = item;
            h[d] += 1;
        }
        in_items = !in_items;
    }
    if !in_items {
        items.copy_from_slice(tmp);
    }
    if low == 0 {
        return; // the window held every varying bit
    }
    let mut start = 0;
    while start < n {
        let first = items[start].0;
        let window = first >> low;
        let mut end = start + 1;
        let mut all_equal = true;
        while end < n && items[end].0 >> low == window {
            all_equal &= items[end].0 == first;
            end += 1;
        }
        if !all_equal {
            sort_slice(&mut items[start..end], &mut tmp[start..end]);
        }
        start = end;
    }
}

/// Smallest and largest key (`(u64::MAX, 0)` when empty), with four running pairs: one pair
/// is a chain of dependent compare-and-selects, about two cycles per key.
fn min_max(keys: &[u64]) -> (u64, u64) {
    let mut lo = [u64::MAX; 4];
    let mut hi = [0u64; 4];
    let quads = keys.chunks_exact(4);
    let rest = quads.remainder();
    for q in quads {
        for j in 0..4 {
            lo[j] = lo[j].min(q[j]);
            hi[j] = hi[j].max(q[j]);
        }
    }
    let lo = rest
        .iter()
        .fold(lo.into_iter().min().unwrap_or(u64::MAX), |a, &k| a.min(k));
    let hi = rest
        .iter()
        .fold(hi.into_iter().max().unwrap_or(0), |a, &k| a.max(k));
    (lo, hi)
}

/// Histograms of the [`PASSES`] digits of `window(item)` over all items.
///
/// The top digit is counted in four interleaved tables, summed at the end: keys that arrive
/// nearly sorted (a batch row laid out in the order of a correlated target) hit the same
/// top-digit counter many times in a row, and each increment then waits for the previous
/// one through memory. That chain was about a quarter of `sort_indices` in a batch row.
fn histograms<T: Copy>(items: &[T], window: impl Fn(T) -> u64) -> Vec<[u32; BUCKETS]> {
    const TOP: usize = PASSES - 1;
    let digit = |w: u64, p: usize| ((w >> (p as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1);
    let mut hist = vec![[0u32; BUCKETS]; PASSES];
    let mut top = vec![[0u32; BUCKETS]; 3];
    let quads = items.chunks_exact(4);
    let rest = quads.remainder();
    for q in quads {
        let w = [window(q[0]), window(q[1]), window(q[2]), window(q[3])];
        for &wi in &w {
            for (p, hp) in hist.iter_mut().enumerate().take(TOP) {
                hp[digit(wi, p)] += 1;
            }
        }
        hist[TOP][digit(w[0], TOP)] += 1;
        top[0][digit(w[1], TOP)] += 1;
        top[1][digit(w[2], TOP)] += 1;
        top[2][digit(w[3], TOP)] += 1;
    }
    for &item in rest {
        let w = window(item);
        for (p, hp) in hist.iter_mut().enumerate() {
            hp[digit(w, p)] += 1;
        }
    }
    for t in &top {
        for (h, &c) in hist[TOP].iter_mut().zip(t) {
            *h += c;
        }
    }
    hist
}

/// Number of bits for the indices `0..n` (at least 1).
fn index_bits(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Sort the indices `0..keys.len()` by `(keys[i], i)`: on return `out[p] & mask` is the index
/// at sorted position `p`, with `mask = (1 << index_bits) - 1` returned, and the bits above
/// `mask` hold the leading varying bits of that key. `starts[p]` is `true` where position `p`
/// holds a key different from position `p - 1` (and at `p = 0`), so callers find ties
/// without reading the keys again. `keys.len()` must be below 2^32.
///
/// Each item packs the key's leading varying bits above the index bits, so the radix passes
/// (over at most 33 of those bits) move 8-byte items; runs that agree on the passed bits but
/// whose keys differ are re-sorted by `(keys[i], i)`.
pub(crate) fn sort_indices(
    keys: &[u64],
    out: &mut Vec<u64>,
    tmp: &mut Vec<u64>,
    starts: &mut Vec<bool>,
) -> u64 {
    let n = keys.len();
    debug_assert!(u32::try_from(n).is_ok());
    let bits = index_bits(n);
    let mask = (1u64 << bits) - 1;
    out.clear();
    starts.clear();
    starts.resize(n, false);
    let (lo, hi) = min_max(keys);
    if n == 0 || lo == hi {
        out.extend(0..n as u64);
        if let Some(first) = starts.first_mut() {
            *first = true;
        }
        return mask;
    }
    let lead = (lo ^ hi).leading_zeros();
    out.extend(
        keys.iter()
            .enumerate()
            .map(|(i, &k)| ((k << lead) & !mask) | i as u64),
    );
    let key = |c: u64| keys[(c & mask) as usize];
    if n < RADIX_MIN {
        out.sort_unstable_by_key(|&c| (key(c), c & mask));
        mark_starts(out, 0, n, &key, starts);
        return mask;
    }
    // Radix digits over the packed bits low..64 (never the index bits).
    let low = (64 - DIGIT_BITS * PASSES as u32).max(bits);
    let mut hist = histograms(out, |c| c >> low);
    tmp.clear();
    tmp.resize(n, 0);
    for (p, h) in hist.iter_mut().enumerate() {
        let shift = low + p as u32 * DIGIT_BITS;
        if shift >= 64 || h.iter().any(|&c| c as usize == n) {
            continue; // beyond the key, or every item has the same digit here
        }
        let mut sum = 0;
        for c in h.iter_mut() {
            let t = *c;
            *c = sum;
            sum += t;
        }
        for &c in out.iter() {
            let d = ((c >> shift) as usize) & (BUCKETS - 1);
            tmp[h[d] as usize] = c;
            h[d] += 1;
        }
        std::mem::swap(out, tmp);
    }
    let mut start = 0;
    while start < n {
        let window = out[start] >> low;
        let mut end = start + 1;
        starts[start] = true;
        // A key is read only where the window repeats (for distinct values, rarely).
        if end < n && out[end] >> low == window {
            let first = key(out[start]);
            let mut all_equal = true;
            while end < n && out[end] >> low == window {
                all_equal &= key(out[end]) == first;
                end += 1;
            }
            if !all_equal {
                out[start..end].sort_unstable_by_key(|&c| (key(c), c & mask));
                mark_starts(out, start, end, &key, starts);
            }
        }
        start = end;
    }
    mask
}

/// Set `starts[p]` for `p` in `start..end` where the key differs from the previous position's.
fn mark_starts(
    out: &[u64],
    start: usize,
    end: usize,
    key: &impl Fn(u64) -> u64,
    starts: &mut [bool],
) {
    for p in start..end {
        starts[p] = p == 0 || key(out[p]) != key(out[p - 1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(keys: &[u64]) {
        let mut items: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i as u32))
            .collect();
        let mut want = items.clone();
        want.sort_unstable();
        sort_pairs(&mut items, &mut Vec::new());
        assert_eq!(items, want);
    }

    #[test]
    fn sorts_like_a_comparison_sort() {
        // Keys that differ only below the radix bits, in the radix bits, and exact ties.
        let keys: Vec<u64> = (0..5000u64)
            .map(|i| (i * 7919) % 1013 + (i % 3) * (1 << 40) + ((i % 5) << 60))
            .collect();
        check(&keys);
        check(&vec![42; 3000]);
        let floats: Vec<u64> = (0..4000)
            .map(|i| super::super::order_key((f64::from(i) * 0.37).sin() * 1e-3))
            .collect();
        check(&floats);
    }

    fn check_indices(keys: &[u64]) {
        let (mut out, mut starts) = (Vec::new(), Vec::new());
        let mask = sort_indices(keys, &mut out, &mut Vec::new(), &mut starts);
        let got: Vec<usize> = out.iter().map(|&c| (c & mask) as usize).collect();
        let mut want: Vec<usize> = (0..keys.len()).collect();
        want.sort_by_key(|&i| (keys[i], i));
        assert_eq!(got, want);
        let want_starts: Vec<bool> = (0..want.len())
            .map(|p| p == 0 || keys[want[p]] != keys[want[p - 1]])
            .collect();
        assert_eq!(starts, want_starts);
    }

    #[test]
    fn indices_sorted_like_a_comparison_sort() {
        let keys: Vec<u64> = (0..5000u64)
            .map(|i| (i * 7919) % 1013 + (i % 3) * (1 << 40) + ((i % 5) << 60))
            .collect();
        check_indices(&keys);
        check_indices(&vec![42; 3000]);
        check_indices(&[]);
        check_indices(&[3]);
    }

    proptest! {
        #[test]
        fn indices_match_sort_by_key(
            keys in prop::collection::vec(
                prop_oneof![any::<u64>(), 0u64..64, (0u64..8).prop_map(|v| v << 40),
                            (0u64..1000).prop_map(|v| (1 << 63) + v)],
                0..2500,
            )
        ) {
            check_indices(&keys);
        }

        #[test]
        fn histograms_and_min_max_match_plain_loops(
            keys in prop::collection::vec(
                prop_oneof![any::<u64>(), 0u64..64, (0u64..8).prop_map(|v| v << 40)],
                0..300,
            ),
            low in 0u32..32,
        ) {
            // Any length modulo 4 (the quads and the rest), sorted runs (one top digit).
            let mut want = vec![[0u32; BUCKETS]; PASSES];
            for &k in &keys {
                for (p, h) in want.iter_mut().enumerate() {
                    h[((k >> low >> (p as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1)] += 1;
                }
            }
            prop_assert!(histograms(&keys, |k| k >> low) == want);
            let plain = keys
                .iter()
                .fold((u64::MAX, 0u64), |(lo, hi), &k| (lo.min(k), hi.max(k)));
            prop_assert_eq!(min_max(&keys), plain);
        }

        #[test]
        fn matches_sort_unstable(
            keys in prop::collection::vec(
                prop_oneof![any::<u64>(), 0u64..64, (0u64..8).prop_map(|v| v << 40)],
                0..2500,
            )
        ) {
            check(&keys);
        }

        #[test]
        fn rank_payloads_sorted_lexicographically(
            pairs in prop::collection::vec((0u64..50, 0u32..40), 0..2000)
        ) {
            // Payloads non-decreasing on input (a rank in a sorted order), with repeats.
            let mut p: Vec<u32> = pairs.iter().map(|q| q.1).collect();
            p.sort_unstable();
            let mut items: Vec<(u64, u32)> = pairs
                .iter()
                .zip(&p)
                .map(|(q, r)| (q.0 << 30, *r))
                .collect();
            let mut want = items.clone();
            want.sort_unstable();
            sort_pairs(&mut items, &mut Vec::new());
            prop_assert_eq!(items, want);
        }
    }
}
