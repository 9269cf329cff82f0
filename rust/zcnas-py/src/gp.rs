//! Bindings of `zcnas_core::gp` and `zcnas_core::shards` (EZNAS).

use crate::args::Count;
use crate::arrays::row_major;
use crate::errors::PyRes;
use crate::threads::detached;
use numpy::PyUntypedArrayMethods;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use zcnas_core::gp::{
    self, variation, EvolveConfig, EvolveState, Evolver, InMemory, Tensor, ToScalar, Tree,
};
use zcnas_core::shards::{Shard, TaskDataset};
use zcnas_core::CoreError;

fn bad(name: &'static str, reason: String) -> CoreError {
    CoreError::InvalidParameter { name, reason }
}

fn json_err(name: &'static str, e: &serde_json::Error) -> CoreError {
    bad(name, format!("invalid JSON: {e}"))
}

/// One instance (`{terminal name: float64 array}`) as the interpreter's terminal table.
fn instance(d: &Bound<'_, PyDict>) -> PyRes<Vec<Option<Arc<Tensor>>>> {
    let mut terms: Vec<Option<Arc<Tensor>>> = vec![None; gp::N_TERMINALS];
    for (k, v) in d.iter() {
        let name: String = k.extract()?;
        let id = gp::terminal_id(&name)
            .ok_or_else(|| bad("instances", format!("unknown terminal {name:?}")))?;
        let a: PyReadonlyArrayDyn<'_, f64> = v.extract()?;
        let t = Tensor::new(a.shape().to_vec(), row_major(&a).into_owned())
            .map_err(|e| bad("instances", e.0))?;
        terms[usize::from(id)] = Some(Arc::new(t));
    }
    Ok(terms)
}

fn parse_all(exprs: &[String]) -> PyRes<Vec<Tree>> {
    Ok(exprs
        .iter()
        .map(|e| Tree::parse(e))
        .collect::<zcnas_core::Result<_>>()?)
}

/// `[(name, arity)]` of the 34 operations.
#[pyfunction]
fn eznas_ops() -> Vec<(&'static str, usize)> {
    gp::Op::ALL
        .iter()
        .map(|op| (op.name(), op.arity()))
        .collect()
}

/// `(canonical formula, height, terminal ids, number of nodes)` of a formula.
#[pyfunction]
fn eznas_parse(expr: &str) -> PyRes<(String, usize, Vec<u8>, usize)> {
    let t = Tree::parse(expr)?;
    Ok((t.to_string(), t.height(), t.terminals(), t.len()))
}

/// The root tensor of a formula on one instance; `ZcnasError` when an operation fails.
#[pyfunction]
fn eznas_eval_tensor<'py>(
    py: Python<'py>,
    expr: &str,
    instance_: Bound<'py, PyDict>,
) -> PyRes<Bound<'py, PyArrayDyn<f64>>> {
    let tree = Tree::parse(expr)?;
    let terms = instance(&instance_)?;
    let table: gp::interp::Terminals = std::array::from_fn(|i| terms[i].clone());
    let t = detached(py, || {
        gp::eval_tensor(&tree, &table).map_err(|e| bad("program", format!("{expr}: {e}")))
    })?;
    let t = Arc::unwrap_or_clone(t);
    Ok(t.data.into_pyarray(py).reshape(t.shape)?)
}

/// Network scores of each formula on in-memory instances (mean over instances of
/// `to_scalar`; NaN where invalid).
#[pyfunction]
#[pyo3(signature = (exprs, instances, to_scalar = "mean"))]
fn eznas_score_arrays<'py>(
    py: Python<'py>,
    exprs: Vec<String>,
    instances: Vec<Bound<'py, PyDict>>,
    to_scalar: &str,
) -> PyRes<Bound<'py, PyArray1<f64>>> {
    let ts: ToScalar = to_scalar.parse()?;
    let trees = parse_all(&exprs)?;
    let src = InMemory {
        instances: instances.iter().map(instance).collect::<PyRes<_>>()?,
    };
    let refs: Vec<&Tree> = trees.iter().collect();
    let s = detached(py, || {
        gp::score_matrix(&refs, std::slice::from_ref(&src), ts)
    })?;
    Ok(s.into_pyarray(py))
}

/// Scores (programs x networks) of formulas on a task dataset directory; `networks` selects
/// networks by position in the manifest (all by default).
#[pyfunction]
#[pyo3(signature = (exprs, stats_dir, to_scalar = "mean", networks = None))]
fn eznas_score_stats<'py>(
    py: Python<'py>,
    exprs: Vec<String>,
    stats_dir: std::path::PathBuf,
    to_scalar: &str,
    networks: Option<Vec<Count>>,
) -> PyRes<Bound<'py, PyArray2<f64>>> {
    let networks: Option<Vec<usize>> = networks.map(|v| v.into_iter().map(|c| c.0).collect());
    let ts: ToScalar = to_scalar.parse()?;
    let trees = parse_all(&exprs)?;
    let ds = TaskDataset::open(&stats_dir)?;
    let nets = networks.unwrap_or_else(|| (0..ds.len()).collect());
    let refs: Vec<&Tree> = trees.iter().collect();
    let s = detached(py, || {
        gp::interp::score_matrix_with(&refs, nets.len(), ts, |j, f| f(&ds.shard(nets[j])?))
    })?;
    let (p, n) = (trees.len(), nets.len());
    Ok(s.into_pyarray(py).reshape([p, n])?)
}

/// The statistics of one shard as stored, read through the core's memory-mapped reader
/// (`zcnas.eznas.shards.read_shard`): per instance, `[(terminal, dtype, shape, bytes)]` with
/// dtype `"F16"`, `"F32"` or `"F64"` and the little-endian bytes in a new `bytearray`.
#[pyfunction]
fn eznas_read_shard(
    py: Python<'_>,
    path: std::path::PathBuf,
    n_instances: Count,
    terminals: Vec<String>,
) -> PyRes<Vec<Vec<RawTensor<'_>>>> {
    let shard = Shard::open(&path, n_instances.0)?;
    let mut out = Vec::with_capacity(n_instances.0.min(1 << 16));
    for k in 0..n_instances.0 {
        let mut inst = Vec::with_capacity(terminals.len());
        for name in &terminals {
            let (dtype, shape, bytes) = shard.read_raw(&format!("{k:03}/{name}"))?;
            inst.push((
                name.clone(),
                dtype,
                shape.to_vec(),
                PyByteArray::new(py, bytes),
            ));
        }
        out.push(inst);
    }
    Ok(out)
}

/// `(terminal, dtype, shape, bytes)` of one stored tensor.
type RawTensor<'py> = (String, &'static str, Vec<usize>, Bound<'py, PyByteArray>);

fn method(m: &str) -> PyRes<variation::GenMethod> {
    Ok(match m {
        "half" => variation::GenMethod::HalfAndHalf,
        "full" => variation::GenMethod::Full,
        "grow" => variation::GenMethod::Grow,
        other => {
            return Err(bad(
                "method",
                format!("expected 'half', 'full' or 'grow', got '{other}'"),
            )
            .into())
        }
    })
}

/// Most formulas one `eznas_random_trees` call returns.
const MAX_TREES: usize = 1_000_000;
/// Most nodes (worst case, full binary trees) one `eznas_random_trees` call may build.
const MAX_TOTAL_NODES: usize = 1 << 26;

/// Check `min_depth <= max_depth <= MAX_GEN_HEIGHT` (16).
fn depth_range(min_depth: usize, max_depth: usize) -> PyRes<()> {
    let cap = variation::MAX_GEN_HEIGHT;
    if min_depth > max_depth || max_depth > cap {
        return Err(bad(
            "max_depth",
            format!("need min_depth <= max_depth <= {cap}, got min_depth={min_depth}, max_depth={max_depth}"),
        )
        .into());
    }
    Ok(())
}

/// `n` random formulas of height `min_depth..=max_depth` (not checked for validity).
/// Bounds: `min_depth <= max_depth <= 16`, `n <= 1,000,000` and
/// `n * (2**(max_depth + 1) - 1) <= 2**26` nodes.
#[pyfunction]
#[pyo3(
    signature = (n, seed, min_depth = Count(2), max_depth = Count(6), method_ = "half"),
    text_signature = "(n, seed, min_depth=2, max_depth=6, method_='half')"
)]
fn eznas_random_trees(
    n: Count,
    seed: u64,
    min_depth: Count,
    max_depth: Count,
    method_: &str,
) -> PyRes<Vec<String>> {
    let (Count(n), Count(min_depth), Count(max_depth)) = (n, min_depth, max_depth);
    let m = method(method_)?;
    depth_range(min_depth, max_depth)?;
    let per_tree = (1usize << (max_depth + 1)) - 1;
    if n > MAX_TREES || n.saturating_mul(per_tree) > MAX_TOTAL_NODES {
        return Err(bad(
            "n",
            format!(
                "at most {MAX_TREES} formulas and {MAX_TOTAL_NODES} nodes per call \
                 ({} of height {max_depth}), got {n}",
                (MAX_TOTAL_NODES / per_tree).min(MAX_TREES)
            ),
        )
        .into());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok((0..n)
        .map(|_| variation::generate(&mut rng, min_depth, max_depth, m).to_string())
        .collect())
}

/// A variation result as text, refused when taller than a formula may be (256).
fn checked_child(t: &Tree) -> PyRes<String> {
    if t.height() > gp::tree::MAX_HEIGHT {
        return Err(bad(
            "a",
            format!(
                "the result would be {} high, more than a formula may be ({})",
                t.height(),
                gp::tree::MAX_HEIGHT
            ),
        )
        .into());
    }
    Ok(t.to_string())
}

/// One-point crossover of two formulas: both children (each at most 256 high).
#[pyfunction]
fn eznas_crossover(a: &str, b: &str, seed: u64) -> PyRes<(String, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (x, y) = variation::crossover(&mut rng, &Tree::parse(a)?, &Tree::parse(b)?);
    Ok((checked_child(&x)?, checked_child(&y)?))
}

/// Uniform subtree mutation of a formula; the inserted subtree is `min_depth..=max_depth`
/// high, with `min_depth <= max_depth <= 16`.
#[pyfunction]
#[pyo3(
    signature = (a, seed, min_depth = Count(0), max_depth = Count(5)),
    text_signature = "(a, seed, min_depth=0, max_depth=5)"
)]
fn eznas_mutate(a: &str, seed: u64, min_depth: Count, max_depth: Count) -> PyRes<String> {
    let (Count(min_depth), Count(max_depth)) = (min_depth, max_depth);
    depth_range(min_depth, max_depth)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    checked_child(&variation::mutate(
        &mut rng,
        &Tree::parse(a)?,
        min_depth,
        max_depth,
    ))
}

/// The EZNAS search (see `zcnas.eznas.evolve.evolve`); configuration and state are JSON.
#[pyclass(module = "zcnas._native")]
struct EznasEvolver {
    inner: Evolver,
}

#[pymethods]
impl EznasEvolver {
    #[new]
    #[pyo3(signature = (stats_dirs, config_json, state_json = None))]
    fn new(
        stats_dirs: Vec<std::path::PathBuf>,
        config_json: &str,
        state_json: Option<&str>,
    ) -> PyRes<Self> {
        let datasets = stats_dirs
            .iter()
            .map(TaskDataset::open)
            .collect::<zcnas_core::Result<Vec<_>>>()?;
        let inner = if let Some(s) = state_json {
            let state: EvolveState =
                serde_json::from_str(s).map_err(|e| json_err("checkpoint", &e))?;
            Evolver::resume(state, datasets)?
        } else {
            let config: EvolveConfig =
                serde_json::from_str(config_json).map_err(|e| json_err("config", &e))?;
            Evolver::new(config, datasets)?
        };
        Ok(Self { inner })
    }

    /// Run the next generation; returns its summary as JSON.
    fn step(&mut self, py: Python<'_>) -> PyRes<String> {
        let inner = &mut self.inner;
        let stats = detached(py, || inner.step())?;
        Ok(serde_json::to_string(&stats).map_err(|e| json_err("stats", &e))?)
    }

    /// The full state (checkpoint) as JSON.
    fn state_json(&self) -> PyRes<String> {
        Ok(serde_json::to_string(self.inner.state()).map_err(|e| json_err("state", &e))?)
    }

    #[getter]
    fn next_generation(&self) -> usize {
        self.inner.state().next_generation
    }

    #[getter]
    fn done(&self) -> bool {
        self.inner.is_done()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(eznas_ops, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_parse, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_eval_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_score_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_score_stats, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_read_shard, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_random_trees, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_crossover, m)?)?;
    m.add_function(wrap_pyfunction!(eznas_mutate, m)?)?;
    m.add_class::<EznasEvolver>()?;
    m.add("EZNAS_TERMINALS", gp::TERMINALS.to_vec())?;
    Ok(())
}
