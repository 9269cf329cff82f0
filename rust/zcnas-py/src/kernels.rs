//! Bindings of `zcnas_core::kernels`.

use crate::arrays::slice2;
use crate::errors::PyRes;
use crate::threads::detached;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;
use zcnas_core::kernels;

/// A row-major vector as an `n` x `n` array.
fn square(py: Python<'_>, v: Vec<f64>, n: usize) -> PyRes<Bound<'_, PyArray2<f64>>> {
    Ok(v.into_pyarray(py).reshape([n, n])?)
}

#[pyfunction]
fn hamming_kernel<'py>(
    py: Python<'py>,
    codes: PyReadonlyArray2<'py, u8>,
) -> PyRes<Bound<'py, PyArray2<f64>>> {
    let (c, rows, cols) = slice2(&codes);
    let k = detached(py, || {
        kernels::hamming_kernel(&c, rows, cols)
            .map(|k| k.into_iter().map(|v| v as f64).collect::<Vec<f64>>())
    })?;
    square(py, k, rows)
}

#[pyfunction]
fn count_unique_rows(py: Python<'_>, codes: PyReadonlyArray2<'_, u8>) -> PyRes<usize> {
    let (c, rows, cols) = slice2(&codes);
    detached(py, || kernels::count_unique_rows(&c, rows, cols))
}

#[pyfunction]
fn count_unique_columns(py: Python<'_>, blocks: Vec<PyReadonlyArray2<'_, u8>>) -> PyRes<usize> {
    let read: Vec<_> = blocks.iter().map(slice2).collect();
    let refs: Vec<(&[u8], usize, usize)> = read.iter().map(|(c, r, k)| (&c[..], *r, *k)).collect();
    detached(py, || kernels::count_unique_columns(&refs))
}

#[pyfunction]
fn slogdet(py: Python<'_>, a: PyReadonlyArray2<'_, f64>) -> PyRes<(f64, f64)> {
    let (a, rows, cols) = slice2(&a);
    detached(py, || kernels::slogdet(&a, rows, cols))
}

#[pyfunction]
fn corrcoef<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyRes<Bound<'py, PyArray2<f64>>> {
    let (xs, rows, cols) = slice2(&x);
    let r = detached(py, || kernels::corrcoef(&xs, rows, cols))?;
    square(py, r, rows)
}

#[pyfunction]
#[pyo3(signature = (s, symmetry_rtol = kernels::SYMMETRY_RTOL, method = "tridiagonal"))]
fn eigvalsh<'py>(
    py: Python<'py>,
    s: PyReadonlyArray2<'py, f64>,
    symmetry_rtol: f64,
    method: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    let method = match method {
        "tridiagonal" => kernels::EigMethod::Tridiagonal,
        "jacobi" => kernels::EigMethod::Jacobi,
        other => {
            return Err(zcnas_core::CoreError::InvalidParameter {
                name: "method",
                reason: format!("must be 'tridiagonal' or 'jacobi', got {other:?}"),
            }
            .into())
        }
    };
    let (ss, rows, cols) = slice2(&s);
    let e = detached(py, || {
        kernels::eigvalsh_with(&ss, rows, cols, symmetry_rtol, method)
    })?;
    Ok(e.into_pyarray(py))
}

#[pyfunction]
fn zico_layer(py: Python<'_>, grads: PyReadonlyArray2<'_, f64>) -> PyRes<Option<f64>> {
    let (g, rows, cols) = slice2(&grads);
    detached(py, || kernels::zico_layer(&g, rows, cols))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hamming_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(count_unique_rows, m)?)?;
    m.add_function(wrap_pyfunction!(count_unique_columns, m)?)?;
    m.add_function(wrap_pyfunction!(slogdet, m)?)?;
    m.add_function(wrap_pyfunction!(corrcoef, m)?)?;
    m.add_function(wrap_pyfunction!(eigvalsh, m)?)?;
    m.add_function(wrap_pyfunction!(zico_layer, m)?)?;
    m.add("SYMMETRY_RTOL", kernels::SYMMETRY_RTOL)?;
    Ok(())
}
