"""Supernets for Zero-Cost-PT: every edge (or choice layer) a mixed operation over its candidates.

A :class:`Supernet` wraps a network from the space's own builder whose searchable parts are
replaced by :class:`MixedOp` modules. Edge ``e`` computes ``sum_o w[e, o] * op_o(x)``, where
``w`` is the supernet's mixing matrix (:meth:`Supernet.mixing_weights`, ``E x O``, shared by all
cells, as in DARTS). Three spaces:

* :func:`nb201_supernet`: NAS-Bench-201 (6 edges x 5 ops, the xautodl skeleton of
  :func:`zcnas.spaces.nb201.build` with its cells replaced; ops from the same builder);
* :func:`darts_supernet`: the DARTS CNN space (normal and reduction cells, 14 edges each, 8 ops;
  the skeleton of :func:`zcnas.spaces.darts.build` with its cells replaced), with the topology
  step (keep 2 incoming edges per node) of Zero-Cost-PT;
* :func:`macro_supernet`: NAS-Bench-Macro (8 choice layers x {identity, MB k3 e3, MB k5 e6};
  the network of :func:`zcnas.spaces.macro.build` with its layers replaced).

The three operations of Zero-Cost-PT (paper Sec. 3.1) are methods:

* :meth:`Supernet.project` discretises an edge to one operation (its row becomes one-hot);
* :meth:`Supernet.perturbed` removes one operation of an edge for the duration of a ``with``
  block (``w[e, o] = 0``, the other weights of the edge unchanged, no renormalisation);
* :meth:`Supernet.discretized` makes an edge one-hot for the duration of a ``with`` block (the
  disc-zc scoring function).

Mixing weights, as the reference (zerocost_operation_score): undecided NB201 and DARTS edges use
``softmax(alpha)`` with ``alpha ~ 1e-3 N(0, 1)`` (about ``1/O`` each; :meth:`Supernet.reset` draws
a new ``alpha``), NAS-Bench-Macro layers use exactly ``1/3``. An operation whose weight is
exactly 0 is, by default (``removed="zero_input"``), still run but **on a zeroed input** and its
output multiplied by 0, as the reference's ``block_input``: its ReLUs then feed all-zero codes to
NASWOT's kernel. ``removed="skip"`` does not run it (faster; changes nwot values).

Departures from the reference supernets: cell BatchNorms are the builders' (affine, tracked;
the reference's cell BN is ``affine=False``, identical at initialisation); DARTS pools have no
BatchNorm after them (the DARTS search supernet adds one); the NAS-Bench-Macro stem and head use
the builder's ReLU6 (the reference supernet uses ReLU; the sign codes of their inputs are the
same). After :meth:`Supernet.project` a NAS-Bench-Macro layer is one-hot; the reference sets the
chosen weight to 1 and leaves the others at 1/3.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from zcnas.exceptions import ZcnasError
from zcnas.spaces import darts, macro, nb201

__all__ = [
    "MixedOp",
    "Supernet",
    "build_supernet",
    "darts_supernet",
    "macro_supernet",
    "nb201_supernet",
]

_REMOVED_MODES = ("zero_input", "skip")


class _ArchState:
    """The mixing matrix every :class:`MixedOp` of one supernet reads (shared by reference, so a
    ``copy.deepcopy`` of the supernet gets one shared copy)."""

    def __init__(self, num_edges: int, num_ops: int, removed: str) -> None:
        self.weights = torch.full((num_edges, num_ops), 1.0 / num_ops, dtype=torch.float64)
        self.removed = removed


class MixedOp(nn.Module):
    """``sum_o w[row, o] * op_o(x)`` over candidate modules, ``w`` read from the shared state.

    An op with weight exactly 0 is run on ``zeros_like(x)`` and multiplied by 0
    (``removed="zero_input"``) or skipped (``"skip"``); if every weight is 0 the first op's
    output times 0 is returned (keeps the shape).
    """

    def __init__(self, ops: Sequence[nn.Module], state: _ArchState, row: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self._state = state
        self.row = int(row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self._state.weights[self.row].tolist()
        out: torch.Tensor | None = None
        for wk, op in zip(w, self.ops, strict=True):
            if wk == 0.0:
                if self._state.removed == "skip":
                    continue
                h = op(torch.zeros_like(x)).mul(0.0)
            else:
                h = op(x)
                if wk != 1.0:
                    h = h.mul(wk)
            out = h if out is None else out + h
        if out is None:
            out = self.ops[0](x).mul(0.0)
        return out


class Supernet(nn.Module):
    """A network whose searchable edges are :class:`MixedOp` rows of one mixing matrix.

    Build one with :func:`nb201_supernet`, :func:`darts_supernet`, :func:`macro_supernet` or
    :func:`build_supernet`. ``forward(x)`` returns the logits of the wrapped network under the
    current mixing weights, so any proxy of :func:`zcnas.score` can score it.

    Attributes:
        space: ``"nb201"``, ``"darts"`` or ``"macro"``.
        net: the wrapped network (the space's builder network with mixed edges).
        op_names: candidate operation names (the columns of the mixing matrix).
        edge_names: a label per edge (row), e.g. ``"1<-0"`` or ``"normal:2<-0"``.
        selectable: indices of the ops the search may choose (DARTS: all but ``none``).
        projected: edge -> chosen op for the discretised edges.
        removed_edges: edges removed by the DARTS topology step.
    """

    def __init__(
        self,
        space: str,
        net: nn.Module,
        state: _ArchState,
        op_names: Sequence[str],
        edge_names: Sequence[str],
        *,
        init: str,
        selectable: Sequence[int] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.space = space
        self.net = net
        self._state = state
        self.op_names = tuple(op_names)
        self.edge_names = tuple(edge_names)
        self.init = init
        self.selectable = tuple(range(len(op_names)) if selectable is None else selectable)
        self.config = dict(config or {})
        self.alpha = torch.zeros(len(edge_names), len(op_names), dtype=torch.float64)
        self.projected: dict[int, int] = {}
        self.removed_edges: set[int] = set()
        self._refresh()

    # ------------------------------------------------------------------ structure

    @property
    def num_edges(self) -> int:
        """Number of searchable edges (rows of the mixing matrix)."""
        return len(self.edge_names)

    @property
    def num_ops(self) -> int:
        """Number of candidate operations per edge."""
        return len(self.op_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def candidate_edges(self) -> list[int]:
        """Edges not yet projected, ascending (input towards output)."""
        return [e for e in range(self.num_edges) if e not in self.projected]

    def _check_edge(self, edge: Any) -> int:
        if isinstance(edge, bool | np.bool_) or not isinstance(edge, int | np.integer):
            raise ZcnasError(f"edge must be an integer in 0..{self.num_edges - 1}, got {edge!r}")
        if not 0 <= int(edge) < self.num_edges:
            raise ZcnasError(f"edge {edge} is outside 0..{self.num_edges - 1} ({self.space})")
        return int(edge)

    def _check_op(self, op: Any) -> int:
        if isinstance(op, str):
            if op not in self.op_names:
                raise ZcnasError(f"unknown op {op!r}; expected one of {self.op_names}")
            return self.op_names.index(op)
        if isinstance(op, bool | np.bool_) or not isinstance(op, int | np.integer):
            raise ZcnasError(f"op must be a name or an index, got {op!r}")
        if not 0 <= int(op) < self.num_ops:
            raise ZcnasError(f"op {op} is outside 0..{self.num_ops - 1} ({self.space})")
        return int(op)

    # ------------------------------------------------------------------ mixing weights

    def reset(self, rng: Any = None) -> None:
        """Forget every projection and removal and draw a new ``alpha``.

        Args:
            rng: ``None``, an int seed or a :class:`numpy.random.Generator`; NB201 and DARTS
                draw ``alpha ~ 1e-3 N(0, 1)`` (softmax weights about ``1/O``); NAS-Bench-Macro
                uses exactly uniform weights and ignores ``rng``.
        """
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if self.init == "softmax":
            self.alpha = torch.from_numpy(1e-3 * gen.standard_normal(tuple(self.alpha.shape)))
        else:
            self.alpha = torch.zeros_like(self.alpha)
        self.projected = {}
        self.removed_edges = set()
        self._refresh()

    def mixing_weights(self) -> torch.Tensor:
        """The ``E x O`` float64 mixing matrix: ``softmax(alpha)`` (NB201, DARTS) or uniform
        (Macro) on undecided edges, one-hot on projected edges, zeros on removed edges."""
        if self.init == "softmax":
            w = torch.softmax(self.alpha, dim=1)
        else:
            w = torch.full_like(self.alpha, 1.0 / self.num_ops)
        for e, o in self.projected.items():
            w[e] = 0.0
            w[e, o] = 1.0
        for e in self.removed_edges:
            w[e] = 0.0
        return w

    def _refresh(self) -> None:
        self._state.weights = self.mixing_weights()

    @property
    def weights(self) -> torch.Tensor:
        """The matrix the forward pass uses right now (a copy)."""
        return self._state.weights.clone()

    def project(self, edge: int, op: int | str) -> None:
        """Discretise ``edge`` to ``op`` (its row becomes one-hot) for the rest of the search.

        Raises:
            ZcnasError: on an invalid or already projected edge, or an invalid op.
        """
        e, o = self._check_edge(edge), self._check_op(op)
        if e in self.projected:
            raise ZcnasError(f"edge {e} ({self.edge_names[e]}) is already projected")
        self.projected[e] = o
        self._refresh()

    def remove_edge(self, edge: int) -> None:
        """Remove a whole edge (all its weights 0), as the DARTS topology step does."""
        self.removed_edges.add(self._check_edge(edge))
        self._refresh()

    @contextmanager
    def _override(self, w: torch.Tensor) -> Iterator[None]:
        saved = self._state.weights
        self._state.weights = w
        try:
            yield
        finally:
            self._state.weights = saved

    @contextmanager
    def perturbed(self, edge: int, op: int | str) -> Iterator[None]:
        """Within the block, ``op`` is removed from ``edge`` (``w[e, o] = 0``; the other weights,
        of this and every other edge, are unchanged and not renormalised)."""
        e, o = self._check_edge(edge), self._check_op(op)
        w = self._state.weights.clone()
        w[e, o] = 0.0
        with self._override(w):
            yield

    @contextmanager
    def discretized(self, edge: int, op: int | str) -> Iterator[None]:
        """Within the block, ``edge`` is one-hot on ``op`` (disc-zc); nothing else changes."""
        e, o = self._check_edge(edge), self._check_op(op)
        w = self._state.weights.clone()
        w[e] = 0.0
        w[e, o] = 1.0
        with self._override(w):
            yield

    @contextmanager
    def without_edge(self, edge: int) -> Iterator[None]:
        """Within the block, the whole ``edge`` is removed (all its weights 0)."""
        e = self._check_edge(edge)
        w = self._state.weights.clone()
        w[e] = 0.0
        with self._override(w):
            yield

    # ------------------------------------------------------------------ result

    def arch(self) -> Any:
        """The discretised architecture: an NB201 arch string, a NAS-Bench-Macro 8-digit
        string, or a DARTS :class:`~zcnas.spaces.darts.Genotype`.

        Raises:
            ZcnasError: if an edge is still undecided (or, for DARTS, a node keeps more or
                fewer than 2 incoming edges).
        """
        missing = self.candidate_edges()
        if missing:
            names = [self.edge_names[e] for e in missing]
            raise ZcnasError(f"{self.space} supernet: edges {names} are not projected yet")
        if self.space == "nb201":
            return nb201.ops_to_str([self.op_names[self.projected[e]] for e in range(6)])
        if self.space == "macro":
            return "".join(str(self.projected[e]) for e in range(self.num_edges))
        return self._genotype()

    def _genotype(self) -> darts.Genotype:
        cells = []
        for base in (0, len(_DARTS_EDGES)):
            pairs: list[tuple[str, int]] = []
            for node in range(darts.NUM_NODES):
                kept = [
                    (src, self.op_names[self.projected[base + k]])
                    for k, (n, src) in enumerate(_DARTS_EDGES)
                    if n == node and base + k not in self.removed_edges
                ]
                if len(kept) != 2:
                    raise ZcnasError(
                        f"DARTS supernet: node {node + 2} keeps {len(kept)} incoming edges; "
                        "run the topology step (2 per node) first"
                    )
                pairs.extend((op, src) for src, op in sorted(kept))
            cells.append(pairs)
        return darts.Genotype(normal=cells[0], reduce=cells[1])

    def incoming_edges(self) -> list[list[int]]:
        """DARTS only: per (cell type, intermediate node), its edges not removed, as lists of
        rows (normal cell's 4 nodes first)."""
        if self.space != "darts":
            raise ZcnasError("incoming_edges is defined for the DARTS supernet only")
        groups = []
        for base in (0, len(_DARTS_EDGES)):
            for node in range(darts.NUM_NODES):
                groups.append(
                    [
                        base + k
                        for k, (n, _) in enumerate(_DARTS_EDGES)
                        if n == node and base + k not in self.removed_edges
                    ]
                )
        return groups

    def build_network(self, arch: Any, **sizes: Any) -> nn.Module:
        """The stand-alone network of ``arch`` from the space's builder, with this supernet's
        size settings (``C``, ``N`` / ``layers``, ``num_classes``) unless overridden in
        ``sizes`` (e.g. a reduced supernet with benchmark-size stand-alone networks)."""
        cfg = {**self.config, **sizes}
        unknown = set(cfg) - set(self.config)
        if unknown:
            raise ZcnasError(f"{self.space} networks have no size setting(s) {sorted(unknown)}")
        if self.space == "nb201":
            return nb201.build(arch, C=cfg["C"], N=cfg["N"], num_classes=cfg["num_classes"])
        if self.space == "macro":
            return macro.build(arch, num_classes=cfg["num_classes"])
        return darts.build(arch, C=cfg["C"], layers=cfg["layers"], num_classes=cfg["num_classes"])

    def extra_repr(self) -> str:
        return (
            f"space={self.space!r}, edges={self.num_edges}, ops={self.num_ops}, "
            f"projected={len(self.projected)}"
        )


def _check_removed(removed: str) -> str:
    if removed not in _REMOVED_MODES:
        raise ZcnasError(f"removed must be one of {_REMOVED_MODES}, got {removed!r}")
    return removed


# ------------------------------------------------------------------------------ NB201


class _NB201SuperCell(nn.Module):
    """NB201 cell with mixed edges: node j = sum over i < j of edge_{i->j}(node i)."""

    def __init__(self, edges: Sequence[MixedOp]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            total = None
            for edge, (s, t) in zip(self.edges, nb201.EDGES, strict=True):
                if t == target:
                    h = edge(nodes[s])
                    total = h if total is None else total + h
            nodes.append(total)
        return nodes[3]


def nb201_supernet(
    C: int = 16, N: int = 5, num_classes: int = 10, *, removed: str = "zero_input"
) -> Supernet:
    """The NAS-Bench-201 supernet: xautodl's skeleton (stem, 3 stages of ``N`` cells, ResNet
    reduction blocks, head) with every cell edge a :class:`MixedOp` over :data:`nb201.OPS`
    (``none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3``, the reference's order).
    Rows follow :data:`nb201.EDGES` (the arch string's order, the reference's sorted keys).

    Args:
        C: channels of the first stage (16 in the benchmark).
        N: cells per stage (5 in the benchmark).
        num_classes: classifier outputs.
        removed: ``"zero_input"`` (reference) or ``"skip"``, see :class:`MixedOp`.

    Returns:
        A :class:`Supernet` in training mode with ``alpha = 0`` (call :meth:`Supernet.reset`).

    >>> net = nb201_supernet(C=4, N=1)
    >>> net.num_edges, net.num_ops, net.edge_names[2]
    (6, 5, '2<-1')
    """
    removed = _check_removed(removed)
    net = nb201.build(nb201.ops_to_str(("skip_connect",) * 6), C=C, N=N, num_classes=num_classes)
    make_op = nb201._modules()["make_op"]
    state = _ArchState(len(nb201.EDGES), len(nb201.OPS), removed)
    c = int(C)
    for i, cell in enumerate(net.cells):
        if hasattr(cell, "conv_a"):  # ResNet reduction block: channels double
            c = cell.conv_b.op[1].out_channels
            continue
        edges = [
            MixedOp([make_op(name, c) for name in nb201.OPS], state, row)
            for row in range(len(nb201.EDGES))
        ]
        net.cells[i] = _NB201SuperCell(edges)
    names = [f"{t}<-{s}" for s, t in nb201.EDGES]
    return Supernet(
        "nb201",
        net,
        state,
        nb201.OPS,
        names,
        init="softmax",
        config={"C": int(C), "N": int(N), "num_classes": int(num_classes)},
    )


# ------------------------------------------------------------------------------ DARTS

#: DARTS supernet edges of one cell: (intermediate node k, input node), node k = graph node k+2.
_DARTS_EDGES: tuple[tuple[int, int], ...] = tuple(
    (k, j) for k in range(darts.NUM_NODES) for j in range(k + 2)
)


class _DartsSuperCell(nn.Module):
    """DARTS search cell: node k = sum over every earlier state j of edge_{j->k}(state j); the
    output concatenates the 4 intermediate nodes."""

    def __init__(self, pre0: nn.Module, pre1: nn.Module, edges: Sequence[MixedOp], reduction):
        super().__init__()
        self.preprocess0 = pre0
        self.preprocess1 = pre1
        self.edges = nn.ModuleList(edges)
        self.reduction = bool(reduction)
        self.multiplier = darts.NUM_NODES

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(darts.NUM_NODES):
            total = None
            for edge, (k, j) in zip(self.edges, _DARTS_EDGES, strict=True):
                if k == node:
                    h = edge(states[j])
                    total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)


def darts_supernet(
    C: int = 16, layers: int = 8, num_classes: int = 10, *, removed: str = "zero_input"
) -> Supernet:
    """The DARTS CNN supernet: the skeleton of :func:`zcnas.spaces.darts.build` (stem 3C,
    ``layers`` cells with reductions at ``layers // 3`` and ``2 * layers // 3``, preprocessing,
    global pool, linear) with every cell a search cell of 14 mixed edges over the 8
    :data:`darts.OPS`. Rows 0..13 are the normal cell's edges, 14..27 the reduction cell's, each
    ordered by (node, input). ``none`` is never selected (:attr:`Supernet.selectable`), as in
    DARTS' genotype derivation. DARTS' search setting is ``C=16, layers=8``.

    >>> net = darts_supernet(C=4, layers=3)
    >>> net.num_edges, net.num_ops, net.edge_names[14]
    (28, 8, 'reduce:2<-0')
    """
    removed = _check_removed(removed)
    net = darts.build(darts.DARTS_V2, C=C, layers=layers, num_classes=num_classes)
    make_op = darts._modules()["make_op"]
    state = _ArchState(2 * len(_DARTS_EDGES), len(darts.OPS), removed)
    for i, cell in enumerate(net.cells):
        c = cell.preprocess1.op[1].out_channels
        base = len(_DARTS_EDGES) if cell.reduction else 0
        edges = [
            MixedOp(
                [make_op(name, c, 2 if cell.reduction and j < 2 else 1) for name in darts.OPS],
                state,
                base + k,
            )
            for k, (_, j) in enumerate(_DARTS_EDGES)
        ]
        net.cells[i] = _DartsSuperCell(cell.preprocess0, cell.preprocess1, edges, cell.reduction)
    names = [f"{kind}:{k + 2}<-{j}" for kind in ("normal", "reduce") for k, j in _DARTS_EDGES]
    return Supernet(
        "darts",
        net,
        state,
        darts.OPS,
        names,
        init="softmax",
        selectable=[i for i, n in enumerate(darts.OPS) if n != "none"],
        config={"C": int(C), "layers": int(layers), "num_classes": int(num_classes)},
    )


# ------------------------------------------------------------------------------ Macro


def macro_supernet(num_classes: int = 10, *, removed: str = "zero_input") -> Supernet:
    """The NAS-Bench-Macro supernet: the network of :func:`zcnas.spaces.macro.build` with each
    of its 8 choice layers a :class:`MixedOp` over identity (a strided 1x1 projection where the
    shape changes), MB k3 e3 and MB k5 e6 (op index = the arch digit), weights exactly 1/3.

    >>> net = macro_supernet()
    >>> net.num_edges, net.op_names
    (8, ('identity', 'mbv2_k3_e3', 'mbv2_k5_e6'))
    """
    removed = _check_removed(removed)
    net = macro.build("0" * macro.NUM_LAYERS, num_classes=num_classes)
    make_layer = macro._modules()["make_layer"]
    state = _ArchState(macro.NUM_LAYERS, len(macro.CHOICES), removed)
    c_in = 32
    for i, (c_out, stride) in enumerate(
        zip(macro.LAYER_CHANNELS, macro.LAYER_STRIDES, strict=True)
    ):
        ops = [make_layer(k, c_in, c_out, stride) for k in range(len(macro.CHOICES))]
        net.layers[i] = MixedOp(ops, state, i)
        c_in = c_out
    return Supernet(
        "macro",
        net,
        state,
        [name for name, _, _ in macro.CHOICES],
        [f"layer{i}" for i in range(macro.NUM_LAYERS)],
        init="uniform",
        config={"num_classes": int(num_classes)},
    )


def build_supernet(space: str, **kwargs: Any) -> Supernet:
    """:func:`nb201_supernet`, :func:`darts_supernet` or :func:`macro_supernet` by name
    (``"nb201"``, ``"darts"``, ``"macro"``), forwarding the keyword arguments."""
    makers = {"nb201": nb201_supernet, "darts": darts_supernet, "macro": macro_supernet}
    if space not in makers:
        raise ZcnasError(f"unknown space {space!r}; expected one of {sorted(makers)}")
    return makers[space](**kwargs)
