"""Type stubs of the Rust extension ``zcnas._native``, checked against the built module by
``python -m mypy.stubtest zcnas._native`` (in ``.ci/run``).

Every array argument may have any memory layout (C or Fortran order, transposed or
negative-stride views): the extension reads arrays through their strides.
"""

from collections.abc import Sequence
from typing import TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "EZNAS_TERMINALS",
    "SYMMETRY_RTOL",
    "EznasEvolver",
    "IncrementalAggregator",
    "NonFiniteError",
    "ScoreGpPrepared",
    "ZcnasError",
    "__version__",
    "_after_fork_in_child",
    "aggregate",
    "corrcoef",
    "count_unique_columns",
    "count_unique_rows",
    "eigvalsh",
    "eznas_crossover",
    "eznas_eval_tensor",
    "eznas_mutate",
    "eznas_ops",
    "eznas_parse",
    "eznas_random_trees",
    "eznas_read_shard",
    "eznas_score_arrays",
    "eznas_score_stats",
    "get_num_threads",
    "hamming_kernel",
    "kendall_tau",
    "kendall_tau_batch",
    "kendall_tau_top",
    "max_num_threads",
    "pearson",
    "pearson_batch",
    "rankdata",
    "score_gp_eval",
    "score_gp_evolve",
    "score_gp_ops",
    "score_gp_parse",
    "score_gp_random",
    "set_num_threads",
    "slogdet",
    "spearman",
    "spearman_batch",
    "top_k_precision",
    "zico_layer",
]

__version__: str

class ZcnasError(ValueError): ...
class NonFiniteError(ZcnasError): ...

def set_num_threads(n: int) -> None:
    """Resize the pool; ``1 <= n <= max_num_threads()`` else ``ZcnasError``."""

def get_num_threads() -> int: ...
def max_num_threads() -> int:
    """The largest accepted thread count: 256, or the number of CPUs when larger."""

def _after_fork_in_child() -> None: ...

_F64: TypeAlias = npt.NDArray[np.float64]

def kendall_tau(x: _F64, y: _F64, nan_policy: str = "raise") -> float: ...
def spearman(x: _F64, y: _F64, nan_policy: str = "raise") -> float: ...
def pearson(x: _F64, y: _F64, nan_policy: str = "raise") -> float: ...
def rankdata(x: _F64, nan_policy: str = "raise") -> _F64: ...
def top_k_precision(scores: _F64, target: _F64, k: int, nan_policy: str = "raise") -> float: ...
def kendall_tau_top(scores: _F64, target: _F64, top: float, nan_policy: str = "raise") -> float: ...
def kendall_tau_batch(x: _F64, y: _F64, nan_policy: str = "raise") -> _F64: ...
def spearman_batch(x: _F64, y: _F64, nan_policy: str = "raise") -> _F64: ...
def pearson_batch(x: _F64, y: _F64, nan_policy: str = "raise") -> _F64: ...
def aggregate(
    scores: _F64,
    method: str,
    higher_is_better: list[bool],
    weights: list[float] | None = None,
    nan_policy: str = "raise",
) -> _F64: ...

@final
class IncrementalAggregator:
    def __new__(
        cls,
        method: str,
        higher_is_better: list[bool],
        weights: list[float] | None = None,
        nan_policy: str = "raise",
    ) -> IncrementalAggregator: ...
    def add(self, row: _F64) -> int: ...
    def remove(self, id: int) -> None: ...
    def scores(self) -> tuple[npt.NDArray[np.uintp], _F64]: ...
    def __len__(self) -> int: ...

# kernels (zcnas.kernels)
SYMMETRY_RTOL: float

def hamming_kernel(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]: ...
def count_unique_rows(codes: npt.NDArray[np.uint8]) -> int: ...
def count_unique_columns(blocks: Sequence[npt.NDArray[np.uint8]]) -> int: ...
def slogdet(a: _F64) -> tuple[float, float]: ...
def corrcoef(x: _F64) -> _F64: ...
def eigvalsh(s: _F64, symmetry_rtol: float = ..., method: str = ...) -> _F64: ...
def zico_layer(grads: _F64) -> float | None: ...

# EZNAS (zcnas_core::gp, zcnas_core::shards)
EZNAS_TERMINALS: list[str]

def eznas_ops() -> list[tuple[str, int]]: ...
def eznas_parse(expr: str) -> tuple[str, int, list[int], int]: ...
def eznas_eval_tensor(expr: str, instance_: dict[str, npt.NDArray[np.float64]]) -> _F64: ...
def eznas_score_arrays(
    exprs: list[str], instances: list[dict[str, npt.NDArray[np.float64]]], to_scalar: str = "mean"
) -> _F64: ...
def eznas_score_stats(
    exprs: list[str], stats_dir: str, to_scalar: str = "mean", networks: list[int] | None = None
) -> _F64: ...
def eznas_read_shard(
    path: str, n_instances: int, terminals: list[str]
) -> list[list[tuple[str, str, list[int], bytearray]]]: ...
def eznas_random_trees(
    n: int, seed: int, min_depth: int = 2, max_depth: int = 6, method_: str = "half"
) -> list[str]: ...
def eznas_crossover(a: str, b: str, seed: int) -> tuple[str, str]: ...
def eznas_mutate(a: str, seed: int, min_depth: int = 0, max_depth: int = 5) -> str: ...

# score-level GP (zcnas.eznas.scores)
def score_gp_ops() -> list[tuple[str, int]]: ...
def score_gp_parse(expr: str, proxies: list[str]) -> tuple[str, int, int, list[int]]: ...
def score_gp_eval(
    expr: str, proxies: list[str], scores: npt.NDArray[np.float64], n_ref: int
) -> _F64: ...
def score_gp_random(
    n: int, proxies: list[str], seed: int, min_height: int = 1, max_height: int = 4
) -> list[str]: ...
def score_gp_evolve(
    proxies: list[str],
    tasks: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]],
    config_json: str,
) -> str: ...

@final
class ScoreGpPrepared:
    def __new__(
        cls, expr: str, proxies: list[str], reference: npt.NDArray[np.float64]
    ) -> ScoreGpPrepared: ...
    def eval(self, scores: npt.NDArray[np.float64]) -> _F64:
        """Values on an ``(n, k)`` score matrix."""

@final
class EznasEvolver:
    def __new__(
        cls, stats_dirs: list[str], config_json: str, state_json: str | None = None
    ) -> EznasEvolver: ...
    def step(self) -> str: ...
    def state_json(self) -> str: ...
    @property
    def next_generation(self) -> int: ...
    @property
    def done(self) -> bool: ...
