"""The NAS-Bench-201 search space: encodings, isomorphism, sampling and a PyTorch builder.

Three encodings name the same 15,625 cells (see ``PROXIES.md`` section 4):

* the official architecture string ``|o01~0|+|o02~0|o12~1|+|o03~0|o13~1|o23~2|``, whose six
  edges are, in order, ``EDGES`` = (0->1), (0->2), (1->2), (0->3), (1->3), (2->3);
* NASLib's op tuple, with op ids ``NASLIB_OPS`` (0=skip_connect, 1=none, 2=nor_conv_3x3,
  3=nor_conv_1x1, 4=avg_pool_3x3) on ``NASLIB_EDGES`` = (0->1), (0->2), (0->3), (1->2), (1->3),
  (2->3), i.e. positions 2 and 3 swapped relative to the string; often written as six digits
  (``"433000"``) or as NASLib's JSON key ``"(4, 3, 3, 0, 0, 0)"``;
* the official integer index 0..15624 (the row of the embedded table
  :func:`zcnas.bench.load_nb201`; it is not an ``itertools.product`` order).

The builder :func:`build` reproduces xautodl's ``TinyNetwork`` (the network NAS-Bench-201 trained)
and :func:`count_flops` counts its multiply-accumulates with forward hooks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import cache
from itertools import permutations
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np

from zcnas._tables import check_index, check_sizes
from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:  # torch is imported lazily so that the encodings work without it
    import torch

__all__ = [
    "EDGES",
    "NASLIB_EDGES",
    "NASLIB_OPS",
    "NUM_ARCHS",
    "OPS",
    "build",
    "canonical_form",
    "count_flops",
    "index_to_str",
    "iso_class",
    "iso_representatives",
    "mutate",
    "naslib_to_str",
    "ops_to_str",
    "sample",
    "str_to_index",
    "str_to_naslib",
    "str_to_ops",
    "to_index",
]

#: Official op names (NAS-Bench-201 / xautodl).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Edges (source, target) in the order of the architecture string.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: NASLib op ids: ``NASLIB_OPS[k]`` is the op NASLib encodes as ``k``.
NASLIB_OPS: tuple[str, ...] = (
    "skip_connect",
    "none",
    "nor_conv_3x3",
    "nor_conv_1x1",
    "avg_pool_3x3",
)
#: Edges (source, target) in the order of NASLib's op tuple.
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
#: Number of architectures in the space (5 ops on 6 edges).
NUM_ARCHS = 15_625

# NASLib tuple position p holds the op of string edge _NASLIB_FROM_STR[p] (a self-inverse swap).
_NASLIB_FROM_STR = tuple(EDGES.index(e) for e in NASLIB_EDGES)
_NASLIB_ID = {name: k for k, name in enumerate(NASLIB_OPS)}


# --------------------------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------------------------


def str_to_ops(arch_str: str) -> tuple[str, ...]:
    """Parse an official architecture string into its six op names, in string edge order.

    Args:
        arch_str: e.g. ``"|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|...|...|"``.

    Returns:
        Six names from :data:`OPS` for the edges in :data:`EDGES` order.

    Raises:
        ZcnasError: if the string is malformed (separators, source ids, edge count, op names).

    >>> str_to_ops("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
    ...            "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
    ('avg_pool_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_1x1', 'skip_connect', 'skip_connect')
    """
    if not isinstance(arch_str, str):
        raise ZcnasError(f"NB201 arch string must be a str, got {type(arch_str).__name__}")
    groups = arch_str.split("+")
    if len(groups) != 3:
        raise ZcnasError(
            f"NB201 arch string {arch_str!r} must have 3 '+'-separated node groups, "
            f"got {len(groups)}"
        )
    ops: list[str] = []
    for target, group in enumerate(groups, start=1):
        if len(group) < 2 or group[0] != "|" or group[-1] != "|":
            raise ZcnasError(
                f"NB201 arch string {arch_str!r}: node group {group!r} must start and end with '|'"
            )
        tokens = group[1:-1].split("|")
        if len(tokens) != target:
            raise ZcnasError(
                f"NB201 arch string {arch_str!r}: node {target} must have {target} incoming "
                f"edge(s), got {len(tokens)} in {group!r}"
            )
        for source, token in enumerate(tokens):
            name, sep, src = token.partition("~")
            if not sep or src != str(source):
                raise ZcnasError(
                    f"NB201 arch string {arch_str!r}: edge {token!r} must be written "
                    f"'op~{source}' (edge {source}->{target})"
                )
            if name not in OPS:
                raise ZcnasError(
                    f"NB201 arch string {arch_str!r}: unknown op {name!r}; expected one of {OPS}"
                )
            ops.append(name)
    return tuple(ops)


def ops_to_str(ops: Sequence[str]) -> str:
    """Write six op names (string edge order) as the official architecture string.

    Args:
        ops: six names from :data:`OPS`, for the edges in :data:`EDGES` order.

    Returns:
        The official architecture string.

    Raises:
        ZcnasError: if there are not six ops or a name is unknown.

    >>> ops_to_str(["nor_conv_3x3", "none", "skip_connect", "none", "none", "avg_pool_3x3"])
    '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|'
    """
    ops = _check_ops(ops)
    groups = []
    for target in (1, 2, 3):
        tokens = [f"{ops[e]}~{s}" for e, (s, t) in enumerate(EDGES) if t == target]
        groups.append("|" + "|".join(tokens) + "|")
    return "+".join(groups)


def _check_ops(ops: Any) -> tuple[str, ...]:
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise ZcnasError(f"NB201 ops must be a sequence of 6 op names, got {ops!r}")
    if len(ops) != 6:
        raise ZcnasError(f"NB201 ops {ops!r} must have 6 entries (one per edge), got {len(ops)}")
    for name in ops:
        if name not in OPS:
            raise ZcnasError(f"NB201 ops {ops!r}: unknown op {name!r}; expected one of {OPS}")
    return tuple(ops)


def str_to_naslib(arch_str: str) -> tuple[int, ...]:
    """Convert an official architecture string into NASLib's op tuple.

    Args:
        arch_str: the official architecture string.

    Returns:
        Six NASLib op ids on :data:`NASLIB_EDGES`.

    Raises:
        ZcnasError: if the string is malformed.

    >>> str_to_naslib("|skip_connect~0|+|none~0|nor_conv_1x1~1|"
    ...               "+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|")
    (0, 1, 2, 3, 4, 0)
    """
    ops = str_to_ops(arch_str)
    return tuple(_NASLIB_ID[ops[e]] for e in _NASLIB_FROM_STR)


def naslib_to_str(enc: Sequence[int] | str) -> str:
    """Convert a NASLib op tuple into the official architecture string.

    Args:
        enc: six op ids 0..4 on :data:`NASLIB_EDGES`, as a sequence of ints, a six-digit string
            such as ``"433000"`` or NASLib's JSON key such as ``"(4, 3, 3, 0, 0, 0)"``.

    Returns:
        The official architecture string.

    Raises:
        ZcnasError: if the encoding does not hold six op ids in 0..4.

    >>> naslib_to_str((4, 3, 3, 3, 2, 3))
    '|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    >>> naslib_to_str("433000") == naslib_to_str((4, 3, 3, 0, 0, 0))
    True
    """
    ids = _parse_naslib(enc)
    return ops_to_str([NASLIB_OPS[ids[p]] for p in _NASLIB_FROM_STR])


def _parse_naslib(enc: Any) -> tuple[int, ...]:
    if isinstance(enc, str):
        text = enc.strip()
        if text.startswith("(") and text.endswith(")"):
            parts = [p.strip() for p in text[1:-1].split(",")]
            if not all(p.isdigit() and p.isascii() for p in parts):
                raise ZcnasError(f"NASLib encoding {enc!r} must look like '(4, 3, 3, 0, 0, 0)'")
            ids = [int(p) for p in parts]
        elif text.isdigit() and text.isascii():
            ids = [int(c) for c in text]
        else:
            raise ZcnasError(
                f"NASLib encoding {enc!r} must be six digits 0..4 (e.g. '433000') "
                "or a tuple key like '(4, 3, 3, 0, 0, 0)'"
            )
    elif isinstance(enc, Sequence | np.ndarray):
        ids = []
        for v in enc:
            if isinstance(v, bool | np.bool_) or not isinstance(v, Integral):
                raise ZcnasError(f"NASLib encoding {enc!r} must hold integers, got {v!r}")
            ids.append(int(v))
    else:
        raise ZcnasError(f"NASLib encoding must be a sequence or a string, got {enc!r}")
    if len(ids) != 6:
        raise ZcnasError(f"NASLib encoding {enc!r} must have 6 op ids, got {len(ids)}")
    if any(not 0 <= v < len(NASLIB_OPS) for v in ids):
        raise ZcnasError(f"NASLib encoding {enc!r} has an op id outside 0..4")
    return tuple(ids)


@cache
def _table() -> dict[str, np.ndarray]:
    """The space's own columns of the packaged NB201 table (``arch_str``, ``iso_class``).

    Read from the package data, not through :mod:`zcnas.bench`: the benchmark table depends
    on the space, not the other way round.
    """
    from zcnas._tables import load_npz

    cols = load_npz("nb201_groundtruth.npz")
    return {"arch_str": cols["arch_str"], "iso_class": cols["iso_class"]}


@cache
def _index_of_str() -> dict[str, int]:
    return {s: i for i, s in enumerate(_table()["arch_str"].tolist())}


def index_to_str(index: int) -> str:
    """The official architecture string of an official index.

    Args:
        index: an integer in 0..15624.

    Returns:
        The architecture string of that row of the benchmark.

    Raises:
        ZcnasError: if the index is not an integer in range.

    >>> index_to_str(0)
    '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|'
    """
    return str(_table()["arch_str"][_check_index(index)])


def _check_index(index: Any) -> int:
    return check_index(index, NUM_ARCHS, "NB201")


def str_to_index(arch_str: str) -> int:
    """The official index of an architecture string.

    Args:
        arch_str: the official architecture string.

    Returns:
        Its index 0..15624 (a lookup in a dict built lazily from the embedded table).

    Raises:
        ZcnasError: if the string is malformed.

    >>> str_to_index("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    ...              "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    1
    """
    ops = str_to_ops(arch_str)  # validates, and normalises nothing away: the format is fixed
    return _index_of_str()[ops_to_str(ops)]


def to_index(arch: Any) -> int:
    """Normalise any supported architecture encoding to the official index.

    Args:
        arch: an integer index, an official architecture string, a NASLib op tuple or list, a
            six-digit NASLib string such as ``"433000"``, NASLib's JSON key
            ``"(4, 3, 3, 0, 0, 0)"``, or a sequence of six op names in string edge order.

    Returns:
        The official index 0..15624.

    Raises:
        ZcnasError: if the input is none of the above or is malformed.

    >>> to_index(1), to_index("433000"), to_index([4, 3, 3, 0, 0, 0])
    (1, 0, 0)
    >>> to_index("(2, 2, 0, 4, 2, 0)")
    1
    """
    if isinstance(arch, bool | np.bool_):
        raise ZcnasError(f"cannot interpret {arch!r} as an NB201 architecture")
    if isinstance(arch, Integral):
        return _check_index(arch)
    if isinstance(arch, str):
        if arch.startswith("|"):
            return str_to_index(arch)
        if "~" in arch:  # an arch string without its leading '|', not a NASLib encoding
            raise ZcnasError(
                f"NB201 arch string {arch!r} must start and end with '|' "
                "(e.g. '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|')"
            )
        return str_to_index(naslib_to_str(arch))
    if isinstance(arch, Sequence | np.ndarray):
        if len(arch) and all(isinstance(v, str | np.str_) for v in arch):
            return str_to_index(ops_to_str(tuple(str(v) for v in arch)))
        return str_to_index(naslib_to_str(arch))
    raise ZcnasError(f"cannot interpret {arch!r} as an NB201 architecture")


def _ops_of(arch: Any) -> tuple[str, ...]:
    if isinstance(arch, str) and arch.startswith("|"):
        return str_to_ops(arch)
    return str_to_ops(index_to_str(to_index(arch)))


# --------------------------------------------------------------------------------------------
# Isomorphism
# --------------------------------------------------------------------------------------------


def iso_class(arch: Any) -> int:
    """The benchmark's isomorphism class of an architecture.

    Args:
        arch: any encoding accepted by :func:`to_index`.

    Returns:
        The smallest official index of the class (the table's ``iso_class`` column; 6,466
        classes).

    >>> iso_class(0)
    0
    """
    return int(_table()["iso_class"][to_index(arch)])


def canonical_form(arch: Any, convention: str = "graph") -> Hashable:
    """A canonical form of a cell, computed from its ops alone (the table is not consulted).

    ``convention="graph"`` (default): the cell is a DAG with op-labelled edges (``none`` edges
    dropped; ``skip_connect``, pooling and convs are all ordinary labels). Edges not on a path
    from the input (node 0) to the output (node 3) are pruned, and the labelled edge set is
    canonicalised over the relabellings of the intermediate nodes 1 and 2 that keep it a valid
    cell (nodes 1 and 2 may swap only if no 1->2 edge survives). A cell whose output is
    constant zero has the empty form ``()``. On all 15,625 architectures this gives 8,765
    classes against the table's 6,466, and the two partitions are not nested: the graph form
    keeps ``skip_connect`` as an edge (the table inlines it as the identity, so e.g. indices 4
    and 1817 are one class there), while the table keeps zero terms that the graph form prunes
    (indices 3 and 55 both compute ``x`` through skips, but with three and two pruned zero
    terms, so they are different classes there). Measured
    agreement: pair-level Rand index 0.99741; 191,006 of the table's 274,936 isomorphic pairs
    are also equal here (69.5 %); 4,438 classes (28.4 % of archs) coincide exactly.

    ``convention="nb201"``: the benchmark's own convention, re-implemented from its definition
    (NAS-Bench-201 ``to_unique_str(consider_zero=True)``): each node is written as the sorted
    ``+``-join of its incoming terms, where a term is ``#`` for a ``none`` edge or a zero source,
    the source's expression itself for ``skip_connect`` and ``(source)@op`` otherwise; the form
    is node 3's expression. It induces exactly the table's ``iso_class`` partition on all
    15,625 architectures (checked in ``tests/spaces/test_nb201.py``).

    Args:
        arch: any encoding accepted by :func:`to_index`, or an architecture string.
        convention: ``"graph"`` or ``"nb201"``.

    Returns:
        ``"graph"``: a sorted tuple of ``(source, target, op)`` edges. ``"nb201"``: a string.
        Equal forms mean isomorphic cells under that convention.

    Raises:
        ZcnasError: if the architecture or the convention is invalid.

    >>> a = canonical_form("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    >>> a  # the 0->1 conv only feeds node 1, which reaches the output through none
    ((0, 3, 'skip_connect'),)
    >>> a == canonical_form("|none~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|none~2|")
    True
    >>> canonical_form("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", "nb201")
    '#+#+0'
    """
    ops = _ops_of(arch)
    if convention == "nb201":
        return _nb201_form(ops)
    if convention != "graph":
        raise ZcnasError(
            f"unknown canonical_form convention {convention!r}; use 'graph' or 'nb201'"
        )
    edges = [(s, t, op) for (s, t), op in zip(EDGES, ops, strict=True) if op != "none"]
    edges = _live_edges(edges)
    best: tuple[tuple[int, int, str], ...] | None = None
    for perm in permutations((1, 2)):
        relabel = {0: 0, 1: perm[0], 2: perm[1], 3: 3}
        moved = [(relabel[s], relabel[t], op) for s, t, op in edges]
        if any(s >= t for s, t, _ in moved):  # not a valid cell under this labelling
            continue
        form = tuple(sorted(moved))
        if best is None or form < best:
            best = form
    assert best is not None  # the identity labelling is always valid
    return best


def _nb201_form(ops: tuple[str, ...]) -> str:
    exprs = ["0"]
    for target in (1, 2, 3):
        terms = []
        for (source, t), op in zip(EDGES, ops, strict=True):
            if t != target:
                continue
            src = exprs[source]
            if op == "none" or src == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(src)
            else:
                terms.append(f"({src})@{op}")
        exprs.append("+".join(sorted(terms)))
    return exprs[3]


def _live_edges(edges: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Edges on some path from node 0 to node 3."""
    forward = {0}
    for s, t, _ in sorted(edges, key=lambda e: e[1]):  # targets ascending = topological
        if s in forward:
            forward.add(t)
    backward = {3}
    for s, t, _ in sorted(edges, key=lambda e: -e[0]):
        if t in backward:
            backward.add(s)
    return [(s, t, op) for s, t, op in edges if s in forward and t in backward]


@cache
def iso_representatives() -> np.ndarray:
    """The official indices that represent their isomorphism class (the smallest of each).

    Returns:
        A sorted ``int64`` array of the 6,466 class representatives.

    >>> reps = iso_representatives()
    >>> len(reps), int(reps[0])
    (6466, 0)
    """
    reps = np.unique(_table()["iso_class"]).astype(np.int64)
    reps.flags.writeable = False
    return reps


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, Integral | np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise ZcnasError(f"rng must be None, an int seed or a numpy Generator, got {rng!r}")


def sample(
    n: int, rng: Any = None, unique_iso: bool = False, *, replace: bool = True
) -> np.ndarray:
    """Draw architectures uniformly at random.

    Args:
        n: how many to draw (>= 0).
        rng: ``None``, an int seed or a :class:`numpy.random.Generator`.
        unique_iso: draw uniformly over the 6,466 isomorphism classes (returning each class's
            smallest index) instead of over the 15,625 indices.
        replace: draw with replacement (i.i.d.); ``False`` gives ``n`` distinct architectures.

    Returns:
        An ``int64`` array of ``n`` official indices.

    Raises:
        ZcnasError: if ``n`` is negative or not an integer, or exceeds the population when
            ``replace=False``.

    >>> sample(3, rng=0).shape
    (3,)
    """
    if isinstance(n, bool | np.bool_) or not isinstance(n, Integral) or n < 0:
        raise ZcnasError(f"sample size n must be a non-negative integer, got {n!r}")
    pop = iso_representatives() if unique_iso else np.arange(NUM_ARCHS, dtype=np.int64)
    if not replace and n > len(pop):
        raise ZcnasError(f"cannot draw n={n} distinct architectures from {len(pop)}")
    return _rng(rng).choice(pop, size=int(n), replace=replace).astype(np.int64)


def mutate(arch: Any, rng: Any = None) -> int:
    """Change the op of exactly one edge (chosen uniformly) to a different op (uniformly).

    Args:
        arch: any encoding accepted by :func:`to_index`.
        rng: ``None``, an int seed or a :class:`numpy.random.Generator`.

    Returns:
        The official index of the mutated architecture (never equal to the input's).

    >>> mutate(0, rng=0) != 0
    True
    """
    ops = list(_ops_of(arch))
    gen = _rng(rng)
    edge = int(gen.integers(len(ops)))
    choices = [op for op in OPS if op != ops[edge]]
    ops[edge] = choices[int(gen.integers(len(choices)))]
    return str_to_index(ops_to_str(ops))


# --------------------------------------------------------------------------------------------
# PyTorch network (xautodl TinyNetwork)
# --------------------------------------------------------------------------------------------


@cache
def _modules() -> dict[str, Any]:
    """Define the torch modules on first use, so importing this file does not import torch."""
    from torch import nn

    from zcnas.spaces._pooling import AvgPool3x3

    class ReLUConvBN(nn.Module):
        """ReLU -> Conv (no bias) -> BN(affine, tracked)."""

        def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
            super().__init__()
            self.op = nn.Sequential(
                nn.ReLU(inplace=False),
                nn.Conv2d(
                    c_in, c_out, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False
                ),
                nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.op(x)

    class Zero(nn.Module):
        """The ``none`` op: ``x * 0`` (keeps shape, dtype and device)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mul(0.0)

    class Pooling(nn.Module):
        """avg_pool_3x3: AvgPool2d(3, stride 1, pad 1, count_include_pad=False)."""

        def __init__(self) -> None:
            super().__init__()
            self.op = AvgPool3x3()  # nn.AvgPool2d(3, 1, 1, count_include_pad=False), faster

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.op(x)

    class ResNetBasicBlock(nn.Module):
        """Reduction block: ReLUConvBN(3x3, s2) -> ReLUConvBN(3x3), + AvgPool(2)->Conv1x1."""

        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
            self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.downsample(x) + self.conv_b(self.conv_a(x))

    def make_op(name: str, c: int) -> nn.Module:
        if name == "none":
            return Zero()
        if name == "skip_connect":
            return nn.Identity()
        if name == "nor_conv_1x1":
            return ReLUConvBN(c, c, 1, 1)
        if name == "nor_conv_3x3":
            return ReLUConvBN(c, c, 3, 1)
        return Pooling()

    class Cell(nn.Module):
        """Four nodes; node j = sum over i < j of op_{i->j}(node i); output = node 3."""

        def __init__(self, ops: tuple[str, ...], c: int) -> None:
            super().__init__()
            self.ops = ops
            self.edges = EDGES
            self.layers = nn.ModuleList(make_op(name, c) for name in ops)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            nodes = [x]
            for target in (1, 2, 3):
                terms = [
                    layer(nodes[s])
                    for layer, (s, t) in zip(self.layers, self.edges, strict=True)
                    if t == target
                ]
                nodes.append(sum(terms[1:], terms[0]))
            return nodes[3]

        def extra_repr(self) -> str:
            return ops_to_str(self.ops)

    class TinyNetwork(nn.Module):
        """The NAS-Bench-201 network; ``forward`` returns logits."""

        def __init__(self, ops: tuple[str, ...], C: int, N: int, num_classes: int) -> None:
            super().__init__()
            self.arch_str = ops_to_str(ops)
            self.stem = nn.Sequential(
                nn.Conv2d(3, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C)
            )
            cells: list[nn.Module] = []
            c_prev = C
            for stage, c in enumerate((C, 2 * C, 4 * C)):
                if stage > 0:
                    cells.append(ResNetBasicBlock(c_prev, c))
                cells.extend(Cell(ops, c) for _ in range(N))
                c_prev = c
            self.cells = nn.ModuleList(cells)
            self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
            self.global_pooling = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(c_prev, num_classes)

        def features(self, x: torch.Tensor) -> torch.Tensor:
            """Pooled features before the classifier, shape ``(batch, 4C)``."""
            x = self.stem(x)
            for cell in self.cells:
                x = cell(x)
            x = self.lastact(x)
            return self.global_pooling(x).flatten(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(x))

    return {"TinyNetwork": TinyNetwork, "make_op": make_op}


def build(arch: Any, C: int = 16, N: int = 5, num_classes: int = 10) -> torch.nn.Module:
    """Build the NAS-Bench-201 network (xautodl ``TinyNetwork``) for an architecture.

    Stem Conv3x3(3->C, no bias)+BN; three stages of ``N`` cells at C, 2C, 4C channels with a
    ResNet basic reduction block (stride 2, AvgPool(2)+Conv1x1 shortcut) between stages; head
    BN -> ReLU -> global average pool -> Linear(4C -> num_classes). Cell convs are ReLU-Conv-BN
    with ``bias=False`` and BN ``affine=True, track_running_stats=True``; ``none`` is ``x * 0``
    and is kept in the graph, as in xautodl's inferred cell. Module names follow xautodl
    (``stem``, ``cells``, ``lastact``, ``global_pooling``, ``classifier``).

    Deviations from xautodl: ``forward`` returns the logits only (xautodl returns
    ``(features, logits)``; use ``model.features(x)`` for the pooled features), and cell ops
    are stored per edge in :data:`EDGES` order in ``cell.layers``. PyTorch's default
    initialisation is used, as in xautodl.

    Args:
        arch: any encoding accepted by :func:`to_index`, or an architecture string.
        C: channels of the first stage.
        N: cells per stage.
        num_classes: output classes (10 CIFAR-10, 100 CIFAR-100, 120 ImageNet16-120).

    Returns:
        A ``torch.nn.Module`` in training mode mapping ``(B, 3, H, W)`` to ``(B, num_classes)``.

    Raises:
        ZcnasError: if the architecture or a size is invalid.
    """
    ops = _ops_of(arch)
    check_sizes("build", C=C, N=N, num_classes=num_classes)
    return _modules()["TinyNetwork"](ops, int(C), int(N), int(num_classes))


def count_flops(model: torch.nn.Module, input_shape: Sequence[int] = (1, 3, 32, 32)) -> float:
    """Multiply-accumulates of every ``Conv2d`` and ``Linear``, in millions, via forward hooks.

    A ``Conv2d`` costs ``out.numel() * in_channels / groups * kh * kw``, a ``Linear`` costs
    ``out.numel() * in_features``; biases, BN, ReLU, pooling and additions are not counted. The
    count is for the whole ``input_shape`` batch (one forward pass on zeros, in eval mode and
    under ``no_grad``; the model's mode is restored).

    Relation to the embedded table's ``flops_M_*`` columns (NASLib's counter), measured on
    NAS-Bench-201 networks from :func:`build` (C=16, N=5)::

        table = count_flops + offset + 3 * E * n_conv + 9 * E * n_pool

    where ``n_conv`` / ``n_pool`` are the numbers of conv (1x1 or 3x3) / ``avg_pool_3x3`` edges
    and ``E = 5 * 16 * H * W * (1 + 1/2 + 1/4) / 1e6`` is the number of output elements of one
    cell edge summed over the 15 cells. So NASLib also charges 3 per output element of each
    ReLU-Conv-BN op (consistent with ReLU 1 + affine BN 2) and 9 per output element of a 3x3
    average pooling (kernel area); for 32x32 inputs that is 0.43008 M per conv edge and
    1.29024 M per pooling edge. ``offset`` is the same extra charge for the fixed skeleton
    (stem, reduction blocks, head): 0.160832 M at 32x32 (CIFAR-10 and CIFAR-100) and 0.040512 M
    at 16x16 (ImageNet16-120), measured, not decomposed term by term. The classifier is
    counted identically (no bias), since CIFAR-10 and CIFAR-100 share the offset.

    Args:
        model: any module (e.g. from :func:`build`).
        input_shape: shape of the dummy input, including the batch dimension.

    Returns:
        Millions of multiply-accumulates.
    """
    import torch
    from torch import nn

    total = [0]

    def conv_hook(mod: nn.Conv2d, _inp: Any, out: torch.Tensor) -> None:
        kh, kw = mod.kernel_size
        total[0] += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod: nn.Linear, _inp: Any, out: torch.Tensor) -> None:
        total[0] += out.numel() * mod.in_features

    handles = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        param = next(model.parameters(), None)
        kwargs = {} if param is None else {"device": param.device, "dtype": param.dtype}
        model.eval()
        with torch.no_grad():
            model(torch.zeros(tuple(input_shape), **kwargs))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total[0] / 1e6
