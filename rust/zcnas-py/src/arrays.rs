//! Reading numpy arrays as slices (the Python layer hands over C-contiguous float64).

use crate::errors::PyRes;
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};

/// Borrow a 1-D array as a slice.
pub fn slice1<'a>(a: &'a PyReadonlyArray1<'_, f64>) -> PyRes<&'a [f64]> {
    Ok(a.as_slice()?)
}

/// Borrow a 2-D array as a row-major slice with its (rows, cols).
pub fn slice2<'a>(a: &'a PyReadonlyArray2<'_, f64>) -> PyRes<(&'a [f64], usize, usize)> {
    let shape = a.shape();
    Ok((a.as_slice()?, shape[0], shape[1]))
}
