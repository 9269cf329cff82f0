//! Score-level genetic programming: formulas over the proxy scores of an architecture.
//!
//! EZNAS ([`super::evolve`]) searches programs over the tensors inside a network; this module
//! searches one level up, over the scores that existing proxies give a whole architecture
//! (as symbolic regression over proxies, SR-TF-NAS 2025, but with rank fitness). A formula
//! such as `Add(Rank(synflow), Log(jacov))` is a prefix tree over
//!
//! * **terminals**: for each of the `k` proxies, its raw score `name`, its rank in the pool
//!   `Rank(name)` and its signed log `Log(name)` (`3k` terminals; the last two are the
//!   operations below applied to the raw score, printed and parsed as such);
//! * **operations** ([`SOp`]), the scalar subset of the EZNAS table plus two pool operations:
//!
//! | op | value | notes |
//! |---|---|---|
//! | `Add`, `Sub`, `Mul` | `a+b`, `a-b`, `a*b` | |
//! | `Div` | `a/b`, 1 where `|b| <= 1e-12` | protected division (Koza) |
//! | `Min`, `Max` | `min(a,b)`, `max(a,b)` | |
//! | `Pow` | `sign(a) |a|^clamp(b,-4,4)`, 0 where `a == 0` | |
//! | `Neg`, `Abs`, `Square` | `-a`, `|a|`, `a²` | |
//! | `Log` | `sign(a) ln(1+|a|)` | defined everywhere, monotone |
//! | `Exp` | `exp(min(a, 50))` | |
//! | `Sqrt` | `sign(a) sqrt|a|` | |
//! | `Inv` | `Div(1, a)` | |
//! | `Sigmoid` | `1/(1+exp(-a))` | |
//! | `Rank` | average rank of `a` among the reference values divided by their number, in `(0, 1]` | pool operation; scipy's `rankdata(a)/n` on the reference itself |
//! | `Zscore` | `(a - mean)/std` of the reference values (population std); 0 where `std == 0` | pool operation |
//!
//! Pool operations need a *reference* pool: the first `n_ref` rows of the evaluated columns.
//! During the search the reference is the sampled pool itself (scores are pool-relative, as the
//! rank aggregates of [`crate::rankagg`]); to score a new architecture alone, the stored pool
//! the formula was found on is prepended as the reference. For a query row `v`,
//! `Rank = (#{ref < v} + #{ref == v}/2 + 1/2) / n_ref`, which is the average rank on reference
//! rows. A non-finite value in a pool operation's reference makes its whole output NaN; a
//! formula whose final values are not all finite is invalid on that pool.
//!
//! **Fitness**: Kendall tau-b ([`crate::stats::kendall_tau`]) of the formula against the
//! ground truth on `archs_per_task` architectures drawn afresh each generation from every task,
//! aggregated by the minimum (default) or the mean over the tasks, minus `parsimony` per node.
//! Higher is better; a formula invalid on any task has no fitness. Variation: ramped
//! half-and-half generation, one-point crossover, subtree, point and hoist mutation,
//! tournament selection ([`super::variation::tournament`]) with elitism and size/height limits.
//! After the last generation the hall of fame and the final population are re-scored on all
//! architectures of every task, and ranked by that fitness. Evaluation is parallel (rayon)
//! over formulas; all random draws are serial, so a seed gives the same result on any number
//! of threads.

use super::variation::tournament;
use crate::error::{CoreError, Result};
use crate::stats::{kendall_tau, NanPolicy};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Instant;

/// Largest tree height accepted when parsing.
pub const MAX_PARSE_HEIGHT: usize = 64;
/// Largest number of proxies (terminal ids are `u16`, three per proxy).
pub const MAX_PROXIES: usize = 4096;

macro_rules! sops {
    ($($v:ident = $name:literal, $arity:literal;)*) => {
        /// A score-level operation (see the module documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum SOp { $($v),* }

        impl SOp {
            /// Every operation.
            pub const ALL: &'static [SOp] = &[$(SOp::$v),*];

            /// Canonical name.
            pub fn name(self) -> &'static str {
                match self { $(SOp::$v => $name),* }
            }

            /// Number of arguments.
            pub fn arity(self) -> usize {
                match self { $(SOp::$v => $arity),* }
            }
        }
    };
}

sops! {
    Add = "Add", 2;
    Sub = "Sub", 2;
    Mul = "Mul", 2;
    Div = "Div", 2;
    Min = "Min", 2;
    Max = "Max", 2;
    Pow = "Pow", 2;
    Neg = "Neg", 1;
    Abs = "Abs", 1;
    Square = "Square", 1;
    Log = "Log", 1;
    Exp = "Exp", 1;
    Sqrt = "Sqrt", 1;
    Inv = "Inv", 1;
    Sigmoid = "Sigmoid", 1;
    Rank = "Rank", 1;
    Zscore = "Zscore", 1;
}

impl SOp {
    /// The operation with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|o| o.name() == name)
    }
}

const DIV_EPS: f64 = 1e-12;

fn pdiv(a: f64, b: f64) -> f64 {
    if b.abs() <= DIV_EPS {
        1.0
    } else {
        a / b
    }
}

fn slog(a: f64) -> f64 {
    a.signum() * a.abs().ln_1p()
}

fn spow(a: f64, b: f64) -> f64 {
    if a == 0.0 {
        0.0
    } else {
        a.signum() * a.abs().powf(b.clamp(-4.0, 4.0))
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Statistics of the reference values of one pool operation.
#[derive(Debug, Clone, PartialEq)]
enum PoolStat {
    /// Sorted reference values (`Rank`).
    Sorted(Vec<f64>),
    /// Mean and population standard deviation (`Zscore`).
    Moments(f64, f64),
    /// The reference holds a non-finite value: every output is NaN.
    Invalid,
}

impl PoolStat {
    fn of(rank: bool, r: &[f64]) -> Self {
        if r.is_empty() || r.iter().any(|v| !v.is_finite()) {
            return Self::Invalid;
        }
        if rank {
            let mut sorted = r.to_vec();
            sorted.sort_by(f64::total_cmp);
            return Self::Sorted(sorted);
        }
        let n = r.len() as f64;
        let mean = r.iter().sum::<f64>() / n;
        let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        Self::Moments(mean, var.sqrt())
    }

    fn apply(&self, a: &[f64]) -> Vec<f64> {
        match self {
            Self::Invalid => vec![f64::NAN; a.len()],
            Self::Sorted(sorted) => {
                let n = sorted.len() as f64;
                a.iter()
                    .map(|&v| {
                        if v.is_nan() {
                            return f64::NAN;
                        }
                        let lt = sorted.partition_point(|&x| x < v);
                        let le = sorted.partition_point(|&x| x <= v);
                        (lt as f64 + 0.5 * (le - lt) as f64 + 0.5) / n
                    })
                    .collect()
            }
            Self::Moments(mean, sd) => a
                .iter()
                .map(|&v| if *sd > 0.0 { (v - mean) / sd } else { 0.0 })
                .collect(),
        }
    }
}

/// `Rank` of every value of `a` against its first `n_ref` values (module documentation).
fn pool_rank(a: &[f64], n_ref: usize) -> Vec<f64> {
    PoolStat::of(true, &a[..n_ref]).apply(a)
}

fn pool_zscore(a: &[f64], n_ref: usize) -> Vec<f64> {
    PoolStat::of(false, &a[..n_ref]).apply(a)
}

impl SOp {
    /// Apply a unary operation to a column whose first `n_ref` rows are the reference.
    fn apply1(self, mut a: Vec<f64>, n_ref: usize) -> Vec<f64> {
        let f: fn(f64) -> f64 = match self {
            Self::Rank => return pool_rank(&a, n_ref),
            Self::Zscore => return pool_zscore(&a, n_ref),
            Self::Neg => |x| -x,
            Self::Abs => f64::abs,
            Self::Square => |x| x * x,
            Self::Log => slog,
            Self::Exp => |x| x.min(50.0).exp(),
            Self::Sqrt => |x| x.signum() * x.abs().sqrt(),
            Self::Inv => |x| pdiv(1.0, x),
            Self::Sigmoid => sigmoid,
            _ => |x| x,
        };
        for x in &mut a {
            *x = f(*x);
        }
        a
    }

    fn apply2(self, mut a: Vec<f64>, b: &[f64]) -> Vec<f64> {
        let f: fn(f64, f64) -> f64 = match self {
            Self::Add => |x, y| x + y,
            Self::Sub => |x, y| x - y,
            Self::Mul => |x, y| x * y,
            Self::Div => pdiv,
            Self::Min => f64::min,
            Self::Max => f64::max,
            Self::Pow => spow,
            _ => |x, _| x,
        };
        a.iter_mut().zip(b).for_each(|(x, y)| *x = f(*x, *y));
        a
    }
}

/// One node: an operation, or a terminal id (`j` raw score of proxy `j`, `k + j` its pool
/// rank, `2k + j` its signed log, for `k` proxies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SNode {
    /// An operation; its arguments follow in prefix order.
    Op(SOp),
    /// A terminal id.
    Term(u16),
}

impl SNode {
    fn arity(self) -> usize {
        match self {
            Self::Op(o) => o.arity(),
            Self::Term(_) => 0,
        }
    }
}

/// A score formula in prefix order over `n_proxies` proxies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct STree {
    nodes: Vec<SNode>,
    n_proxies: usize,
}

fn bad(name: &'static str, reason: String) -> CoreError {
    CoreError::InvalidParameter { name, reason }
}

fn subtree_end(nodes: &[SNode], start: usize) -> usize {
    let mut open = 1usize;
    let mut i = start;
    while open > 0 {
        open = open - 1 + nodes[i].arity();
        i += 1;
    }
    i
}

fn height_of(nodes: &[SNode]) -> usize {
    let mut stack = vec![0usize];
    let mut h = 0;
    for n in nodes {
        let d = stack.pop().unwrap_or(0);
        h = h.max(d);
        for _ in 0..n.arity() {
            stack.push(d + 1);
        }
    }
    h
}

/// Check proxy names: non-empty, unique, made of letters, digits, `_`, `.` and `-`, and not
/// an operation name.
pub fn check_names(names: &[String]) -> Result<()> {
    if names.is_empty() || names.len() > MAX_PROXIES {
        return Err(bad(
            "proxies",
            format!("need 1..={MAX_PROXIES} proxies, got {}", names.len()),
        ));
    }
    let mut seen = HashSet::new();
    for n in names {
        if n.is_empty() || !n.chars().all(is_ident_char) {
            return Err(bad(
                "proxies",
                format!("proxy name {n:?} must be letters, digits, '_', '.' or '-'"),
            ));
        }
        if SOp::from_name(n).is_some() {
            return Err(bad(
                "proxies",
                format!("proxy name {n:?} is an operation name"),
            ));
        }
        if !seen.insert(n.as_str()) {
            return Err(bad("proxies", format!("duplicate proxy name {n:?}")));
        }
    }
    Ok(())
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-')
}

impl STree {
    /// A tree from prefix nodes over `n_proxies` proxies (checked).
    pub fn from_nodes(nodes: Vec<SNode>, n_proxies: usize) -> Result<Self> {
        if nodes.is_empty() {
            return Err(bad("formula", "an empty formula".into()));
        }
        let mut open = 1usize;
        for (i, n) in nodes.iter().enumerate() {
            if let SNode::Term(t) = n {
                if usize::from(*t) >= 3 * n_proxies {
                    return Err(bad(
                        "formula",
                        format!("terminal id {t} is not below {}", 3 * n_proxies),
                    ));
                }
            }
            if open == 0 {
                return Err(bad("formula", format!("extra nodes after position {i}")));
            }
            open = open - 1 + n.arity();
        }
        if open != 0 {
            return Err(bad("formula", format!("{open} missing argument(s)")));
        }
        if height_of(&nodes) > MAX_PARSE_HEIGHT {
            return Err(bad("formula", format!("taller than {MAX_PARSE_HEIGHT}")));
        }
        Ok(Self { nodes, n_proxies })
    }

    /// Parse `Add(Rank(snip), Log(jacov))` over the proxy `names` (whitespace ignored).
    pub fn parse(text: &str, names: &[String]) -> Result<Self> {
        check_names(names)?;
        let err = |reason: String| bad("formula", format!("cannot parse {text:?}: {reason}"));
        let toks = super::tokenize(text, is_ident_char).map_err(err)?;
        let k = names.len();
        let term = |s: &str| names.iter().position(|n| n == s);
        let mut nodes = Vec::new();
        let mut pos = 0usize;
        // Iterative parse: a stack of remaining argument counts.
        let mut open: Vec<usize> = Vec::new();
        loop {
            let Some(tok) = toks.get(pos) else {
                return Err(err("unexpected end".into()));
            };
            pos += 1;
            let mut leaf = false;
            if let Some(j) = term(tok) {
                nodes.push(SNode::Term(j as u16));
                leaf = true;
            } else if let Some(op) = SOp::from_name(tok) {
                if toks.get(pos).map(String::as_str) != Some("(") {
                    return Err(err(format!("expected '(' after {tok}")));
                }
                pos += 1;
                // Rank(name) / Log(name) are the rank / log terminals.
                let fused = matches!(op, SOp::Rank | SOp::Log)
                    && toks.get(pos + 1).map(String::as_str) == Some(")");
                if let (true, Some(j)) = (fused, toks.get(pos).and_then(|t| term(t))) {
                    let base = if op == SOp::Rank { k } else { 2 * k };
                    nodes.push(SNode::Term((base + j) as u16));
                    pos += 2;
                    leaf = true;
                } else {
                    nodes.push(SNode::Op(op));
                    if open.len() >= MAX_PARSE_HEIGHT {
                        return Err(err(format!("nesting deeper than {MAX_PARSE_HEIGHT}")));
                    }
                    open.push(op.arity());
                }
            } else {
                return Err(err(format!("unknown operation or proxy {tok:?}")));
            }
            if leaf {
                // close finished operations
                while let Some(top) = open.last_mut() {
                    *top -= 1;
                    if *top > 0 {
                        if toks.get(pos).map(String::as_str) != Some(",") {
                            return Err(err("expected ','".into()));
                        }
                        pos += 1;
                        break;
                    }
                    if toks.get(pos).map(String::as_str) != Some(")") {
                        return Err(err("expected ')'".into()));
                    }
                    pos += 1;
                    open.pop();
                }
                if open.is_empty() {
                    break;
                }
            }
        }
        if pos != toks.len() {
            return Err(err(format!("unexpected {:?} after the formula", toks[pos])));
        }
        Self::from_nodes(nodes, k)
    }

    /// The formula in call syntax over the proxy `names` (inverse of [`STree::parse`]).
    pub fn format(&self, names: &[String]) -> String {
        let k = self.n_proxies;
        let mut out = String::new();
        let mut open: Vec<usize> = Vec::new();
        for n in &self.nodes {
            match *n {
                SNode::Term(t) => {
                    let t = usize::from(t);
                    let name = names.get(t % k).map_or("?", String::as_str);
                    match t / k {
                        0 => out.push_str(name),
                        1 => {
                            out.push_str("Rank(");
                            out.push_str(name);
                            out.push(')');
                        }
                        _ => {
                            out.push_str("Log(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    while let Some(top) = open.last_mut() {
                        *top -= 1;
                        if *top > 0 {
                            out.push_str(", ");
                            break;
                        }
                        out.push(')');
                        open.pop();
                    }
                }
                SNode::Op(o) => {
                    out.push_str(o.name());
                    out.push('(');
                    open.push(o.arity());
                }
            }
        }
        out
    }

    /// Prefix nodes.
    pub fn nodes(&self) -> &[SNode] {
        &self.nodes
    }

    /// Number of nodes (a `Rank(name)` or `Log(name)` terminal counts as one).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Height (a lone terminal has height 0).
    pub fn height(&self) -> usize {
        height_of(&self.nodes)
    }

    /// Whether the value of an architecture depends on a reference pool (a `Rank` terminal or
    /// a `Rank`/`Zscore` operation).
    pub fn uses_pool(&self) -> bool {
        let k = self.n_proxies;
        self.nodes.iter().any(|n| match n {
            SNode::Term(t) => (k..2 * k).contains(&usize::from(*t)),
            SNode::Op(o) => matches!(o, SOp::Rank | SOp::Zscore),
        })
    }

    /// Sorted, deduplicated indices of the proxies the formula reads.
    pub fn proxies(&self) -> Vec<usize> {
        let k = self.n_proxies;
        let mut v: Vec<usize> = self
            .nodes
            .iter()
            .filter_map(|n| match n {
                SNode::Term(t) => Some(usize::from(*t) % k),
                SNode::Op(_) => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn replace(&self, start: usize, sub: &[SNode]) -> Self {
        let end = subtree_end(&self.nodes, start);
        let mut nodes = Vec::with_capacity(self.nodes.len() - (end - start) + sub.len());
        nodes.extend_from_slice(&self.nodes[..start]);
        nodes.extend_from_slice(sub);
        nodes.extend_from_slice(&self.nodes[end..]);
        Self {
            nodes,
            n_proxies: self.n_proxies,
        }
    }

    /// Evaluate on proxy columns (`columns[j]` = scores of proxy `j`, all of one length `n`);
    /// the first `n_ref` rows are the reference of the pool operations. One value per row.
    pub fn eval(&self, columns: &[&[f64]], n_ref: usize) -> Result<Vec<f64>> {
        if columns.len() != self.n_proxies {
            return Err(bad(
                "scores",
                format!(
                    "{} proxy columns for a formula over {} proxies",
                    columns.len(),
                    self.n_proxies
                ),
            ));
        }
        let n = columns.first().map_or(0, |c| c.len());
        if columns.iter().any(|c| c.len() != n) {
            return Err(bad("scores", "proxy columns of different lengths".into()));
        }
        if n_ref == 0 || n_ref > n {
            return Err(bad(
                "n_ref",
                format!("need 1 <= n_ref <= {n} rows, got {n_ref}"),
            ));
        }
        let k = self.n_proxies;
        Ok(self.eval_with(n_ref, |t| {
            let c = columns[t % k];
            match t / k {
                0 => c.to_vec(),
                1 => pool_rank(c, n_ref),
                _ => c.iter().map(|&x| slog(x)).collect(),
            }
        }))
    }

    /// Evaluate with a terminal provider (`term(id)` gives the column of terminal `id`).
    fn eval_with(&self, n_ref: usize, mut term: impl FnMut(usize) -> Vec<f64>) -> Vec<f64> {
        let mut stack: Vec<Vec<f64>> = Vec::new();
        for n in self.nodes.iter().rev() {
            match *n {
                SNode::Term(t) => stack.push(term(usize::from(t))),
                SNode::Op(o) => {
                    // Well-formed trees always have the arguments on the stack.
                    let a = stack.pop().unwrap_or_default();
                    let v = if o.arity() == 1 {
                        o.apply1(a, n_ref)
                    } else {
                        let b = stack.pop().unwrap_or_default();
                        o.apply2(a, &b)
                    };
                    stack.push(v);
                }
            }
        }
        stack.pop().unwrap_or_default()
    }
}

/// A formula with the pool statistics (`Rank`, `Zscore`) of a reference pool computed once,
/// so that architectures can be scored alone: [`PreparedFormula::eval`] on rows `q` equals the
/// last rows of [`STree::eval`] on the reference rows followed by `q` (with `n_ref` = the
/// reference size), at the cost of a binary search per `Rank` instead of a sort.
#[derive(Debug, Clone)]
pub struct PreparedFormula {
    tree: STree,
    stats: Vec<Option<PoolStat>>,
}

fn check_columns(columns: &[&[f64]], k: usize) -> Result<usize> {
    if columns.len() != k {
        return Err(bad(
            "scores",
            format!(
                "{} proxy columns for a formula over {k} proxies",
                columns.len()
            ),
        ));
    }
    let n = columns.first().map_or(0, |c| c.len());
    if columns.iter().any(|c| c.len() != n) {
        return Err(bad("scores", "proxy columns of different lengths".into()));
    }
    Ok(n)
}

impl STree {
    /// Compute the pool statistics of `reference` (proxy columns, at least one row).
    pub fn prepare(&self, reference: &[&[f64]]) -> Result<PreparedFormula> {
        let m = check_columns(reference, self.n_proxies)?;
        if m == 0 {
            return Err(bad("reference", "an empty reference pool".into()));
        }
        let mut stats = vec![None; self.nodes.len()];
        self.run(reference, &mut stats, true);
        Ok(PreparedFormula {
            tree: self.clone(),
            stats,
        })
    }

    /// Evaluate, either recording the pool statistics of these rows (`record`) or applying
    /// the recorded ones.
    fn run(&self, columns: &[&[f64]], stats: &mut [Option<PoolStat>], record: bool) -> Vec<f64> {
        let k = self.n_proxies;
        let mut pool = |i: usize, rank: bool, a: &[f64]| -> Vec<f64> {
            if record {
                stats[i] = Some(PoolStat::of(rank, a));
            }
            stats[i]
                .as_ref()
                .map_or_else(|| vec![f64::NAN; a.len()], |s| s.apply(a))
        };
        let mut stack: Vec<Vec<f64>> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate().rev() {
            let v = match *n {
                SNode::Term(t) => {
                    let t = usize::from(t);
                    let c = columns[t % k];
                    match t / k {
                        0 => c.to_vec(),
                        1 => pool(i, true, c),
                        _ => c.iter().map(|&x| slog(x)).collect(),
                    }
                }
                SNode::Op(o) => {
                    let a = stack.pop().unwrap_or_default();
                    match o {
                        SOp::Rank | SOp::Zscore => pool(i, o == SOp::Rank, &a),
                        _ if o.arity() == 1 => {
                            let n = a.len();
                            o.apply1(a, n)
                        }
                        _ => {
                            let b = stack.pop().unwrap_or_default();
                            o.apply2(a, &b)
                        }
                    }
                }
            };
            stack.push(v);
        }
        stack.pop().unwrap_or_default()
    }
}

impl PreparedFormula {
    /// Values of the formula on proxy columns (any number of rows), pool operations against
    /// the prepared reference.
    pub fn eval(&self, columns: &[&[f64]]) -> Result<Vec<f64>> {
        check_columns(columns, self.tree.n_proxies)?;
        let mut stats = self.stats.clone();
        Ok(self.tree.run(columns, &mut stats, false))
    }

    /// The formula.
    pub fn tree(&self) -> &STree {
        &self.tree
    }
}

impl SOp {
    /// Non-decreasing unary operations: a pool rank of their output is the rank of their
    /// input, and at the root of a formula they leave its Kendall tau unchanged.
    fn is_monotone(self) -> bool {
        matches!(
            self,
            Self::Log | Self::Exp | Self::Sqrt | Self::Sigmoid | Self::Rank | Self::Zscore
        )
    }
}

impl STree {
    /// A shorter formula with the same ranking of any pool: `Rank(f(x))` becomes `Rank(x)`
    /// for a non-decreasing `f` (`Log Exp Sqrt Sigmoid Rank Zscore`), `Rank`/`Log` of a raw
    /// proxy become the rank/log terminals, `Neg(Neg(x))` becomes `x`, and non-decreasing
    /// operations and rank/log terminals at the root are removed. (Up to ties created by
    /// `Exp`'s clipping, the Kendall tau of every pool is unchanged; the values are not.)
    #[must_use]
    pub fn simplify_for_ranking(&self) -> Self {
        fn build(nodes: &[SNode], i: usize, k: usize) -> (Vec<SNode>, usize) {
            match nodes[i] {
                SNode::Term(t) => (vec![SNode::Term(t)], i + 1),
                SNode::Op(o) if o.arity() == 1 => {
                    let (mut c, end) = build(nodes, i + 1, k);
                    if o == SOp::Rank {
                        while let [SNode::Op(p), ..] = c[..] {
                            if p.is_monotone() {
                                c.remove(0);
                            } else {
                                break;
                            }
                        }
                    }
                    let out = match (o, &c[..]) {
                        (SOp::Rank, [SNode::Term(t)]) => {
                            vec![SNode::Term((k + usize::from(*t) % k) as u16)]
                        }
                        (SOp::Log, [SNode::Term(t)]) if usize::from(*t) < k => {
                            vec![SNode::Term((2 * k + usize::from(*t)) as u16)]
                        }
                        (SOp::Neg, [SNode::Op(SOp::Neg), ..]) => c[1..].to_vec(),
                        _ => {
                            let mut v = Vec::with_capacity(c.len() + 1);
                            v.push(SNode::Op(o));
                            v.extend(c);
                            v
                        }
                    };
                    (out, end)
                }
                SNode::Op(o) => {
                    let (a, e1) = build(nodes, i + 1, k);
                    let (b, e2) = build(nodes, e1, k);
                    let mut v = Vec::with_capacity(1 + a.len() + b.len());
                    v.push(SNode::Op(o));
                    v.extend(a);
                    v.extend(b);
                    (v, e2)
                }
            }
        }
        let k = self.n_proxies;
        let (mut nodes, _) = build(&self.nodes, 0, k);
        while let [SNode::Op(o), ..] = nodes[..] {
            if o.is_monotone() {
                nodes.remove(0);
            } else {
                break;
            }
        }
        if let [SNode::Term(t)] = nodes[..] {
            nodes = vec![SNode::Term((usize::from(t) % k) as u16)];
        }
        Self {
            nodes,
            n_proxies: k,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Random generation and variation

/// The terminals a search draws from: all `3k` of `k` proxies, or, `pool_free`, only the raw
/// scores and their logs (`2k`; no `Rank`, so a formula's value never depends on a pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSet {
    /// Number of proxies `k`.
    pub n_proxies: usize,
    /// Leave out the rank terminals.
    pub pool_free: bool,
}

impl TermSet {
    /// All `3k` terminals of `n_proxies` proxies.
    #[must_use]
    pub fn all(n_proxies: usize) -> Self {
        Self {
            n_proxies,
            pool_free: false,
        }
    }

    /// Number of terminals drawn from.
    #[must_use]
    pub fn count(self) -> usize {
        if self.pool_free {
            2 * self.n_proxies
        } else {
            3 * self.n_proxies
        }
    }

    fn draw<R: Rng>(self, rng: &mut R) -> u16 {
        let i = rng.random_range(0..self.count());
        // Pool-free: ids 0..k are raw scores, k..2k map to the log terminals 2k..3k.
        let id = if self.pool_free && i >= self.n_proxies {
            i + self.n_proxies
        } else {
            i
        };
        id as u16
    }
}

fn random_node<R: Rng>(rng: &mut R, leaf: bool, ops: &[SOp], terms: TermSet) -> SNode {
    if leaf {
        SNode::Term(terms.draw(rng))
    } else {
        SNode::Op(ops[rng.random_range(0..ops.len())])
    }
}

/// A random formula of height drawn from `min_h..=max_h`, full or grow with equal probability
/// (ramped half-and-half, as [`super::variation::generate`]).
pub fn generate<R: Rng>(
    rng: &mut R,
    min_h: usize,
    max_h: usize,
    ops: &[SOp],
    terms: TermSet,
) -> STree {
    let n_terms = terms.count();
    let max_h = max_h.max(min_h);
    let grow = rng.random_bool(0.5);
    let h = rng.random_range(min_h..=max_h);
    let ratio = n_terms as f64 / (n_terms + ops.len()) as f64;
    let mut nodes = Vec::new();
    let mut stack = vec![0usize];
    while let Some(d) = stack.pop() {
        let leaf = ops.is_empty() || d >= h || (grow && d >= min_h && rng.random::<f64>() < ratio);
        let node = random_node(rng, leaf, ops, terms);
        nodes.push(node);
        for _ in 0..node.arity() {
            stack.push(d + 1);
        }
    }
    STree {
        nodes,
        n_proxies: terms.n_proxies,
    }
}

/// Search hyperparameters (JSON-serialisable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreGpConfig {
    /// Formulas per generation.
    pub population: usize,
    /// Generations after the initial population.
    pub generations: usize,
    /// Tournament size.
    pub tournament: usize,
    /// Best distinct formulas copied unchanged into the next generation.
    pub elite: usize,
    /// Probability of crossover.
    pub cxpb: f64,
    /// Probability of a mutation (subtree, point or hoist, equally likely); reproduction takes
    /// the rest.
    pub mutpb: f64,
    /// Height range of the initial formulas and of the subtrees that mutation inserts.
    pub init_height: (usize, usize),
    /// Largest height of a formula.
    pub max_height: usize,
    /// Largest number of nodes of a formula.
    pub max_nodes: usize,
    /// Architectures drawn from each task per generation (0 = all).
    pub archs_per_task: usize,
    /// `"min"` or `"mean"` of the per-task Kendall taus.
    pub aggregate: String,
    /// Fitness penalty per node.
    pub parsimony: f64,
    /// Distinct formulas kept in the hall of fame and re-scored at the end.
    pub hall_of_fame: usize,
    /// Operation names allowed (empty = all).
    pub ops: Vec<String>,
    /// Pool-free formulas only: no `Rank` terminals and no pool operations (`Rank`,
    /// `Zscore`), so that a formula scores one architecture alone without a reference pool
    /// (e.g. as the operation score of Zero-Cost-PT, whose supernets lie outside any pool of
    /// stand-alone networks).
    pub pool_free: bool,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for ScoreGpConfig {
    fn default() -> Self {
        Self {
            population: 200,
            generations: 40,
            tournament: 5,
            elite: 4,
            cxpb: 0.5,
            mutpb: 0.4,
            init_height: (1, 3),
            max_height: 6,
            max_nodes: 25,
            archs_per_task: 500,
            aggregate: "min".into(),
            parsimony: 0.001,
            hall_of_fame: 30,
            ops: Vec::new(),
            pool_free: false,
            seed: 0,
        }
    }
}

impl ScoreGpConfig {
    fn validate(&self) -> Result<Vec<SOp>> {
        let check = |ok: bool, name: &'static str, why: &str| {
            if ok {
                Ok(())
            } else {
                Err(bad(name, why.into()))
            }
        };
        check(
            (2..=1_000_000).contains(&self.population),
            "population",
            "must be 2..=1000000",
        )?;
        check(
            self.generations <= 100_000,
            "generations",
            "must be <= 100000",
        )?;
        check(
            (1..=self.population).contains(&self.tournament),
            "tournament",
            "must be 1..=population",
        )?;
        check(
            self.elite < self.population,
            "elite",
            "must be < population",
        )?;
        check(
            self.cxpb >= 0.0 && self.mutpb >= 0.0 && self.cxpb + self.mutpb <= 1.0,
            "cxpb",
            "cxpb and mutpb must be >= 0 with a sum <= 1",
        )?;
        check(
            self.init_height.0 <= self.init_height.1 && self.init_height.1 <= self.max_height,
            "init_height",
            "need min <= max <= max_height",
        )?;
        check(self.max_height <= 16, "max_height", "must be at most 16")?;
        check(
            (1..=1023).contains(&self.max_nodes),
            "max_nodes",
            "must be 1..=1023",
        )?;
        check(
            self.aggregate == "min" || self.aggregate == "mean",
            "aggregate",
            "must be 'min' or 'mean'",
        )?;
        check(
            self.parsimony.is_finite() && self.parsimony >= 0.0,
            "parsimony",
            "must be finite and >= 0",
        )?;
        check(self.hall_of_fame >= 1, "hall_of_fame", "must be >= 1")?;
        check(
            self.archs_per_task == 0 || self.archs_per_task >= 3,
            "archs_per_task",
            "must be 0 (all) or at least 3",
        )?;
        let ops: Vec<SOp> = if self.ops.is_empty() {
            SOp::ALL.to_vec()
        } else {
            self.ops
                .iter()
                .map(|n| {
                    SOp::from_name(n).ok_or_else(|| bad("ops", format!("unknown operation {n:?}")))
                })
                .collect::<Result<_>>()?
        };
        if !self.pool_free {
            return Ok(ops);
        }
        let ops: Vec<SOp> = ops
            .into_iter()
            .filter(|o| !matches!(o, SOp::Rank | SOp::Zscore))
            .collect();
        if ops.is_empty() {
            return Err(bad(
                "ops",
                "pool_free leaves no operation (Rank and Zscore are pool operations)".into(),
            ));
        }
        Ok(ops)
    }
}

/// One task: `columns[j]` holds the scores of proxy `j` for its `n` architectures, `truth`
/// their ground truth (higher = better). All values finite, `n >= 3`.
#[derive(Debug, Clone)]
pub struct ScoreTask {
    /// Proxy columns.
    pub columns: Vec<Vec<f64>>,
    /// Ground truth.
    pub truth: Vec<f64>,
}

impl ScoreTask {
    /// From a row-major `(n, k)` score matrix and the `(n,)` ground truth.
    pub fn from_rows(scores: &[f64], n: usize, k: usize, truth: &[f64]) -> Result<Self> {
        if scores.len() != n * k || truth.len() != n {
            return Err(bad(
                "tasks",
                format!(
                    "scores of {} values and truth of {} for ({n}, {k})",
                    scores.len(),
                    truth.len()
                ),
            ));
        }
        if n < 3 {
            return Err(bad(
                "tasks",
                format!("need at least 3 architectures, got {n}"),
            ));
        }
        if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::NonFiniteAt {
                name: "scores",
                row: i / k,
                column: i % k,
                value: scores[i],
                remedy: "clean the task first (zcnas.analysis.TaskData is finite)",
            });
        }
        if let Some(i) = truth.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                name: "truth",
                index: i,
                value: truth[i],
            });
        }
        let columns = (0..k)
            .map(|j| (0..n).map(|i| scores[i * k + j]).collect())
            .collect();
        Ok(Self {
            columns,
            truth: truth.to_vec(),
        })
    }

    fn len(&self) -> usize {
        self.truth.len()
    }
}

/// One scored formula.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreIndividual {
    /// The formula in call syntax.
    pub expr: String,
    /// Aggregated tau minus the parsimony penalty; `None` when invalid on some task.
    pub fitness: Option<f64>,
    /// Kendall tau on each task (`None` where undefined).
    pub taus: Vec<Option<f64>>,
    /// Number of nodes.
    pub size: usize,
    /// Generation it was last scored in (`generations + 1` for the final re-scoring).
    pub generation: usize,
}

/// Summary of one generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreGenStats {
    /// Generation (0 = initial).
    pub generation: usize,
    /// Best fitness.
    pub best: Option<f64>,
    /// Median of the defined fitnesses.
    pub median: Option<f64>,
    /// Formulas with a defined fitness.
    pub n_valid: usize,
    /// Mean size of the population.
    pub mean_size: f64,
    /// Wall time.
    pub seconds: f64,
}

/// Result of [`evolve_scores`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreGpResult {
    /// The configuration used.
    pub config: ScoreGpConfig,
    /// Proxy names (terminal order).
    pub proxies: Vec<String>,
    /// Hall of fame and final population re-scored on all architectures, best first.
    pub best: Vec<ScoreIndividual>,
    /// One entry per generation.
    pub history: Vec<ScoreGenStats>,
    /// Formulas evaluated in total.
    pub evaluations: usize,
    /// Wall time of the search.
    pub seconds: f64,
}

fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Terminal columns of the sampled rows of one task: raw, rank and log, `3k` columns.
struct Pool {
    terms: Vec<Vec<f64>>,
    truth: Vec<f64>,
}

impl Pool {
    fn new(task: &ScoreTask, rows: Option<&[usize]>) -> Self {
        let pick = |c: &[f64]| -> Vec<f64> {
            match rows {
                Some(r) => r.iter().map(|&i| c[i]).collect(),
                None => c.to_vec(),
            }
        };
        let raw: Vec<Vec<f64>> = task.columns.iter().map(|c| pick(c)).collect();
        let n = task.len();
        let m = rows.map_or(n, <[usize]>::len);
        let mut terms = raw.clone();
        terms.extend(raw.iter().map(|c| pool_rank(c, m)));
        terms.extend(raw.iter().map(|c| c.iter().map(|&x| slog(x)).collect()));
        Self {
            terms,
            truth: pick(&task.truth),
        }
    }

    /// The formula's values on this pool, or `None` unless all are finite.
    fn values(&self, tree: &STree) -> Option<Vec<f64>> {
        let v = tree.eval_with(self.truth.len(), |t| self.terms[t].clone());
        (v.len() == self.truth.len() && v.iter().all(|x| x.is_finite())).then_some(v)
    }

    fn tau(&self, tree: &STree) -> Option<f64> {
        let v = self.values(tree)?;
        kendall_tau(&v, &self.truth, NanPolicy::Raise)
            .ok()
            .filter(|t| t.is_finite())
    }
}

/// Rows of the fixed pools on which hall-of-fame candidates are compared for rank equivalence.
const SIGNATURE_ROWS: usize = 1024;

/// A fingerprint of the ordering `tree` gives each pool (dense ranks, ties kept), or `None`
/// where it is invalid. Formulas that are strictly increasing functions of each other on the
/// pools (`x`, `Add(x, x)`, `Div(x, Sigmoid(Rank(y)))` when ...) have equal fingerprints, hence
/// equal Kendall tau against any ground truth there.
fn rank_signature(pools: &[Pool], tree: &STree) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in pools {
        let v = p.values(tree)?;
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut dense = vec![0u32; v.len()];
        let mut r = 0u32;
        for w in 1..idx.len() {
            if v[idx[w]] != v[idx[w - 1]] {
                r += 1;
            }
            dense[idx[w]] = r;
        }
        dense.hash(&mut h);
    }
    Some(h.finish())
}

struct Search<'a> {
    cfg: &'a ScoreGpConfig,
    ops: Vec<SOp>,
    k: usize,
    names: &'a [String],
}

impl Search<'_> {
    fn terms(&self) -> TermSet {
        TermSet {
            n_proxies: self.k,
            pool_free: self.cfg.pool_free,
        }
    }

    fn score(&self, pools: &[Pool], trees: &[STree], generation: usize) -> Vec<ScoreIndividual> {
        trees
            .par_iter()
            .map(|t| {
                let taus: Vec<Option<f64>> = pools.iter().map(|p| p.tau(t)).collect();
                let all: Option<Vec<f64>> = taus.iter().copied().collect();
                let fitness = all.filter(|v| !v.is_empty()).map(|v| {
                    let agg = if self.cfg.aggregate == "mean" {
                        v.iter().sum::<f64>() / v.len() as f64
                    } else {
                        v.iter().copied().fold(f64::INFINITY, f64::min)
                    };
                    agg - self.cfg.parsimony * t.len() as f64
                });
                ScoreIndividual {
                    expr: t.format(self.names),
                    fitness,
                    taus,
                    size: t.len(),
                    generation,
                }
            })
            .collect()
    }

    fn fits(&self, t: &STree) -> bool {
        t.len() <= self.cfg.max_nodes && t.height() <= self.cfg.max_height
    }

    fn child(&self, rng: &mut ChaCha8Rng, parents: &[&STree]) -> STree {
        let c = self.cfg;
        let (lo, hi) = c.init_height;
        let r: f64 = rng.random();
        let p = parents[rng.random_range(0..parents.len())];
        let out = if r < c.cxpb && parents.len() >= 2 {
            let q = parents[rng.random_range(0..parents.len())];
            if p.len() < 2 || q.len() < 2 {
                p.clone()
            } else {
                let i = rng.random_range(1..p.len());
                let j = rng.random_range(1..q.len());
                p.replace(i, &q.nodes[j..subtree_end(&q.nodes, j)])
            }
        } else if r < c.cxpb + c.mutpb {
            match rng.random_range(0..3u8) {
                0 => {
                    let i = rng.random_range(0..p.len());
                    let sub = generate(rng, lo.min(1), hi, &self.ops, self.terms());
                    p.replace(i, &sub.nodes)
                }
                1 => {
                    let i = rng.random_range(0..p.len());
                    let mut t = p.clone();
                    t.nodes[i] = match p.nodes[i] {
                        SNode::Term(_) => random_node(rng, true, &self.ops, self.terms()),
                        SNode::Op(o) => {
                            let same: Vec<SOp> = self
                                .ops
                                .iter()
                                .copied()
                                .filter(|x| x.arity() == o.arity())
                                .collect();
                            if same.is_empty() {
                                SNode::Op(o)
                            } else {
                                SNode::Op(same[rng.random_range(0..same.len())])
                            }
                        }
                    };
                    t
                }
                _ => {
                    let i = rng.random_range(0..p.len());
                    STree {
                        nodes: p.nodes[i..subtree_end(&p.nodes, i)].to_vec(),
                        n_proxies: self.k,
                    }
                }
            }
        } else {
            p.clone()
        };
        let out = out.simplify_for_ranking();
        if self.fits(&out) {
            out
        } else {
            p.clone()
        }
    }
}

fn sample_rows(rng: &mut ChaCha8Rng, n: usize, m: usize) -> Option<Vec<usize>> {
    if m == 0 || m >= n {
        return None;
    }
    let mut idx = sample(rng, n, m).into_vec();
    idx.sort_unstable();
    Some(idx)
}

/// Run the score-level search over `tasks` (proxy columns in `names` order).
///
/// Errors: invalid configuration, names or tasks (fewer than 3 architectures, a column count
/// other than `names.len()`).
#[allow(clippy::too_many_lines)]
pub fn evolve_scores(
    names: &[String],
    tasks: &[ScoreTask],
    cfg: &ScoreGpConfig,
) -> Result<ScoreGpResult> {
    let start = Instant::now();
    let ops = cfg.validate()?;
    check_names(names)?;
    if tasks.is_empty() {
        return Err(bad("tasks", "no task given".into()));
    }
    let k = names.len();
    for (i, t) in tasks.iter().enumerate() {
        if t.columns.len() != k || t.columns.iter().any(|c| c.len() != t.len()) || t.len() < 3 {
            return Err(bad(
                "tasks",
                format!("task {i}: need {k} proxy columns of its >= 3 architectures"),
            ));
        }
    }
    let s = Search { cfg, ops, k, names };
    let mut rng = rng_for(cfg.seed, 0);
    let mut pop: Vec<STree> = (0..cfg.population)
        .map(|_| {
            generate(
                &mut rng,
                cfg.init_height.0,
                cfg.init_height.1,
                &s.ops,
                s.terms(),
            )
            .simplify_for_ranking()
        })
        .map(|t| {
            if s.fits(&t) {
                t
            } else {
                STree {
                    nodes: vec![SNode::Term(0)],
                    n_proxies: k,
                }
            }
        })
        .collect();
    let mut history = Vec::new();
    // Hall of fame: (formula, its best scoring, rank signature on the fixed pools); one
    // member per rank-equivalence class (the one with the best key: shorter under parsimony).
    let mut hof: Vec<(STree, ScoreIndividual, Option<u64>)> = Vec::new();
    let sig_pools: Vec<Pool> = tasks
        .iter()
        .map(|t| {
            let rows: Vec<usize> = (0..t.len().min(SIGNATURE_ROWS)).collect();
            Pool::new(t, Some(&rows))
        })
        .collect();
    let mut evaluations = 0usize;
    for g in 0..=cfg.generations {
        let t0 = Instant::now();
        let mut grng = rng_for(cfg.seed, g as u64 + 1);
        let pools: Vec<Pool> = tasks
            .iter()
            .map(|t| {
                let rows = sample_rows(&mut grng, t.len(), cfg.archs_per_task);
                Pool::new(t, rows.as_deref())
            })
            .collect();
        let inds = s.score(&pools, &pop, g);
        evaluations += inds.len();
        let mut fits: Vec<f64> = inds.iter().filter_map(|i| i.fitness).collect();
        fits.sort_by(f64::total_cmp);
        history.push(ScoreGenStats {
            generation: g,
            best: fits.last().copied(),
            median: (!fits.is_empty()).then(|| fits[fits.len() / 2]),
            n_valid: fits.len(),
            mean_size: pop.iter().map(STree::len).sum::<usize>() as f64 / pop.len() as f64,
            seconds: t0.elapsed().as_secs_f64(),
        });
        // Only individuals above the full hall of fame's last key can enter it or replace an
        // equivalent member, so only they need a signature.
        let floor = if hof.len() >= cfg.hall_of_fame {
            hof.last().map_or(f64::NEG_INFINITY, |h| key(&h.1))
        } else {
            f64::NEG_INFINITY
        };
        for (t, ind) in pop.iter().zip(&inds) {
            if ind.fitness.is_none() || key(ind) <= floor {
                continue;
            }
            if let Some(h) = hof.iter_mut().find(|h| h.0 == *t) {
                if ind.fitness > h.1.fitness {
                    h.1 = ind.clone();
                }
                continue;
            }
            let sig = rank_signature(&sig_pools, t);
            if let Some(h) = hof.iter_mut().find(|h| sig.is_some() && h.2 == sig) {
                if key(ind) > key(&h.1) {
                    *h = (t.clone(), ind.clone(), sig);
                }
            } else {
                hof.push((t.clone(), ind.clone(), sig));
            }
        }
        hof.sort_by(|a, b| key(&b.1).total_cmp(&key(&a.1)));
        hof.truncate(cfg.hall_of_fame);
        if g == cfg.generations {
            break;
        }
        // Next generation: elites, then children of tournament winners.
        let fit: Vec<f64> = inds.iter().map(|i| i.fitness.unwrap_or(f64::NAN)).collect();
        let mut order: Vec<usize> = (0..pop.len()).filter(|&i| fit[i].is_finite()).collect();
        order.sort_by(|&a, &b| fit[b].total_cmp(&fit[a]));
        let mut seen = HashSet::new();
        let mut next: Vec<STree> = Vec::with_capacity(cfg.population);
        for &i in &order {
            if next.len() >= cfg.elite {
                break;
            }
            if seen.insert(pop[i].clone()) {
                next.push(pop[i].clone());
            }
        }
        let winners = tournament(&mut grng, &fit, cfg.population, cfg.tournament);
        let parents: Vec<&STree> = winners.iter().map(|&i| &pop[i]).collect();
        while next.len() < cfg.population {
            next.push(s.child(&mut grng, &parents));
        }
        pop = next;
    }
    // Final re-scoring on every architecture of every task.
    let full: Vec<Pool> = tasks.iter().map(|t| Pool::new(t, None)).collect();
    let mut cands: Vec<STree> = hof.into_iter().map(|h| h.0).collect();
    let mut seen: HashSet<STree> = cands.iter().cloned().collect();
    for t in pop {
        if seen.insert(t.clone()) {
            cands.push(t);
        }
    }
    let scored = s.score(&full, &cands, cfg.generations + 1);
    evaluations += scored.len();
    let sigs: Vec<Option<u64>> = cands.par_iter().map(|t| rank_signature(&full, t)).collect();
    let mut order: Vec<usize> = (0..scored.len())
        .filter(|&i| scored[i].fitness.is_some())
        .collect();
    order.sort_by(|&a, &b| key(&scored[b]).total_cmp(&key(&scored[a])));
    // One formula per class of equal orderings on all architectures (equal taus on every
    // task): the best key, i.e. the shortest under parsimony.
    let mut seen_sig = HashSet::new();
    order.retain(|&i| sigs[i].is_none_or(|g| seen_sig.insert(g)));
    order.truncate(cfg.hall_of_fame);
    let best: Vec<ScoreIndividual> = order.into_iter().map(|i| scored[i].clone()).collect();
    Ok(ScoreGpResult {
        config: cfg.clone(),
        proxies: names.to_vec(),
        best,
        history,
        evaluations,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn key(i: &ScoreIndividual) -> f64 {
    i.fitness.unwrap_or(f64::NEG_INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["snip".into(), "grad_norm".into(), "az-x".into()]
    }

    #[test]
    fn parse_format_round_trip() {
        let n = names();
        for s in [
            "snip",
            "Rank(snip)",
            "Log(az-x)",
            "Add(Rank(snip), Div(Log(grad_norm), Neg(az-x)))",
            "Rank(Add(snip, grad_norm))",
            "Log(Log(snip))",
        ] {
            let t = STree::parse(s, &n).unwrap();
            assert_eq!(t.format(&n), s);
        }
        assert_eq!(STree::parse("Rank(snip)", &n).unwrap().len(), 1);
        assert_eq!(
            STree::parse("Add(snip,Rank(az-x))", &n).unwrap().proxies(),
            vec![0, 2]
        );
        for b in [
            "",
            "Add(snip)",
            "Foo(snip)",
            "snip snip",
            "Add(snip, ",
            "Rank snip",
            "x",
        ] {
            assert!(STree::parse(b, &n).is_err(), "{b}");
        }
        let deep = format!("{}snip{}", "Neg(".repeat(10_000), ")".repeat(10_000));
        assert!(STree::parse(&deep, &n).is_err());
        assert!(check_names(&["Add".to_string()]).is_err());
    }

    #[test]
    fn simplification_keeps_the_ranking() {
        let n = names();
        let t = |s: &str| STree::parse(s, &n).unwrap();
        let cases = [
            ("Rank(Log(Rank(snip)))", "snip"),
            (
                "Sigmoid(Add(Rank(Exp(snip)), Log(grad_norm)))",
                "Add(Rank(snip), Log(grad_norm))",
            ),
            (
                "Mul(Neg(Neg(az-x)), Rank(Zscore(Add(snip, az-x))))",
                "Mul(az-x, Rank(Add(snip, az-x)))",
            ),
        ];
        let cols: Vec<Vec<f64>> = (0..3)
            .map(|j| {
                (0..30)
                    .map(|i| f64::from((i * (7 + 4 * j) + 3) % 31) - 9.0)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let truth: Vec<f64> = (0..30).map(f64::from).collect();
        for (a, b) in cases {
            let s = t(a).simplify_for_ranking();
            assert_eq!(s.format(&n), b);
            let ta = kendall_tau(&t(a).eval(&refs, 30).unwrap(), &truth, NanPolicy::Raise).unwrap();
            let tb = kendall_tau(&s.eval(&refs, 30).unwrap(), &truth, NanPolicy::Raise).unwrap();
            assert!((ta - tb).abs() < 1e-12, "{a}: {ta} {tb}");
        }
    }

    #[test]
    fn prepared_reference_equals_the_joint_evaluation() {
        let n = names();
        let cols: Vec<Vec<f64>> = (0..3)
            .map(|j| {
                (0..40)
                    .map(|i| f64::from((i * (5 + 3 * j) + 1) % 17) - 6.0)
                    .collect()
            })
            .collect();
        let all: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let refs: Vec<&[f64]> = cols.iter().map(|c| &c[..25]).collect();
        let query: Vec<&[f64]> = cols.iter().map(|c| &c[25..]).collect();
        let mut rng = rng_for(5, 0);
        for _ in 0..300 {
            let t = generate(&mut rng, 1, 5, SOp::ALL, TermSet::all(3));
            let joint = t.eval(&all, 25).unwrap();
            let alone = t.prepare(&refs).unwrap().eval(&query).unwrap();
            for (a, b) in joint[25..].iter().zip(&alone) {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{}",
                    t.format(&n)
                );
            }
        }
    }

    #[test]
    fn rank_matches_average_ranks_and_reference() {
        let a = [3.0, 1.0, 3.0, 2.0];
        assert_eq!(pool_rank(&a, 4), vec![3.5 / 4.0, 0.25, 3.5 / 4.0, 0.5]);
        // query rows ranked against the reference only
        let b = [1.0, 2.0, 3.0, 2.5, 0.0, 9.0];
        let r = pool_rank(&b, 3);
        assert_eq!(r[3], 2.5 / 3.0);
        assert_eq!(r[4], 0.5 / 3.0);
        assert_eq!(r[5], 3.5 / 3.0);
    }

    #[test]
    fn evolve_is_deterministic_and_finds_signal() {
        let mut rng = rng_for(1, 0);
        let n = 120;
        let mk = |rng: &mut ChaCha8Rng| {
            let a: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            let b: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            let c: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            let truth: Vec<f64> = (0..n).map(|i| a[i] - b[i]).collect();
            ScoreTask {
                columns: vec![a, b, c],
                truth,
            }
        };
        let tasks = vec![mk(&mut rng), mk(&mut rng)];
        let cfg = ScoreGpConfig {
            population: 60,
            generations: 8,
            archs_per_task: 60,
            ..Default::default()
        };
        let r1 = evolve_scores(&names(), &tasks, &cfg).unwrap();
        let r2 = evolve_scores(&names(), &tasks, &cfg).unwrap();
        assert_eq!(r1.best, r2.best);
        let best = r1.best[0].fitness.unwrap();
        assert!(best > 0.8, "{best} {}", r1.best[0].expr);
    }

    #[test]
    fn hall_of_fame_holds_one_formula_per_ranking() {
        let mut rng = rng_for(3, 0);
        let n = 150;
        let mk = |rng: &mut ChaCha8Rng| {
            let a: Vec<f64> = (0..n).map(|_| rng.random::<f64>() + 0.1).collect();
            let b: Vec<f64> = (0..n).map(|_| rng.random::<f64>() + 0.1).collect();
            let c: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            // one proxy is the truth: x, Add(x, x), Mul(x, x), Max(x, Sqrt(x)), ... all
            // rank it perfectly and would fill the hall of fame
            let truth = a.clone();
            ScoreTask {
                columns: vec![a, b, c],
                truth,
            }
        };
        let tasks = vec![mk(&mut rng), mk(&mut rng)];
        let cfg = ScoreGpConfig {
            population: 80,
            generations: 10,
            hall_of_fame: 30,
            ..Default::default()
        };
        let r = evolve_scores(&names(), &tasks, &cfg).unwrap();
        let full: Vec<Pool> = tasks.iter().map(|t| Pool::new(t, None)).collect();
        let mut seen = HashSet::new();
        for ind in &r.best {
            let t = STree::parse(&ind.expr, &names()).unwrap();
            // independent check: the dense ranks themselves, not their hash
            let ranks: Vec<Vec<usize>> = full
                .iter()
                .map(|p| {
                    let v = p.values(&t).unwrap();
                    let mut u = v.clone();
                    u.sort_by(f64::total_cmp);
                    u.dedup();
                    v.iter().map(|x| u.partition_point(|y| y < x)).collect()
                })
                .collect();
            assert!(seen.insert(ranks), "rank-equivalent duplicate {}", ind.expr);
        }
        assert!(r.best.len() >= 5, "{}", r.best.len());
    }

    #[test]
    fn pool_free_search_never_uses_the_pool() {
        let mut rng = rng_for(2, 0);
        let n = 100;
        let a: Vec<f64> = (0..n).map(|_| rng.random::<f64>() + 0.1).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.random::<f64>() + 0.1).collect();
        let truth: Vec<f64> = (0..n).map(|i| a[i].ln() - b[i]).collect();
        let tasks = vec![ScoreTask {
            columns: vec![a, b, vec![1.0; n]],
            truth,
        }];
        let cfg = ScoreGpConfig {
            population: 80,
            generations: 10,
            pool_free: true,
            hall_of_fame: 50,
            ..Default::default()
        };
        let r = evolve_scores(&names(), &tasks, &cfg).unwrap();
        assert!(r.best[0].fitness.unwrap() > 0.8, "{}", r.best[0].expr);
        for ind in &r.best {
            let t = STree::parse(&ind.expr, &names()).unwrap();
            assert!(!t.uses_pool(), "{}", ind.expr);
        }
        // Every op is a pool op: refused, not an empty search.
        let only_pool = ScoreGpConfig {
            ops: vec!["Rank".into(), "Zscore".into()],
            pool_free: true,
            ..Default::default()
        };
        assert!(evolve_scores(&names(), &tasks, &only_pool).is_err());
    }
}
