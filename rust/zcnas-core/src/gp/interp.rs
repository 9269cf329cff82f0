//! The interpreter: many programs on many networks, in parallel, with common sub-expression
//! reuse.
//!
//! A program is applied to every instance (ReLU-Conv-BN block) of a network; `to_scalar` turns
//! its output into a number and the network score is the mean over instances. The score is NaN
//! when the program fails on any instance (an [`OpError`](super::OpError)) or gives a
//! non-finite value there.
//!
//! Work is split into (network, chunk of programs) tasks run by rayon. Within a task the
//! instances are visited one at a time: only the terminals the chunk reads are loaded (and
//! converted to `f64`), every program of the chunk is evaluated, and then the instance's
//! tensors are dropped, so memory stays at a few instances' worth whatever the data size.
//! Sub-trees that occur more than once in the chunk (crossover and mutation copy sub-trees
//! between relatives, so populations share many) are evaluated once per instance and reused.
//! Chains of element-wise operations are evaluated in one pass without intermediate tensors,
//! in place where an input is uniquely owned, and straight into the sum when a reduction
//! consumes them (see `fused.rs`); [`score_network_unfused`] and [`eval_tensor_unfused`]
//! evaluate operation by operation and give the same values bit for bit (they are the
//! reference of the tests).

use super::fused::{Dag, Evaluator, Reduce};
use super::tensor::{OpError, OpResult, Tensor};
use super::tree::{subtree_end, Node, Tree, N_TERMINALS};
use crate::error::{CoreError, Result};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// How the root tensor of a program becomes a number (the paper's `to_scalar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToScalar {
    /// Mean of the elements (EZNAS-A); NaN for an empty tensor.
    #[default]
    Mean,
    /// Euclidean norm of the elements.
    L2,
}

impl ToScalar {
    /// Apply to a tensor (sums in eight lanes, as every reduction of the interpreter).
    pub fn apply(self, t: &Tensor) -> f64 {
        self.reduce().apply(&t.data)
    }

    fn reduce(self) -> Reduce {
        match self {
            Self::Mean => Reduce::Mean,
            Self::L2 => Reduce::Norm2,
        }
    }
}

impl std::str::FromStr for ToScalar {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mean" => Ok(Self::Mean),
            "l2" => Ok(Self::L2),
            other => Err(CoreError::InvalidParameter {
                name: "to_scalar",
                reason: format!("expected 'mean' or 'l2', got '{other}'"),
            }),
        }
    }
}

/// The statistics of one network: its instances, each holding the 22 terminals.
pub trait InstanceSource: Sync {
    /// Number of instances.
    fn n_instances(&self) -> usize;
    /// Terminal `term` of instance `inst`, as `f64`.
    fn load(&self, inst: usize, term: u8) -> Result<Tensor>;
    /// A hint that the caller is done with instance `inst` (a memory-mapped source lets its
    /// pages leave the resident set). Does nothing by default.
    fn release(&self, inst: usize) {
        let _ = inst;
    }
}

/// Statistics held in memory: `instances[i][t]` is terminal `t` of instance `i` (`None` when
/// not provided; a program reading it then fails with an error).
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    /// Per instance, per terminal id.
    pub instances: Vec<Vec<Option<Arc<Tensor>>>>,
}

impl InstanceSource for InMemory {
    fn n_instances(&self) -> usize {
        self.instances.len()
    }
    fn load(&self, inst: usize, term: u8) -> Result<Tensor> {
        self.instances[inst]
            .get(usize::from(term))
            .and_then(Option::as_ref)
            .map(|t| (**t).clone())
            .ok_or_else(|| CoreError::InvalidParameter {
                name: "instances",
                reason: format!(
                    "instance {inst} has no terminal {}",
                    super::tree::TERMINALS[usize::from(term)]
                ),
            })
    }
}

/// Terminal values of one instance.
pub type Terminals = [Option<Arc<Tensor>>; N_TERMINALS];

/// Evaluate one tree on one instance (fused element-wise chains); the root tensor, or why it
/// failed.
pub fn eval_tensor(tree: &Tree, terms: &Terminals) -> OpResult<Arc<Tensor>> {
    let dag = Dag::new(&[tree]);
    Evaluator::new(&dag, terms).root_tensor(0)
}

/// [`eval_tensor`] operation by operation, without fusion or caching (the reference of the
/// fused path).
pub fn eval_tensor_unfused(tree: &Tree, terms: &Terminals) -> OpResult<Arc<Tensor>> {
    let mut cache = HashMap::new();
    let shared = HashSet::new();
    eval_at(tree.nodes(), 0, terms, &shared, &mut cache).0
}

type Cache<'a> = HashMap<&'a [Node], OpResult<Arc<Tensor>>>;

fn eval_at<'a>(
    nodes: &'a [Node],
    start: usize,
    terms: &Terminals,
    shared: &HashSet<&'a [Node]>,
    cache: &mut Cache<'a>,
) -> (OpResult<Arc<Tensor>>, usize) {
    let op = match nodes[start] {
        Node::Term(t) => {
            let v = terms[usize::from(t)].clone().ok_or_else(|| {
                OpError(format!(
                    "terminal {} is not loaded",
                    super::tree::TERMINALS[usize::from(t)]
                ))
            });
            return (v, start + 1);
        }
        Node::Op(op) => op,
    };
    let end = subtree_end(nodes, start);
    let key = &nodes[start..end];
    let is_shared = shared.contains(key);
    if is_shared {
        if let Some(v) = cache.get(key) {
            return (v.clone(), end);
        }
    }
    let (a, next) = eval_at(nodes, start + 1, terms, shared, cache);
    let result = match a {
        Err(e) => Err(e),
        Ok(a) if op.arity() == 1 => op.apply1(&a).map(Arc::new),
        Ok(a) => {
            let (b, _) = eval_at(nodes, next, terms, shared, cache);
            b.and_then(|b| op.apply2(&a, &b).map(Arc::new))
        }
    };
    if is_shared {
        cache.insert(key, result.clone());
    }
    (result, end)
}

/// Which terminals the live programs read, for one instance.
fn needed_terminals(programs: &[&Tree], alive: &[bool]) -> [bool; N_TERMINALS] {
    let mut needed = [false; N_TERMINALS];
    for (p, _) in programs.iter().zip(alive).filter(|(_, a)| **a) {
        for t in p.terminals() {
            needed[usize::from(t)] = true;
        }
    }
    needed
}

/// `to_scalar` of every program on instances `range` of one network, program-major
/// (`programs.len() x range.len()`); NaN from the first instance where a program is invalid.
fn instance_values<S: InstanceSource + ?Sized>(
    programs: &[&Tree],
    source: &S,
    to_scalar: ToScalar,
    range: std::ops::Range<usize>,
) -> Result<Vec<f64>> {
    let dag = Dag::new(programs);
    let len = range.len();
    let mut out = vec![f64::NAN; programs.len() * len];
    let mut alive = vec![true; programs.len()];
    for (k, inst) in range.enumerate() {
        if !alive.iter().any(|&a| a) {
            break;
        }
        let needed = needed_terminals(programs, &alive);
        let mut terms: Terminals = Default::default();
        for (t, slot) in terms.iter_mut().enumerate() {
            if needed[t] {
                *slot = Some(Arc::new(source.load(inst, t as u8)?));
            }
        }
        let mut ev = Evaluator::new(&dag, &terms);
        for (i, live) in alive.iter_mut().enumerate() {
            if !*live {
                continue;
            }
            match ev.root_scalar(i, to_scalar.reduce()) {
                Ok(x) if x.is_finite() => out[i * len + k] = x,
                _ => *live = false,
            }
        }
        source.release(inst);
    }
    Ok(out)
}

/// Network scores from the per-instance values of consecutive instance ranges (each
/// program-major, as [`instance_values`] gives them): the mean over all instances, summed in
/// instance order, so the split does not change the result; NaN if any value is NaN or there
/// are no instances.
fn combine(n_programs: usize, parts: &[Vec<f64>]) -> Vec<f64> {
    let n_inst: usize = parts.iter().map(|p| p.len() / n_programs.max(1)).sum();
    (0..n_programs)
        .map(|i| {
            let mut sum = 0.0f64;
            for p in parts {
                let len = p.len() / n_programs;
                for &v in &p[i * len..(i + 1) * len] {
                    if v.is_nan() {
                        return f64::NAN;
                    }
                    sum += v;
                }
            }
            if n_inst == 0 {
                f64::NAN
            } else {
                sum / n_inst as f64
            }
        })
        .collect()
}

/// Scores of `programs` on one network: for each, the mean over instances of
/// `to_scalar(output)`, NaN where invalid. I/O errors of the source are returned.
pub fn score_network<S: InstanceSource + ?Sized>(
    programs: &[&Tree],
    source: &S,
    to_scalar: ToScalar,
) -> Result<Vec<f64>> {
    let v = instance_values(programs, source, to_scalar, 0..source.n_instances())?;
    Ok(combine(programs.len(), &[v]))
}

/// [`score_network`] operation by operation (no fusion; sub-trees shared between programs
/// are reused): the reference of the fused path, which gives the same values bit for bit.
pub fn score_network_unfused<S: InstanceSource + ?Sized>(
    programs: &[&Tree],
    source: &S,
    to_scalar: ToScalar,
) -> Result<Vec<f64>> {
    let mut counts: HashMap<&[Node], usize> = HashMap::new();
    for p in programs {
        let nodes = p.nodes();
        for (i, n) in nodes.iter().enumerate() {
            if matches!(n, Node::Op(_)) {
                *counts.entry(&nodes[i..subtree_end(nodes, i)]).or_default() += 1;
            }
        }
    }
    let shared: HashSet<&[Node]> = counts
        .into_iter()
        .filter(|&(_, c)| c > 1)
        .map(|(k, _)| k)
        .collect();
    let n_inst = source.n_instances();
    let mut sums = vec![0.0f64; programs.len()];
    let mut alive = vec![n_inst > 0; programs.len()];
    for inst in 0..n_inst {
        let mut needed = [false; N_TERMINALS];
        for (p, _) in programs.iter().zip(&alive).filter(|(_, a)| **a) {
            for t in p.terminals() {
                needed[usize::from(t)] = true;
            }
        }
        let mut terms: Terminals = Default::default();
        for (t, slot) in terms.iter_mut().enumerate() {
            if needed[t] {
                *slot = Some(Arc::new(source.load(inst, t as u8)?));
            }
        }
        let mut cache = Cache::new();
        for (i, p) in programs.iter().enumerate() {
            if !alive[i] {
                continue;
            }
            let (v, _) = eval_at(p.nodes(), 0, &terms, &shared, &mut cache);
            match v.map(|t| to_scalar.apply(&t)) {
                Ok(x) if x.is_finite() => sums[i] += x,
                _ => alive[i] = false,
            }
        }
    }
    Ok(sums
        .iter()
        .zip(&alive)
        .map(|(s, a)| if *a { s / n_inst as f64 } else { f64::NAN })
        .collect())
}

/// Scores of every program on every network, row-major `programs.len() x sources.len()`,
/// computed by rayon over (network, chunk of programs) tasks on the current pool.
pub fn score_matrix<S: InstanceSource>(
    programs: &[&Tree],
    sources: &[S],
    to_scalar: ToScalar,
) -> Result<Vec<f64>> {
    score_matrix_with(programs, sources.len(), to_scalar, |j, f| f(&sources[j]))
}

/// [`score_matrix`] over networks that are opened on demand: `with(j, f)` opens network `j`
/// and runs `f` on it.
pub fn score_matrix_with<F>(
    programs: &[&Tree],
    n_networks: usize,
    to_scalar: ToScalar,
    with: F,
) -> Result<Vec<f64>>
where
    F: Fn(usize, &dyn Fn(&dyn InstanceSource) -> Result<Vec<f64>>) -> Result<Vec<f64>> + Sync,
{
    let np = programs.len();
    if np == 0 || n_networks == 0 {
        return Ok(vec![f64::NAN; 0]);
    }
    // Tasks are (network, part of its instances), every program in each task, so common
    // sub-expressions are shared by the whole population; with several threads each network
    // is cut into parts so that the tasks are small enough to balance.
    let threads = rayon::current_num_threads().max(1);
    let parts = if threads == 1 {
        1
    } else {
        (8 * threads).div_ceil(n_networks).clamp(1, 64)
    };
    let tasks: Vec<(usize, usize)> = (0..n_networks)
        .flat_map(|j| (0..parts).map(move |p| (j, p)))
        .collect();
    let results: Vec<Vec<f64>> = tasks
        .into_par_iter()
        .map(|(j, p)| {
            with(j, &|src| {
                let n = src.n_instances();
                instance_values(programs, src, to_scalar, p * n / parts..(p + 1) * n / parts)
            })
        })
        .collect::<Result<_>>()?;
    let mut out = vec![f64::NAN; np * n_networks];
    for (j, chunk) in results.chunks(parts).enumerate() {
        for (k, v) in combine(np, chunk).into_iter().enumerate() {
            out[k * n_networks + j] = v;
        }
    }
    Ok(out)
}
