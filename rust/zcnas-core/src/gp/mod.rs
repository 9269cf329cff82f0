//! EZNAS: zero-cost proxies as expression trees, found by genetic programming (Akhauri et al.,
//! `NeurIPS` 2022).
//!
//! * [`tree`]: prefix expression trees over the 22 terminals ([`TERMINALS`]) and the 34
//!   operations ([`Op`]), parsed from and printed as formulas;
//! * [`ops`]: the operations, their shape rules and safe numeric semantics (a table in the
//!   module documentation);
//! * [`interp`]: evaluation of many programs on many networks in parallel, with common
//!   sub-expression reuse and element-wise chains fused into one pass (`fused.rs`);
//! * [`variation`]: ramped half-and-half generation, one-point crossover, uniform subtree
//!   mutation, `varOr` and tournament selection, as DEAP;
//! * [`evolve`]: the paper's Algorithm 1 with seeded, resumable state and a hall of fame;
//! * [`scores`]: score-level GP, formulas over the proxy scores of whole architectures.
//!
//! All arithmetic is `f64`; statistics stored as `f32`/`f16` are widened when loaded.

pub mod evolve;
mod fused;
pub mod interp;
mod linalg;
pub mod ops;
pub mod scores;
pub mod tensor;
pub mod tree;
pub mod variation;

/// Split a prefix formula such as `Add(x, Log(y))` into identifiers and the punctuation
/// `(`, `)`, `,` (whitespace dropped); `ident` says which characters make up an identifier.
/// Errors with the reason on any other character.
pub(crate) fn tokenize(
    text: &str,
    ident: impl Fn(char) -> bool,
) -> std::result::Result<Vec<String>, String> {
    let mut toks = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ident(ch) {
            cur.push(ch);
        } else {
            if !cur.is_empty() {
                toks.push(std::mem::take(&mut cur));
            }
            match ch {
                '(' | ')' | ',' => toks.push(ch.to_string()),
                c if c.is_whitespace() => {}
                c => return Err(format!("unexpected character {c:?}")),
            }
        }
    }
    if !cur.is_empty() {
        toks.push(cur);
    }
    Ok(toks)
}

pub use evolve::{EvolveConfig, EvolveState, Evolver, GenStats, Individual};
pub use fused::BLOCK;
pub use interp::{
    eval_tensor, eval_tensor_unfused, score_matrix, score_network, score_network_unfused, InMemory,
    InstanceSource, ToScalar,
};
pub use linalg::{EIG_ZERO_RTOL, PIVOT_RTOL};
pub use ops::Op;
pub use tensor::{OpError, Tensor};
pub use tree::{terminal_id, Node, Tree, MAX_HEIGHT, N_TERMINALS, TERMINALS};
