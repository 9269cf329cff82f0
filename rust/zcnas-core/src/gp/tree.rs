//! Expression trees in prefix (Polish) order, as DEAP's `PrimitiveTree`.
//!
//! A program is a flat vector of [`Node`]s: an operation is followed by its arguments' subtrees.
//! Every subtree is a contiguous range, which makes crossover and mutation slice operations and
//! lets the interpreter key common sub-expressions by the slice itself. Formulas read and print
//! as calls: `FrobeniusNorm(Sigmoid(LogDet(Sign(T1GD))))`.

use super::ops::Op;
use crate::error::{CoreError, Result};

/// The 22 terminals in canonical order; the index of a name is its terminal id.
pub const TERMINALS: [&str; 22] = [
    "T1D", "T1N", "T1P", "T2D", "T2N", "T2P", "T3", "T4D", "T4N", "T4P", "T1GD", "T1GN", "T1GP",
    "T2GD", "T2GN", "T2GP", "T3GD", "T3GN", "T3GP", "T4GD", "T4GN", "T4GP",
];

/// Number of terminals.
pub const N_TERMINALS: usize = TERMINALS.len();

/// Largest tree height accepted (parsing, evaluation and printing recurse once per level).
pub const MAX_HEIGHT: usize = 256;

/// Terminal id of a canonical name.
pub fn terminal_id(name: &str) -> Option<u8> {
    TERMINALS.iter().position(|t| *t == name).map(|i| i as u8)
}

/// One node of a tree: an operation or a terminal id (`0..22`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// An operation; its arguments follow.
    Op(Op),
    /// A terminal (network statistic) by id.
    Term(u8),
}

impl Node {
    /// Number of children.
    pub fn arity(self) -> usize {
        match self {
            Self::Op(op) => op.arity(),
            Self::Term(_) => 0,
        }
    }
}

/// A well-formed expression tree in prefix order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    /// A tree from prefix nodes; fails unless they form exactly one complete tree with valid
    /// terminal ids.
    pub fn from_nodes(nodes: Vec<Node>) -> Result<Self> {
        let bad = |reason: String| CoreError::InvalidParameter {
            name: "program",
            reason,
        };
        if nodes.is_empty() {
            return Err(bad("an empty program".into()));
        }
        let mut open = 1usize;
        for (i, n) in nodes.iter().enumerate() {
            if let Node::Term(t) = n {
                if usize::from(*t) >= N_TERMINALS {
                    return Err(bad(format!("terminal id {t} is not below {N_TERMINALS}")));
                }
            }
            if open == 0 {
                return Err(bad(format!("extra nodes after position {i}")));
            }
            open = open - 1 + n.arity();
        }
        if open != 0 {
            return Err(bad(format!("{open} missing argument(s)")));
        }
        let h = height(&nodes);
        if h > MAX_HEIGHT {
            return Err(bad(format!("height {h} exceeds {MAX_HEIGHT}")));
        }
        Ok(Self { nodes })
    }

    /// A tree from nodes known to be well formed (generation code).
    pub(crate) fn from_nodes_unchecked(nodes: Vec<Node>) -> Self {
        debug_assert!(Self::from_nodes(nodes.clone()).is_ok());
        Self { nodes }
    }

    /// Parse a formula such as `Add(T1D, Sign(T3))` (whitespace is ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: String| CoreError::InvalidParameter {
            name: "program",
            reason: format!("cannot parse {text:?}: {reason}"),
        };
        let toks = super::tokenize(text, |c| c.is_alphanumeric() || c == '_').map_err(bad)?;
        let mut nodes = Vec::new();
        let mut pos = 0;
        parse_expr(&toks, &mut pos, &mut nodes, 0).map_err(bad)?;
        if pos != toks.len() {
            return Err(bad(format!(
                "unexpected {:?} after the expression",
                toks[pos]
            )));
        }
        Self::from_nodes(nodes)
    }

    /// The prefix nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false (a tree has at least one node).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// End (exclusive) of the subtree starting at `start`.
    pub fn subtree_end(&self, start: usize) -> usize {
        subtree_end(&self.nodes, start)
    }

    /// Height as DEAP counts it: a lone terminal has height 0.
    pub fn height(&self) -> usize {
        height(&self.nodes)
    }

    /// Sorted, deduplicated terminal ids the tree reads.
    pub fn terminals(&self) -> Vec<u8> {
        let mut t: Vec<u8> = self
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Term(t) => Some(*t),
                Node::Op(_) => None,
            })
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// The tree with the subtree at `start` replaced by `sub` (a complete prefix tree).
    pub(crate) fn replace_subtree(&self, start: usize, sub: &[Node]) -> Self {
        let end = self.subtree_end(start);
        let mut nodes = Vec::with_capacity(self.nodes.len() - (end - start) + sub.len());
        nodes.extend_from_slice(&self.nodes[..start]);
        nodes.extend_from_slice(sub);
        nodes.extend_from_slice(&self.nodes[end..]);
        Self { nodes }
    }
}

impl std::fmt::Display for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn go(
            nodes: &[Node],
            pos: &mut usize,
            f: &mut std::fmt::Formatter<'_>,
        ) -> std::fmt::Result {
            let n = nodes[*pos];
            *pos += 1;
            match n {
                Node::Term(t) => f.write_str(TERMINALS[usize::from(t)]),
                Node::Op(op) => {
                    f.write_str(op.name())?;
                    f.write_str("(")?;
                    for i in 0..op.arity() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        go(nodes, pos, f)?;
                    }
                    f.write_str(")")
                }
            }
        }
        let mut pos = 0;
        go(&self.nodes, &mut pos, f)
    }
}

fn parse_expr(
    toks: &[String],
    pos: &mut usize,
    out: &mut Vec<Node>,
    depth: usize,
) -> std::result::Result<(), String> {
    if depth > MAX_HEIGHT {
        return Err(format!("nesting deeper than {MAX_HEIGHT}"));
    }
    let Some(tok) = toks.get(*pos) else {
        return Err("unexpected end".into());
    };
    *pos += 1;
    if let Some(t) = terminal_id(tok) {
        out.push(Node::Term(t));
        return Ok(());
    }
    let Some(op) = Op::from_name(tok) else {
        return Err(format!("unknown operation or terminal {tok:?}"));
    };
    out.push(Node::Op(op));
    let expect = |s: &str, pos: &mut usize| {
        if toks.get(*pos).map(String::as_str) == Some(s) {
            *pos += 1;
            Ok(())
        } else {
            Err(format!("expected {s:?} in the arguments of {}", op.name()))
        }
    };
    expect("(", pos)?;
    for i in 0..op.arity() {
        if i > 0 {
            expect(",", pos)?;
        }
        parse_expr(toks, pos, out, depth + 1)?;
    }
    expect(")", pos)
}

/// End (exclusive) of the subtree of prefix `nodes` starting at `start`.
pub(crate) fn subtree_end(nodes: &[Node], start: usize) -> usize {
    let mut open = 1usize;
    let mut i = start;
    while open > 0 {
        open = open - 1 + nodes[i].arity();
        i += 1;
    }
    i
}

/// DEAP height of prefix `nodes`.
pub(crate) fn height(nodes: &[Node]) -> usize {
    let mut stack: Vec<usize> = vec![0];
    let mut h = 0;
    for n in nodes {
        let depth = stack.pop().unwrap_or(0);
        h = h.max(depth);
        for _ in 0..n.arity() {
            stack.push(depth + 1);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_print_round_trip() {
        let s = "FrobeniusNorm(Sigmoid(LogDet(Sign(T1GD))))";
        let t = Tree::parse(s).unwrap();
        assert_eq!(t.to_string(), s);
        assert_eq!(t.height(), 4);
        let t = Tree::parse("Add(T1D,  Mul(T3, T4GP))").unwrap();
        assert_eq!(t.to_string(), "Add(T1D, Mul(T3, T4GP))");
        assert_eq!(t.height(), 2);
        assert_eq!(t.terminals(), vec![0, 6, 21]);
        assert_eq!(t.subtree_end(2), 5);
        for bad in [
            "",
            "Add(T1D)",
            "Foo(T1D)",
            "T1D T2D",
            "Sign(T1D",
            "Sign T1D",
            "Add(T1D; T2D)",
        ] {
            assert!(Tree::parse(bad).is_err(), "{bad}");
        }
        assert!(Tree::from_nodes(vec![Node::Term(22)]).is_err());
        let deep = format!("{}T1D{}", "Sign(".repeat(100_000), ")".repeat(100_000));
        assert!(Tree::parse(&deep).is_err());
        let mut nodes = vec![Node::Op(Op::Sign); 300];
        nodes.push(Node::Term(0));
        assert!(Tree::from_nodes(nodes).is_err());
    }
}
