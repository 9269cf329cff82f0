"""EZNAS: discover zero-cost proxies by genetic programming (Akhauri et al., NeurIPS 2022).

A proxy is an expression tree over 22 per-instance statistics of an untrained network. For
every ReLU-Conv2D-BatchNorm2D instance (RCB; Conv-BN-ReLU as an option) the statistics are

* ``T1`` the input of the instance's first module, ``T2`` the input of its second module,
  ``T3`` the conv weight and ``T4`` the output of its third module, each for three inputs:
  ``D`` a real minibatch, ``N`` Gaussian noise of the same shape and ``P = D + sqrt(0.01) *
  randn`` (``T3`` is the same for all three), and
* their gradients ``T1G`` .. ``T4G`` for each input (by default of the sum of the logits).

:data:`TERMINALS` lists their canonical names; the index of a name is its terminal id, shared by
the Python collectors and the Rust interpreter. Modules:

* :mod:`zcnas.eznas.stats`: the statistics of one network (PyTorch hooks).
* :mod:`zcnas.eznas.shards`: task datasets on disk (safetensors shards + manifest), resumable
  collection, and programs registered as proxies of :func:`zcnas.proxies.score`.
* :mod:`zcnas.eznas.program` and :mod:`zcnas.eznas.evolution`: programs, the interpreter and
  the evolution (Rust core). The module is not named ``evolve`` so that
  ``from zcnas.eznas import evolve`` always gives the function.
* :mod:`zcnas.eznas.scores`: score-level programs, formulas over the scores of existing proxies
  (``zcnas eznas evolve --over-scores``).
* :mod:`zcnas.eznas.cli`: ``zcnas eznas collect|evolve|show``.

Importing this package imports only the standard library; the names below load their module
(and torch) on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The 22 terminals in canonical order: 10 forward tensors (incl. the weight T3), 12 gradients.
TERMINALS: tuple[str, ...] = (
    "T1D", "T1N", "T1P", "T2D", "T2N", "T2P", "T3", "T4D", "T4N", "T4P",
    "T1GD", "T1GN", "T1GP", "T2GD", "T2GN", "T2GP", "T3GD", "T3GN", "T3GP",
    "T4GD", "T4GN", "T4GP",
)  # fmt: skip

#: Input kinds: real data, Gaussian noise, perturbed data.
INPUT_KINDS: tuple[str, ...] = ("D", "N", "P")
#: Instance structures: ReLU-Conv2D-BatchNorm2D (the paper's) and Conv2D-BatchNorm2D-ReLU.
PATTERNS: tuple[str, ...] = ("relu-conv-bn", "conv-bn-relu")
#: How the gradient terminals are produced.
GRADIENTS: tuple[str, ...] = ("sum-of-logits", "cross-entropy")

_LAZY = {
    "collect_network": "zcnas.eznas.stats",
    "find_instances": "zcnas.eznas.stats",
    "Instance": "zcnas.eznas.stats",
    "collect_task": "zcnas.eznas.shards",
    "load_manifest": "zcnas.eznas.shards",
    "read_shard": "zcnas.eznas.shards",
    "pool_archs": "zcnas.eznas.shards",
    "register_program": "zcnas.eznas.shards",
    "score_program": "zcnas.eznas.shards",
    "Program": "zcnas.eznas.program",
    "EZNAS_A": "zcnas.eznas.program",
    "OPERATIONS": "zcnas.eznas.program",
    "evolve": "zcnas.eznas.evolution",
    "evaluate_stats": "zcnas.eznas.evolution",
    "EvolutionResult": "zcnas.eznas.evolution",
    "ScoreProgram": "zcnas.eznas.scores",
    "evolve_scores": "zcnas.eznas.scores",
}

__all__ = ["GRADIENTS", "INPUT_KINDS", "PATTERNS", "TERMINALS", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zcnas.eznas' has no attribute {name!r}")
