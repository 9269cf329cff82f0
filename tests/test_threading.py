"""The GIL is released around the Rust work, and the thread pool is configurable."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import zcnas
from zcnas import stats


def test_batched_call_releases_the_gil():
    """A pure-Python thread keeps running while a long batched call is in Rust.

    With the GIL held for the whole call the ticker could not advance between `started` and
    `done`; with it released it ticks thousands of times.
    """
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 15_625))
    t = rng.normal(size=15_625)
    ticks = 0
    started = threading.Event()
    done = threading.Event()

    def ticker():
        nonlocal ticks
        started.wait()
        while not done.is_set():
            ticks += 1

    th = threading.Thread(target=ticker)
    th.start()
    started.set()
    time.sleep(0.01)
    before = ticks
    t0 = time.perf_counter()
    stats.kendall_tau_batch(x, t)
    elapsed = time.perf_counter() - t0
    during = ticks - before
    done.set()
    th.join()
    assert elapsed > 0.02, "the call was too short to observe"
    assert during > 1000, f"ticker advanced only {during} times in {elapsed:.3f}s"


def test_two_threads_overlap_in_rust():
    """Two threads' batched calls run at the same time: each thread's call starts before the
    other's ends, and both start before either finishes."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 15_625))
    t = rng.normal(size=15_625)
    barrier = threading.Barrier(2)
    spans: list[tuple[float, float]] = []
    results = []

    def work():
        barrier.wait()
        a = time.perf_counter()
        results.append(stats.kendall_tau_batch(x, t))
        spans.append((a, time.perf_counter()))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    (a0, a1), (b0, b1) = spans
    assert max(a0, b0) < min(a1, b1)
    np.testing.assert_array_equal(results[0], results[1])


def test_set_num_threads():
    n = zcnas.get_num_threads()
    try:
        zcnas.set_num_threads(1)
        assert zcnas.get_num_threads() == 1
        x = np.arange(200.0).reshape(10, 20)
        one = stats.kendall_tau_batch(x, x[0])
        zcnas.set_num_threads(3)
        assert zcnas.get_num_threads() == 3
        np.testing.assert_array_equal(stats.kendall_tau_batch(x, x[0]), one)
        with pytest.raises(ValueError, match="at least 1"):
            zcnas.set_num_threads(0)
    finally:
        zcnas.set_num_threads(n)
