//! Integer arguments that are sizes, depths, counts or indices.
//!
//! `PyO3` turns a negative or huge Python int given for a `usize` parameter into an
//! `OverflowError`; [`Count`] makes it the same `ZcnasError` as any other out-of-range size
//! (each binding then checks its own documented upper bound).

use crate::errors::Error;
use pyo3::prelude::*;
use pyo3::types::PyInt;
use zcnas_core::CoreError;

/// A non-negative integer that fits `usize`, extracted from any Python int.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub usize);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<usize>() {
            Ok(v) => Ok(Self(v)),
            Err(_) if obj.is_instance_of::<PyInt>() => {
                let text = obj.repr().map_or_else(|_| "?".into(), |r| r.to_string());
                let shown: String = text.chars().take(40).collect();
                let err: Error = CoreError::InvalidParameter {
                    name: "size",
                    reason: format!(
                        "a size, depth, count or index must be an integer in 0..2**64, got {shown}{}",
                        if text.len() > 40 { "..." } else { "" }
                    ),
                }
                .into();
                Err(err.into())
            }
            Err(e) => Err(e),
        }
    }
}
