"""zcnas: zero-cost neural architecture search with a Rust core.

The package grows capability by capability; today it offers exact, fast rank statistics
(:mod:`zcnas.stats`), rank aggregation of several proxies (:mod:`zcnas.rankagg`) and the
embedded NAS-Bench-201 ground truth (:mod:`zcnas.bench`).

Threads: the Rust core runs its parallel work on its own pool of ``ZCNAS_NUM_THREADS`` threads
(default: all cores), resizable with :func:`set_num_threads`. It is separate from
``torch.set_num_threads``. In a forked child (PyTorch ``DataLoader`` workers) zcnas runs
serially on the calling thread.
"""

from __future__ import annotations

import os

from zcnas import _native, rankagg, stats
from zcnas.exceptions import NonFiniteError, ZcnasError

__version__: str = _native.__version__
set_num_threads = _native.set_num_threads
get_num_threads = _native.get_num_threads

os.register_at_fork(after_in_child=_native._after_fork_in_child)

__all__ = [
    "NonFiniteError",
    "ZcnasError",
    "__version__",
    "get_num_threads",
    "rankagg",
    "set_num_threads",
    "stats",
]
