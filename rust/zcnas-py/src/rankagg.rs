//! Bindings of `zcnas_core::rankagg`.

use crate::args::Count;
use crate::arrays::{slice1, slice2};
use crate::errors::PyRes;
use crate::threads::detached;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use zcnas_core::rankagg::{self, Method, MissingPolicy, Spec};

fn spec(
    method: &str,
    higher_is_better: Vec<bool>,
    weights: Option<Vec<f64>>,
    nan_policy: &str,
) -> PyRes<Spec> {
    let method: Method = method.parse()?;
    let policy: MissingPolicy = nan_policy.parse()?;
    Ok(Spec::new(method, higher_is_better, weights, policy)?)
}

#[pyfunction]
#[pyo3(signature = (scores, method, higher_is_better, weights = None, nan_policy = "raise"))]
fn aggregate<'py>(
    py: Python<'py>,
    scores: PyReadonlyArray2<'py, f64>,
    method: &str,
    higher_is_better: Vec<bool>,
    weights: Option<Vec<f64>>,
    nan_policy: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    let spec = spec(method, higher_is_better, weights, nan_policy)?;
    let (s, m, k) = slice2(&scores);
    if k != spec.k() {
        return Err(zcnas_core::CoreError::LengthMismatch {
            left: "higher_is_better",
            left_len: spec.k(),
            right: "scores.shape[1]",
            right_len: k,
        }
        .into());
    }
    Ok(detached(py, || rankagg::aggregate(&s, m, &spec))?.into_pyarray(py))
}

type IdsAndScores<'py> = (Bound<'py, PyArray1<usize>>, Bound<'py, PyArray1<f64>>);

/// Rank aggregation over a growing pool (see `zcnas.rankagg.IncrementalAggregator`).
#[pyclass(module = "zcnas._native")]
struct IncrementalAggregator {
    inner: rankagg::IncrementalAggregator,
}

#[pymethods]
impl IncrementalAggregator {
    #[new]
    #[pyo3(signature = (method, higher_is_better, weights = None, nan_policy = "raise"))]
    fn new(
        method: &str,
        higher_is_better: Vec<bool>,
        weights: Option<Vec<f64>>,
        nan_policy: &str,
    ) -> PyRes<Self> {
        Ok(Self {
            inner: rankagg::IncrementalAggregator::new(spec(
                method,
                higher_is_better,
                weights,
                nan_policy,
            )?),
        })
    }

    fn add(&mut self, row: PyReadonlyArray1<'_, f64>) -> PyRes<usize> {
        Ok(self.inner.push(&slice1(&row))?)
    }

    fn remove(&mut self, id: Count) -> PyRes<()> {
        Ok(self.inner.remove(id.0)?)
    }

    fn scores<'py>(&self, py: Python<'py>) -> PyRes<IdsAndScores<'py>> {
        let (ids, scores) = detached(py, || Ok(self.inner.scores()))?;
        Ok((ids.into_pyarray(py), scores.into_pyarray(py)))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(aggregate, m)?)?;
    m.add_class::<IncrementalAggregator>()?;
    Ok(())
}
