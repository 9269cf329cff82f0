//! `zcnas-core`: the pure-Rust engine behind zcnas.
//!
//! This crate has no Python dependency. It holds the numeric kernels that zero-cost neural
//! architecture search needs at scale:
//!
//! * [`stats`]: ranks with ties, Kendall tau-b in O(n log n), Spearman rho, Pearson r, top-k
//!   precision and Kendall tau on the true top-p%, each agreeing with `scipy.stats`, plus
//!   batched forms that run over many score vectors in parallel with rayon;
//! * [`rankagg`]: rank aggregation of several proxies into one score (linear, AZ-NAS
//!   non-linear, Borda, Copeland majority vote, weighted), in one shot or incrementally for a
//!   growing pool;
//! * [`gp`] and [`shards`]: EZNAS, the genetic-programming search for proxies over network
//!   statistics stored as safetensors shards.
//!
//! Errors are values of [`CoreError`]; no function panics on user input.
#![deny(missing_docs)]

pub mod error;
pub mod gp;
pub mod kernels;
mod mapped;
pub mod rankagg;
pub mod shards;
pub mod stats;

pub use error::{CoreError, Result};
