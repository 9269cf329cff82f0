//! Bindings of `zcnas_core::stats`.

use crate::args::Count;
use crate::arrays::{row_major, slice1, slice2};
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
    let (x, y) = (slice1(x), slice1(y));
    detached(py, || f(&x, &y, policy))
}

/// A binding `name(x, y, nan_policy="raise") -> float` over a core statistic of two vectors.
macro_rules! pair_binding {
    ($name:ident, $core:path) => {
        #[pyfunction]
        #[pyo3(signature = (x, y, nan_policy = "raise"))]
        fn $name(
            py: Python<'_>,
            x: PyReadonlyArray1<'_, f64>,
            y: PyReadonlyArray1<'_, f64>,
            nan_policy: &str,
        ) -> PyRes<f64> {
            pair(py, $core, &x, &y, nan_policy)
        }
    };
}

pair_binding!(spearman, stats::spearman);
pair_binding!(pearson, stats::pearson);

#[pyfunction]
#[pyo3(signature = (x, y, nan_policy = "raise"))]
fn kendall_tau(
    py: Python<'_>,
    x: PyReadonlyArray1<'_, f64>,
    y: PyReadonlyArray1<'_, f64>,
    nan_policy: &str,
) -> PyRes<f64> {
    if x.len() >= stats::KENDALL_PARALLEL_MIN {
        return pair(py, stats::kendall_tau, &x, &y, nan_policy);
    }
    // One thread does all the work: run it here, without waking a pool thread and waiting
    // for it (about a tenth of a 0.3 ms call on a busy machine).
    let policy: NanPolicy = nan_policy.parse()?;
    let (x, y) = (slice1(&x), slice1(&y));
    Ok(py.detach(|| stats::kendall_tau(&x, &y, policy))?)
}

#[pyfunction]
#[pyo3(signature = (x, nan_policy = "raise"))]
fn rankdata<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    nan_policy: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    let policy: NanPolicy = nan_policy.parse()?;
    let x = slice1(&x);
    Ok(py.detach(|| stats::rankdata(&x, policy))?.into_pyarray(py))
}

#[pyfunction]
#[pyo3(signature = (scores, target, k, nan_policy = "raise"))]
fn top_k_precision(
    py: Python<'_>,
    scores: PyReadonlyArray1<'_, f64>,
    target: PyReadonlyArray1<'_, f64>,
    k: Count,
    nan_policy: &str,
) -> PyRes<f64> {
    let policy: NanPolicy = nan_policy.parse()?;
    let (s, t) = (slice1(&scores), slice1(&target));
    Ok(py.detach(|| stats::top_k_precision(&s, &t, k.0, policy))?)
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
    let (s, t) = (slice1(&scores), slice1(&target));
    detached(py, || stats::kendall_tau_top(&s, &t, top, policy))
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
    let (xs, rows, n) = slice2(x);
    let xs: &[f64] = &xs;
    let ys = row_major(y);
    let ys: &[f64] = &ys;
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
    let chunk = (CHUNK_VALUES / n.max(1)).max(1);
    if rows > chunk || rows == 0 {
        // Report a bad value anywhere before computing the first chunk (a single chunk is
        // validated by the core call itself, so the data is scanned once).
        detached(py, || stats::validate_batch(xs, rows, n, target, policy))?;
    }
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

/// A binding `name(x, y, nan_policy="raise") -> ndarray` over a batched core statistic.
macro_rules! batch_binding {
    ($name:ident, $core:path) => {
        #[pyfunction]
        #[pyo3(signature = (x, y, nan_policy = "raise"))]
        fn $name<'py>(
            py: Python<'py>,
            x: PyReadonlyArray2<'py, f64>,
            y: PyReadonlyArrayDyn<'py, f64>,
            nan_policy: &str,
        ) -> PyRes<Bound<'py, PyArray1<f64>>> {
            batch(py, $core, &x, &y, nan_policy)
        }
    };
}

batch_binding!(kendall_tau_batch, stats::kendall_tau_batch);
batch_binding!(spearman_batch, stats::spearman_batch);
batch_binding!(pearson_batch, stats::pearson_batch);

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
