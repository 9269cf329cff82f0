//! The error type of the core crate.

use thiserror::Error;

/// Everything that can go wrong in `zcnas-core`. Each variant names the argument at fault so
/// the bindings can turn it into a precise Python `ValueError`.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Two arguments that must have the same length do not.
    #[error(
        "`{left}` has length {left_len} but `{right}` has length {right_len}; they must be equal"
    )]
    LengthMismatch {
        /// Name of the first argument.
        left: &'static str,
        /// Its length.
        left_len: usize,
        /// Name of the second argument.
        right: &'static str,
        /// Its length.
        right_len: usize,
    },
    /// An argument has fewer elements than the statistic needs.
    #[error("`{name}` needs at least {needed} elements, got {got}")]
    TooFewElements {
        /// Name of the argument.
        name: &'static str,
        /// How many are needed.
        needed: usize,
        /// How many were given (after dropping non-finite pairs, where that applies).
        got: usize,
    },
    /// A NaN or infinite value met the `raise` policy.
    #[error("`{name}` has a non-finite value ({value}) at position {index}; pass nan_policy='omit' to drop such pairs")]
    NonFinite {
        /// Name of the argument.
        name: &'static str,
        /// Flat position of the first offending value.
        index: usize,
        /// The value itself, for the message.
        value: f64,
    },
    /// A NaN or infinite value of a matrix met the `raise` policy (or a matrix that must be
    /// finite); the position is given as row and column.
    #[error("`{name}` has a non-finite value ({value}) at row {row}, column {column}; {remedy}")]
    NonFiniteAt {
        /// Name of the argument.
        name: &'static str,
        /// Row of the first offending value.
        row: usize,
        /// Column of the first offending value.
        column: usize,
        /// The value itself, for the message.
        value: f64,
        /// What the caller can do about it (e.g. which `nan_policy` to pass).
        remedy: &'static str,
    },
    /// A parameter is outside its domain.
    #[error("invalid `{name}`: {reason}")]
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A row of a batch keeps too few usable pairs after dropping non-finite ones.
    #[error("row {row} of `{name}` keeps {got} finite pairs, at least {needed} are needed")]
    RowTooShort {
        /// Name of the argument.
        name: &'static str,
        /// Row index.
        row: usize,
        /// Pairs left.
        got: usize,
        /// Pairs needed.
        needed: usize,
    },
    /// An identifier does not refer to a live member of a pool.
    #[error("`{name}` {id} is not in the pool")]
    UnknownId {
        /// Name of the parameter.
        name: &'static str,
        /// The identifier.
        id: usize,
    },
    /// An iterative algorithm reached its iteration limit without converging.
    #[error("{algorithm} on `{name}` did not converge in {iterations} iterations")]
    NoConvergence {
        /// Name of the argument.
        name: &'static str,
        /// The algorithm that gave up.
        algorithm: &'static str,
        /// The iteration limit it reached.
        iterations: usize,
    },
}

impl CoreError {
    /// The same error with row indices shifted by `rows` (for a batch processed in chunks).
    #[must_use]
    pub fn offset_rows(self, rows: usize) -> Self {
        match self {
            Self::RowTooShort {
                name,
                row,
                got,
                needed,
            } => Self::RowTooShort {
                name,
                row: row + rows,
                got,
                needed,
            },
            other => other,
        }
    }
}

/// Result alias of the core crate.
pub type Result<T> = std::result::Result<T, CoreError>;
