"""Zero-Cost-PT: architecture search by zero-cost operation scoring on an untrained supernet.

Implements Xiang et al., "Zero-Cost Operation Scoring in Differentiable Architecture Search"
(AAAI 2023; reference code zerocostptnas/zerocost_operation_score, see ``PROXIES.md`` 3.1).

**Operation scoring functions** (paper Sec. 3.1; every score here is **higher = better**):

* ``zc-pt`` (perturbation): the score of operation ``o`` on edge ``e`` is ``-S(A \\ (e, o))``,
  the negated proxy score of the supernet with ``o`` removed from ``e``; the operation whose
  removal hurts most wins (the reference's ``nanargmin`` of ``S``).
* ``disc-zc`` (discretisation): ``S(A`` with ``e`` made one-hot on ``o)``; the best wins.

``S`` is any proxy: :func:`make_scorer` wraps the proxy engine (:func:`zcnas.proxies.score`:
``synflow``, ``grad_norm``, ``eznas`` ...; those passes run on train-mode copies) or, for
``nwot`` (the default), the reference's own NASWOT score ``jacob``: the same kernel ``K`` built
from the inputs of every module whose class name contains ``ReLU`` (ReLU6 and ``ReLUConvBN``
wrappers included, as the reference matches ``str(type(module))``), in **eval mode** on one
forward (fresh BN statistics, so BN is about the identity), ``log|det K|``.
Departure: ``K`` is exact (float64 from integer Gram matrices); the reference builds it in
float32 on the GPU.

**Edge orders** (:data:`ORDERS`, paper Sec. 4.2): ``fixed`` (input to output), ``reverse``,
``random``, ``global-op-iter`` (score every remaining (edge, op), project the best pair, repeat),
``global-edge-iter`` (the edge with the best mean op score, then its best op), ``global-op-once``
/ ``global-edge-once`` (the edge order is fixed once from iteration-0 scores: best op score /
mean op score, best first; then each edge's ops are scored when it is reached). The reference
code's once-orders pop an ``OrderedDict`` LIFO and so reduce to ``reverse``; zcnas implements
the paper's definitions (use ``reverse`` for the reference's behaviour). For the global-iter
orders the chosen op is taken from the same scores that chose the edge (the reference rescores
the edge on a new minibatch).

**Algorithm** (paper Algorithm 1, :func:`search`): ``N`` proposals, each resetting the supernet
(new ``alpha``) and discretising every edge in the chosen order with a fresh minibatch per step
(DARTS: then the topology step, keeping per node the 2 incoming edges whose removal hurts most);
then the unique proposals are built as stand-alone networks and scored by the same proxy summed
over ``V`` minibatches (the same ``V`` batches for every candidate); the best total wins. All
candidates, their per-step operation scores and the validation scores are kept.

**Data.** :class:`ImageBatches` draws minibatches from a fixed set of images (zcnas ships 30
real CIFAR-10 ones) with the reference's training augmentation (random crop with 4 pixels of
zero padding and horizontal flips), so that ``V`` can exceed the number of disjoint batches.

**Analysis** (paper Sec. 3.2, NAS-Bench-201): :func:`nb201_oracle` (best-acc / avg-acc per
(edge, op), optionally conditional on already discretised edges), :func:`edge_correlation`
(mean over edges of the per-edge Spearman rho, through :mod:`zcnas.stats`),
:func:`operation_scores` and :func:`progressive_scores` (scores at iteration 0 and at every
iteration of a discretisation), :func:`select_by_scores` and :func:`nb201_rank`.

Code map: :mod:`zcnas.search.zc_pt_scoring` (scorers, minibatches, operation scores),
:mod:`zcnas.search.zc_pt_analysis` (the NB201 oracle analysis) and this module (proposals,
validation, the search); every public name is importable from here.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from zcnas.exceptions import ZcnasError
from zcnas.search import ZC_PT_METHODS, ZC_PT_ORDERS
from zcnas.search.zc_pt_analysis import (
    edge_correlation,
    nb201_oracle,
    nb201_rank,
    progressive_scores,
    select_by_scores,
)
from zcnas.search.zc_pt_scoring import (
    ImageBatches,
    Scorer,
    _row_best,
    jacob_score,
    make_scorer,
    operation_scores,
)
from zcnas.spaces import nb201
from zcnas.spaces.supernet import Supernet, build_supernet

__all__ = [
    "METHODS",
    "ORDERS",
    "ImageBatches",
    "Proposal",
    "Scorer",
    "ZcPtResult",
    "edge_correlation",
    "jacob_score",
    "make_scorer",
    "nb201_oracle",
    "nb201_rank",
    "operation_scores",
    "progressive_scores",
    "propose",
    "search",
    "select_by_scores",
    "validate",
]

#: Edge discretisation orders.
ORDERS = ZC_PT_ORDERS
#: Operation scoring functions.
METHODS = ZC_PT_METHODS
#: Store names of the spaces.
SPACE_KEYS = {"nb201": "nasbench201", "macro": "nasbench_macro", "darts": "darts"}


@dataclass
class Proposal:
    """One discretisation of the supernet.

    Attributes:
        arch: the architecture (NB201 string, Macro digits, DARTS genotype text).
        steps: per step, ``{"edge", "edge_name", "op", "op_name", "scores"}`` (scores of the
            scored edges' ops, higher = better, as ``{edge_name: [per op]}``); DARTS topology
            steps have ``"removed"`` instead of ``"op"``.
        evaluations: number of proxy evaluations.
    """

    arch: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    evaluations: int = 0


def _scores_dict(net: Supernet, m: np.ndarray, rows: Iterable[int]) -> dict[str, list[float]]:
    return {net.edge_names[e]: [float(v) for v in m[e]] for e in rows}


def propose(
    net: Supernet,
    scorer: Scorer,
    batches: ImageBatches,
    *,
    order: str = "random",
    method: str = "zc-pt",
    rng: Any = None,
    topology: bool | None = None,
    on_step: Callable[[], None] | None = None,
) -> Proposal:
    """Discretise every edge of a freshly reset supernet (one proposal of Algorithm 1).

    Args:
        net: the supernet (reset here with ``rng``).
        scorer: the proxy ``S``.
        batches: a fresh minibatch is drawn for every step.
        order: one of :data:`ORDERS`.
        method: one of :data:`METHODS`.
        rng: ``None``, an int seed or a :class:`numpy.random.Generator` (``alpha``, random order).
        topology: run the DARTS topology step (default: for the DARTS supernet only).
        on_step: called after each edge is discretised (progress at the granularity a user
            waits on: one call per edge, each costing ``|ops|`` proxy evaluations or more).

    Returns:
        The :class:`Proposal`.

    Raises:
        ZcnasError: on an unknown order or method.
    """
    if order not in ORDERS:
        raise ZcnasError(f"unknown edge order {order!r}; expected one of {ORDERS}")
    if method not in METHODS:
        raise ZcnasError(f"unknown method {method!r}; expected one of {METHODS}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    net.reset(gen)
    prop = Proposal(arch="")
    fixed_order: list[int] | None = None
    if order in ("global-op-once", "global-edge-once"):
        x, y = batches.draw()
        m = operation_scores(net, scorer, x, y, method=method)
        prop.evaluations += len(net.candidate_edges()) * len(net.selectable)
        key = [
            np.nanmax(m[e]) if order == "global-op-once" else np.nanmean(m[e])
            for e in range(net.num_edges)
        ]
        fixed_order = sorted(range(net.num_edges), key=lambda e: (-key[e], e))
        prop.steps.append({"order": [net.edge_names[e] for e in fixed_order]})
    while net.candidate_edges():
        remaining = net.candidate_edges()
        x, y = batches.draw()
        if order in ("global-op-iter", "global-edge-iter"):
            m = operation_scores(net, scorer, x, y, method=method, edges=remaining)
            prop.evaluations += len(remaining) * len(net.selectable)
            if order == "global-op-iter":
                sub = m[np.ix_(remaining, list(net.selectable))]
                if np.all(np.isnan(sub)):
                    raise ZcnasError("every operation score is NaN; cannot choose")
                r, c = np.unravel_index(int(np.nanargmax(sub)), sub.shape)
                e, o = remaining[r], net.selectable[c]
            else:
                means = [np.nanmean(m[e, list(net.selectable)]) for e in remaining]
                e = remaining[int(np.nanargmax(means))]
                o = _row_best(m[e], net.selectable)
            scored = remaining
        else:
            if order == "fixed":
                e = remaining[0]
            elif order == "reverse":
                e = remaining[-1]
            elif order == "random":
                e = int(remaining[int(gen.integers(len(remaining)))])
            else:
                assert fixed_order is not None
                e = next(k for k in fixed_order if k in remaining)
            m = operation_scores(net, scorer, x, y, method=method, edges=[e])
            prop.evaluations += len(net.selectable)
            o = _row_best(m[e], net.selectable)
            scored = [e]
        net.project(e, o)
        prop.steps.append(
            {
                "edge": int(e),
                "edge_name": net.edge_names[e],
                "op": int(o),
                "op_name": net.op_names[o],
                "scores": _scores_dict(net, m, scored),
            }
        )
        if on_step is not None:
            on_step()
    if topology if topology is not None else net.space == "darts":
        _topology(net, scorer, batches, prop)
    arch = net.arch()
    prop.arch = str(arch)
    return prop


def _topology(net: Supernet, scorer: Scorer, batches: ImageBatches, prop: Proposal) -> None:
    """DARTS topology step: for each node, repeatedly remove the incoming edge whose removal
    gives the highest ``S`` (hurts least) until 2 remain (reference ``sota/cnn``)."""
    for group in net.incoming_edges():
        edges = list(group)
        while len(edges) > 2:
            x, y = batches.draw()
            names = [net.edge_names[e] for e in edges]
            s = []
            for e in edges:
                with net.without_edge(e):
                    s.append(scorer(net, x, y))
            prop.evaluations += len(edges)
            vals = np.array(s, dtype=np.float64)
            if np.all(np.isnan(vals)):
                raise ZcnasError("every edge-removal score is NaN; cannot choose")
            drop = edges[int(np.nanargmax(vals))]
            net.remove_edge(drop)
            edges.remove(drop)
            prop.steps.append(
                {
                    "removed": net.edge_names[drop],
                    "scores": dict(zip(names, [float(v) for v in vals], strict=True)),
                }
            )


# ------------------------------------------------------------------------------ validation


def _init_seed(seed: int, arch: str) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(arch.encode())) % (2**31)


def validate(
    net: Supernet,
    archs: Sequence[str],
    scorer: Scorer,
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    seed: int = 0,
    network_sizes: dict[str, Any] | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    on_batch: Callable[[], None] | None = None,
) -> np.ndarray:
    """Sum of ``S`` over the ``V`` minibatches for each stand-alone network.

    Each architecture is built with the supernet's builder and size settings (overridden by
    ``network_sizes``, e.g. ``{"C": 16, "N": 5}``), initialised with
    PyTorch's defaults under a seed derived from ``seed`` and the architecture (the global RNG
    state is restored), and scored on every batch. ``progress`` wraps the loop over the
    architectures; ``on_batch`` is called after every scored minibatch (``V`` per network).

    Returns:
        One total per architecture (NaN if any batch gave NaN).
    """
    totals = np.zeros(len(archs))
    it: Iterable[int] = range(len(archs))
    if progress is not None:
        it = progress(it)
    for i in it:
        arch = archs[i]
        parsed: Any = arch
        if net.space == "darts":
            from zcnas.spaces.darts import parse_genotype

            parsed = parse_genotype(arch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_init_seed(seed, arch))
            model = net.build_network(parsed, **(network_sizes or {}))
        model = model.to(memory_format=torch.channels_last)
        total = 0.0
        for x, y in batches:
            total += scorer(model, x, y)
            if on_batch is not None:
                on_batch()
        totals[i] = total
    return totals


# ------------------------------------------------------------------------------ search


@dataclass
class ZcPtResult:
    """Everything a Zero-Cost-PT run produced.

    Attributes:
        space, proxy, flavor, method, order, seed: the settings of the run.
        proposals, validate_rounds, batch_size, augment: its sizes and augmentation.
        supernet_config, network_config: size settings of the supernet and of the stand-alone
            networks scored in validation.
        candidates: the ``N`` proposed architectures, in order.
        unique: the distinct candidates, in order of first proposal.
        val_scores: their validation totals (sum of ``S`` over ``V`` batches; higher = better).
        best: the winner (``unique[nanargmax(val_scores)]``).
        proposal_logs: the :class:`Proposal` of each iteration as dicts.
        time_propose_s, time_validate_s: wall times.
    """

    space: str
    proxy: str
    flavor: str
    method: str
    order: str
    seed: int
    proposals: int
    validate_rounds: int
    batch_size: int
    augment: bool
    supernet_config: dict[str, Any]
    network_config: dict[str, Any]
    candidates: list[str]
    unique: list[str]
    val_scores: list[float]
    best: str
    proposal_logs: list[dict[str, Any]]
    time_propose_s: float
    time_validate_s: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

    def store_key(self, arch: str) -> str:
        """The score-store key of an architecture (NB201: official index; Macro: digits;
        DARTS: the genotype text)."""
        if self.space == "nb201":
            return str(nb201.str_to_index(arch))
        return arch

    def write(self, store: Any, task: str = "cifar10") -> int:
        """Write the validation total of every unique candidate to a
        :class:`zcnas.bench.ScoreStore` (proxy ``"zc-pt/<proxy>"``, flavor holding flavor,
        method, order, N, V, batch size and seed). Returns the number of rows."""
        flavor = (
            f"{self.flavor};{self.method};{self.order};N={self.proposals};"
            f"V={self.validate_rounds};B={self.batch_size};seed={self.seed}"
        )
        rows = [
            {
                "space": SPACE_KEYS[self.space],
                "task": task,
                "arch": self.store_key(a),
                "proxy": f"zc-pt/{self.proxy}",
                "flavor": flavor,
                "score": s,
                "batch_size": self.batch_size,
                "seed": self.seed,
                "input_kind": "data-augmented" if self.augment else "data",
                "source": "zcnas.search.zc_pt validation total",
            }
            for a, s in zip(self.unique, self.val_scores, strict=True)
        ]
        return store.put_many(rows)


def search(
    space: str = "nb201",
    proxy: str | Callable[..., float] = "nwot",
    *,
    flavor: str | None = None,
    proposals: int = 10,
    validate_rounds: int = 100,
    order: str = "random",
    method: str = "zc-pt",
    seed: int = 0,
    images: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    batch_size: int | None = None,
    augment: bool = True,
    supernet: Supernet | None = None,
    supernet_kwargs: dict[str, Any] | None = None,
    network_sizes: dict[str, Any] | None = None,
    progress: bool = True,
    store: Any = None,
    task: str = "cifar10",
) -> ZcPtResult:
    """Run Zero-Cost-PT (Algorithm 1): ``proposals`` discretisations, then validation.

    Args:
        space: ``"nb201"``, ``"darts"`` or ``"macro"``.
        proxy: see :func:`make_scorer` (default ``nwot``, the reference's eval-mode score).
        flavor: proxy flavor.
        proposals: ``N`` (paper: 10).
        validate_rounds: ``V`` minibatches summed in validation (paper: 100); 0 skips
            validation and returns the first proposal.
        order: edge order, one of :data:`ORDERS` (paper default ``random``).
        method: ``"zc-pt"`` (paper) or ``"disc-zc"`` (the Zero-Cost-DISC baseline).
        seed: seeds the supernet's weights, ``alpha``, edge orders, batches and the stand-alone
            networks' initialisation; the global torch RNG state is restored afterwards.
        images, labels: the data (default: the 30 real CIFAR-10 images of
            :func:`zcnas.datasets.cifar_batch`).
        batch_size: images per minibatch (default all).
        augment: crop/flip augmentation of every drawn batch (see :class:`ImageBatches`).
        supernet: a prebuilt supernet (its weights are used as they are), else one is built
            from ``supernet_kwargs`` under the seed.
        network_sizes: size settings of the stand-alone networks scored in validation
            (default: the supernet's), e.g. ``{"C": 16, "N": 5}`` with a reduced supernet.
        progress: show a rich progress bar.
        store: optional :class:`zcnas.bench.ScoreStore` to receive the validation totals.
        task: the store's task name.

    Returns:
        The :class:`ZcPtResult`.

    Raises:
        ZcnasError: on invalid settings.
    """
    for name, v, lo in (("proposals", proposals, 1), ("validate_rounds", validate_rounds, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ZcnasError(f"{name} must be an integer >= {lo}, got {v!r}")
    if order not in ORDERS:
        raise ZcnasError(f"unknown edge order {order!r}; expected one of {ORDERS}")
    if method not in METHODS:
        raise ZcnasError(f"unknown method {method!r}; expected one of {METHODS}")
    scorer = make_scorer(proxy, flavor, seed=seed)
    if images is None:
        from zcnas.datasets import cifar_batch

        images, labels = cifar_batch("cifar10")
    if labels is None:
        raise ZcnasError("labels must be given with images")
    gen = np.random.default_rng(seed)
    batches = ImageBatches(
        images, labels, batch_size=batch_size, augment=augment, seed=int(gen.integers(2**31))
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if supernet is None:
            supernet = build_supernet(space, **(supernet_kwargs or {}))
        elif supernet.space != space:
            raise ZcnasError(f"supernet is for {supernet.space!r}, not {space!r}")
        net = supernet.to(memory_format=torch.channels_last)

        bar = _progress(progress)
        t0 = time.perf_counter()
        logs: list[Proposal] = []
        with bar:
            # one tick per discretised edge; the total is exact once the first proposal ends
            desc = f"zc-pt {space} {scorer.proxy} seed {seed}"
            task_id = bar.add_task(desc, total=proposals * max(1, net.num_edges))
            steps = [0]

            def step() -> None:
                steps[0] += 1
                bar.advance(task_id)

            for i in range(proposals):
                bar.update(task_id, description=f"{desc}: proposal {i + 1}/{proposals}")
                logs.append(
                    propose(net, scorer, batches, order=order, method=method, rng=gen, on_step=step)
                )
                if i == 0:
                    bar.update(task_id, total=proposals * max(1, steps[0]))
        t1 = time.perf_counter()
        candidates = [p.arch for p in logs]
        unique = list(dict.fromkeys(candidates))
        if validate_rounds > 0:
            vb = [batches.draw() for _ in range(validate_rounds)]
            vbar = _progress(progress)
            with vbar:
                vid = vbar.add_task(
                    f"validation: {len(unique)} networks x {validate_rounds} batches",
                    total=len(unique) * validate_rounds,
                )
                vals = validate(
                    net,
                    unique,
                    scorer,
                    vb,
                    seed=seed,
                    network_sizes=network_sizes,
                    on_batch=lambda: vbar.advance(vid),
                )
            best = unique[_nanargmax(vals)]
        else:
            vals = np.full(len(unique), np.nan)
            best = candidates[0]
        t2 = time.perf_counter()
    result = ZcPtResult(
        space=space,
        proxy=scorer.proxy,
        flavor=scorer.flavor,
        method=method,
        order=order,
        seed=int(seed),
        proposals=proposals,
        validate_rounds=validate_rounds,
        batch_size=batches.batch_size,
        augment=bool(augment),
        supernet_config=dict(net.config),
        network_config={**net.config, **(network_sizes or {})},
        candidates=candidates,
        unique=unique,
        val_scores=[float(v) for v in vals],
        best=best,
        proposal_logs=[asdict(p) for p in logs],
        time_propose_s=t1 - t0,
        time_validate_s=t2 - t1,
    )
    if store is not None:
        result.write(store, task)
    return result


def _nanargmax(vals: np.ndarray) -> int:
    if np.all(np.isnan(vals)):
        raise ZcnasError("every validation score is NaN; cannot choose an architecture")
    return int(np.nanargmax(vals))


def _progress(enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=True,
    )
