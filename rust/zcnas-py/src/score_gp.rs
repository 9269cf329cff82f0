//! Bindings of `zcnas_core::gp::scores` (score-level genetic programming).

use crate::args::Count;
use crate::arrays::{slice1, slice2};
use crate::errors::PyRes;
use crate::threads::detached;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zcnas_core::gp::scores::{self, PreparedFormula, SOp, STree, ScoreGpConfig, ScoreTask};
use zcnas_core::CoreError;

fn bad(name: &'static str, reason: String) -> CoreError {
    CoreError::InvalidParameter { name, reason }
}

/// `[(name, arity)]` of the score-level operations.
#[pyfunction]
fn score_gp_ops() -> Vec<(&'static str, usize)> {
    SOp::ALL.iter().map(|o| (o.name(), o.arity())).collect()
}

/// `(canonical formula, nodes, height, indices of the proxies read)` of a formula over
/// `proxies`.
#[pyfunction]
fn score_gp_parse(expr: &str, proxies: Vec<String>) -> PyRes<(String, usize, usize, Vec<usize>)> {
    let t = STree::parse(expr, &proxies)?;
    Ok((t.format(&proxies), t.len(), t.height(), t.proxies()))
}

/// Values of a formula on an `(n, k)` score matrix (columns in `proxies` order); the first
/// `n_ref` rows are the reference of the pool operations (`Rank`, `Zscore`).
#[pyfunction]
fn score_gp_eval<'py>(
    py: Python<'py>,
    expr: &str,
    proxies: Vec<String>,
    scores: PyReadonlyArray2<'py, f64>,
    n_ref: Count,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    let t = STree::parse(expr, &proxies)?;
    let (s, n, k) = slice2(&scores);
    if k != proxies.len() {
        return Err(bad(
            "scores",
            format!("{k} columns for {} proxies", proxies.len()),
        )
        .into());
    }
    let cols: Vec<Vec<f64>> = (0..k)
        .map(|j| (0..n).map(|i| s[i * k + j]).collect())
        .collect();
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let v = detached(py, || t.eval(&refs, n_ref.0))?;
    Ok(v.into_pyarray(py))
}

/// The `(n, k)` row-major matrix as `k` columns, checked against the proxy count.
fn columns_of(scores: &PyReadonlyArray2<'_, f64>, k_expected: usize) -> PyRes<Vec<Vec<f64>>> {
    let (s, n, k) = slice2(scores);
    if k != k_expected {
        return Err(bad("scores", format!("{k} columns for {k_expected} proxies")).into());
    }
    Ok((0..k)
        .map(|j| (0..n).map(|i| s[i * k + j]).collect())
        .collect())
}

/// A formula with the pool statistics of a reference pool computed once (see
/// `zcnas_core::gp::scores::PreparedFormula`).
#[pyclass(module = "zcnas._native", frozen)]
struct ScoreGpPrepared {
    inner: PreparedFormula,
    k: usize,
}

#[pymethods]
impl ScoreGpPrepared {
    #[new]
    fn new(expr: &str, proxies: Vec<String>, reference: PyReadonlyArray2<'_, f64>) -> PyRes<Self> {
        let t = STree::parse(expr, &proxies)?;
        let cols = columns_of(&reference, proxies.len())?;
        let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        Ok(Self {
            inner: t.prepare(&refs)?,
            k: proxies.len(),
        })
    }

    /// Values on an `(n, k)` score matrix.
    fn eval<'py>(
        &self,
        py: Python<'py>,
        scores: PyReadonlyArray2<'py, f64>,
    ) -> PyRes<Bound<'py, PyArray1<f64>>> {
        let cols = columns_of(&scores, self.k)?;
        let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let inner = &self.inner;
        let v = detached(py, || inner.eval(&refs))?;
        Ok(v.into_pyarray(py))
    }
}

/// `n` random formulas over `proxies` of height `min_height..=max_height` (at most 12).
#[pyfunction]
#[pyo3(
    signature = (n, proxies, seed, min_height = Count(1), max_height = Count(4)),
    text_signature = "(n, proxies, seed, min_height=1, max_height=4)"
)]
fn score_gp_random(
    n: Count,
    proxies: Vec<String>,
    seed: u64,
    min_height: Count,
    max_height: Count,
) -> PyRes<Vec<String>> {
    scores::check_names(&proxies)?;
    if min_height.0 > max_height.0 || max_height.0 > 12 || n.0 > 100_000 {
        return Err(bad(
            "max_height",
            "need min_height <= max_height <= 12 and n <= 100000".into(),
        )
        .into());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok((0..n.0)
        .map(|_| {
            scores::generate(
                &mut rng,
                min_height.0,
                max_height.0,
                SOp::ALL,
                scores::TermSet::all(proxies.len()),
            )
            .format(&proxies)
        })
        .collect())
}

/// Run the score-level search (GIL released); `tasks` = `[(scores (n, k), truth (n,))]`,
/// configuration and result as JSON.
#[pyfunction]
fn score_gp_evolve(
    py: Python<'_>,
    proxies: Vec<String>,
    tasks: Vec<(PyReadonlyArray2<'_, f64>, PyReadonlyArray1<'_, f64>)>,
    config_json: &str,
) -> PyRes<String> {
    let cfg: ScoreGpConfig = serde_json::from_str(config_json)
        .map_err(|e| bad("config", format!("invalid JSON: {e}")))?;
    let tasks: Vec<ScoreTask> = tasks
        .iter()
        .map(|(s, t)| {
            let (s, n, k) = slice2(s);
            if k != proxies.len() {
                return Err(bad(
                    "tasks",
                    format!("{k} score columns for {} proxies", proxies.len()),
                ));
            }
            ScoreTask::from_rows(&s, n, k, &slice1(t))
        })
        .collect::<zcnas_core::Result<_>>()?;
    let res = detached(py, || scores::evolve_scores(&proxies, &tasks, &cfg))?;
    Ok(serde_json::to_string(&res).map_err(|e| bad("result", format!("JSON: {e}")))?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(score_gp_ops, m)?)?;
    m.add_function(wrap_pyfunction!(score_gp_parse, m)?)?;
    m.add_function(wrap_pyfunction!(score_gp_eval, m)?)?;
    m.add_function(wrap_pyfunction!(score_gp_random, m)?)?;
    m.add_function(wrap_pyfunction!(score_gp_evolve, m)?)?;
    m.add_class::<ScoreGpPrepared>()?;
    Ok(())
}
