//! Rank statistics that agree with `scipy.stats`, ties included.
//!
//! Every function takes plain `f64` slices. Non-finite values (NaN, +-inf) are governed by an
//! explicit [`NanPolicy`]: [`NanPolicy::Raise`] returns [`CoreError::NonFinite`] naming the
//! argument and position, [`NanPolicy::Omit`] drops every pair in which either side is
//! non-finite. A statistic that is undefined on valid input (Kendall tau when one side is
//! constant, a correlation of a constant vector) is `NaN`, as in scipy.

mod batch;
mod corr;
mod inversions;
mod kendall;
mod radix;
mod rank;
mod topk;

pub use batch::{
    kendall_tau_batch, pearson_batch, spearman_batch, validate as validate_batch, BatchTarget,
};
pub use corr::{pearson, spearman};
pub use kendall::{kendall_tau, KendallPrepared, KENDALL_PARALLEL_MIN};
pub(crate) use radix::sort_pairs;
pub use rank::{rankdata, rankdata_into, RankScratch};
pub use topk::{kendall_tau_top, top_k_indices, top_k_precision};

use crate::error::{CoreError, Result};
use std::borrow::Cow;

/// What to do with NaN or infinite values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanPolicy {
    /// Fail with [`CoreError::NonFinite`] (the default).
    #[default]
    Raise,
    /// Drop every pair in which either value is non-finite.
    Omit,
}

impl std::str::FromStr for NanPolicy {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "raise" => Ok(Self::Raise),
            "omit" => Ok(Self::Omit),
            other => Err(CoreError::InvalidParameter {
                name: "nan_policy",
                reason: format!("expected 'raise' or 'omit', got '{other}'"),
            }),
        }
    }
}

/// Map an `f64` to a `u64` whose unsigned order is the numeric order of finite values and
/// infinities, with `-0.0` and `0.0` mapped to the same key (numpy compares them equal).
#[inline]
pub(crate) fn order_key(v: f64) -> u64 {
    let v = if v == 0.0 { 0.0 } else { v };
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Two paired vectors, borrowed when nothing had to be dropped.
pub(crate) type Pairs<'a> = (Cow<'a, [f64]>, Cow<'a, [f64]>);

/// Check two paired arguments and apply the policy: returns the (possibly filtered) pairs.
pub(crate) fn paired<'a>(
    x: &'a [f64],
    y: &'a [f64],
    names: (&'static str, &'static str),
    policy: NanPolicy,
    min_len: usize,
) -> Result<Pairs<'a>> {
    if x.len() != y.len() {
        return Err(CoreError::LengthMismatch {
            left: names.0,
            left_len: x.len(),
            right: names.1,
            right_len: y.len(),
        });
    }
    let (x, y): (Cow<'a, [f64]>, Cow<'a, [f64]>) = match policy {
        NanPolicy::Raise => {
            check_finite(x, names.0)?;
            check_finite(y, names.1)?;
            (Cow::Borrowed(x), Cow::Borrowed(y))
        }
        NanPolicy::Omit => {
            if x.iter().chain(y.iter()).all(|v| v.is_finite()) {
                (Cow::Borrowed(x), Cow::Borrowed(y))
            } else {
                let (fx, fy): (Vec<f64>, Vec<f64>) = x
                    .iter()
                    .zip(y)
                    .filter(|(a, b)| a.is_finite() && b.is_finite())
                    .map(|(a, b)| (*a, *b))
                    .unzip();
                (Cow::Owned(fx), Cow::Owned(fy))
            }
        }
    };
    if x.len() < min_len {
        return Err(CoreError::TooFewElements {
            name: names.0,
            needed: min_len,
            got: x.len(),
        });
    }
    Ok((x, y))
}

/// Fail with [`CoreError::NonFinite`] at the first non-finite value.
pub(crate) fn check_finite(v: &[f64], name: &'static str) -> Result<()> {
    match v.iter().position(|a| !a.is_finite()) {
        Some(index) => Err(CoreError::NonFinite {
            name,
            index,
            value: v[index],
        }),
        None => Ok(()),
    }
}

/// Fail with [`CoreError::NonFiniteAt`] (row and column) at the first non-finite value of a
/// row-major matrix with `cols` columns.
pub(crate) fn check_finite_matrix(
    v: &[f64],
    cols: usize,
    name: &'static str,
    remedy: &'static str,
) -> Result<()> {
    match v.iter().position(|a| !a.is_finite()) {
        Some(index) => Err(CoreError::NonFiniteAt {
            name,
            row: index / cols.max(1),
            column: index % cols.max(1),
            value: v[index],
            remedy,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_key_is_monotone() {
        let vals = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -1e-300,
            0.0,
            1e-300,
            1.0,
            1e300,
            f64::INFINITY,
        ];
        for w in vals.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{w:?}");
        }
        assert_eq!(order_key(-0.0), order_key(0.0));
    }

    #[test]
    fn policy_parses() {
        assert_eq!("omit".parse::<NanPolicy>().unwrap(), NanPolicy::Omit);
        assert!("drop".parse::<NanPolicy>().is_err());
    }

    #[test]
    fn paired_omits_and_raises() {
        let x = [1.0, f64::NAN, 3.0, 4.0];
        let y = [1.0, 2.0, f64::INFINITY, 4.0];
        let err = paired(&x, &y, ("x", "y"), NanPolicy::Raise, 2).unwrap_err();
        assert!(matches!(
            err,
            CoreError::NonFinite {
                name: "x",
                index: 1,
                ..
            }
        ));
        let (a, b) = paired(&x, &y, ("x", "y"), NanPolicy::Omit, 2).unwrap();
        assert_eq!(&*a, &[1.0, 4.0]);
        assert_eq!(&*b, &[1.0, 4.0]);
        let err = paired(&x, &y, ("x", "y"), NanPolicy::Omit, 3).unwrap_err();
        assert!(matches!(err, CoreError::TooFewElements { got: 2, .. }));
        let err = paired(&x, &y[..3], ("x", "y"), NanPolicy::Omit, 2).unwrap_err();
        assert!(matches!(err, CoreError::LengthMismatch { .. }));
    }
}
