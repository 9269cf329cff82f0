//! `zcnas._native`: thin `PyO3` bindings over `zcnas-core`.
//!
//! This file only registers the module; each area lives in its own file, and every core error
//! becomes a Python exception in `errors.rs` alone.
// PyO3 receives arguments by value; borrowing them is the binding's whole job.
#![allow(clippy::needless_pass_by_value)]

use pyo3::prelude::*;

mod args;
mod arrays;
mod errors;
mod gp;
mod kernels;
mod rankagg;
mod score_gp;
mod stats;
mod threads;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    threads::register(m)?;
    stats::register(m)?;
    rankagg::register(m)?;
    kernels::register(m)?;
    gp::register(m)?;
    score_gp::register(m)?;
    Ok(())
}
