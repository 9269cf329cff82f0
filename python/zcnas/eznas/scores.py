"""Score-level genetic programming: discovered formulas over the scores of existing proxies.

EZNAS (:mod:`zcnas.eznas.evolution`) evolves programs over the tensors inside a network. This
module evolves one level up: a :class:`ScoreProgram` is a formula over the proxy scores of a
whole architecture, such as ``Add(Rank(synflow), Log(jacov))``, found by genetic programming in
the Rust core (``zcnas_core::gp::scores``) on the stored scores of a score store
(:class:`zcnas.analysis.TaskData`). The idea follows symbolic regression over proxies
(SR-TF-NAS, 2025) with a rank fitness; nothing here needs a trained architecture except the
ground truth of the tasks the formula is evolved on.

Terminals and operations (semantics in ``rust/zcnas-core/src/gp/scores.rs``):

* for each proxy ``p``: ``p`` (raw score, higher = better as stored), ``Rank(p)`` (average rank
  in the pool divided by the pool size, in ``(0, 1]``) and ``Log(p) = sign(p) ln(1 + |p|)``;
* ``Add Sub Mul Min Max``; ``Div`` (protected: 1 where ``|b| <= 1e-12``); ``Pow(a, b) =
  sign(a)|a|^clamp(b, -4, 4)``; ``Neg Abs Square``; ``Exp(a) = exp(min(a, 50))``; ``Sqrt(a) =
  sign(a) sqrt|a|``; ``Inv = Div(1, a)``; ``Sigmoid``; and two *pool* operations, ``Rank`` and
  ``Zscore`` (``(a - mean) / std`` with the population std, 0 when constant).

**Pools.** ``Rank`` and ``Zscore`` are relative to a reference pool of architectures. By default
the reference is the pool being scored (as rank aggregation does); a single architecture is
scored against a stored reference pool (:attr:`ScoreProgram.reference`, the proxies' scores on
the architectures the formula was evolved on), its ``Rank`` then being its mid-rank among the
reference values. A formula without pool operations (:attr:`ScoreProgram.uses_pool` false) is a
plain per-architecture function.

**Fitness** is Kendall tau-b against the ground truth on ``archs_per_task`` architectures drawn
afresh each generation from each task, the minimum (default) or mean over tasks, minus
``parsimony`` per node; higher is better. :func:`evolve_scores` keeps a held-out share of
every task's architectures out of the search altogether (only the fitness rows are passed to
the core) and reports the formulas' Kendall tau there.

**Sign convention**: higher program values = better predicted accuracy.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zcnas import _native
from zcnas.exceptions import ZcnasError
from zcnas.eznas.program import common_fields, json_object, put_common_fields, read_program_text

if TYPE_CHECKING:
    from zcnas.analysis.data import TaskData

__all__ = [
    "OPERATIONS",
    "ProgramProxies",
    "ScoreEvolution",
    "ScoreProgram",
    "common_proxies",
    "evolve_scores",
    "register_score_program",
    "split_rows",
]

#: ``(name, arity)`` of the score-level operations.
OPERATIONS: tuple[tuple[str, int], ...] = tuple(_native.score_gp_ops())
#: JSON format tag of saved score programs.
FORMAT = "zcnas-score-program"

_INFIX = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/"}
_POOL_OPS = ("Rank", "Zscore")


def _tokens(expr: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9_.\-]+|[(),]", expr)


def _infix(expr: str) -> str:
    toks = _tokens(expr)
    pos = 0

    def go() -> str:
        nonlocal pos
        tok = toks[pos]
        pos += 1
        if pos < len(toks) and toks[pos] == "(":
            pos += 1
            args = [go()]
            while toks[pos] == ",":
                pos += 1
                args.append(go())
            pos += 1  # ")"
            if tok in _INFIX and len(args) == 2:
                return f"({args[0]} {_INFIX[tok]} {args[1]})"
            if tok == "Neg":
                return f"-{args[0]}"
            return f"{tok.lower()}({', '.join(args)})"
        return tok

    return go()


@dataclass(frozen=True)
class ScoreProgram:
    """A formula over proxy scores (see the module documentation).

    Args:
        expr: the formula in call syntax over proxy names, e.g. ``"Add(Rank(snip), nwot)"``.
        proxies: names the formula may read; default: the identifiers of ``expr`` that are not
            operations. Only the proxies it reads are kept (:attr:`proxies`).
        reference: optional reference pool ``{proxy: (m,) scores}`` for the pool operations
            when scoring architectures alone (all read proxies, equal lengths, finite).
        name: optional name.
        fitness: the search fitness.
        meta: free-form metadata. ``meta["reference_batch_size"]`` (set by
            :meth:`with_reference`) is the images per minibatch the reference pool was scored
            with; a registered program warns when live scores use another batch size.

    >>> p = ScoreProgram("Add(Rank(snip), Div(nwot, params))")
    >>> p.proxies, p.size, p.uses_pool
    (('nwot', 'params', 'snip'), 5, True)
    >>> str(p)
    '(rank(snip) + (nwot / params))'
    >>> ScoreProgram.from_json(p.to_json()) == p
    True
    """

    expr: str
    proxies: tuple[str, ...] = ()
    reference: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    name: str | None = None
    fitness: float | None = field(default=None, compare=False)
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.expr, str):
            raise ZcnasError(f"expr must be a string, got {type(self.expr).__name__}")
        ops = {o for o, _ in OPERATIONS}
        names = list(self.proxies) or sorted(
            {t for t in _tokens(self.expr) if t not in ops and t not in "(),"}
        )
        if not names:
            raise ZcnasError(f"formula {self.expr!r} reads no proxy")
        canonical, size, height, used = _native.score_gp_parse(self.expr, names)
        read = tuple(sorted(names[i] for i in used))
        canonical = _native.score_gp_parse(canonical, list(read))[0]
        object.__setattr__(self, "expr", canonical)
        object.__setattr__(self, "proxies", read)
        object.__setattr__(self, "_size", size)
        object.__setattr__(self, "_height", height)
        if self.reference is not None:
            ref = {}
            lens = set()
            for p in read:
                if p not in self.reference:
                    raise ZcnasError(f"the reference pool has no scores of proxy {p!r}")
                col = np.asarray(self.reference[p], dtype=np.float64).ravel()
                if not np.isfinite(col).all() or col.size == 0:
                    raise ZcnasError(f"reference scores of {p!r} must be finite and non-empty")
                ref[p] = col
                lens.add(col.size)
            if len(lens) != 1:
                raise ZcnasError(f"reference columns have different lengths {sorted(lens)}")
            object.__setattr__(self, "reference", ref)

    @property
    def size(self) -> int:
        """Number of nodes (``Rank(p)`` and ``Log(p)`` terminals count as one)."""
        return self._size  # type: ignore[attr-defined,no-any-return]

    @property
    def height(self) -> int:
        """Tree height (a lone terminal has height 0)."""
        return self._height  # type: ignore[attr-defined,no-any-return]

    @property
    def uses_pool(self) -> bool:
        """Whether the value of an architecture depends on a pool (``Rank``/``Zscore``)."""
        return any(t in _POOL_OPS for t in _tokens(self.expr))

    def formula(self) -> str:
        """Infix form, e.g. ``(rank(snip) + (nwot / params))``."""
        return _infix(self.expr)

    def __str__(self) -> str:
        return self.formula()

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(self, scores: Any, *, reference: Any = None) -> np.ndarray:
        """Values (higher = better) on an ``(n, len(proxies))`` float64 score matrix whose
        columns follow :attr:`proxies`.

        Args:
            scores: the architectures to score.
            reference: ``(m, len(proxies))`` reference pool for ``Rank``/``Zscore``; default:
                the scored rows themselves.

        Returns:
            ``(n,)`` float64; NaN/inf where the formula is not finite.
        """
        x = np.ascontiguousarray(scores, dtype=np.float64)
        k = len(self.proxies)
        if x.ndim != 2 or x.shape[1] != k:
            raise ZcnasError(f"scores must be (n, {k}) for proxies {self.proxies}, got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros(0)
        if reference is None:
            return _native.score_gp_eval(self.expr, list(self.proxies), x, x.shape[0])
        r = np.ascontiguousarray(reference, dtype=np.float64)
        if r.ndim != 2 or r.shape[1] != k or r.shape[0] == 0:
            raise ZcnasError(f"reference must be (m >= 1, {k}), got {r.shape}")
        both = np.concatenate([r, x])
        return _native.score_gp_eval(self.expr, list(self.proxies), both, r.shape[0])[r.shape[0] :]

    def reference_matrix(self) -> np.ndarray | None:
        """The stored reference pool as an ``(m, len(proxies))`` matrix, or None."""
        if self.reference is None:
            return None
        return np.column_stack([self.reference[p] for p in self.proxies])

    def evaluate_scores(self, task: TaskData, *, reference: Any = "pool") -> np.ndarray:
        """One value per architecture of a :class:`~zcnas.analysis.TaskData` (higher = better).

        Args:
            task: must hold every proxy of :attr:`proxies`.
            reference: ``"pool"`` (the task's architectures are their own reference),
                ``"stored"`` (:attr:`reference`), another ``TaskData`` or an ``(m, k)`` matrix.
        """
        x = task.select(self.proxies).scores
        if isinstance(reference, str):
            if reference == "pool":
                return self.evaluate(x)
            if reference == "stored":
                if self.reference is None and self.uses_pool:
                    raise ZcnasError("this program has no stored reference pool")
                return self.evaluate(x, reference=self.reference_matrix())
            raise ZcnasError(
                f"reference must be 'pool', 'stored', a TaskData or a matrix, got {reference!r}"
            )
        if hasattr(reference, "select"):
            reference = reference.select(self.proxies).scores
        return self.evaluate(x, reference=reference)

    def with_reference(
        self,
        task: TaskData,
        rows: Any = None,
        max_rows: int = 2000,
        *,
        batch_size: int | None = None,
    ) -> ScoreProgram:
        """A copy whose reference pool is ``task``'s scores: its ``rows`` (default all), of
        which the first ``max_rows`` are kept.

        ``meta["reference_batch_size"]`` records the images per minibatch of those scores:
        ``batch_size``, else ``task.batch_size`` (the store's provenance); it is removed when
        neither is known."""
        sel = task.select(self.proxies).scores
        if rows is not None:
            sel = sel[np.asarray(rows, dtype=np.int64)]
        sel = sel[:max_rows]
        ref = {p: sel[:, j].tolist() for j, p in enumerate(self.proxies)}
        meta = dict(self.meta)
        bs = batch_size if batch_size is not None else getattr(task, "batch_size", None)
        meta.pop(_POOL_BATCH, None)
        if bs is not None:
            meta[_POOL_BATCH] = int(bs)
        return ScoreProgram(self.expr, self.proxies, ref, self.name, self.fitness, meta)

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``format``, ``version``, ``expr``, ``formula``, ``proxies``, ...)."""
        d: dict[str, Any] = {
            "format": FORMAT,
            "version": 1,
            "expr": self.expr,
            "formula": self.formula(),
            "proxies": list(self.proxies),
        }
        if self.reference is not None:
            d["reference"] = {p: [float(v) for v in c] for p, c in self.reference.items()}
        return put_common_fields(d, self.name, self.fitness, self.meta)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> ScoreProgram:
        """A program from :meth:`to_json` text or dict; ZcnasError on anything else."""
        data = json_object(data, "score program")
        if data.get("format") != FORMAT:
            raise ZcnasError(f"not a score program (format {FORMAT!r} with an 'expr')")
        proxies = data.get("proxies", [])
        if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
            raise ZcnasError("score program 'proxies' must be a list of names")
        name, fit, meta = common_fields(data, "score program")
        return cls(data["expr"], tuple(proxies), data.get("reference"), name, fit, meta)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path``."""
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ScoreProgram:
        """Read a program written by :meth:`save`."""
        return cls.from_json(read_program_text(path, "score program"))

    def register(self, name: str, **kwargs: Any) -> Any:
        """Register as a proxy (see :func:`register_score_program`)."""
        return register_score_program(self, name, **kwargs)


_POOL_BATCH = "reference_batch_size"


def uses_pool(name: str) -> bool:
    """Whether the registered proxy ``name`` is a score program with ``Rank``/``Zscore``
    terms (its values are relative to its stored reference pool of stand-alone networks, so
    they saturate on networks outside that pool, e.g. Zero-Cost-PT's supernets)."""
    from zcnas.proxies import base

    p = base._REGISTRY.get(name)
    program = getattr(p.compute, "score_program", None) if p is not None else None
    return program is not None and program.uses_pool


def register_score_program(
    program: ScoreProgram,
    name: str,
    *,
    flavors: Mapping[str, str] | None = None,
    overwrite: bool = False,
    replace: bool = False,
) -> Any:
    """Register a score program as a proxy of :func:`zcnas.proxies.score`.

    The proxy computes the proxies the formula reads through the engine, in the same call (so
    they share its cached passes and seed), and returns the formula's value, with ``Rank`` and
    ``Zscore`` taken against the program's stored reference pool. Higher = better.

    When the program records the batch size of its pool (``meta["reference_batch_size"]``,
    e.g. 32 for NAS-Bench-Suite-Zero's NB201 scores) and the first scoring call uses another
    (zcnas scores on 30 CIFAR-10 images by default), one :class:`~zcnas.exceptions.ZcnasWarning`
    says so: proxy values depend on the batch size, so ``Rank``/``Zscore`` against that pool
    are not comparable.

    Args:
        program: the program; it needs a :attr:`~ScoreProgram.reference` if it uses ``Rank``
            or ``Zscore``.
        name: the proxy name.
        flavors: ``{proxy: flavor}`` for the read proxies (default: the call's flavor when a
            proxy has it, else its default), e.g. ``naslib`` to match stored Suite-Zero scores.
        overwrite: replace a score-program proxy of that name (as
            :func:`zcnas.proxies.register`'s ``overwrite``; a built-in proxy is never replaced).
        replace: the same as ``overwrite`` (older name).

    Raises:
        ZcnasError: unknown read proxy, missing reference, a name already registered, or the
            name of a proxy that is not a score program.
    """
    from zcnas.proxies import base

    replace = replace or overwrite
    if name in base._REGISTRY and base._REGISTRY[name].family != "score-program":
        raise ZcnasError(
            f"{name!r} is a registered {base._REGISTRY[name].family} proxy, not a score "
            "program: choose another name for the program"
        )

    if program.uses_pool and program.reference is None:
        raise ZcnasError(
            f"{program.expr} uses Rank/Zscore: give it a reference pool "
            "(ScoreProgram.with_reference) before registering it"
        )
    comps = [base.get_proxy(p) for p in program.proxies]
    flavors = dict(flavors or {})
    if replace and name in base._REGISTRY:
        del base._REGISTRY[name]
    ref = program.reference_matrix()
    prepared = (
        _native.ScoreGpPrepared(program.expr, list(program.proxies), np.ascontiguousarray(ref))
        if program.uses_pool and ref is not None
        else None
    )

    pool_batch = program.meta.get(_POOL_BATCH) if program.uses_pool else None
    warned = False

    def compute(ctx: Any, flavor: str) -> float:
        nonlocal warned
        live = int(ctx.inputs.shape[0])
        if pool_batch is not None and live != int(pool_batch) and not warned:
            warned = True
            ctx.note(
                "warnings",
                f"score program {name!r} compares live values with a reference pool scored "
                f"at batch size {int(pool_batch)}, but this call scores at batch size {live}: "
                "proxy values depend on the batch size, so its Rank/Zscore terms are not "
                f"comparable. Score at batch size {int(pool_batch)} (zcnas ships 30 CIFAR-10 "
                "and 25 CIFAR-100 images: pass your own minibatch), or rebuild the pool with "
                f"ScoreProgram.with_reference from scores at batch size {live}",
            )
        vals = []
        for c in comps:
            fl = flavors.get(c.name) or c.resolve_flavor(ctx.flavor)
            vals.append(float(c.compute(ctx, fl)))
        x = np.asarray([vals], dtype=np.float64)
        if prepared is not None:
            return float(prepared.eval(x)[0])
        return float(program.evaluate(x)[0])

    def check(info: Any, flavor: str) -> str | None:
        for c in comps:
            if c.check is not None:
                r = c.check(info, c.resolve_flavor(flavor))
                if r:
                    return f"{c.name}: {r}"
        return None

    compute.score_program = program  # type: ignore[attr-defined]  # read by uses_pool
    return base.register(
        base.Proxy(
            name=name,
            compute=compute,
            flavors=("default",),
            needs=frozenset().union(*(c.needs for c in comps)),
            passes=frozenset().union(*(c.passes for c in comps)),
            family="score-program",
            doc=f"Score-level program {program.formula()} over {', '.join(program.proxies)} "
            "(zcnas.eznas.scores). Higher = better.",
            min_batch=max(c.min_batch for c in comps),
            train_mode=any(c.train_mode for c in comps),
            check=check,
        )
    )


class ProgramProxies:
    """A proxy source for :mod:`zcnas.search` (``archs -> (n, 1)``, higher = better) whose one
    column is a score program over another source's columns, e.g.
    ``ProgramProxies(prog, TableProxies(prog.proxies, source="suite_zero"))`` for
    :func:`zcnas.search.evolution.aznas_evolution` or ``random_proxy_search``.

    ``Rank``/``Zscore`` use ``reference`` (an ``(m, k)`` matrix in :attr:`ScoreProgram.proxies`
    order, e.g. unlabelled stored scores of the searched space), else the program's stored
    reference pool, so an architecture's value does not depend on what else was scored.
    Architectures with a non-finite input score get NaN (ranked lowest by the searches). The
    reference's pool statistics are computed once (``zcnas_core::gp::scores::PreparedFormula``),
    so a call costs a binary search per ``Rank``, not a sort of the reference.

    Raises:
        ZcnasError: the source lacks a read proxy, or a pool program has no reference.
    """

    seconds_per_eval = 0.0

    def __init__(
        self,
        program: ScoreProgram,
        source: Any,
        *,
        name: str = "score_program",
        reference: Any = None,
    ) -> None:
        names = list(getattr(source, "names", ()))
        missing = [p for p in program.proxies if p not in names]
        if missing:
            raise ZcnasError(f"the proxy source has no {missing} (it has {names})")
        self.program, self.source, self.names = program, source, (name,)
        self._cols = [names.index(p) for p in program.proxies]
        ref = program.reference_matrix() if reference is None else np.asarray(reference, float)
        if program.uses_pool and ref is None:
            raise ZcnasError("this program uses Rank/Zscore: give it a reference pool")
        self._prepared = (
            _native.ScoreGpPrepared(
                program.expr, list(program.proxies), np.ascontiguousarray(ref, dtype=np.float64)
            )
            if program.uses_pool
            else None
        )

    @property
    def n_evals(self) -> int:
        """Architectures the underlying source evaluated."""
        return int(getattr(self.source, "n_evals", 0))

    def __call__(self, archs: Any) -> np.ndarray:
        x = np.asarray(self.source(archs), dtype=np.float64)[:, self._cols]
        out = np.full(x.shape[0], np.nan)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            if self._prepared is not None:  # reference statistics computed once
                out[ok] = self._prepared.eval(np.ascontiguousarray(x[ok]))
            else:
                out[ok] = self.program.evaluate(x[ok])
        return out[:, None]


def common_proxies(tasks: Sequence[TaskData]) -> list[str]:
    """Proxies present in every task, in the first task's order."""
    if not tasks:
        raise ZcnasError("no task given")
    common = set.intersection(*(set(t.proxies) for t in tasks))
    return [p for p in tasks[0].proxies if p in common]


def split_rows(n: int, holdout: float, seed: int, salt: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(fitness rows, held-out rows)`` of a task of ``n`` architectures: a seeded random
    permutation, the first ``round((1 - holdout) n)`` for fitness (sorted index arrays)."""
    if not 0.0 <= holdout < 1.0:
        raise ZcnasError(f"holdout must be in [0, 1), got {holdout}")
    perm = np.random.default_rng([seed, salt]).permutation(n)
    n_fit = round((1.0 - holdout) * n)
    return np.sort(perm[:n_fit]), np.sort(perm[n_fit:])


@dataclass
class ScoreEvolution:
    """Result of :func:`evolve_scores`.

    Attributes:
        programs: best first (fitness on all fitness rows of every task).
        proxies: terminal proxies.
        tasks: task labels.
        fit_rows: per task, the row indices used for fitness.
        heldout_rows: per task, the held-out row indices.
        heldout: ``(n_programs, n_tasks)`` Kendall tau on the held-out rows (NaN if none).
        history: per-generation summaries.
        evaluations: formulas scored.
        seconds: wall time of the search.
        config: the core configuration.
    """

    programs: list[ScoreProgram]
    proxies: list[str]
    tasks: list[str]
    fit_rows: list[np.ndarray]
    heldout_rows: list[np.ndarray]
    heldout: np.ndarray
    history: list[dict[str, Any]]
    evaluations: int
    seconds: float
    config: dict[str, Any]

    @property
    def best(self) -> ScoreProgram:
        """The best program."""
        return self.programs[0]


def evolve_scores(
    tasks: Sequence[TaskData],
    *,
    proxies: Sequence[str] | None = None,
    holdout: float = 0.5,
    seed: int = 0,
    population: int = 200,
    generations: int = 40,
    archs_per_task: int = 500,
    aggregate: str = "min",
    parsimony: float = 0.001,
    max_nodes: int = 25,
    max_height: int = 6,
    tournament: int = 5,
    elite: int = 4,
    hall_of_fame: int = 30,
    ops: Sequence[str] | None = None,
    reference_rows: int = 2000,
    splits: Sequence[tuple[Any, Any]] | None = None,
    pool_free: bool = False,
) -> ScoreEvolution:
    """Evolve score formulas on tasks (Rust core, GIL released, parallel over formulas).

    Args:
        tasks: tasks with ground truth (each needs every proxy of ``proxies``).
        proxies: terminal proxies (default: :func:`common_proxies`).
        holdout: share of every task's architectures kept out of the search (drawn with
            ``seed`` and the task's position); 0 uses them all.
        seed: seed of the split and of the search.
        population: formulas per generation.
        generations: generations after the initial population.
        archs_per_task: architectures drawn per task and generation for fitness (0 = all).
        aggregate: ``"min"`` or ``"mean"`` of the per-task taus.
        parsimony: fitness penalty per node.
        max_nodes: most nodes of a formula.
        max_height: largest height of a formula (at most 16).
        tournament: tournament size.
        elite: best distinct formulas copied into the next generation.
        hall_of_fame: formulas re-scored at the end and returned.
        ops: allowed operation names (default: all of :data:`OPERATIONS`).
        reference_rows: the programs that use ``Rank``/``Zscore`` get as reference pool the
            first task's fitness rows (at most this many) for scoring architectures alone.
        splits: explicit ``(fitness rows, held-out rows)`` per task (row indices), instead of
            the seeded ``holdout`` split (to share a split with another method).
        pool_free: only pool-free formulas: raw scores and their logs as terminals, no
            ``Rank``/``Zscore``, so that a formula scores one network alone with no reference
            pool (needed where the scored networks lie outside any pool of stand-alone
            networks, e.g. Zero-Cost-PT's perturbed supernets).

    Returns:
        A :class:`ScoreEvolution`.
    """
    tasks = list(tasks)
    names = list(proxies) if proxies is not None else common_proxies(tasks)
    if not names:
        raise ZcnasError("the tasks have no proxy in common")
    if splits is None:
        splits = [split_rows(t.n, holdout, seed, i) for i, t in enumerate(tasks)]
    else:
        splits = [
            (np.sort(np.asarray(f, dtype=np.int64)), np.sort(np.asarray(h, dtype=np.int64)))
            for f, h in splits
        ]
        if len(splits) != len(tasks):
            raise ZcnasError(f"{len(splits)} splits for {len(tasks)} tasks")
        for t, (f, h) in zip(tasks, splits, strict=True):
            if len(np.intersect1d(f, h)) or (len(f) and (f.min() < 0 or f.max() >= t.n)):
                raise ZcnasError(
                    f"{t.label}: fitness rows must be in range and disjoint from held-out rows"
                )
    for t, (fit, _) in zip(tasks, splits, strict=True):
        if len(fit) < 3:
            raise ZcnasError(f"{t.label}: fewer than 3 fitness architectures")
    payload = [
        (
            np.ascontiguousarray(t.select(names).scores[fit]),
            np.ascontiguousarray(t.truth[fit]),
        )
        for t, (fit, _) in zip(tasks, splits, strict=True)
    ]
    cfg: dict[str, Any] = {
        "population": population,
        "generations": generations,
        "tournament": tournament,
        "elite": elite,
        "max_height": max_height,
        "max_nodes": max_nodes,
        "archs_per_task": archs_per_task,
        "aggregate": aggregate,
        "parsimony": parsimony,
        "hall_of_fame": hall_of_fame,
        "ops": list(ops or []),
        "pool_free": bool(pool_free),
        "seed": seed,
    }
    if max_height < 3:
        cfg["init_height"] = [min(1, max_height), max_height]
    t0 = time.perf_counter()
    res = json.loads(_native.score_gp_evolve(names, payload, json.dumps(cfg)))
    seconds = time.perf_counter() - t0
    from zcnas import stats

    if not res["best"]:
        raise ZcnasError(
            "no formula was valid (finite and non-constant) on every task; check the proxies"
        )
    progs, held = [], []
    ref_task, (ref_rows, _) = tasks[0], splits[0]
    for ind in res["best"]:
        p = ScoreProgram(
            ind["expr"],
            tuple(names),
            fitness=ind["fitness"],
            meta={"fitness_taus": ind["taus"], "tasks": [t.label for t in tasks]},
        )
        if p.uses_pool:  # a pool-free formula scores an architecture alone: no pool kept
            p = p.with_reference(ref_task, ref_rows, reference_rows)
        progs.append(p)
        row = []
        for t, (_, ho) in zip(tasks, splits, strict=True):
            if len(ho) < 3:
                row.append(np.nan)
                continue
            v = p.evaluate_scores(t.subset(ho))
            ok = np.isfinite(v)
            row.append(stats.kendall_tau(v, t.truth[ho]) if ok.all() and np.ptp(v) > 0 else np.nan)
        held.append(row)
    return ScoreEvolution(
        programs=progs,
        proxies=names,
        tasks=[t.label for t in tasks],
        fit_rows=[s[0] for s in splits],
        heldout_rows=[s[1] for s in splits],
        heldout=np.asarray(held, dtype=np.float64).reshape(len(progs), len(tasks)),
        history=res["history"],
        evaluations=int(res["evaluations"]),
        seconds=seconds,
        config=res["config"],
    )
