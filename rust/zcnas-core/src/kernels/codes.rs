//! Bit-packed binary activation codes: the NASWOT Hamming kernel and distinct-code counting.

use super::{check_shape, PAR_MIN_WORK};
use crate::error::Result;
use rayon::prelude::*;
use std::collections::HashSet;

/// Up to 64 bytes as the bits of one word (byte `b` nonzero → bit `b`), eight bytes at a time:
/// the high bit of `((x & 0x7f..) + 0x7f..) | x` is set exactly in the nonzero bytes, and a
/// multiplication gathers the eight flags into the top byte.
fn pack_word(chunk: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut word = 0u64;
    let mut octets = chunk.chunks_exact(8);
    let mut shift = 0;
    for o in &mut octets {
        let x = u64::from_le_bytes([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]]);
        let flags = ((((x & LOW7) + LOW7) | x) & HIGH) >> 7;
        word |= (flags.wrapping_mul(GATHER) >> 56) << shift;
        shift += 8;
    }
    for (b, &v) in octets.remainder().iter().enumerate() {
        word |= u64::from(v != 0) << (shift + b);
    }
    word
}

/// Rows of a binary matrix packed 64 columns to a `u64` word (column `c` of a row is bit
/// `c % 64` of word `c / 64`; the unused high bits of the last word are zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedCodes {
    rows: usize,
    cols: usize,
    words_per_row: usize,
    words: Vec<u64>,
}

impl PackedCodes {
    /// Pack a row-major `rows` x `cols` matrix of bytes; a nonzero byte is a 1 bit (so a numpy
    /// bool array, or a uint8 array of 0/1, can be passed as is).
    ///
    /// The argument is called `codes` in error messages.
    pub fn from_bytes(codes: &[u8], rows: usize, cols: usize) -> Result<Self> {
        check_shape("codes", codes.len(), rows, cols)?;
        let words_per_row = cols.div_ceil(64);
        let mut words = vec![0u64; rows * words_per_row];
        if words_per_row > 0 {
            let pack = |(out, row): (&mut [u64], &[u8])| {
                for (w, chunk) in out.iter_mut().zip(row.chunks(64)) {
                    *w = pack_word(chunk);
                }
            };
            let outs = words.chunks_mut(words_per_row);
            if codes.len() >= PAR_MIN_WORK {
                outs.collect::<Vec<_>>()
                    .into_par_iter()
                    .zip(codes.par_chunks(cols))
                    .for_each(pack);
            } else {
                outs.zip(codes.chunks(cols)).for_each(pack);
            }
        }
        Ok(Self {
            rows,
            cols,
            words_per_row,
            words,
        })
    }

    /// Number of rows (samples).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (units).
    pub fn cols(&self) -> usize {
        self.cols
    }

    fn row(&self, i: usize) -> &[u64] {
        &self.words[i * self.words_per_row..(i + 1) * self.words_per_row]
    }

    /// The `rows` x `rows` agreement matrix, row-major: `K[i][j]` is the number of columns on
    /// which rows `i` and `j` are equal, `cols - popcount(row_i XOR row_j)`. It equals NASWOT's
    /// `c·cᵀ + (1−c)·(1−c)ᵀ` exactly. Rows run in parallel.
    ///
    /// Kernels of several layers add: concatenating the layers' codes along the columns gives
    /// the sum of their kernels, as does summing the per-layer results.
    pub fn kernel(&self) -> Vec<u64> {
        let b = self.rows;
        let cols = self.cols as u64;
        let mut k = vec![0u64; b * b];
        if b == 0 {
            return k;
        }
        // Upper triangle (j >= i) row by row, then mirror.
        let fill = |(i, out): (usize, &mut [u64])| {
            let ri = self.row(i);
            for (j, o) in out.iter_mut().enumerate().skip(i) {
                let diff: u64 = ri
                    .iter()
                    .zip(self.row(j))
                    .map(|(a, c)| u64::from((a ^ c).count_ones()))
                    .sum();
                *o = cols - diff;
            }
        };
        if b * b * self.words_per_row / 2 >= PAR_MIN_WORK {
            k.par_chunks_mut(b).enumerate().for_each(fill);
        } else {
            k.chunks_mut(b).enumerate().for_each(fill);
        }
        for i in 1..b {
            for j in 0..i {
                k[i * b + j] = k[j * b + i];
            }
        }
        k
    }

    /// Number of distinct rows (one-word rows sorted, wider ones hashed).
    pub fn count_unique(&self) -> usize {
        if self.words_per_row == 0 {
            return usize::from(self.rows > 0);
        }
        count_distinct(&self.words, self.words_per_row)
    }
}

/// Distinct `w`-word rows of `words` (`w >= 1`): one-word rows by a sort of a copy (SWAP's
/// millions of units: about 8x faster than hashing them with the standard hasher), wider rows
/// by hashing.
fn count_distinct(words: &[u64], w: usize) -> usize {
    if w == 1 {
        let mut v = words.to_vec();
        v.sort_unstable();
        v.dedup();
        v.len()
    } else {
        words.chunks(w).collect::<HashSet<&[u64]>>().len()
    }
}

/// Number of distinct **columns** over several row-major byte matrices of binary codes
/// (nonzero = 1) with the same number of rows, as if they were concatenated along the
/// columns: SWAP's count of distinct sample-wise activation patterns, with one block per
/// hooked `ReLU` call (rows = samples, columns = that call's units).
///
/// Each column is packed into `ceil(rows / 64)` words directly from the row-major blocks (no
/// transposed copy of the codes), then the packed columns are counted as by
/// [`count_unique_rows`]. Columns of zero rows are all equal (1 if there is any column); no
/// columns give 0.
///
/// # Errors
/// [`CoreError::InvalidParameter`](crate::error::CoreError) naming `blocks` when a block's
/// length is not `rows * cols` for its declared shape, or blocks disagree on `rows`.
pub fn count_unique_columns(blocks: &[(&[u8], usize, usize)]) -> Result<usize> {
    let Some(&(_, rows, _)) = blocks.first() else {
        return Ok(0);
    };
    let mut total = 0usize;
    for (i, &(codes, r, c)) in blocks.iter().enumerate() {
        check_shape("blocks", codes.len(), r, c)?;
        if r != rows {
            return Err(crate::error::CoreError::InvalidParameter {
                name: "blocks",
                reason: format!(
                    "must all have the same number of rows (samples): block 0 has {rows}, \
                     block {i} has {r}"
                ),
            });
        }
        total += c;
    }
    if total == 0 {
        return Ok(0);
    }
    if rows == 0 {
        return Ok(1);
    }
    let w = rows.div_ceil(64);
    let mut words = vec![0u64; total * w];
    let mut start = 0;
    for &(codes, _, cols) in blocks {
        let out = &mut words[start * w..(start + cols) * w];
        for (r, row) in codes.chunks_exact(cols.max(1)).take(rows).enumerate() {
            let (word, bit) = (r / 64, r % 64);
            if w == 1 {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o |= u64::from(v != 0) << bit;
                }
            } else {
                for (o, &v) in out.chunks_exact_mut(w).zip(row) {
                    o[word] |= u64::from(v != 0) << bit;
                }
            }
        }
        start += cols;
    }
    Ok(count_distinct(&words, w))
}

/// The NASWOT Hamming kernel of a row-major `rows` x `cols` byte matrix of binary codes
/// (nonzero = 1): see [`PackedCodes::kernel`]. Returns `rows * rows` counts, row-major.
pub fn hamming_kernel(codes: &[u8], rows: usize, cols: usize) -> Result<Vec<u64>> {
    Ok(PackedCodes::from_bytes(codes, rows, cols)?.kernel())
}

/// Number of distinct rows of a row-major `rows` x `cols` byte matrix of binary codes
/// (nonzero = 1). This is TE-NAS's linear-region count `Σ_i 1 / #{j : code_j = code_i}` when the
/// rows are samples; for SWAP pass the transpose (rows = units). Zero rows give 0; rows of
/// zero columns are all equal (1).
pub fn count_unique_rows(codes: &[u8], rows: usize, cols: usize) -> Result<usize> {
    Ok(PackedCodes::from_bytes(codes, rows, cols)?.count_unique())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_kernel(codes: &[u8], rows: usize, cols: usize) -> Vec<u64> {
        let mut k = vec![0; rows * rows];
        for i in 0..rows {
            for j in 0..rows {
                k[i * rows + j] = (0..cols)
                    .filter(|&c| (codes[i * cols + c] != 0) == (codes[j * cols + c] != 0))
                    .count() as u64;
            }
        }
        k
    }

    proptest! {
        #[test]
        fn pack_word_sets_the_nonzero_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..=64)) {
            let want = bytes
                .iter()
                .enumerate()
                .fold(0u64, |acc, (b, &v)| acc | (u64::from(v != 0) << b));
            prop_assert_eq!(pack_word(&bytes), want);
        }
    }

    #[test]
    fn small_example() {
        let codes = [1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1];
        assert_eq!(
            hamming_kernel(&codes, 3, 4).unwrap(),
            naive_kernel(&codes, 3, 4)
        );
        assert_eq!(count_unique_rows(&codes, 3, 4).unwrap(), 2);
    }

    #[test]
    fn degenerate_shapes() {
        assert!(hamming_kernel(&[], 0, 5).unwrap().is_empty());
        assert_eq!(hamming_kernel(&[], 3, 0).unwrap(), vec![0; 9]);
        assert_eq!(count_unique_rows(&[], 0, 5).unwrap(), 0);
        assert_eq!(count_unique_rows(&[], 3, 0).unwrap(), 1);
        assert!(hamming_kernel(&[1, 0, 1], 2, 2).is_err());
        assert!(count_unique_rows(&[1, 0, 1], usize::MAX, 2).is_err());
    }

    proptest! {
        #[test]
        fn kernel_matches_naive(rows in 0usize..12, cols in 0usize..200, seed in any::<u64>()) {
            let mut s = seed | 1;
            let codes: Vec<u8> = (0..rows * cols)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    // Nonzero bytes other than 1 count as 1.
                    [0u8, 1, 7][(s % 3) as usize]
                })
                .collect();
            prop_assert_eq!(hamming_kernel(&codes, rows, cols).unwrap(), naive_kernel(&codes, rows, cols));
            let mut distinct: Vec<Vec<bool>> =
                codes.chunks(cols.max(1)).take(rows).map(|r| r.iter().map(|&v| v != 0).collect()).collect();
            if cols == 0 {
                distinct = vec![vec![]; rows];
            }
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(count_unique_rows(&codes, rows, cols).unwrap(), distinct.len());
        }

        #[test]
        fn duplicated_rows_are_counted_once(row in proptest::collection::vec(0u8..2, 1..150), copies in 1usize..6) {
            let cols = row.len();
            let codes: Vec<u8> = row.iter().copied().cycle().take(cols * copies).collect();
            prop_assert_eq!(count_unique_rows(&codes, copies, cols).unwrap(), 1);
            prop_assert!(hamming_kernel(&codes, copies, cols).unwrap().iter().all(|&v| v == cols as u64));
        }
    }

    /// Distinct columns of the concatenated blocks, by transposing and comparing vectors.
    fn naive_unique_columns(blocks: &[(Vec<u8>, usize, usize)]) -> usize {
        let mut cols: Vec<Vec<bool>> = Vec::new();
        for (codes, rows, c) in blocks {
            for j in 0..*c {
                cols.push((0..*rows).map(|i| codes[i * c + j] != 0).collect());
            }
        }
        cols.sort();
        cols.dedup();
        cols.len()
    }

    proptest! {
        #[test]
        fn unique_columns_match_naive(
            rows in 0usize..140,
            widths in proptest::collection::vec(0usize..40, 1..4),
            seed in any::<u64>(),
        ) {
            let mut s = seed | 1;
            let blocks: Vec<(Vec<u8>, usize, usize)> = widths
                .iter()
                .map(|&c| {
                    let v = (0..rows * c)
                        .map(|_| {
                            s ^= s << 13;
                            s ^= s >> 7;
                            s ^= s << 17;
                            // few distinct patterns when rows are many: mostly 0, some 1/7
                            [0u8, 0, 0, 1, 7][(s % 5) as usize] * u8::from(s % 11 < 3)
                        })
                        .collect();
                    (v, rows, c)
                })
                .collect();
            let refs: Vec<(&[u8], usize, usize)> =
                blocks.iter().map(|(v, r, c)| (v.as_slice(), *r, *c)).collect();
            prop_assert_eq!(count_unique_columns(&refs).unwrap(), naive_unique_columns(&blocks));
            // one block: the transpose through count_unique_rows
            if blocks.len() == 1 && rows > 0 {
                let (v, r, c) = &blocks[0];
                let t: Vec<u8> = (0..*c).flat_map(|j| (0..*r).map(move |i| v[i * c + j])).collect();
                prop_assert_eq!(count_unique_rows(&t, *c, *r).unwrap(), naive_unique_columns(&blocks));
            }
        }
    }

    #[test]
    fn unique_columns_errors_and_degenerate() {
        assert_eq!(count_unique_columns(&[]).unwrap(), 0);
        assert_eq!(count_unique_columns(&[(&[], 0, 3)]).unwrap(), 1);
        assert_eq!(count_unique_columns(&[(&[], 4, 0)]).unwrap(), 0);
        assert!(count_unique_columns(&[(&[1, 0, 1], 2, 2)]).is_err());
        assert!(count_unique_columns(&[(&[1, 0], 2, 1), (&[1, 0, 1], 3, 1)]).is_err());
        // columns (1,0), (0,1), (1,0) across two blocks: 2 distinct
        assert_eq!(
            count_unique_columns(&[(&[1, 0, 0, 1], 2, 2), (&[1, 0], 2, 1)]).unwrap(),
            2
        );
    }

    #[test]
    fn large_parallel_path() {
        let (rows, cols) = (40, 3000);
        let codes: Vec<u8> = (0..rows * cols)
            .map(|i| u8::from((i * 7919) % 13 < 6))
            .collect();
        assert_eq!(
            hamming_kernel(&codes, rows, cols).unwrap(),
            naive_kernel(&codes, rows, cols)
        );
    }
}
