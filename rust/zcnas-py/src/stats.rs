//! Bindings of `zcnas_core::stats`.

use crate::arrays::{slice1, slice2};
use crate::errors::PyRes;
use crate::threads::detached;
use numpy::{
    IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use zcnas_core::stats::{self, BatchTarget, NanPolicy};
use zcnas_core::CoreError;

/// Values per chunk of a batched call; Ctrl-C is checked between chunks.
const CHUNK_VALUES: usize = 1 << 22;

type Pair = fn(&[f64], &[f64], NanPolicy) -> zcnas_core::Result<f64>;
type Batch = fn(&[f64], usize, usize, BatchTarget<'_>, NanPolicy) -> zcnas_core::Result<Vec<f64>>;

fn pair(
    py: Python<'_>,
    f: Pair,
    x: &PyReadonlyArray1<'_, f64>,
    y: &PyReadonlyArray1<'_, f64>,
    nan_policy: &str,
) -> PyRes<f64> {
    let policy: NanPolicy = nan_policy.parse()?;
    let (x, y) = (slice1(x)?, slice1(y)?);
    detached(py, || f(x, y, policy))
}

#[pyfunction]
#[pyo3(signature = (x, y, nan_policy = "raise"))]
fn kendall_tau(
    py: Python<'_>,
    x: PyReadonlyArray1<'_, f64>,
    y: PyReadonlyArray1<'_, f64>,
    nan_policy: &str,
) -> PyRes<f64> {
    pair(py, stats::kendall_tau, &x, &y, nan_policy)
}

#[pyfunction]
#[pyo3(signature = (x, y, nan_policy = "raise"))]
fn spearman(
    py: Python<'_>,
    x: PyReadonlyArray1<'_, f64>,
    y: PyReadonlyArray1<'_, f64>,
    nan_policy: &str,
) -> PyRes<f64> {
    pair(py, stats::spearman, &x, &y, nan_policy)
}

#[pyfunction]
#[pyo3(signature = (x, y, nan_policy = "raise"))]
fn pearson(
    py: Python<'_>,
    x: PyReadonlyArray1<'_, f64>,
    y: PyReadonlyArray1<'_, f64>,
    nan_policy: &str,
) -> PyRes<f64> {
    pair(py, stats::pearson, &x, &y, nan_policy)
}

#[pyfunction]
#[pyo3(signature = (x, nan_policy = "raise"))]
fn rankdata<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    nan_policy: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    let policy: NanPolicy = nan_policy.parse()?;
    let x = slice1(&x)?;
    Ok(py.detach(|| stats::rankdata(x, policy))?.into_pyarray(py))
}

#[pyfunction]
#[pyo3(signature = (scores, target, k, nan_policy = "raise"))]
fn top_k_precision(
    py: Python<'_>,
    scores: PyReadonlyArray1<'_, f64>,
    target: PyReadonlyArray1<'_, f64>,
    k: usize,
    nan_policy: &str,
) -> PyRes<f64> {
    let policy: NanPolicy = nan_policy.parse()?;
    let (s, t) = (slice1(&scores)?, slice1(&target)?);
    Ok(py.detach(|| stats::top_k_precision(s, t, k, policy))?)
}

#[pyfunction]
#[pyo3(signature = (scores, target, top, nan_policy = "raise"))]
fn kendall_tau_top(
    py: Python<'_>,
    scores: PyReadonlyArray1<'_, f64>,
    target: PyReadonlyArray1<'_, f64>,
    top: f64,
    nan_policy: &str,
) -> PyRes<f64> {
    let policy: NanPolicy = nan_policy.parse()?;
    let (s, t) = (slice1(&scores)?, slice1(&target)?);
    detached(py, || stats::kendall_tau_top(s, t, top, policy))
}

/// Run a batched statistic in chunks of rows on the pool, checking for Ctrl-C in between.
fn batch<'py>(
    py: Python<'py>,
    f: Batch,
    x: &PyReadonlyArray2<'py, f64>,
    y: &PyReadonlyArrayDyn<'py, f64>,
    nan_policy: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    let policy: NanPolicy = nan_policy.parse()?;
    let (xs, rows, n) = slice2(x)?;
    let ys = y.as_slice()?;
    let target = match y.ndim() {
        1 => BatchTarget::One(ys),
        2 if y.shape() == [rows, n] => BatchTarget::Many(ys),
        _ => {
            return Err(CoreError::InvalidParameter {
                name: "y",
                reason: format!(
                    "must have shape ({n},) or ({rows}, {n}) to match x, got {:?}",
                    y.shape()
                ),
            }
            .into())
        }
    };
    stats::validate_batch(xs, rows, n, target, policy)?;
    let chunk = (CHUNK_VALUES / n.max(1)).max(1);
    let mut out = Vec::with_capacity(rows);
    let mut start = 0;
    while start < rows {
        let end = (start + chunk).min(rows);
        let xc = &xs[start * n..end * n];
        let tc = match target {
            BatchTarget::One(t) => BatchTarget::One(t),
            BatchTarget::Many(t) => BatchTarget::Many(&t[start * n..end * n]),
        };
        let part = detached(py, || {
            f(xc, end - start, n, tc, policy).map_err(|e| e.offset_rows(start))
        })?;
        out.extend(part);
        py.check_signals()?;
        start = end;
    }
    Ok(out.into_pyarray(py))
}

#[pyfunction]
#[pyo3(signature = (x, y, nan_policy = "raise"))]
fn kendall_tau_batch<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArrayDyn<'py, f64>,
    nan_policy: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    batch(py, stats::kendall_tau_batch, &x, &y, nan_policy)
}

#[pyfunction]
#[pyo3(signature = (x, y, nan_policy = "raise"))]
fn spearman_batch<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArrayDyn<'py, f64>,
    nan_policy: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    batch(py, stats::spearman_batch, &x, &y, nan_policy)
}

#[pyfunction]
#[pyo3(signature = (x, y, nan_policy = "raise"))]
fn pearson_batch<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArrayDyn<'py, f64>,
    nan_policy: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    batch(py, stats::pearson_batch, &x, &y, nan_policy)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(kendall_tau, m)?)?;
    m.add_function(wrap_pyfunction!(spearman, m)?)?;
    m.add_function(wrap_pyfunction!(pearson, m)?)?;
    m.add_function(wrap_pyfunction!(rankdata, m)?)?;
    m.add_function(wrap_pyfunction!(top_k_precision, m)?)?;
    m.add_function(wrap_pyfunction!(kendall_tau_top, m)?)?;
    m.add_function(wrap_pyfunction!(kendall_tau_batch, m)?)?;
    m.add_function(wrap_pyfunction!(spearman_batch, m)?)?;
    m.add_function(wrap_pyfunction!(pearson_batch, m)?)?;
    Ok(())
}
