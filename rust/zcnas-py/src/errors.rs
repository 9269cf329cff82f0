//! The one place where core errors become Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use zcnas_core::CoreError;

create_exception!(
    zcnas,
    ZcnasError,
    PyValueError,
    "Base class of zcnas errors. A ValueError: they all report bad input."
);
create_exception!(
    zcnas,
    NonFiniteError,
    ZcnasError,
    "A NaN or infinite value met nan_policy='raise'."
);

/// Local wrapper so that `?` converts core errors at the boundary.
pub struct Error(PyErr);

impl From<CoreError> for Error {
    fn from(e: CoreError) -> Self {
        let msg = e.to_string();
        Self(match e {
            CoreError::NonFinite { .. } | CoreError::NonFiniteAt { .. } => {
                NonFiniteError::new_err(msg)
            }
            _ => ZcnasError::new_err(msg),
        })
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Self(e)
    }
}

impl From<numpy::AsSliceError> for Error {
    fn from(e: numpy::AsSliceError) -> Self {
        Self(ZcnasError::new_err(format!(
            "Error while reading an array: {e}; pass a C-contiguous float64 array"
        )))
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        e.0
    }
}

/// Result type of every binding.
pub type PyRes<T> = Result<T, Error>;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ZcnasError", py.get_type::<ZcnasError>())?;
    m.add("NonFiniteError", py.get_type::<NonFiniteError>())?;
    Ok(())
}
