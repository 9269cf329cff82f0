//! Tree generation and variation, following DEAP's `gp` module (which the reference used):
//! `genFull`, `genGrow`, `genHalfAndHalf`, `cxOnePoint`, `mutUniform`, `staticLimit`,
//! `varOr` and `selTournament`. There is a single type (tensor), so every node is a valid
//! crossover point.

use super::ops::Op;
use super::tree::{Node, Tree, N_TERMINALS};
use rand::Rng;

/// Largest height of randomly generated trees (a full binary tree of height h has
/// `2^(h+1) - 1` nodes).
pub const MAX_GEN_HEIGHT: usize = 16;

/// How a random tree is grown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenMethod {
    /// Every branch reaches the drawn height (`genFull`).
    Full,
    /// Branches may stop early with the terminal ratio (`genGrow`).
    Grow,
    /// Full or grow with equal probability (`genHalfAndHalf`; ramped by the height draw).
    HalfAndHalf,
}

/// Fraction of terminals among all primitives (DEAP's `terminalRatio`).
fn terminal_ratio() -> f64 {
    N_TERMINALS as f64 / (N_TERMINALS + Op::ALL.len()) as f64
}

fn random_terminal<R: Rng>(rng: &mut R) -> Node {
    Node::Term(rng.random_range(0..N_TERMINALS) as u8)
}

fn random_op<R: Rng>(rng: &mut R) -> Node {
    Node::Op(Op::ALL[rng.random_range(0..Op::ALL.len())])
}

/// A random tree whose height is drawn uniformly from `min_height..=max_height` (DEAP
/// `generate`): `Full` puts terminals only at that height, `Grow` also stops with probability
/// `terminal_ratio` once `min_height` is reached.
pub fn generate<R: Rng>(
    rng: &mut R,
    min_height: usize,
    max_height: usize,
    method: GenMethod,
) -> Tree {
    let max_height = max_height.max(min_height);
    let method = match method {
        GenMethod::HalfAndHalf => {
            if rng.random_bool(0.5) {
                GenMethod::Grow
            } else {
                GenMethod::Full
            }
        }
        m => m,
    };
    let height = rng.random_range(min_height..=max_height);
    let ratio = terminal_ratio();
    let mut nodes = Vec::new();
    let mut stack = vec![0usize];
    while let Some(depth) = stack.pop() {
        let leaf = depth == height
            || (method == GenMethod::Grow && depth >= min_height && rng.random::<f64>() < ratio);
        let node = if leaf {
            random_terminal(rng)
        } else {
            random_op(rng)
        };
        nodes.push(node);
        for _ in 0..node.arity() {
            stack.push(depth + 1);
        }
    }
    // Prefix order: children were pushed after their parent and are popped depth-first, so
    // the nodes always form one complete tree.
    Tree::from_nodes_unchecked(nodes)
}

/// One-point crossover (`cxOnePoint`): a random non-root node of each parent is picked and the
/// subtrees there are exchanged. Parents with a single node are returned unchanged.
pub fn crossover<R: Rng>(rng: &mut R, a: &Tree, b: &Tree) -> (Tree, Tree) {
    if a.len() < 2 || b.len() < 2 {
        return (a.clone(), b.clone());
    }
    let i = rng.random_range(1..a.len());
    let j = rng.random_range(1..b.len());
    let sa = &a.nodes()[i..a.subtree_end(i)];
    let sb = &b.nodes()[j..b.subtree_end(j)];
    (a.replace_subtree(i, sb), b.replace_subtree(j, sa))
}

/// Uniform subtree mutation (`mutUniform`): a random node's subtree is replaced by a random
/// half-and-half tree of height `min_height..=max_height`.
pub fn mutate<R: Rng>(rng: &mut R, a: &Tree, min_height: usize, max_height: usize) -> Tree {
    let i = rng.random_range(0..a.len());
    let sub = generate(rng, min_height, max_height, GenMethod::HalfAndHalf);
    a.replace_subtree(i, sub.nodes())
}

/// Parameters of [`var_or`].
#[derive(Debug, Clone, Copy)]
pub struct VarOrParams {
    /// Probability of crossover.
    pub cxpb: f64,
    /// Probability of mutation (reproduction takes the rest).
    pub mutpb: f64,
    /// Static height limit: a child above it is replaced by a copy of its parent.
    pub max_height: usize,
    /// Height range of the subtrees mutation inserts.
    pub mut_height: (usize, usize),
}

/// DEAP's `varOr`: `lambda` children, each from crossover of two distinct random parents
/// (the first child is kept), mutation of one, or reproduction (a copy), with the
/// `staticLimit` height decorator on crossover and mutation.
pub fn var_or<R: Rng>(rng: &mut R, parents: &[Tree], lambda: usize, p: VarOrParams) -> Vec<Tree> {
    let mut out = Vec::with_capacity(lambda);
    if parents.is_empty() {
        return out;
    }
    for _ in 0..lambda {
        let r: f64 = rng.random();
        if r < p.cxpb && parents.len() >= 2 {
            let i = rng.random_range(0..parents.len());
            let mut j = rng.random_range(0..parents.len() - 1);
            if j >= i {
                j += 1;
            }
            let (c, _) = crossover(rng, &parents[i], &parents[j]);
            out.push(if c.height() > p.max_height {
                parents[i].clone()
            } else {
                c
            });
        } else if r < p.cxpb + p.mutpb {
            let i = rng.random_range(0..parents.len());
            let c = mutate(rng, &parents[i], p.mut_height.0, p.mut_height.1);
            out.push(if c.height() > p.max_height {
                parents[i].clone()
            } else {
                c
            });
        } else {
            out.push(parents[rng.random_range(0..parents.len())].clone());
        }
    }
    out
}

/// Tournament selection (`selTournament`): `k` winners, each the fittest of `size` aspirants
/// drawn with replacement. NaN fitness loses to everything. Returns indices.
pub fn tournament<R: Rng>(rng: &mut R, fitness: &[f64], k: usize, size: usize) -> Vec<usize> {
    if fitness.is_empty() {
        return Vec::new();
    }
    let key = |i: usize| {
        if fitness[i].is_nan() {
            f64::NEG_INFINITY
        } else {
            fitness[i]
        }
    };
    (0..k)
        .map(|_| {
            let mut best = rng.random_range(0..fitness.len());
            for _ in 1..size.max(1) {
                let c = rng.random_range(0..fitness.len());
                if key(c) > key(best) {
                    best = c;
                }
            }
            best
        })
        .collect()
}
