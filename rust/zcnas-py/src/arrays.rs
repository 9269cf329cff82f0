//! Reading numpy arrays as row-major slices, whatever their memory layout.
//!
//! Every array argument of `zcnas._native` goes through this file. A C-contiguous array is
//! borrowed as it is; any other layout (Fortran order, a transposed view, a strided or
//! negative-step slice) is read through its strides into a row-major copy, so the result is
//! the same for every layout of the same values. (Borrowing `as_slice` alone is not enough:
//! numpy's "contiguous" includes Fortran order, whose memory is column-major.)

use numpy::ndarray::Dimension;
use numpy::{Element, PyReadonlyArray, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use std::borrow::Cow;

/// The values of an array of any rank in row-major (C) order: borrowed when the array is
/// C-contiguous, else copied through its strides.
pub fn row_major<'a, T: Element + Copy, D: Dimension>(
    a: &'a PyReadonlyArray<'_, T, D>,
) -> Cow<'a, [T]> {
    if a.is_c_contiguous() {
        if let Ok(s) = a.as_slice() {
            return Cow::Borrowed(s);
        }
    }
    Cow::Owned(a.as_array().iter().copied().collect())
}

/// A 1-D array as a slice (copied when strided).
pub fn slice1<'a>(a: &'a PyReadonlyArray1<'_, f64>) -> Cow<'a, [f64]> {
    row_major(a)
}

/// A 2-D array as a row-major slice with its (rows, cols).
pub fn slice2<'a, T: Element + Copy>(
    a: &'a PyReadonlyArray2<'_, T>,
) -> (Cow<'a, [T]>, usize, usize) {
    let shape = a.shape();
    (row_major(a), shape[0], shape[1])
}
