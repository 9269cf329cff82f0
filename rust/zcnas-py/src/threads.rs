//! The dedicated rayon pool and the helper every parallel binding goes through.
//!
//! The pool is built lazily with `ZCNAS_NUM_THREADS` threads (default: all cores), its threads
//! are named `zcnas-N`, and `set_num_threads` rebuilds it. It is independent of
//! `torch.set_num_threads`: when torch and zcnas work at the same time, size both so that
//! together they do not exceed the cores. After `os.fork()` (`PyTorch` `DataLoader` workers) the
//! parent's worker threads do not exist in the child, so the child runs every call on a pool
//! of one thread of its own; the Python package registers `_after_fork_in_child` for that.
//!
//! Bound: at most [`max_threads`] threads (256, or the number of CPUs when larger), whether
//! asked through `set_num_threads` or `ZCNAS_NUM_THREADS`; beyond it, or for a value of the
//! variable that is not a positive integer, calls raise `ZcnasError` instead of spending
//! seconds starting threads that only contend (2,000 threads take about 10 s to start).

use crate::errors::PyRes;
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use zcnas_core::CoreError;

static POOL: Mutex<Option<Arc<ThreadPool>>> = Mutex::new(None);
static FORKED_CHILD: AtomicBool = AtomicBool::new(false);

/// Largest pool size accepted: 256, or the number of CPUs when that is larger.
pub fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .max(256)
}

fn check_threads(name: &'static str, n: usize) -> Result<usize, CoreError> {
    let max = max_threads();
    if n == 0 || n > max {
        return Err(CoreError::InvalidParameter {
            name,
            reason: format!("the number of threads must be at least 1 and at most {max}, got {n}"),
        });
    }
    Ok(n)
}

fn default_threads() -> Result<usize, CoreError> {
    match std::env::var("ZCNAS_NUM_THREADS") {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<usize>() {
            Ok(n) => check_threads("ZCNAS_NUM_THREADS", n),
            Err(_) => Err(CoreError::InvalidParameter {
                name: "ZCNAS_NUM_THREADS",
                reason: format!("must be a positive integer, got {v:?}"),
            }),
        },
        _ => Ok(std::thread::available_parallelism().map_or(1, std::num::NonZero::get)),
    }
}

fn build(n: usize) -> Result<ThreadPool, CoreError> {
    ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("zcnas-{i}"))
        .build()
        .map_err(|e| CoreError::InvalidParameter {
            name: "num_threads",
            reason: format!("could not start the thread pool: {e}"),
        })
}

fn pool() -> Result<Arc<ThreadPool>, CoreError> {
    let mut guard = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(p) = guard.as_ref() {
        return Ok(Arc::clone(p));
    }
    let p = Arc::new(build(default_threads()?)?);
    *guard = Some(Arc::clone(&p));
    Ok(p)
}

thread_local! {
    /// In a forked child: a one-thread pool of this process (keyed by pid, so that a fork of
    /// the child builds its own instead of waiting on a thread that does not exist there).
    static CHILD_POOL: RefCell<Option<(u32, Arc<ThreadPool>)>> = const { RefCell::new(None) };
}

fn child_pool() -> Result<Arc<ThreadPool>, CoreError> {
    let pid = std::process::id();
    CHILD_POOL.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some((p, pool)) = cell.as_ref() {
            if *p == pid {
                return Ok(Arc::clone(pool));
            }
        }
        if let Some((_, stale)) = cell.take() {
            // Its worker lives in the parent process; dropping it would wait for it forever.
            std::mem::forget(stale);
        }
        let pool = Arc::new(build(1)?);
        *cell = Some((pid, Arc::clone(&pool)));
        Ok(pool)
    })
}

/// Run `f` on zcnas' pool (a one-thread pool in a forked child). Call it detached.
pub fn install<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, CoreError> {
    if FORKED_CHILD.load(Ordering::Relaxed) {
        return Ok(child_pool()?.install(f));
    }
    Ok(pool()?.install(f))
}

/// Release the GIL, run `f` on the pool, and flatten its result: the one path of every
/// parallel binding (extract while attached, compute detached, convert after).
pub fn detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, CoreError> + Send,
) -> PyRes<T> {
    Ok(py.detach(|| install(f))??)
}

/// Resize zcnas' thread pool (it is rebuilt; calls in flight finish on the old one).
/// `n` must be between 1 and [`max_threads`].
#[pyfunction]
fn set_num_threads(n: &Bound<'_, PyAny>) -> PyRes<()> {
    // Any Python int: a negative or huge one is the same parameter error as 0 or 10**6.
    let n = match n.extract::<i64>() {
        Ok(v) => usize::try_from(v).ok(),
        Err(_) if n.is_instance_of::<pyo3::types::PyInt>() => None,
        Err(e) => return Err(e.into()),
    }
    .ok_or_else(|| CoreError::InvalidParameter {
        name: "n",
        reason: format!(
            "the number of threads must be at least 1 and at most {}, got {n}",
            max_threads()
        ),
    })?;
    let p = Arc::new(build(check_threads("n", n)?)?);
    *POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(p);
    Ok(())
}

/// The largest accepted number of threads (see `set_num_threads`).
#[pyfunction]
fn max_num_threads() -> usize {
    max_threads()
}

/// Number of threads zcnas' parallel functions use (1 in a forked child).
#[pyfunction]
fn get_num_threads() -> PyRes<usize> {
    if FORKED_CHILD.load(Ordering::Relaxed) {
        return Ok(1);
    }
    Ok(pool()?.current_num_threads())
}

/// Registered with `os.register_at_fork(after_in_child=...)`.
#[pyfunction]
fn _after_fork_in_child() {
    FORKED_CHILD.store(true, Ordering::Relaxed);
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(max_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_child, m)?)?;
    Ok(())
}
