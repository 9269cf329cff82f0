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
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas import kernels, stats
from zcnas.exceptions import ZcnasError
from zcnas.search import ZC_PT_METHODS, ZC_PT_ORDERS
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
_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2023, 0.1994, 0.2010)


# ------------------------------------------------------------------------------ scoring


_ACTIVATIONS = (nn.ReLU, nn.ReLU6)


def jacob_score(
    model: nn.Module, inputs: torch.Tensor, labels: Any = None, *, hooks: str = "name"
) -> float:
    """Zero-Cost-PT's NASWOT score (``jacob``): ``log|det K|`` of one eval-mode forward.

    ``K = sum over hooked module calls of c c^T + (1-c)(1-c)^T`` with ``c = [input > 0]``
    flattened per sample. ``hooks="name"`` (the reference's rule, ``'ReLU' in str(type(m))``)
    hooks every module whose class name contains ``ReLU``: the activations **and** wrapper
    modules such as NB201's and DARTS' ``ReLUConvBN``, whose input is their inner ReLU's input,
    so those codes count twice, as in the reference. ``hooks="activation"`` hooks only
    ``nn.ReLU`` / ``nn.ReLU6`` modules (plain NASWOT). The model is put in eval mode for the
    forward (BN uses its running statistics; nothing is updated) and its mode restored; it is
    not copied. Higher = better. ``labels`` is ignored.

    Raises:
        ZcnasError: on an unknown ``hooks`` rule or if no hooked module is called.
    """
    if hooks == "name":
        mods = [m for m in model.modules() if "ReLU" in type(m).__name__]
    elif hooks == "activation":
        mods = [m for m in model.modules() if isinstance(m, _ACTIVATIONS)]
    else:
        raise ZcnasError(f"hooks must be 'name' or 'activation', got {hooks!r}")
    b = inputs.shape[0]
    acc = [torch.zeros(b, b, dtype=torch.float64), 0]

    def hook(_m: nn.Module, inp: Any, _out: Any) -> None:
        a = inp[0] if isinstance(inp, tuple) else inp
        c = (a.detach() > 0).reshape(b, -1).to(torch.float32)
        r = c.sum(1, dtype=torch.float64)
        # c c^T + (1-c)(1-c)^T = 2 c c^T - r_i - r_j + D; c c^T is exact in float32 (< 2**24)
        g = (c @ c.T).to(torch.float64)
        acc[0] += 2.0 * g - r[:, None] - r[None, :] + float(c.shape[1])
        acc[1] += 1

    handles = [m.register_forward_hook(hook) for m in mods]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if acc[1] == 0:
        raise ZcnasError("jacob (nwot) score: no ReLU-like module was called in the forward")
    return float(kernels.slogdet(acc[0].numpy())[1])


@dataclass(frozen=True)
class Scorer:
    """A zero-cost proxy ``S(model, inputs, labels) -> float`` (higher = better).

    Attributes:
        proxy: the proxy name (``"custom"`` for a user callable).
        flavor: the flavor (``"zcpt"`` for the reference's eval-mode NASWOT).
        fn: the scoring function.
    """

    proxy: str
    flavor: str
    fn: Callable[[nn.Module, torch.Tensor, torch.Tensor | None], float]

    def __call__(self, model: nn.Module, inputs: torch.Tensor, labels: Any = None) -> float:
        return float(self.fn(model, inputs, labels))


def make_scorer(
    proxy: str | Callable[..., float] = "nwot", flavor: str | None = None, *, seed: int = 0
) -> Scorer:
    """The scoring function ``S`` of a proxy.

    Args:
        proxy: ``"nwot"`` (default), any name of :func:`zcnas.proxies.list_proxies`, or a
            callable ``(model, inputs, labels) -> float`` (higher = better).
        flavor: for ``nwot``, ``None`` or ``"zcpt"`` is the reference's eval-mode ``jacob``
            (:func:`jacob_score`, modules hooked by class name), ``"zcpt-act"`` the same with
            only ReLU/ReLU6 activations hooked; any other flavor (``naslib``, ``bayeswatch``,
            ...) and any other proxy go through the proxy engine with that flavor.
        seed: the engine's seed (Gaussian inputs, re-initialisations).

    Raises:
        ZcnasError: on an unknown proxy or flavor.
    """
    if callable(proxy):
        return Scorer("custom", flavor or "custom", proxy)
    from zcnas.proxies import get_proxy, score

    if proxy == "nwot" and flavor in (None, "zcpt"):
        return Scorer("nwot", "zcpt", jacob_score)
    if proxy == "nwot" and flavor == "zcpt-act":
        return Scorer("nwot", "zcpt-act", partial(jacob_score, hooks="activation"))
    p = get_proxy(proxy)  # raises on an unknown name
    if flavor is not None and flavor not in p.flavors:
        raise ZcnasError(f"proxy {proxy!r} has no flavor {flavor!r}; it has {list(p.flavors)}")
    fl = p.resolve_flavor(flavor)

    def fn(model: nn.Module, inputs: torch.Tensor, labels: Any) -> float:
        return score(model, inputs, labels, [proxy], flavor=fl, seed=seed)[proxy]

    return Scorer(proxy, fl, fn)


# ------------------------------------------------------------------------------ data


class ImageBatches:
    """Minibatches drawn from a fixed set of (normalised) images.

    Each :meth:`draw` takes ``batch_size`` images without replacement (all of them by default,
    in a random order) and, with ``augment``, applies the reference's CIFAR training
    augmentation per image: a random 32x32 crop of the image padded by 4 pixels of black
    (``-mean/std`` after normalisation) and a horizontal flip with probability 1/2.

    Args:
        images: ``(n, C, H, W)`` float tensor, normalised with ``mean``/``std``.
        labels: ``(n,)`` class indices.
        batch_size: images per batch (default all ``n``).
        augment: apply crop and flip.
        seed: seed of the draws.
        mean, std: the normalisation of ``images`` (CIFAR's by default).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        batch_size: int | None = None,
        augment: bool = True,
        seed: int = 0,
        mean: Sequence[float] = _CIFAR_MEAN,
        std: Sequence[float] = _CIFAR_STD,
        pad: int = 4,
    ) -> None:
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise ZcnasError("images must be a 4-D tensor (n, C, H, W)")
        if not isinstance(labels, torch.Tensor) or labels.shape != (images.shape[0],):
            raise ZcnasError("labels must be a 1-D tensor with one label per image")
        n = images.shape[0]
        bs = n if batch_size is None else batch_size
        if isinstance(bs, bool) or not isinstance(bs, int) or not 1 <= bs <= n:
            raise ZcnasError(f"batch_size must be an integer in 1..{n}, got {batch_size!r}")
        self.images, self.labels = images, labels
        self.batch_size, self.augment, self.pad = bs, bool(augment), int(pad)
        self.rng = np.random.default_rng(seed)
        fill = [-m / s for m, s in zip(mean, std, strict=True)]
        if len(fill) != images.shape[1]:
            raise ZcnasError("mean/std must have one entry per image channel")
        self._fill = torch.tensor(fill, dtype=images.dtype)[:, None, None]

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One minibatch ``(x, y)``."""
        idx = self.rng.permutation(self.images.shape[0])[: self.batch_size]
        x = self.images[idx].clone()
        if self.augment:
            _, c, h, w = x.shape
            p = self.pad
            padded = self._fill.expand(c, h + 2 * p, w + 2 * p)
            for i in range(x.shape[0]):
                canvas = padded.clone()
                canvas[:, p : p + h, p : p + w] = x[i]
                dy, dx = self.rng.integers(0, 2 * p + 1, size=2)
                crop = canvas[:, dy : dy + h, dx : dx + w]
                if self.rng.random() < 0.5:
                    crop = crop.flip(-1)
                x[i] = crop
        return x.contiguous(memory_format=torch.channels_last), self.labels[idx].clone()


# ------------------------------------------------------------------------------ operation scores


def _row_best(row: np.ndarray, ops: Sequence[int]) -> int:
    vals = np.array([row[o] for o in ops], dtype=np.float64)
    if np.all(np.isnan(vals)):
        raise ZcnasError("every operation score of the edge is NaN; cannot choose an operation")
    return int(ops[int(np.nanargmax(vals))])


def operation_scores(
    net: Supernet,
    scorer: Scorer,
    inputs: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    method: str = "zc-pt",
    edges: Iterable[int] | None = None,
) -> np.ndarray:
    """Operation scores of every selectable op on ``edges`` of the supernet as it stands.

    Args:
        net: the supernet.
        scorer: the proxy ``S``.
        inputs, labels: one minibatch.
        method: ``"zc-pt"`` (``-S`` with the op removed) or ``"disc-zc"`` (``S`` with the edge
            one-hot on the op).
        edges: rows to score (default: the undecided edges).

    Returns:
        ``(E, O)`` float64, **higher = better**; NaN for rows not scored and ops not selectable.

    Raises:
        ZcnasError: on an unknown method.
    """
    if method not in METHODS:
        raise ZcnasError(f"unknown method {method!r}; expected one of {METHODS}")
    rows = net.candidate_edges() if edges is None else [int(e) for e in edges]
    out = np.full((net.num_edges, net.num_ops), np.nan)
    for e in rows:
        for o in net.selectable:
            ctx = net.perturbed(e, o) if method == "zc-pt" else net.discretized(e, o)
            with ctx:
                s = scorer(net, inputs, labels)
            out[e, o] = -s if method == "zc-pt" else s
    return out


# ------------------------------------------------------------------------------ one proposal


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
) -> np.ndarray:
    """Sum of ``S`` over the ``V`` minibatches for each stand-alone network.

    Each architecture is built with the supernet's builder and size settings (overridden by
    ``network_sizes``, e.g. ``{"C": 16, "N": 5}``), initialised with
    PyTorch's defaults under a seed derived from ``seed`` and the architecture (the global RNG
    state is restored), and scored on every batch.

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
        totals[i] = sum(scorer(model, x, y) for x, y in batches)
    return totals


# ------------------------------------------------------------------------------ search


@dataclass
class ZcPtResult:
    """Everything a Zero-Cost-PT run produced.

    Attributes:
        space, proxy, flavor, method, order, seed, proposals, validate_rounds, batch_size,
        augment: the settings.
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
            task_id = bar.add_task(f"zc-pt {space} {scorer.proxy} seed {seed}", total=proposals)
            for _ in range(proposals):
                logs.append(propose(net, scorer, batches, order=order, method=method, rng=gen))
                bar.advance(task_id)
        t1 = time.perf_counter()
        candidates = [p.arch for p in logs]
        unique = list(dict.fromkeys(candidates))
        if validate_rounds > 0:
            vb = [batches.draw() for _ in range(validate_rounds)]
            vbar = _progress(progress)
            with vbar:
                vid = vbar.add_task("validation", total=len(unique))

                def adv(it: Iterable[int]) -> Iterable[int]:
                    for i in it:
                        yield i
                        vbar.advance(vid)

                vals = validate(
                    net, unique, scorer, vb, seed=seed, network_sizes=network_sizes, progress=adv
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


# ------------------------------------------------------------------------------ analysis (NB201)


def _nb201_op_matrix() -> np.ndarray:
    from zcnas.bench import load_nb201

    strs = load_nb201()["arch_str"]
    ids = {name: k for k, name in enumerate(nb201.OPS)}
    return np.array([[ids[o] for o in nb201.str_to_ops(str(s))] for s in strs], dtype=np.int8)


_OP_MATRIX: list[np.ndarray] = []


def _op_matrix() -> np.ndarray:
    if not _OP_MATRIX:
        _OP_MATRIX.append(_nb201_op_matrix())
    return _OP_MATRIX[0]


def nb201_oracle(
    kind: str = "best-acc", dataset: str = "cifar10", fixed: dict[int, int] | None = None
) -> np.ndarray:
    """The oracle operation scores of NAS-Bench-201 (paper Eq. 1 and its average variant).

    ``best-acc[e, o]`` is the highest test accuracy of all architectures with op ``o`` on edge
    ``e`` (and the ops of ``fixed`` on their edges: the fully discretised networks reachable
    from a partially discretised supernet); ``avg-acc`` the mean. Accuracies are the embedded
    table's (mean over seeds). Higher = better.

    Args:
        kind: ``"best-acc"`` or ``"avg-acc"``.
        dataset: ``cifar10``, ``cifar100`` or ``imagenet16``.
        fixed: edge -> op index (:data:`zcnas.spaces.nb201.OPS` order) already discretised.

    Returns:
        ``(6, 5)`` float64 (rows :data:`nb201.EDGES`, columns :data:`nb201.OPS`); NaN where no
        architecture qualifies (a fixed edge's other ops).

    >>> o = nb201_oracle("best-acc")
    >>> round(float(o.max()), 2)  # the best NB201 CIFAR-10 test accuracy
    94.37
    """
    from zcnas.bench import load_nb201

    if kind not in ("best-acc", "avg-acc"):
        raise ZcnasError(f"unknown oracle {kind!r}; expected 'best-acc' or 'avg-acc'")
    acc = load_nb201().test_accuracy(dataset)
    ops = _op_matrix()
    mask = np.ones(len(acc), dtype=bool)
    for e, o in (fixed or {}).items():
        mask &= ops[:, int(e)] == int(o)
    out = np.full((6, 5), np.nan)
    for e in range(6):
        for o in range(5):
            sel = acc[mask & (ops[:, e] == o)]
            if sel.size:
                out[e, o] = sel.max() if kind == "best-acc" else sel.mean()
    return out


def edge_correlation(scores: np.ndarray, oracle: np.ndarray, edges: Iterable[int] | None = None):
    """Mean over edges of the Spearman rho between a scoring function's and an oracle's
    operation scores on that edge (paper Sec. 3.2 / A.3), via :func:`zcnas.stats.spearman`.

    Args:
        scores, oracle: ``(E, O)`` matrices (higher = better); NaN entries of either are left
            out of that edge.
        edges: rows to use (default: rows where ``scores`` has at least 2 finite entries).

    Returns:
        ``(mean, per_edge)``: the mean rho (NaN if no edge qualifies) and a dict edge -> rho
        (NaN for an edge whose scores are constant).
    """
    s, t = np.asarray(scores, dtype=np.float64), np.asarray(oracle, dtype=np.float64)
    if s.shape != t.shape or s.ndim != 2:
        raise ZcnasError(f"scores {s.shape} and oracle {t.shape} must be equal 2-D shapes")
    rows = range(s.shape[0]) if edges is None else edges
    per: dict[int, float] = {}
    for e in rows:
        ok = np.isfinite(s[e]) & np.isfinite(t[e])
        if ok.sum() < 2:
            continue
        a, b = s[e, ok], t[e, ok]
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            per[int(e)] = float("nan")
        else:
            per[int(e)] = float(stats.spearman(a, b))
    vals = [v for v in per.values() if np.isfinite(v)]
    return (float(np.mean(vals)) if vals else float("nan")), per


def select_by_scores(scores: np.ndarray) -> str:
    """The NB201 architecture picking on every edge the op with the best score (Table 1); a
    tie goes to the first op in :data:`zcnas.spaces.nb201.OPS` order.

    >>> nb201_rank(select_by_scores(nb201_oracle("avg-acc")))  # paper Table 1: 166
    167
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (6, 5):
        raise ZcnasError(f"NB201 scores must be 6 x 5, got {s.shape}")
    return nb201.ops_to_str([nb201.OPS[_row_best(s[e], range(5))] for e in range(6)])


def nb201_rank(arch: Any, dataset: str = "cifar10") -> int:
    """Rank of an architecture among the 15,625 by test accuracy (1 = best; ties share the
    best rank: 1 + the number of strictly better architectures).

    >>> nb201_rank(6111)
    1
    """
    from zcnas.bench import load_nb201

    acc = load_nb201().test_accuracy(dataset)
    return int((acc > acc[nb201.to_index(arch)]).sum()) + 1


def progressive_scores(
    net: Supernet,
    scorer: Scorer,
    batches: ImageBatches,
    *,
    method: str = "zc-pt",
    rng: Any = None,
) -> list[tuple[dict[int, int], np.ndarray]]:
    """Operation scores at every iteration of a discretisation (paper Sec. 3.2, progressive).

    At iteration ``t`` every undecided edge is scored (one fresh minibatch), then a random
    undecided edge is discretised to its best op under the same scores. No retraining happens
    between iterations (zero-cost scoring functions need none).

    Returns:
        Per iteration, ``(fixed, scores)``: the edges discretised before it (edge -> op) and
        the ``(E, O)`` scores (NaN on decided edges). Iteration 0 is the initial setting.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    net.reset(gen)
    out = []
    while net.candidate_edges():
        remaining = net.candidate_edges()
        x, y = batches.draw()
        m = operation_scores(net, scorer, x, y, method=method, edges=remaining)
        out.append((dict(net.projected), m))
        e = int(remaining[int(gen.integers(len(remaining)))])
        net.project(e, _row_best(m[e], net.selectable))
    return out
