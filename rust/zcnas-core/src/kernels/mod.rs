//! Numeric kernels of the proxy engine: the O(N²)–O(N³) post-processing that zero-cost proxies
//! run on activations and gradients once `PyTorch` has produced them.
//!
//! * [`hamming_kernel`] / [`PackedCodes::kernel`]: the NASWOT kernel of binary activation codes,
//!   `K[i][j]` = number of units on which samples `i` and `j` agree, by popcount of bit-packed
//!   rows, exact in integers;
//! * [`count_unique_rows`] / [`PackedCodes::count_unique`]: the number of distinct binary codes
//!   (TE-NAS linear regions); [`count_unique_columns`]: distinct columns over blocks (SWAP);
//! * [`slogdet`]: sign and `log|det|` by LU with partial pivoting (NASWOT's score);
//! * [`corrcoef`]: `numpy.corrcoef` of the rows of a matrix (`jacob_cov`, `epe_nas`);
//! * [`eigvalsh`] / [`eigvalsh_with`]: eigenvalues of a symmetric matrix by Householder
//!   tridiagonalisation and implicit QL (as LAPACK), or by cyclic (round-robin) Jacobi for high
//!   relative accuracy (`jacob_cov`, TE-NAS NTK condition number);
//! * [`zico_layer`]: one layer's term of the `ZiCo` score.
//!
//! Matrices are row-major `f64` (or `u8` for codes) slices with explicit `(rows, cols)`; every
//! function checks the shape against the slice length and returns
//! [`CoreError::InvalidParameter`] naming the argument rather than panicking. Large inputs run in
//! parallel on the current rayon pool; results do not depend on the number of threads.

mod codes;
mod corr;
pub(crate) mod eig;
pub(crate) mod lu;
mod zico;

pub use codes::{count_unique_columns, count_unique_rows, hamming_kernel, PackedCodes};
pub use corr::corrcoef;
pub use eig::{eigvalsh, eigvalsh_with, EigMethod, MAX_SWEEPS, SYMMETRY_RTOL};
pub use lu::slogdet;
pub use zico::zico_layer;

use crate::error::{CoreError, Result};

/// Check that a buffer of `len` values holds a `rows` x `cols` matrix.
fn check_shape(name: &'static str, len: usize, rows: usize, cols: usize) -> Result<()> {
    match rows.checked_mul(cols) {
        Some(n) if n == len => Ok(()),
        _ => Err(CoreError::InvalidParameter {
            name,
            reason: format!("has {len} values, which is not the declared shape ({rows}, {cols})"),
        }),
    }
}

/// Check that a buffer holds a square `rows` x `cols` matrix.
fn check_square(name: &'static str, len: usize, rows: usize, cols: usize) -> Result<()> {
    check_shape(name, len, rows, cols)?;
    if rows == cols {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter {
            name,
            reason: format!("must be a square matrix, got shape ({rows}, {cols})"),
        })
    }
}

/// Error for the first non-finite value of the row-major matrix `data` (`cols` columns), if
/// any, naming its row and column.
fn check_finite(name: &'static str, data: &[f64], cols: usize) -> Result<()> {
    crate::stats::check_finite_matrix(data, cols, name, "the matrix must be finite")
}

/// Below this many scalar operations a kernel runs serially (rayon would cost more than it saves).
const PAR_MIN_WORK: usize = 1 << 15;
