"""The pieces every search shares: a space to move in, ground truth to query, proxies to
score with, and a hardware budget.

* :class:`SearchSpace`: architectures are integer indices of a benchmark (NAS-Bench-201:
  15,625, NAS-Bench-Macro: 6,561), each a vector of categorical genes (NB201: the op of each of
  the 6 edges, in the order of the architecture string; Macro: the choice of each of the 8
  layers). Uniform sampling, single-gene mutation (one gene to a different value, both uniform,
  as :func:`zcnas.spaces.nb201.mutate`), one-hot encodings for surrogates, and an optional
  ``subset`` (e.g. the 9,445 NB201 cells NAS-Bench-Suite-Zero scored) that sampling and
  mutation stay inside.
* :class:`Oracle`: "training" an architecture = looking its accuracy up in the embedded
  benchmark. ``fitness`` is what a search may see (NB201: the validation accuracy NASLib uses,
  ``<dataset>_valid_naslib``, for CIFAR-10 and ImageNet16-120, otherwise test accuracy);
  ``test`` is what is reported.
* Proxy sources (callables ``archs -> (n, k)`` scores, **higher = better** for every column):
  :class:`TableProxies` reads precomputed scores (NAS-Bench-Suite-Zero's 13 NASLib proxies for
  the 9,445 NB201 cells, and the benchmark's own ``params`` / ``flops`` columns for all cells),
  :class:`LiveProxies` computes any registered proxy with the proxy engine (caching in memory
  and, optionally, in a :class:`~zcnas.bench.ScoreStore`).
* :class:`Constraint`: FLOPs, parameter and HW-NAS-Bench latency budgets (``<=``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from zcnas.datasets import canonical_dataset
from zcnas.exceptions import ZcnasError

__all__ = [
    "HW_DEVICES",
    "Constraint",
    "LiveProxies",
    "Oracle",
    "SearchSpace",
    "TableProxies",
    "as_rng",
]

#: HW-NAS-Bench devices with a latency column in the embedded NB201 table (ms).
HW_DEVICES = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")


def as_rng(rng: Any) -> np.random.Generator:
    """``None``, an int seed or a Generator -> a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise ZcnasError(f"rng must be None, an int seed or a numpy Generator, got {rng!r}")


@cache
def _nb201_genes() -> np.ndarray:
    from zcnas.bench import load_nb201
    from zcnas.spaces import nb201

    op_id = {op: i for i, op in enumerate(nb201.OPS)}
    strs = load_nb201()["arch_str"]
    genes = np.array([[op_id[o] for o in nb201.str_to_ops(str(s))] for s in strs], dtype=np.int8)
    genes.flags.writeable = False
    return genes


@cache
def _macro_genes() -> np.ndarray:
    from zcnas.spaces import macro

    genes = np.array([macro.index_to_tuple(i) for i in range(macro.NUM_ARCHS)], dtype=np.int8)
    genes.flags.writeable = False
    return genes


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """A benchmark space as integer architectures with categorical genes (see module doc).

    Build with :meth:`nb201` or :meth:`macro`.

    Attributes:
        name: ``nb201`` or ``macro``.
        genes: ``(n_archs, n_genes)`` gene values of every architecture (row = index).
        n_choices: values per gene.
        members: sorted indices that sampling and mutation may return.
    """

    name: str
    genes: np.ndarray
    n_choices: int
    members: np.ndarray
    _code_to_index: np.ndarray = field(repr=False)
    _allowed: np.ndarray = field(repr=False)

    @classmethod
    def _make(cls, name: str, genes: np.ndarray, n_choices: int, subset: Any) -> SearchSpace:
        n = len(genes)
        weights = n_choices ** np.arange(genes.shape[1] - 1, -1, -1)
        codes = genes.astype(np.int64) @ weights
        code_to_index = np.empty(n, dtype=np.int64)
        code_to_index[codes] = np.arange(n)
        allowed = np.ones(n, dtype=bool)
        if subset is not None:
            idx = np.asarray(subset)
            if idx.dtype == bool:
                if idx.shape != (n,):
                    raise ZcnasError(f"a boolean subset must have {n} entries, got {idx.shape}")
                allowed = idx.copy()
            else:
                idx = idx.astype(np.int64)
                if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
                    raise ZcnasError(f"subset indices must be non-empty and in 0..{n - 1}")
                allowed = np.zeros(n, dtype=bool)
                allowed[idx] = True
        members = np.flatnonzero(allowed)
        return cls(name, genes, n_choices, members, code_to_index, allowed)

    @classmethod
    def nb201(cls, subset: Any = None) -> SearchSpace:
        """NAS-Bench-201 (genes: op ids in ``nb201.OPS`` order on the 6 edges of the string).

        Args:
            subset: indices (or a boolean mask of 15,625) to stay inside, e.g.
                ``"suite_zero"`` for the 9,445 cells NAS-Bench-Suite-Zero scored.
        """
        if isinstance(subset, str):
            if subset != "suite_zero":
                raise ZcnasError(f"unknown subset {subset!r}; expected 'suite_zero' or indices")
            from zcnas.bench import load_suite_zero_nb201

            subset = load_suite_zero_nb201("cifar10").index
        return cls._make("nb201", _nb201_genes(), 5, subset)

    @classmethod
    def macro(cls, subset: Any = None) -> SearchSpace:
        """NAS-Bench-Macro (genes: the choice 0..2 of each of the 8 layers)."""
        return cls._make("macro", _macro_genes(), 3, subset)

    @property
    def size(self) -> int:
        """Number of architectures sampling may return."""
        return len(self.members)

    def contains(self, archs: Any) -> np.ndarray:
        """Boolean mask: which of ``archs`` are inside the (sub)space."""
        return self._allowed[np.asarray(archs, dtype=np.int64)]

    def sample(self, n: int, rng: Any = None, *, replace: bool = True) -> np.ndarray:
        """``n`` architectures drawn uniformly from the members."""
        if n > self.size and not replace:
            raise ZcnasError(f"cannot draw {n} distinct architectures from {self.size}")
        return as_rng(rng).choice(self.members, size=int(n), replace=replace).astype(np.int64)

    def mutate(self, arch: int, rng: Any = None, *, max_tries: int = 100) -> int:
        """One gene changed to a different value (both uniform), redrawn until the result is
        a member (at most ``max_tries`` draws).

        Raises:
            ZcnasError: no member was found in ``max_tries`` draws.
        """
        gen = as_rng(rng)
        base = self.genes[int(arch)].astype(np.int64)
        weights = self.n_choices ** np.arange(len(base) - 1, -1, -1)
        code = int(base @ weights)
        for _ in range(max_tries):
            g = int(gen.integers(len(base)))
            new = (int(base[g]) + 1 + int(gen.integers(self.n_choices - 1))) % self.n_choices
            child = int(self._code_to_index[code + (new - int(base[g])) * int(weights[g])])
            if self._allowed[child]:
                return child
        raise ZcnasError(
            f"no mutation of architecture {arch} inside the space in {max_tries} tries"
        )

    def encode(self, archs: Any) -> np.ndarray:
        """One-hot features ``(n, n_genes * n_choices)`` (float64) of ``archs``."""
        g = self.genes[np.asarray(archs, dtype=np.int64)].astype(np.int64)
        n, L = g.shape
        out = np.zeros((n, L * self.n_choices))
        out[np.arange(n)[:, None], np.arange(L) * self.n_choices + g] = 1.0
        return out


class Oracle:
    """Ground truth of a benchmark as the "training" of a search, with a query counter.

    Args:
        space: ``nb201`` or ``macro``.
        dataset: NB201: ``cifar10``, ``cifar100`` or ``imagenet16``; Macro: ``cifar10``.
        metric: ``"valid"`` (default; NB201 CIFAR-10 / ImageNet16-120: NASLib's validation
            accuracy, NaN for cells with dead branches, so search in the Suite-Zero subset)
            or ``"test"`` (searching on test accuracy is optimistic; NB201 CIFAR-100 and Macro
            only have that).

    Attributes:
        n_queries: ``fitness`` calls so far, one per architecture (repeats count, as in NASLib).
    """

    def __init__(self, space: str = "nb201", dataset: str = "cifar10", metric: str = "valid"):
        if metric not in ("valid", "test"):
            raise ZcnasError(f"metric must be 'valid' or 'test', got {metric!r}")
        dataset = canonical_dataset(dataset)
        if space == "nb201":
            from zcnas.bench import load_nb201

            t = load_nb201()
            self._test = np.asarray(t.test_accuracy(dataset))
            col = f"{dataset}_valid_naslib"
            if metric == "valid" and col not in t.columns:
                raise ZcnasError(
                    f"NB201 {dataset} has no validation accuracy in the embedded table; "
                    "use metric='test'"
                )
            self._fit = np.asarray(t[col]) if metric == "valid" else self._test
        elif space == "macro":
            from zcnas.spaces import macro

            if dataset != "cifar10":
                raise ZcnasError("NAS-Bench-Macro is a CIFAR-10 benchmark")
            if metric != "test":
                raise ZcnasError("NAS-Bench-Macro has test accuracy only; use metric='test'")
            self._test = self._fit = np.asarray(macro.load_macro()["mean_acc"])
        else:
            raise ZcnasError(f"unknown space {space!r}; expected 'nb201' or 'macro'")
        self.space, self.dataset, self.metric = space, dataset, metric
        self.n_queries = 0

    def fitness(self, arch: int) -> float:
        """Accuracy (%) the search sees; counts one query. NaN is returned as -inf."""
        self.n_queries += 1
        v = float(self._fit[int(arch)])
        return -np.inf if np.isnan(v) else v

    def test(self, archs: Any) -> np.ndarray:
        """Test accuracy (%) for reporting (no query is counted)."""
        return self._test[np.asarray(archs, dtype=np.int64)]

    def best_test(self, members: Any = None) -> float:
        """The best test accuracy in the space (or among ``members``)."""
        return float(np.nanmax(self._test if members is None else self._test[members]))


class TableProxies:
    """Precomputed proxy scores as a proxy source (``archs -> (n, k)``, higher = better).

    Names: NAS-Bench-Suite-Zero's 13 (NB201, the 9,445 cells without dead branches; other
    cells get NaN) and ``params`` / ``flops`` (NB201: the benchmark's ``params_M_<dataset>``
    and ``flops_M_<dataset>`` for all cells; Macro: its ``params`` / ``flops``). When a name is
    in both, Suite-Zero's value is used only with ``source="suite_zero"``.

    Args:
        names: proxy names.
        space: ``nb201`` or ``macro``.
        task: NB201 dataset (Suite-Zero: ``cifar10`` or ``imagenet16``).
        source: ``"auto"`` (benchmark columns for params/flops, Suite-Zero for the rest) or
            ``"suite_zero"`` (all from Suite-Zero).

    Attributes:
        seconds_per_eval: 0 (looked up); a search's wall time then excludes proxy cost.
    """

    seconds_per_eval = 0.0

    def __init__(
        self,
        names: Sequence[str],
        space: str = "nb201",
        task: str = "cifar10",
        source: str = "auto",
    ) -> None:
        if isinstance(names, str):
            names = [names]
        if not names:
            raise ZcnasError("names must name at least one proxy")
        self.names = tuple(names)
        task = canonical_dataset(task)
        cols = []
        if space == "macro":
            from zcnas.spaces import macro

            t = macro.load_macro()
            for p in self.names:
                if p not in ("params", "flops"):
                    raise ZcnasError(f"NAS-Bench-Macro has no stored proxy {p!r}")
                cols.append(np.asarray(t[p], dtype=np.float64))
        elif space == "nb201":
            from zcnas.bench import load_nb201, load_suite_zero_nb201

            t = load_nb201()
            sz = None
            for p in self.names:
                if p in ("params", "flops") and source == "auto":
                    cols.append(np.asarray(t[f"{p}_M_{task}"], dtype=np.float64))
                    continue
                if sz is None:
                    sz = load_suite_zero_nb201(task)
                col = np.full(len(t), np.nan)
                col[sz.index] = sz.proxy(p)
                cols.append(col)
        else:
            raise ZcnasError(f"unknown space {space!r}; expected 'nb201' or 'macro'")
        self._table = np.stack(cols, axis=1)
        self.n_evals = 0

    def __call__(self, archs: Any) -> np.ndarray:
        idx = np.asarray(archs, dtype=np.int64)
        self.n_evals += idx.size
        return self._table[idx]


class LiveProxies:
    """Registered proxies computed on the fly (:class:`zcnas.scoring.ArchScorer`), cached.

    Args:
        space: ``nb201`` or ``macro``.
        names: registered proxy names (higher = better).
        dataset, flavor, seed, batch_size: as in :func:`zcnas.scoring.score_architectures`.
        store: optional :class:`~zcnas.bench.ScoreStore`: stored scores are reused and new
            ones written, so repeated searches share work.

    Attributes:
        seconds: total compute time spent so far; n_evals: architectures computed.
    """

    def __init__(
        self,
        space: str,
        names: Sequence[str],
        *,
        dataset: str = "cifar10",
        flavor: str | None = None,
        seed: int = 0,
        batch_size: int | None = None,
        store: Any = None,
    ) -> None:
        from zcnas.scoring import ArchScorer

        self.names = tuple([names] if isinstance(names, str) else names)
        self.scorer = ArchScorer(
            space, self.names, dataset=dataset, flavor=flavor, seed=seed, batch_size=batch_size
        )
        self.store = store
        self._cache: dict[int, np.ndarray] = {}
        self.seconds = 0.0
        self.n_evals = 0

    def _one(self, arch: int) -> np.ndarray:
        if arch in self._cache:
            return self._cache[arch]
        sc = self.scorer
        key = sc.key(arch)
        row = None
        if self.store is not None and not self.store.missing(
            sc.space_key, sc.dataset, [key], self.names, flavor=sc.flavor_key
        ):
            row = np.array(
                [
                    self.store.get(sc.space_key, sc.dataset, key, p, flavor=sc.flavor_key).score
                    for p in self.names
                ]
            )
        if row is None:
            t0 = time.perf_counter()
            scores, elapsed = sc(arch)
            self.seconds += time.perf_counter() - t0
            self.n_evals += 1
            if self.store is not None:
                self.store.put_many(sc.rows(key, scores, elapsed))
            row = np.array([scores[p] for p in self.names], dtype=np.float64)
        self._cache[arch] = row
        return row

    def __call__(self, archs: Any) -> np.ndarray:
        idx = np.asarray(archs, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            return np.empty((0, len(self.names)))
        return np.stack([self._one(int(a)) for a in idx])


@dataclass(frozen=True)
class Constraint:
    """Budgets on architectures (each ``<=``; ``None`` = no limit), from the embedded tables.

    Args:
        space: ``nb201`` or ``macro``.
        dataset: NB201 dataset whose FLOPs / params / latency columns are used.
        max_flops_m: FLOPs budget in millions (NB201 ``flops_M_<dataset>``; Macro ``flops``).
        max_params_m: parameter budget in millions.
        max_latency_ms: HW-NAS-Bench latency budget (NB201 only), on ``device``.
        device: one of :data:`HW_DEVICES`.
    """

    space: str = "nb201"
    dataset: str = "cifar10"
    max_flops_m: float | None = None
    max_params_m: float | None = None
    max_latency_ms: float | None = None
    device: str = "edgegpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "dataset", canonical_dataset(self.dataset))

    def mask(self) -> np.ndarray:
        """Which architectures satisfy every budget (boolean, one per index)."""
        cols: list[tuple[np.ndarray, float]] = []
        if self.space == "nb201":
            from zcnas.bench import load_nb201

            t = load_nb201()
            if self.max_flops_m is not None:
                cols.append((t[f"flops_M_{self.dataset}"], self.max_flops_m))
            if self.max_params_m is not None:
                cols.append((t[f"params_M_{self.dataset}"], self.max_params_m))
            if self.max_latency_ms is not None:
                if self.device not in HW_DEVICES:
                    raise ZcnasError(
                        f"unknown device {self.device!r}; expected one of {HW_DEVICES}"
                    )
                cols.append((t[f"{self.dataset}_{self.device}_latency"], self.max_latency_ms))
            n = len(t)
        elif self.space == "macro":
            from zcnas.spaces import macro

            t = macro.load_macro()
            if self.max_latency_ms is not None:
                raise ZcnasError("NAS-Bench-Macro has no latency table")
            if self.max_flops_m is not None:  # the Macro table counts units, not millions
                cols.append((np.asarray(t["flops"]) / 1e6, self.max_flops_m))
            if self.max_params_m is not None:
                cols.append((np.asarray(t["params"]) / 1e6, self.max_params_m))
            n = len(t)
        else:
            raise ZcnasError(f"unknown space {self.space!r}; expected 'nb201' or 'macro'")
        ok = np.ones(n, dtype=bool)
        for col, limit in cols:
            ok &= np.asarray(col, dtype=np.float64) <= float(limit)
        return ok

    @property
    def active(self) -> bool:
        """Whether any budget is set."""
        return any(
            v is not None for v in (self.max_flops_m, self.max_params_m, self.max_latency_ms)
        )

    def restrict(self, space: SearchSpace) -> SearchSpace:
        """``space`` restricted to the architectures within budget.

        Raises:
            ZcnasError: no member satisfies the budgets.
        """
        if not self.active:
            return space
        ok = space._allowed & self.mask()
        if not ok.any():
            raise ZcnasError(f"no architecture of the space satisfies {self}")
        return SearchSpace._make(space.name, space.genes, space.n_choices, ok)
