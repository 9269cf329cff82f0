"""Evolutionary and random search driven by zero-cost proxies.

Every search takes a :class:`~zcnas.search.problem.SearchSpace`, optionally a
:class:`~zcnas.search.problem.Constraint` (FLOPs / params / HW-NAS-Bench latency: the space is
restricted to architectures within budget, so sampling and mutation stay inside it), a seed,
and returns a :class:`SearchResult` with a :class:`~zcnas.search.trajectory.Trajectory`.
Proxy sources give ``(n, k)`` scores, **higher = better** in every column; several proxies
are combined by rank aggregation (:mod:`zcnas.rankagg`; NaN ranks lowest).

* :func:`aznas_evolution`: Algorithm 1 of AZ-NAS (Lee & Ham, CVPR 2024). Each iteration
  scores one candidate with the proxies, adds it to the history, re-ranks the whole history
  with the non-linear rank aggregation (eq. 12) through :class:`zcnas.rankagg.IncrementalAggregator`
  (one binary search and shift per proxy instead of a re-sort), and mutates one of the top-k
  architectures, chosen uniformly, into the next candidate. The result is the history's best
  aggregate. Training-free: a step is one proxy evaluation.
* :func:`aging_evolution`: regularized evolution (Real et al., AAAI 2019): a population of
  ``population_size``, tournaments of ``sample_size``, the child of the tournament winner
  replaces the oldest member. ``fitness="accuracy"`` queries the benchmark (one query per
  child); a proxy then helps the way Abdelfattah et al. (ICLR 2021) use one, as in EZNAS's
  Figure 4 setting: ``warmup`` (score that many random architectures with the proxies and start
  from the best ``population_size``) and ``move_candidates`` (mutate the parent that many times
  and query only the best child by proxy). ``fitness="proxy"`` is training-free evolution on
  the proxy (or the rank-aggregated ensemble over everything evaluated so far).
* :func:`random_search`: uniform sampling with benchmark queries (the baseline).
* :func:`random_proxy_search`: NASWOT-style: sample N architectures, return the best by proxy
  (AZ-NAS Table 1 protocol with N = 3000).

Departures: evaluated architectures are never re-scored (a duplicate child is redrawn, up to
100 times, then a random unseen member is taken); in aging evolution repeated queries of the
same architecture each count, as in NASLib.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from zcnas.exceptions import ZcnasError
from zcnas.rankagg import IncrementalAggregator, aggregate
from zcnas.search.problem import Constraint, Oracle, SearchSpace, as_rng
from zcnas.search.trajectory import Trajectory, TrajectoryRecorder

__all__ = [
    "SearchResult",
    "aging_evolution",
    "aznas_evolution",
    "random_proxy_search",
    "random_search",
]


@dataclass
class SearchResult:
    """The outcome of a search.

    Attributes:
        best_arch: the architecture the search returns.
        trajectory: step-by-step record (see :mod:`zcnas.search.trajectory`).
        history: every architecture evaluated, in order.
        scores: ``(len(history), k)`` proxy scores of the history (proxy searches), else None.
    """

    best_arch: int
    trajectory: Trajectory
    history: np.ndarray
    scores: np.ndarray | None = None

    @property
    def best_test(self) -> float:
        """Test accuracy (%) of :attr:`best_arch`."""
        return self.trajectory.best_test


def _positive(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ZcnasError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _setup(space: Any, constraint: Constraint | None, oracle: Oracle | None) -> tuple[Any, ...]:
    if isinstance(space, str):
        space = {"nb201": SearchSpace.nb201, "macro": SearchSpace.macro}.get(space, lambda: None)()
    if not isinstance(space, SearchSpace):
        raise ZcnasError("space must be a SearchSpace, 'nb201' or 'macro'")
    if constraint is not None:
        space = constraint.restrict(space)
    if oracle is None:
        oracle = Oracle(space.name, "cifar10", "test")
    return space, oracle


def _proxy_names(proxies: Any) -> list[str]:
    names = getattr(proxies, "names", None)
    if names is None or not callable(proxies):
        raise ZcnasError("proxies must be a proxy source (e.g. TableProxies or LiveProxies)")
    return list(names)


def _track(it: Any, progress: bool, what: str) -> Any:
    if not progress:
        return it
    from rich.progress import track

    return track(it, description=what)


class _Unique:
    """Mutation / sampling that avoid architectures already evaluated."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator) -> None:
        self.space, self.rng, self.seen = space, rng, set()

    def fresh(self) -> int:
        if len(self.seen) >= self.space.size:
            raise ZcnasError(f"every one of the {self.space.size} architectures was evaluated")
        while True:
            a = int(self.space.sample(1, self.rng)[0])
            if a not in self.seen:
                return a

    def child(self, parent: int) -> int:
        for _ in range(100):
            c = self.space.mutate(parent, self.rng)
            if c not in self.seen:
                return c
        return self.fresh()


# ------------------------------------------------------------------------------- AZ-NAS


def aznas_evolution(
    space: Any,
    proxies: Any,
    *,
    iterations: int,
    top_k: int = 64,
    constraint: Constraint | None = None,
    oracle: Oracle | None = None,
    method: str = "nonlinear",
    population_size: int | None = None,
    init: int | None = None,
    rng: Any = None,
    progress: bool = False,
) -> SearchResult:
    """AZ-NAS evolutionary search (Algorithm 1; see the module docstring).

    Args:
        space: a SearchSpace (or ``"nb201"`` / ``"macro"``).
        proxies: proxy source; AZ-NAS uses
            ``LiveProxies(space, ["az_expressivity", "az_progressivity", "az_trainability",
            "az_complexity"])``; any set can replace them (e.g. stored Suite-Zero scores).
        iterations: T, candidates scored (the first is random within budget).
        top_k: k, mutation parents are drawn uniformly from the k best (the paper uses 1024
            for T = 1e5 on MobileNetV2).
        constraint: computational budget B (FLOPs / params / latency).
        oracle: only used to report the incumbent's test accuracy (default: CIFAR-10 test).
        method: rank aggregation (``nonlinear`` = AZ-NAS eq. 12; ``linear`` for the ablation).
        population_size: if set, the lowest-ranked member is dropped once the history exceeds
            it (ZenNAS-style bounded pool; Algorithm 1 keeps everything, the default).
        init: F_1 (default: uniform within budget).
        rng: seed or Generator.
        progress: show a progress bar.

    Returns:
        A SearchResult; ``best_arch`` has the highest aggregate over the (final) pool.
    """
    T, k = _positive("iterations", iterations), _positive("top_k", top_k)
    space, oracle = _setup(space, constraint, oracle)
    names = _proxy_names(proxies)
    gen = as_rng(rng)
    uniq = _Unique(space, gen)
    agg = IncrementalAggregator(len(names), method=method, nan_policy="lowest")
    id_arch: dict[int, int] = {}
    rec = TrajectoryRecorder(
        "aznas",
        "proxy evaluations",
        oracle.test,
        {"proxies": names, "top_k": k, "method": method, "constraint": repr(constraint)},
    )
    history, rows = [], []
    arch = int(init) if init is not None else uniq.fresh()
    if not space.contains([arch])[0]:
        raise ZcnasError(f"init architecture {arch} is outside the space or the budget")
    T = min(T, space.size)
    for i in _track(range(T), progress, "AZ-NAS evolution"):
        s = np.asarray(proxies([arch]), dtype=np.float64).reshape(-1)
        aid = agg.add(s)
        id_arch[aid] = arch
        uniq.seen.add(arch)
        history.append(arch)
        rows.append(s)
        ids, sc = agg.scores()
        if population_size is not None and len(ids) > population_size:
            worst = int(np.lexsort((ids, sc))[0])  # lowest score, oldest first
            agg.remove(int(ids[worst]))
            del id_arch[int(ids[worst])]
            ids, sc = agg.scores()
        order = np.lexsort((ids, -sc))
        top = ids[order[:k]]
        own = np.flatnonzero(ids == aid)
        rec.step(arch, float(sc[own[0]]) if own.size else -np.inf, id_arch[int(top[0])])
        if i + 1 < T:
            parent = id_arch[int(top[int(gen.integers(len(top)))])]
            arch = uniq.child(parent)
    traj = rec.finish()
    return SearchResult(traj.best_arch, traj, np.asarray(history), np.asarray(rows))


# ------------------------------------------------------------------------------- aging


def aging_evolution(
    space: Any,
    oracle: Oracle | None = None,
    *,
    budget: int = 200,
    population_size: int = 20,
    sample_size: int = 5,
    fitness: str = "accuracy",
    proxies: Any = None,
    warmup: int = 0,
    move_candidates: int = 1,
    constraint: Constraint | None = None,
    rng: Any = None,
    progress: bool = False,
) -> SearchResult:
    """Regularized (aging) evolution, plain or proxy-assisted (see the module docstring).

    Args:
        space: a SearchSpace (or ``"nb201"`` / ``"macro"``).
        oracle: ground truth; its ``fitness`` is queried (``fitness="accuracy"``) and its
            ``test`` reported.
        budget: evaluations: benchmark queries (``accuracy``) or proxy evaluations (``proxy``).
        population_size: P.
        sample_size: S, tournament size.
        fitness: ``"accuracy"`` (query the benchmark) or ``"proxy"`` (training-free).
        proxies: proxy source for ``warmup``, ``move_candidates`` or ``fitness="proxy"``;
            several columns are rank-aggregated (non-linear, AZ-NAS).
        warmup: with ``accuracy``: number of random architectures scored by proxy, of which
            the best P form the initial population (0: P random ones).
        move_candidates: with ``accuracy``: children proposed per step, the best by proxy is
            queried (1: plain mutation).
        constraint: FLOPs / params / latency budget.
        rng: seed or Generator.
        progress: show a progress bar.

    Returns:
        A SearchResult; the incumbent is the best fitness seen (accuracy: best queried
        validation accuracy; proxy: best aggregate over everything evaluated).
    """
    budget = _positive("budget", budget)
    P, S = _positive("population_size", population_size), _positive("sample_size", sample_size)
    if S > P:
        raise ZcnasError(f"sample_size ({S}) cannot exceed population_size ({P})")
    if fitness not in ("accuracy", "proxy"):
        raise ZcnasError(f"fitness must be 'accuracy' or 'proxy', got {fitness!r}")
    if (fitness == "proxy" or warmup or move_candidates > 1) and proxies is None:
        raise ZcnasError("proxies are needed for fitness='proxy', warmup or move_candidates > 1")
    if warmup < 0 or move_candidates < 1:
        raise ZcnasError("warmup must be >= 0 and move_candidates >= 1")
    space, oracle = _setup(space, constraint, oracle)
    gen = as_rng(rng)
    names = _proxy_names(proxies) if proxies is not None else []
    meta = {
        "fitness": fitness,
        "proxies": names,
        "population_size": P,
        "sample_size": S,
        "warmup": warmup,
        "move_candidates": move_candidates,
        "constraint": repr(constraint),
    }
    label = "aging" if not names else f"aging+{fitness if fitness == 'proxy' else 'zc'}"
    budget_kind = "queries" if fitness == "accuracy" else "proxy evaluations"
    rec = TrajectoryRecorder(label, budget_kind, oracle.test, meta)
    history: list[int] = []

    def proxy_best(cands: np.ndarray) -> np.ndarray:
        """Candidates ordered best first by proxy (aggregated if several)."""
        sc = np.asarray(proxies(cands), dtype=np.float64)
        agg = sc[:, 0] if sc.shape[1] == 1 else aggregate(sc, nan_policy="lowest")
        agg = np.where(np.isnan(agg), -np.inf, agg)
        return cands[np.lexsort((np.arange(len(cands)), -agg))]

    if fitness == "proxy":
        agg = IncrementalAggregator(len(names), method="nonlinear", nan_policy="lowest")
        arch_id: dict[int, int] = {}

        def evaluate(a: int) -> None:
            arch_id[len(history)] = agg.add(np.asarray(proxies([a]), dtype=np.float64)[0])
            history.append(a)
            ids, sc = agg.scores()
            best = int(ids[np.lexsort((ids, -sc))[0]])
            rec.step(a, float(sc[ids == arch_id[len(history) - 1]][0]), history[best])

        def fit_of(positions: list[int]) -> np.ndarray:
            ids, sc = agg.scores()
            lookup = dict(zip(ids.tolist(), sc.tolist(), strict=True))
            return np.array([lookup[arch_id[p]] for p in positions])
    else:
        values: list[float] = []
        best = [-np.inf, -1]

        def evaluate(a: int) -> None:
            v = oracle.fitness(a)
            history.append(a)
            values.append(v)
            if v > best[0] or best[1] < 0:
                best[0], best[1] = v, a
            rec.step(a, v, best[1])

        def fit_of(positions: list[int]) -> np.ndarray:
            return np.array([values[p] for p in positions])

    # initial population
    if fitness == "accuracy" and warmup:
        cands = space.sample(min(warmup, space.size), gen, replace=False)
        init = proxy_best(cands)[:P]
    else:
        init = space.sample(min(P, space.size), gen, replace=False)
    population: deque[int] = deque()  # positions in history
    it = _track(range(budget), progress, f"aging evolution ({label})")
    steps = iter(it)
    for a in init[:budget]:
        next(steps, None)
        evaluate(int(a))
        population.append(len(history) - 1)
    for _ in steps:
        pos = list(population)
        tour = [pos[j] for j in gen.choice(len(pos), size=min(S, len(pos)), replace=False)]
        parent = history[tour[int(np.argmax(fit_of(tour)))]]
        if move_candidates > 1 and fitness == "accuracy":
            kids = np.array([space.mutate(parent, gen) for _ in range(move_candidates)])
            child = int(proxy_best(kids)[0])
        else:
            child = space.mutate(parent, gen)
        evaluate(child)
        population.append(len(history) - 1)
        population.popleft()
    traj = rec.finish()
    return SearchResult(traj.best_arch, traj, np.asarray(history))


# ------------------------------------------------------------------------------- random


def random_search(
    space: Any,
    oracle: Oracle | None = None,
    *,
    budget: int = 200,
    constraint: Constraint | None = None,
    rng: Any = None,
) -> SearchResult:
    """Query ``budget`` distinct uniformly drawn architectures; return the best queried.

    >>> r = random_search("nb201", budget=20, rng=0)
    >>> len(r.trajectory), bool(r.best_test == max(r.trajectory.incumbent_test))
    (20, True)
    """
    budget = _positive("budget", budget)
    space, oracle = _setup(space, constraint, oracle)
    rec = TrajectoryRecorder("random", "queries", oracle.test, {"constraint": repr(constraint)})
    archs = space.sample(min(budget, space.size), as_rng(rng), replace=False)
    best_v, best_a = -np.inf, int(archs[0])
    for a in archs:
        v = oracle.fitness(int(a))
        if v > best_v:
            best_v, best_a = v, int(a)
        rec.step(int(a), v, best_a)
    traj = rec.finish()
    return SearchResult(traj.best_arch, traj, archs)


def random_proxy_search(
    space: Any,
    proxies: Any,
    *,
    n_samples: int = 3000,
    oracle: Oracle | None = None,
    constraint: Constraint | None = None,
    method: str = "nonlinear",
    rng: Any = None,
    progress: bool = False,
) -> SearchResult:
    """Score ``n_samples`` distinct random architectures, return the best by proxy.

    With one proxy this is NASWOT's search; with several the pool is rank-aggregated
    (``method``), which with the four AZ-NAS proxies and N = 3000 is AZ-NAS's Table 1
    protocol. The trajectory's incumbent after i samples is the best of the first i.
    """
    n = _positive("n_samples", n_samples)
    space, oracle = _setup(space, constraint, oracle)
    names = _proxy_names(proxies)
    gen = as_rng(rng)
    archs = space.sample(min(n, space.size), gen, replace=False)
    rec = TrajectoryRecorder(
        "random+proxy", "proxy evaluations", oracle.test, {"proxies": names, "method": method}
    )
    agg = IncrementalAggregator(len(names), method=method, nan_policy="lowest")
    rows = []
    for a in _track(archs, progress, "scoring random architectures"):
        s = np.asarray(proxies([int(a)]), dtype=np.float64).reshape(-1)
        rows.append(s)
        aid = agg.add(s)
        ids, sc = agg.scores()
        best = int(ids[np.lexsort((ids, -sc))[0]])
        rec.step(int(a), float(sc[ids == aid][0]), int(archs[best]))
    traj = rec.finish()
    return SearchResult(traj.best_arch, traj, archs, np.asarray(rows))
