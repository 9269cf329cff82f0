//! Fused evaluation of element-wise chains, and the one definition of every element-wise
//! operation and of the sums behind the reductions.
//!
//! A chunk of programs is first turned into a DAG of distinct sub-trees ([`Dag`]: a
//! sub-tree that occurs several times, in one program or in several, is one node, evaluated
//! once per instance). A maximal group of element-wise operations (`Add`, `Sub`, `Mul`, `Lt`,
//! `Gt`, `Eq` and the 14 element-wise unary operations) whose inner nodes are used once is
//! then evaluated in **one pass**: the group becomes a short register program, run over
//! blocks of [`BLOCK`] elements that stay in the L1 cache, so no intermediate tensor is
//! allocated or written to memory. The result goes either into a new tensor, into the buffer
//! of an input that nobody else holds (an in-place map: the input is uniquely owned, and
//! each block is read completely before it is overwritten), or straight into a sum when the
//! group feeds a reduction (`to_scalar`, `NormalizedSum`, `L1Norm`, `FrobeniusNorm`), so
//! that the group's output is never materialised.
//!
//! **Same values as the unfused path.** Every element goes through the same scalar function
//! in both paths ([`unary`], [`binary`] and the block kernels built from them), and every sum
//! goes through [`Acc`] (eight lanes by element index modulo 8, combined in a fixed order),
//! whose result does not depend on how the elements are split into blocks, since [`BLOCK`] is
//! a multiple of 8. Groups whose inputs broadcast other than by a single element (e.g.
//! `(1, C, 1, 1)` against `(1, C, H, W)`) are evaluated operation by operation with the
//! tensor operations of [`super::ops`]. Inputs with a single element are folded into
//! constants. `tests/gp_fused.rs` checks that scores equal the unfused evaluation
//! ([`super::interp::score_network_unfused`]) bit for bit on random programs.

use super::ops::Op;
use super::tensor::{broadcast_shapes, OpError, OpResult, Tensor};
use super::tree::{Node, Tree, N_TERMINALS, TERMINALS};
use std::collections::HashMap;
use std::sync::Arc;

/// Elements per block of the fused kernels (a multiple of 8; 4 KiB of `f64`).
pub const BLOCK: usize = 512;

// ------------------------------------------------------------------------------------------
// Scalar semantics (the single definition used by the fused and the unfused paths)
// ------------------------------------------------------------------------------------------

/// The element-wise unary operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Un {
    Log,
    AbsLog,
    Abs,
    Square,
    Exp,
    Relu,
    Sign,
    Heaviside,
    Invert,
    Sigmoid,
    OnesLike,
    ZerosLike,
    GtZero,
    LtZero,
}

/// The element-wise binary operations (broadcasting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bin {
    Add,
    Sub,
    Mul,
    Lt,
    Gt,
    Eq,
}

impl Un {
    pub(crate) fn of(op: Op) -> Option<Self> {
        Some(match op {
            Op::Log => Self::Log,
            Op::AbsLog => Self::AbsLog,
            Op::Abs => Self::Abs,
            Op::Square => Self::Square,
            Op::Exp => Self::Exp,
            Op::Relu => Self::Relu,
            Op::Sign => Self::Sign,
            Op::Heaviside => Self::Heaviside,
            Op::Invert => Self::Invert,
            Op::Sigmoid => Self::Sigmoid,
            Op::OnesLike => Self::OnesLike,
            Op::ZerosLike => Self::ZerosLike,
            Op::GtZero => Self::GtZero,
            Op::LtZero => Self::LtZero,
            _ => return None,
        })
    }
}

impl Bin {
    pub(crate) fn of(op: Op) -> Option<Self> {
        Some(match op {
            Op::Add => Self::Add,
            Op::Sub => Self::Sub,
            Op::Mul => Self::Mul,
            Op::Lt => Self::Lt,
            Op::Gt => Self::Gt,
            Op::Eq => Self::Eq,
            _ => return None,
        })
    }
}

/// Whether `op` acts element by element.
pub(crate) fn is_elementwise(op: Op) -> bool {
    Un::of(op).is_some() || Bin::of(op).is_some()
}

/// `torch.heaviside(x, 0)`: 1 if `x > 0`, 0 if `x <= 0`, NaN stays NaN.
#[inline]
pub(crate) fn heaviside(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x.is_nan() {
        x
    } else {
        0.0
    }
}

#[inline]
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x * 0.0
    }
}

#[inline]
fn relu(x: f64) -> f64 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

#[inline]
fn b2f(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// `Log`: `ln(x)`, 0 where `x <= 0` (NaN stays NaN).
#[inline]
fn log_pos(x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else if x.is_nan() {
        x // what ln gives, without glibc's slow path for NaN
    } else {
        f64::ln(x)
    }
}

/// `AbsLog`: `ln|x|`, 0 where `x == 0`.
#[inline]
fn abs_log(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else if x.is_nan() {
        x
    } else {
        f64::ln(x.abs())
    }
}

/// `Sigmoid`: `1/(1+exp(-x))`, computed from `exp(-|x|)` so that it never overflows.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + f64::exp(-x))
    } else {
        let e = f64::exp(x);
        e / (1.0 + e)
    }
}

/// One element of a unary element-wise operation.
pub(crate) fn unary(op: Un, x: f64) -> f64 {
    match op {
        Un::Log => log_pos(x),
        Un::AbsLog => abs_log(x),
        Un::Abs => x.abs(),
        Un::Square => x * x,
        Un::Exp => f64::exp(x),
        Un::Relu => relu(x),
        Un::Sign => sign(x),
        Un::Heaviside => heaviside(x),
        Un::Invert => 1.0 / x,
        Un::Sigmoid => sigmoid(x),
        Un::OnesLike => 1.0,
        Un::ZerosLike => 0.0,
        Un::GtZero => b2f(x > 0.0),
        Un::LtZero => b2f(x < 0.0),
    }
}

/// One element of a binary element-wise operation.
pub(crate) fn binary(op: Bin, x: f64, y: f64) -> f64 {
    match op {
        Bin::Add => x + y,
        Bin::Sub => x - y,
        Bin::Mul => x * y,
        Bin::Lt => b2f(x < y),
        Bin::Gt => b2f(x > y),
        Bin::Eq => b2f(x == y),
    }
}

// ------------------------------------------------------------------------------------------
// Block kernels
// ------------------------------------------------------------------------------------------

/// An argument of a block kernel: the destination itself (in place), a slice, or a constant.
#[derive(Clone, Copy)]
pub(crate) enum Arg<'a> {
    Dst,
    S(&'a [f64]),
    C(f64),
}

#[inline]
fn map_with(d: &mut [f64], a: Arg<'_>, mut f: impl FnMut(f64) -> f64) {
    match a {
        Arg::Dst => d.iter_mut().for_each(|x| *x = f(*x)),
        Arg::S(s) => d.iter_mut().zip(s).for_each(|(x, &y)| *x = f(y)),
        Arg::C(c) => d.fill(f(c)),
    }
}

/// The last two distinct arguments of an expensive function (`exp`, `ln`) and its values
/// there. Statistics passed through `GtZero`, `Sign`, `Relu`, comparisons, ... take few
/// distinct values, so most calls become a comparison. Exact: `x == c` implies `f(x)` equals
/// `f(c)` bit for bit for every function cached here (the only distinct equal arguments are
/// `+0` and `-0`, which all of them map to the same value), and NaN never hits.
#[derive(Clone, Copy)]
pub(crate) struct Recent {
    c: [f64; 2],
    y: [f64; 2],
}

impl Recent {
    pub(crate) fn new() -> Self {
        Self {
            c: [f64::NAN; 2],
            y: [f64::NAN; 2],
        }
    }

    #[inline]
    pub(crate) fn get(&mut self, x: f64, f: impl Fn(f64) -> f64) -> f64 {
        let (h0, h1) = (x == self.c[0], x == self.c[1]);
        if h0 | h1 {
            if h0 {
                self.y[0]
            } else {
                self.y[1]
            }
        } else {
            let v = f(x);
            self.c = [x, self.c[0]];
            self.y = [v, self.y[0]];
            v
        }
    }
}

#[inline]
fn map_recent(d: &mut [f64], a: Arg<'_>, f: impl Fn(f64) -> f64) {
    let mut r = Recent::new();
    map_with(d, a, |x| r.get(x, &f));
}

/// `d = op(a)` over a block (`a` a slice of `d`'s length, a constant, or `d` itself).
pub(crate) fn map_block(op: Un, d: &mut [f64], a: Arg<'_>) {
    match op {
        Un::Log => map_recent(d, a, log_pos),
        Un::AbsLog => map_recent(d, a, abs_log),
        Un::Abs => map_with(d, a, f64::abs),
        Un::Square => map_with(d, a, |x| x * x),
        Un::Exp => map_recent(d, a, f64::exp),
        Un::Relu => map_with(d, a, relu),
        Un::Sign => map_with(d, a, sign),
        Un::Heaviside => map_with(d, a, heaviside),
        Un::Invert => map_with(d, a, |x| 1.0 / x),
        Un::Sigmoid => map_recent(d, a, sigmoid),
        Un::OnesLike => d.fill(1.0),
        Un::ZerosLike => d.fill(0.0),
        Un::GtZero => map_with(d, a, |x| b2f(x > 0.0)),
        Un::LtZero => map_with(d, a, |x| b2f(x < 0.0)),
    }
}

#[inline]
fn zip_with(d: &mut [f64], a: Arg<'_>, b: Arg<'_>, f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Arg::Dst, Arg::S(s)) => d.iter_mut().zip(s).for_each(|(x, &y)| *x = f(*x, y)),
        (Arg::Dst, Arg::C(c)) => d.iter_mut().for_each(|x| *x = f(*x, c)),
        (Arg::S(s), Arg::Dst) => d.iter_mut().zip(s).for_each(|(x, &y)| *x = f(y, *x)),
        (Arg::C(c), Arg::Dst) => d.iter_mut().for_each(|x| *x = f(c, *x)),
        (Arg::S(s), Arg::S(t)) => d
            .iter_mut()
            .zip(s.iter().zip(t))
            .for_each(|(x, (&y, &z))| *x = f(y, z)),
        (Arg::S(s), Arg::C(c)) => d.iter_mut().zip(s).for_each(|(x, &y)| *x = f(y, c)),
        (Arg::C(c), Arg::S(s)) => d.iter_mut().zip(s).for_each(|(x, &y)| *x = f(c, y)),
        (Arg::C(c), Arg::C(e)) => d.fill(f(c, e)),
        (Arg::Dst, Arg::Dst) => d.iter_mut().for_each(|x| *x = f(*x, *x)),
    }
}

/// `d = op(a, b)` over a block.
pub(crate) fn zip_block(op: Bin, d: &mut [f64], a: Arg<'_>, b: Arg<'_>) {
    match op {
        Bin::Add => zip_with(d, a, b, |x, y| x + y),
        Bin::Sub => zip_with(d, a, b, |x, y| x - y),
        Bin::Mul => zip_with(d, a, b, |x, y| x * y),
        Bin::Lt => zip_with(d, a, b, |x, y| b2f(x < y)),
        Bin::Gt => zip_with(d, a, b, |x, y| b2f(x > y)),
        Bin::Eq => zip_with(d, a, b, |x, y| b2f(x == y)),
    }
}

/// A unary element-wise operation on a whole tensor (the unfused path).
pub(crate) fn map_tensor(op: Un, a: &Tensor) -> Tensor {
    let mut data = vec![0.0; a.numel()];
    for (d, s) in data.chunks_mut(BLOCK).zip(a.data.chunks(BLOCK)) {
        map_block(op, d, Arg::S(s));
    }
    Tensor {
        shape: a.shape.clone(),
        data,
    }
}

// ------------------------------------------------------------------------------------------
// Sums
// ------------------------------------------------------------------------------------------

/// What a sum adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SumOf {
    /// The values.
    Value,
    /// Their absolute values.
    Abs,
    /// Their squares.
    Square,
}

/// A sum in eight lanes (element `i` goes to lane `i % 8`), fed block by block; blocks must
/// have a length that is a multiple of 8 except the last. The result is the same however
/// the elements are split into such blocks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acc {
    lanes: [f64; 8],
    tail: f64,
}

impl Acc {
    pub(crate) fn new() -> Self {
        Self {
            lanes: [0.0; 8],
            tail: 0.0,
        }
    }

    #[inline]
    fn feed(&mut self, x: &[f64], f: impl Fn(f64) -> f64) {
        let chunks = x.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for (l, &v) in self.lanes.iter_mut().zip(c) {
                *l += f(v);
            }
        }
        for &v in rest {
            self.tail += f(v);
        }
    }

    pub(crate) fn add(&mut self, x: &[f64], of: SumOf) {
        match of {
            SumOf::Value => self.feed(x, |v| v),
            SumOf::Abs => self.feed(x, f64::abs),
            SumOf::Square => self.feed(x, |v| v * v),
        }
    }

    pub(crate) fn total(&self) -> f64 {
        let l = &self.lanes;
        (((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))) + self.tail
    }
}

/// The sum of `f(x)` over a slice, as [`Acc`] computes it.
pub(crate) fn sum(x: &[f64], of: SumOf) -> f64 {
    let mut a = Acc::new();
    a.add(x, of);
    a.total()
}

/// A reduction that consumes a fused group's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduce {
    /// Sum / numel (`to_scalar` mean, `NormalizedSum`).
    Mean,
    /// Sum of |x| / numel (`L1Norm`).
    MeanAbs,
    /// sqrt(sum x²) (`to_scalar` L2, `FrobeniusNorm`).
    Norm2,
}

impl Reduce {
    pub(crate) fn of(op: Op) -> Option<Self> {
        match op {
            Op::NormalizedSum => Some(Self::Mean),
            Op::L1Norm => Some(Self::MeanAbs),
            Op::FrobeniusNorm => Some(Self::Norm2),
            _ => None,
        }
    }

    fn sum_of(self) -> SumOf {
        match self {
            Self::Mean => SumOf::Value,
            Self::MeanAbs => SumOf::Abs,
            Self::Norm2 => SumOf::Square,
        }
    }

    fn finish(self, s: f64, n: usize) -> f64 {
        match self {
            Self::Mean | Self::MeanAbs => s / n as f64,
            Self::Norm2 => s.sqrt(),
        }
    }

    /// The reduction of a whole slice.
    pub(crate) fn apply(self, x: &[f64]) -> f64 {
        self.finish(sum(x, self.sum_of()), x.len())
    }
}

// ------------------------------------------------------------------------------------------
// The DAG of a chunk of programs
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DNode {
    Term(u8),
    Op1(Op, u32),
    Op2(Op, u32, u32),
}

/// Distinct sub-trees of a set of programs, children before parents, with the number of
/// references to each (from parent nodes and from program roots).
#[derive(Debug, Clone)]
pub(crate) struct Dag {
    nodes: Vec<DNode>,
    uses: Vec<u32>,
    /// Root node of each program.
    pub(crate) roots: Vec<u32>,
}

impl Dag {
    pub(crate) fn new(programs: &[&Tree]) -> Self {
        let mut dag = Self {
            nodes: Vec::new(),
            uses: Vec::new(),
            roots: Vec::with_capacity(programs.len()),
        };
        let mut ids = HashMap::new();
        for p in programs {
            let (r, _) = dag.add(p.nodes(), 0, &mut ids);
            dag.uses[r as usize] += 1;
            dag.roots.push(r);
        }
        dag
    }

    fn add(&mut self, nodes: &[Node], start: usize, ids: &mut HashMap<DNode, u32>) -> (u32, usize) {
        let (node, end) = match nodes[start] {
            Node::Term(t) => (DNode::Term(t), start + 1),
            Node::Op(op) if op.arity() == 1 => {
                let (c, end) = self.add(nodes, start + 1, ids);
                (DNode::Op1(op, c), end)
            }
            Node::Op(op) => {
                let (a, mid) = self.add(nodes, start + 1, ids);
                let (b, end) = self.add(nodes, mid, ids);
                (DNode::Op2(op, a, b), end)
            }
        };
        if let Some(&id) = ids.get(&node) {
            return (id, end);
        }
        match node {
            DNode::Term(_) => {}
            DNode::Op1(_, c) => self.uses[c as usize] += 1,
            DNode::Op2(_, a, b) => {
                self.uses[a as usize] += 1;
                self.uses[b as usize] += 1;
            }
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(node);
        self.uses.push(0);
        ids.insert(node, id);
        (id, end)
    }

    /// Number of distinct nodes.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    fn elementwise(&self, id: u32) -> bool {
        match self.nodes[id as usize] {
            DNode::Term(_) => false,
            DNode::Op1(op, _) | DNode::Op2(op, _, _) => is_elementwise(op),
        }
    }

    /// An element-wise node used once: it can be inlined into its consumer.
    fn inlinable(&self, id: u32) -> bool {
        self.uses[id as usize] == 1 && self.elementwise(id)
    }
}

// ------------------------------------------------------------------------------------------
// Per-instance evaluation
// ------------------------------------------------------------------------------------------

/// An operand of a fused group's register program.
#[derive(Debug, Clone)]
enum Opd {
    /// A block register.
    Reg(usize),
    /// An input tensor with the group's number of elements.
    Leaf(usize),
    /// A single value (its shape is kept for the operation-by-operation fallback).
    Const(f64, Vec<usize>),
}

#[derive(Debug, Clone)]
enum Instr {
    Un(Un, usize, Opd),
    Bin(Bin, usize, Opd, Opd),
}

#[derive(Debug, Default)]
struct Group {
    instrs: Vec<Instr>,
    leaves: Vec<Arc<Tensor>>,
    n_regs: usize,
    free: Vec<usize>,
}

impl Group {
    fn reg(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.n_regs += 1;
            self.n_regs - 1
        })
    }
}

/// What a fused group produces.
enum Out {
    Tensor(Tensor),
    Scalar(f64),
}

/// The per-instance evaluator of a [`Dag`]: memoises nodes used more than once.
pub(crate) struct Evaluator<'a> {
    dag: &'a Dag,
    terms: &'a [Option<Arc<Tensor>>; N_TERMINALS],
    memo: Vec<Option<OpResult<Arc<Tensor>>>>,
    regs: Vec<Vec<f64>>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(dag: &'a Dag, terms: &'a [Option<Arc<Tensor>>; N_TERMINALS]) -> Self {
        Self {
            dag,
            terms,
            memo: vec![None; dag.len()],
            regs: Vec::new(),
        }
    }

    /// `to_scalar` of the root of program `k` (`reduce` is [`Reduce::Mean`] or
    /// [`Reduce::Norm2`]).
    pub(crate) fn root_scalar(&mut self, k: usize, reduce: Reduce) -> OpResult<f64> {
        let r = self.dag.roots[k];
        if self.dag.inlinable(r) {
            return match self.fused(r, Some(reduce))? {
                Out::Scalar(v) => Ok(v),
                Out::Tensor(t) => Ok(reduce.apply(&t.data)),
            };
        }
        Ok(reduce.apply(&self.eval(r)?.data))
    }

    /// The root tensor of program `k`.
    pub(crate) fn root_tensor(&mut self, k: usize) -> OpResult<Arc<Tensor>> {
        self.eval(self.dag.roots[k])
    }

    fn eval(&mut self, id: u32) -> OpResult<Arc<Tensor>> {
        let i = id as usize;
        if let Some(v) = &self.memo[i] {
            return v.clone();
        }
        let v = match self.dag.nodes[i] {
            DNode::Term(t) => self.terms[usize::from(t)].clone().ok_or_else(|| {
                OpError(format!(
                    "terminal {} is not loaded",
                    TERMINALS[usize::from(t)]
                ))
            }),
            DNode::Op1(op, _) | DNode::Op2(op, _, _) if is_elementwise(op) => {
                self.fused(id, None).map(|o| match o {
                    Out::Tensor(t) => Arc::new(t),
                    Out::Scalar(v) => Arc::new(Tensor::scalar(v)),
                })
            }
            DNode::Op1(op, c) => match Reduce::of(op) {
                Some(red) if self.dag.inlinable(c) => self.fused(c, Some(red)).map(|o| match o {
                    Out::Scalar(v) => Arc::new(Tensor::scalar(v)),
                    Out::Tensor(t) => Arc::new(Tensor::scalar(red.apply(&t.data))),
                }),
                _ => self.eval(c).and_then(|a| {
                    match Arc::try_unwrap(a) {
                        Ok(t) => op.apply1_owned(t),
                        Err(a) => op.apply1(&a),
                    }
                    .map(Arc::new)
                }),
            },
            DNode::Op2(op, a, b) => self.eval(a).and_then(|a| {
                let b = self.eval(b)?;
                op.apply2(&a, &b).map(Arc::new)
            }),
        };
        if self.dag.uses[i] > 1 {
            self.memo[i] = Some(v.clone());
        }
        v
    }

    /// Add node `id` to the group: inline it if it is the group's root or an element-wise
    /// node used once, else evaluate it as an input. Returns its operand and shape.
    fn build(&mut self, id: u32, g: &mut Group, root: bool) -> OpResult<(Opd, Vec<usize>)> {
        if !(root || self.dag.inlinable(id)) {
            let v = self.eval(id)?;
            return Ok(if v.numel() == 1 {
                (Opd::Const(v.data[0], v.shape.clone()), v.shape.clone())
            } else {
                let shape = v.shape.clone();
                g.leaves.push(v);
                (Opd::Leaf(g.leaves.len() - 1), shape)
            });
        }
        match self.dag.nodes[id as usize] {
            DNode::Op1(op, c) => {
                let u = Un::of(op).ok_or_else(|| OpError(format!("{} is not fused", op.name())))?;
                let (a, shape) = self.build(c, g, false)?;
                let opd = match a {
                    Opd::Const(x, s) => Opd::Const(unary(u, x), s),
                    Opd::Reg(r) => {
                        g.instrs.push(Instr::Un(u, r, Opd::Reg(r)));
                        Opd::Reg(r)
                    }
                    leaf @ Opd::Leaf(_) => {
                        let r = g.reg();
                        g.instrs.push(Instr::Un(u, r, leaf));
                        Opd::Reg(r)
                    }
                };
                Ok((opd, shape))
            }
            DNode::Op2(op, a, b) => {
                let o =
                    Bin::of(op).ok_or_else(|| OpError(format!("{} is not fused", op.name())))?;
                let (x, sa) = self.build(a, g, false)?;
                let (y, sb) = self.build(b, g, false)?;
                let shape = broadcast_shapes(&sa, &sb)?;
                let opd = if let (Opd::Const(p, _), Opd::Const(q, _)) = (&x, &y) {
                    Opd::Const(binary(o, *p, *q), shape.clone())
                } else {
                    // The result goes to the first operand's register if it has one (the
                    // second's is then free again), else to the second's, else a new one.
                    let r = match (&x, &y) {
                        (Opd::Reg(p), Opd::Reg(q)) => {
                            g.free.push(*q);
                            *p
                        }
                        (Opd::Reg(p), _) | (_, Opd::Reg(p)) => *p,
                        _ => g.reg(),
                    };
                    g.instrs.push(Instr::Bin(o, r, x, y));
                    Opd::Reg(r)
                };
                Ok((opd, shape))
            }
            DNode::Term(_) => Err(OpError("a terminal is not an operation".into())),
        }
    }

    /// Evaluate the element-wise group rooted at `id` in one pass, into a tensor or (with
    /// `reduce`) straight into a reduction.
    fn fused(&mut self, id: u32, reduce: Option<Reduce>) -> OpResult<Out> {
        let mut g = Group::default();
        let (root, shape) = self.build(id, &mut g, true)?;
        let n: usize = shape.iter().product();
        let finish = |t: Tensor| match reduce {
            Some(red) => Out::Scalar(red.apply(&t.data)),
            None => Out::Tensor(t),
        };
        let r = match root {
            Opd::Reg(r) => r,
            Opd::Const(c, _) => {
                return Ok(finish(Tensor {
                    shape,
                    data: vec![c; n],
                }))
            }
            Opd::Leaf(i) => return Ok(finish((*g.leaves[i]).clone())),
        };
        if g.leaves.iter().any(|l| l.numel() != n) {
            return Ok(finish(fallback(&g, r)?));
        }
        if self.regs.len() < g.n_regs {
            self.regs.resize_with(g.n_regs, || vec![0.0; BLOCK]);
        }
        // Write the output over an input that no one else holds, if there is one.
        let mut inplace = None;
        let mut out: Vec<f64> = Vec::new();
        if reduce.is_none() {
            if let Some(i) = g.leaves.iter_mut().position(|l| Arc::get_mut(l).is_some()) {
                let t = std::mem::replace(&mut g.leaves[i], Arc::new(Tensor::scalar(0.0)));
                out = Arc::try_unwrap(t).map(|t| t.data).unwrap_or_default();
                if out.len() == n {
                    inplace = Some(i);
                } else {
                    out = Vec::with_capacity(n);
                }
            } else {
                out = Vec::with_capacity(n);
            }
        }
        let mut acc = Acc::new();
        let regs = &mut self.regs;
        let mut o = 0;
        while o < n {
            let e = (o + BLOCK).min(n);
            let len = e - o;
            let slices: Vec<&[f64]> = (0..g.leaves.len())
                .map(|i| {
                    if inplace == Some(i) {
                        &out[o..e]
                    } else {
                        &g.leaves[i].data[o..e]
                    }
                })
                .collect();
            for ins in &g.instrs {
                run(ins, regs, &slices, len);
            }
            drop(slices);
            let res = &regs[r][..len];
            match reduce {
                Some(red) => acc.add(res, red.sum_of()),
                None if inplace.is_some() => out[o..e].copy_from_slice(res),
                None => out.extend_from_slice(res),
            }
            o = e;
        }
        Ok(match reduce {
            Some(red) => Out::Scalar(red.finish(acc.total(), n)),
            None => Out::Tensor(Tensor { shape, data: out }),
        })
    }
}

fn arg<'x>(o: &Opd, dst: usize, regs: &'x [Vec<f64>], leaves: &[&'x [f64]], len: usize) -> Arg<'x> {
    match o {
        Opd::Reg(r) if *r == dst => Arg::Dst,
        Opd::Reg(r) => Arg::S(&regs[*r][..len]),
        Opd::Leaf(i) => Arg::S(leaves[*i]),
        Opd::Const(c, _) => Arg::C(*c),
    }
}

/// One instruction over one block of `len` elements (`leaves`: this block of every input).
fn run(ins: &Instr, regs: &mut [Vec<f64>], leaves: &[&[f64]], len: usize) {
    let dst = match ins {
        Instr::Un(_, d, _) | Instr::Bin(_, d, _, _) => *d,
    };
    // Move the destination register out so that the others can be read meanwhile.
    let mut d = std::mem::take(&mut regs[dst]);
    {
        let ro: &[Vec<f64>] = regs;
        match ins {
            Instr::Un(op, _, a) => map_block(*op, &mut d[..len], arg(a, dst, ro, leaves, len)),
            Instr::Bin(op, _, a, b) => zip_block(
                *op,
                &mut d[..len],
                arg(a, dst, ro, leaves, len),
                arg(b, dst, ro, leaves, len),
            ),
        }
    }
    regs[dst] = d;
}

/// A group whose inputs broadcast other than by one element: operation by operation, with
/// the tensor operations (the same element functions, so the same values).
fn fallback(g: &Group, root: usize) -> OpResult<Tensor> {
    let mut regs: Vec<Option<Tensor>> = vec![None; g.n_regs];
    let tensor = |o: &Opd, regs: &[Option<Tensor>]| -> OpResult<Tensor> {
        Ok(match o {
            Opd::Reg(r) => regs[*r]
                .clone()
                .ok_or_else(|| OpError("register read before it is written".into()))?,
            Opd::Leaf(i) => (*g.leaves[*i]).clone(),
            Opd::Const(c, s) => Tensor {
                shape: s.clone(),
                data: vec![*c],
            },
        })
    };
    for ins in &g.instrs {
        match ins {
            Instr::Un(op, d, a) => {
                let a = tensor(a, &regs)?;
                regs[*d] = Some(map_tensor(*op, &a));
            }
            Instr::Bin(op, d, a, b) => {
                let (a, b) = (tensor(a, &regs)?, tensor(b, &regs)?);
                regs[*d] = Some(zip_tensor(*op, &a, &b)?);
            }
        }
    }
    regs[root]
        .take()
        .ok_or_else(|| OpError("empty fused group".into()))
}

/// A binary element-wise operation on whole tensors, broadcasting (the unfused path).
pub(crate) fn zip_tensor(op: Bin, a: &Tensor, b: &Tensor) -> OpResult<Tensor> {
    let f = |x, y| binary(op, x, y);
    if a.shape == b.shape {
        let mut data = vec![0.0; a.numel()];
        for ((d, x), y) in data
            .chunks_mut(BLOCK)
            .zip(a.data.chunks(BLOCK))
            .zip(b.data.chunks(BLOCK))
        {
            zip_block(op, d, Arg::S(x), Arg::S(y));
        }
        return Ok(Tensor {
            shape: a.shape.clone(),
            data,
        });
    }
    super::tensor::zip_broadcast(a, b, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recent-value cache changes no value: every cached function against a direct call,
    /// bit for bit, on data with repeats, signed zeros, NaN and infinities.
    type Case = (Un, fn(f64) -> f64);

    #[test]
    fn recent_values_are_exact() {
        let mut data = vec![0.0, -0.0, 0.0, 1.0, 1.0, -0.0, f64::NAN, f64::NAN, 2.5];
        data.extend([
            f64::INFINITY,
            f64::NEG_INFINITY,
            -3.0,
            -3.0,
            1e-310,
            800.0,
            -800.0,
        ]);
        data.extend((0..40).map(|i| f64::from(i % 3) - 1.0));
        let cases: [Case; 4] = [
            (Un::Exp, f64::exp),
            (Un::Sigmoid, sigmoid),
            (Un::Log, log_pos),
            (Un::AbsLog, abs_log),
        ];
        for (op, f) in cases {
            let mut got = vec![0.0; data.len()];
            map_block(op, &mut got, Arg::S(&data));
            for (&x, &y) in data.iter().zip(&got) {
                let want = f(x);
                assert!(
                    want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()),
                    "{op:?}({x}) = {y}, expected {want}"
                );
            }
        }
        // The reference values themselves: signed zeros give one value.
        assert_eq!(sigmoid(0.0).to_bits(), sigmoid(-0.0).to_bits());
        assert_eq!(log_pos(-0.0), 0.0);
        assert_eq!(abs_log(-0.0), 0.0);
    }

    #[test]
    fn sums_do_not_depend_on_blocks() {
        let x: Vec<f64> = (0..1000)
            .map(|i| (f64::from(i) * 0.37).sin() * 1e3)
            .collect();
        let whole = sum(&x, SumOf::Value);
        for b in [8, 16, 512] {
            let mut acc = Acc::new();
            for c in x.chunks(b) {
                acc.add(c, SumOf::Value);
            }
            assert_eq!(acc.total().to_bits(), whole.to_bits());
        }
        let exact: f64 = x.iter().sum();
        assert!((whole - exact).abs() <= 1e-9 * x.iter().map(|v| v.abs()).sum::<f64>());
    }
}
