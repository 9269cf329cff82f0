"""zcnas: zero-cost neural architecture search with a Rust core.

Exact, fast rank statistics (:mod:`zcnas.stats`) and rank aggregation (:mod:`zcnas.rankagg`)
are imported with the package; the rest loads on import of its module: embedded benchmarks
and the score store (:mod:`zcnas.bench`), search spaces and supernets (:mod:`zcnas.spaces`),
the proxy engine (:mod:`zcnas.proxies`), analyses (:mod:`zcnas.analysis`), EZNAS
(:mod:`zcnas.eznas`), search (:mod:`zcnas.search`) and parallel scoring
(:mod:`zcnas.distributed`). Every score is higher = better.

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
