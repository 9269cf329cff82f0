"""The DARTS cell search space: genotypes, parsing, sampling and the DARTS CIFAR network.

A :class:`Genotype` holds a normal and a reduction cell (Liu et al., "DARTS: Differentiable
Architecture Search", ICLR 2019). Each cell has two inputs (node 0 = output of the cell two
back, node 1 = output of the previous cell) and four intermediate nodes 2..5; intermediate node
``k`` (0-based, i.e. graph node ``k + 2``) is the sum of two ops, written as the pairs
``cell[2k]`` and ``cell[2k + 1]``, each ``(op_name, input_node)`` with ``input_node < k + 2``.
The cell output concatenates the nodes in ``*_concat`` (normally 2..5) along channels.

Two text encodings are read:

* the DARTS ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), ...)``
  string (:func:`parse_genotype`; ``str(genotype)`` writes it back, with concat as a list);
* NASLib's NAS-Bench-301 "compact" encoding ``[[(input, op_id), ...8], [...8]]`` (normal cell
  first), with op ids into :data:`NB301_OPS` (:func:`from_naslib_nb301`,
  :func:`to_naslib_nb301`).

Importing this module does not import torch; :func:`build` does.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np

from zcnas._tables import check_sizes
from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:  # torch is imported lazily so that the encodings work without it
    import torch

__all__ = [
    "DARTS_V2",
    "NB301_OPS",
    "NUM_NODES",
    "OPS",
    "Genotype",
    "build",
    "from_naslib_nb301",
    "key",
    "mutate",
    "parse_genotype",
    "sample",
    "to_genotype",
    "to_naslib_nb301",
]

#: The 8 DARTS candidate ops, in DARTS' ``PRIMITIVES`` order.
OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
#: NASLib's NAS-Bench-301 op ids: ``NB301_OPS[k]`` is the op NASLib encodes as ``k`` (no none).
NB301_OPS: tuple[str, ...] = OPS[1:]
#: Intermediate nodes per cell (each with two incoming ops).
NUM_NODES = 4
_DEFAULT_CONCAT = (2, 3, 4, 5)
_NB301_ID = {name: k for k, name in enumerate(NB301_OPS)}
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")

Cell = tuple[tuple[str, int], ...]


# --------------------------------------------------------------------------------------------
# Genotype
# --------------------------------------------------------------------------------------------


def _check_cell(cell: Any, what: str) -> Cell:
    if isinstance(cell, str) or not isinstance(cell, Sequence):
        raise ZcnasError(f"DARTS {what} cell must be a sequence of (op, input) pairs, got {cell!r}")
    if len(cell) != 2 * NUM_NODES:
        raise ZcnasError(
            f"DARTS {what} cell must have {2 * NUM_NODES} (op, input) pairs "
            f"(2 per intermediate node), got {len(cell)}"
        )
    out = []
    for pos, pair in enumerate(cell):
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ZcnasError(
                f"DARTS {what} cell: pair {pos} must be (op_name, input), got {pair!r}"
            )
        name, src = pair
        if name not in OPS:
            raise ZcnasError(
                f"DARTS {what} cell: unknown op {name!r} at pair {pos}; expected one of {OPS}"
            )
        node = pos // 2
        if isinstance(src, bool | np.bool_) or not isinstance(src, Integral):
            raise ZcnasError(f"DARTS {what} cell: input {src!r} at pair {pos} is not an integer")
        if not 0 <= src < node + 2:
            raise ZcnasError(
                f"DARTS {what} cell: pair {pos} (node {node + 2}) takes input {src}, "
                f"which must be in 0..{node + 1}"
            )
        out.append((str(name), int(src)))
    return tuple(out)


def _check_concat(concat: Any, what: str) -> tuple[int, ...]:
    if isinstance(concat, range):
        concat = tuple(concat)
    if isinstance(concat, str) or not isinstance(concat, Sequence) or not concat:
        raise ZcnasError(f"DARTS {what}_concat must be a non-empty sequence, got {concat!r}")
    out = []
    for v in concat:
        if isinstance(v, bool | np.bool_) or not isinstance(v, Integral) or not 2 <= v <= 5:
            raise ZcnasError(f"DARTS {what}_concat {concat!r}: {v!r} is not a node in 2..5")
        out.append(int(v))
    if len(set(out)) != len(out):
        raise ZcnasError(f"DARTS {what}_concat {concat!r} repeats a node")
    return tuple(out)


@dataclass(frozen=True, repr=False)
class Genotype:
    """A DARTS genotype (hashable; lists and ``range`` are normalised to tuples).

    Attributes:
        normal: 8 ``(op_name, input_node)`` pairs of the normal cell; pairs ``2k`` and ``2k+1``
            feed intermediate node ``k + 2`` and take inputs in ``0..k+1`` (0 = cell input
            k-2, 1 = cell input k-1, j >= 2 = intermediate node j).
        normal_concat: nodes concatenated into the normal cell's output (default 2..5).
        reduce: 8 pairs of the reduction cell (ops on inputs 0 and 1 have stride 2); required
            although it has a placeholder default (pass it by keyword).
        reduce_concat: nodes concatenated into the reduction cell's output.

    ``str()`` and ``repr()`` give DARTS' text form (with concat written as a list, as
    NAS-Bench-301 and the SWAP data print it), which :func:`parse_genotype` reads back.

    Raises:
        ZcnasError: on an unknown op, a wrong number of pairs, an input that is not an earlier
            node, or a concat entry outside 2..5.
    """

    normal: Cell
    normal_concat: tuple[int, ...] = _DEFAULT_CONCAT
    reduce: Cell = ()
    reduce_concat: tuple[int, ...] = _DEFAULT_CONCAT

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _check_cell(self.normal, "normal"))
        object.__setattr__(self, "reduce", _check_cell(self.reduce, "reduce"))
        object.__setattr__(self, "normal_concat", _check_concat(self.normal_concat, "normal"))
        object.__setattr__(self, "reduce_concat", _check_concat(self.reduce_concat, "reduce"))

    def __str__(self) -> str:
        return (
            f"Genotype(normal={list(self.normal)!r}, normal_concat={list(self.normal_concat)!r}, "
            f"reduce={list(self.reduce)!r}, reduce_concat={list(self.reduce_concat)!r})"
        )

    __repr__ = __str__


#: DARTS (second order) CIFAR-10 genotype from the DARTS paper/code (3.3 M params at C=36, 20).
DARTS_V2 = Genotype(
    normal=(
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("skip_connect", 0),
        ("dil_conv_3x3", 2),
    ),
    reduce=(
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 1),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
    ),
)


def _literal(node: ast.expr, field: str, text: str) -> Any:
    # ``range(a, b[, step])`` is the only call allowed (DARTS writes concat that way)
    if isinstance(node, ast.Call):
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "range"
            and not node.keywords
            and 1 <= len(node.args) <= 3
            and all(isinstance(a, ast.Constant) and type(a.value) is int for a in node.args)
        ):
            return tuple(range(*(a.value for a in node.args)))  # type: ignore[union-attr]
        raise ZcnasError(f"genotype {text!r}: field {field!r} may only call range(a, b)")
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ZcnasError(f"genotype {text!r}: field {field!r} is not a literal") from None


def parse_genotype(text: str) -> Genotype:
    """Parse DARTS' ``Genotype(...)`` text without evaluating code (via :mod:`ast`).

    Fields may be given by keyword or position, in DARTS' order ``normal, normal_concat,
    reduce, reduce_concat``; all four are required. Cells are lists or tuples of
    ``(op_name, input_node)`` pairs; concat may be a list, a tuple or ``range(a, b)``.
    ``none`` ops and nodes whose two inputs coincide are accepted (they occur in published
    data); any other call, name or expression is rejected.

    Args:
        text: e.g. ``"Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6),
            reduce=[...], reduce_concat=range(2, 6))"``.

    Returns:
        The :class:`Genotype`.

    Raises:
        ZcnasError: if the text is not such a call or a field is invalid.

    >>> g = parse_genotype(str(DARTS_V2).replace("[2, 3, 4, 5]", "range(2, 6)"))
    >>> g == DARTS_V2, g.normal[:2], g.reduce_concat
    (True, (('sep_conv_3x3', 0), ('sep_conv_3x3', 1)), (2, 3, 4, 5))
    >>> parse_genotype("Genotype(normal=__import__('os').system('ls'))")
    Traceback (most recent call last):
    ...
    zcnas.ZcnasError: genotype "Genotype(normal=__import__('os').system('ls'))": field 'normal' may only call range(a, b)
    """  # noqa: E501
    if not isinstance(text, str):
        raise ZcnasError(f"genotype text must be a str, got {type(text).__name__}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ZcnasError(f"genotype {text!r} is not valid Python syntax") from None
    call = tree.body
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "Genotype"
    ):
        raise ZcnasError(f"genotype {text!r} must be a call Genotype(normal=..., ...)")
    if len(call.args) > len(_FIELDS):
        raise ZcnasError(f"genotype {text!r} has more than {len(_FIELDS)} fields")
    values: dict[str, Any] = {}
    for field, node in zip(_FIELDS, call.args, strict=False):
        if isinstance(node, ast.Starred):
            raise ZcnasError(f"genotype {text!r}: starred arguments are not allowed")
        values[field] = _literal(node, field, text)
    for kw in call.keywords:
        if kw.arg not in _FIELDS:
            raise ZcnasError(f"genotype {text!r}: unknown field {kw.arg!r}; expected {_FIELDS}")
        if kw.arg in values:
            raise ZcnasError(f"genotype {text!r}: field {kw.arg!r} given twice")
        values[kw.arg] = _literal(kw.value, kw.arg, text)
    missing = [f for f in _FIELDS if f not in values]
    if missing:
        raise ZcnasError(f"genotype {text!r}: missing field(s) {missing}")
    return Genotype(**values)


def from_naslib_nb301(enc: Any) -> Genotype:
    """Convert NASLib's NAS-Bench-301 compact encoding into a :class:`Genotype`.

    The encoding is two cells (normal, then reduction), each 8 ``(input_node, op_id)`` pairs
    (note: input first, unlike the genotype's ``(op_name, input)``), 2 per intermediate node,
    with op ids into :data:`NB301_OPS` = max_pool_3x3, avg_pool_3x3, skip_connect,
    sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5 (0..6; ``none`` cannot be written).
    Both concats are 2..5.

    Args:
        enc: the encoding as text (read with :func:`ast.literal_eval`), e.g.
            ``"[[(0, 0), (1, 5), ...], [...]]"``, or as nested sequences.

    Returns:
        The :class:`Genotype`.

    Raises:
        ZcnasError: if the structure, an op id or an input node is invalid.

    >>> enc = ("[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
    ...        "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]")
    >>> g = from_naslib_nb301(enc)
    >>> g.normal[:2], g.reduce[-1]
    ((('max_pool_3x3', 0), ('dil_conv_3x3', 1)), ('dil_conv_5x5', 3))
    >>> str(to_naslib_nb301(g)) == enc
    True
    """
    if isinstance(enc, str):
        try:
            value = ast.literal_eval(enc.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ZcnasError(f"NB301 encoding {enc!r} is not a literal") from None
    else:
        value = enc
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise ZcnasError(f"NB301 encoding {enc!r} must hold 2 cells (normal, reduce)")
    cells = []
    for what, cell in zip(("normal", "reduce"), value, strict=True):
        if isinstance(cell, str) or not isinstance(cell, Sequence):
            raise ZcnasError(f"NB301 encoding {enc!r}: {what} cell must be a sequence of pairs")
        pairs = []
        for pair in cell:
            if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise ZcnasError(
                    f"NB301 encoding {enc!r}: {what} cell entry {pair!r} must be (input, op_id)"
                )
            src, op = pair
            if isinstance(op, bool | np.bool_) or not isinstance(op, Integral):
                raise ZcnasError(f"NB301 encoding {enc!r}: op id {op!r} is not an integer")
            if not 0 <= op < len(NB301_OPS):
                raise ZcnasError(f"NB301 encoding {enc!r}: op id {op} is outside 0..6")
            pairs.append((NB301_OPS[op], src))
        cells.append(pairs)
    return Genotype(normal=cells[0], reduce=cells[1])


def to_naslib_nb301(genotype: Any) -> list[list[tuple[int, int]]]:
    """NASLib's NAS-Bench-301 compact encoding of a genotype (inverse of
    :func:`from_naslib_nb301`).

    Args:
        genotype: a :class:`Genotype` or its text.

    Returns:
        ``[normal_pairs, reduce_pairs]``, each 8 ``(input_node, op_id)`` tuples;
        ``str()`` of it is NASLib's text form.

    Raises:
        ZcnasError: if a cell uses ``none`` or a concat is not 2..5 (not representable).
    """
    g = to_genotype(genotype)
    if g.normal_concat != _DEFAULT_CONCAT or g.reduce_concat != _DEFAULT_CONCAT:
        raise ZcnasError(f"NB301 encoding needs concat 2..5, got {g}")
    out = []
    for what, cell in (("normal", g.normal), ("reduce", g.reduce)):
        if any(name == "none" for name, _ in cell):
            raise ZcnasError(
                f"NB301 encoding cannot hold 'none' (in the {what} cell of {g}); genotypes "
                f"with 'none' edges are keyed by their text instead (zcnas.spaces.darts.key, "
                f"zcnas score --space darts-c3)"
            )
        out.append([(src, _NB301_ID[name]) for name, src in cell])
    return out


def to_genotype(genotype: Any) -> Genotype:
    """Normalise a :class:`Genotype`, its DARTS text or NASLib's NB301 encoding (text or nested
    sequences) to a :class:`Genotype`.

    Raises:
        ZcnasError: if the input is none of these or is invalid.
    """
    if isinstance(genotype, Genotype):
        return genotype
    if isinstance(genotype, str):
        if genotype.lstrip().startswith("Genotype"):
            return parse_genotype(genotype)
        return from_naslib_nb301(genotype)
    if isinstance(genotype, Sequence) and len(genotype) == 2:
        return from_naslib_nb301(genotype)
    raise ZcnasError(f"cannot interpret {genotype!r} as a DARTS genotype")


def key(genotype: Any) -> str:
    """The canonical text of a genotype: ``str(to_genotype(genotype))``, the store key of
    ``zcnas score --space darts-c3`` (:mod:`zcnas.scoring`).

    Unlike NASLib's NB301 encoding (:func:`zcnas.spaces.nb301.key`), it holds ``none`` edges
    (644 of the 1,000 DARTS-1000 genotypes of the SWAP repository have them). The same
    genotype always gives the same text whatever it was read from (a :class:`Genotype`, DARTS
    text with ``range(2, 6)`` or lists, NASLib's encoding); it is DARTS' own printed form, the
    form of the SWAP data's ``genotype`` column, and :func:`parse_genotype` reads it back.
    Genotypes that differ only in the order of a node's two edges (the same network up to
    weight initialisation) get different keys: no isomorphism reduction.

    Args:
        genotype: anything accepted by :func:`to_genotype`.

    Returns:
        ``"Genotype(normal=[(op, input), ...8], normal_concat=[...], reduce=[...],
        reduce_concat=[...])"``.

    Raises:
        ZcnasError: if the genotype is invalid.

    >>> g = Genotype(normal=[("none", 0), ("skip_connect", 1)] * 4, reduce=[("none", 1)] * 8)
    >>> key(g)[:62]
    "Genotype(normal=[('none', 0), ('skip_connect', 1), ('none', 0)"
    >>> parse_genotype(key(g)) == g, key(str(g).replace("[2, 3, 4, 5]", "range(2, 6)")) == key(g)
    (True, True)
    """
    return str(to_genotype(genotype))


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, Integral | np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise ZcnasError(f"rng must be None, an int seed or a numpy Generator, got {rng!r}")


def _sample_cell(gen: np.random.Generator) -> Cell:
    pairs = []
    for node in range(NUM_NODES):
        inputs = gen.choice(node + 2, size=2, replace=False)
        for src in inputs:
            pairs.append((NB301_OPS[int(gen.integers(len(NB301_OPS)))], int(src)))
    return tuple(pairs)


def sample(rng: Any = None) -> Genotype:
    """Draw one genotype uniformly from the NB301 space (the DARTS space without ``none``).

    Each intermediate node ``k`` (0-based) picks 2 distinct inputs uniformly among the
    ``k + 2`` earlier nodes and, independently, one of the 7 non-``none`` ops per input; the
    normal and reduction cells are independent; concats are 2..5.

    Args:
        rng: ``None``, an int seed or a :class:`numpy.random.Generator`.

    Returns:
        A :class:`Genotype`.

    >>> g = sample(0)
    >>> len(g.normal), g.normal_concat, all(op != "none" for op, _ in g.reduce)
    (8, (2, 3, 4, 5), True)
    """
    gen = _rng(rng)
    return Genotype(normal=_sample_cell(gen), reduce=_sample_cell(gen))


def mutate(genotype: Any, rng: Any = None) -> Genotype:
    """Change one op or one input of one pair.

    A cell (normal or reduce) and one of its 8 pairs are chosen uniformly; then with
    probability 1/2 the op is replaced by a different non-``none`` op (uniformly), otherwise the
    input is replaced by a different earlier node that is not the node's other input
    (uniformly). When no such input exists (the first node, whose inputs are 0 and 1), the op
    is changed instead. The result always differs from the input.

    Args:
        genotype: anything accepted by :func:`to_genotype`.
        rng: ``None``, an int seed or a :class:`numpy.random.Generator`.

    Returns:
        The mutated :class:`Genotype` (same concats).

    >>> g = sample(1)
    >>> m = mutate(g, 2)
    >>> m != g and sum(a != b for a, b in zip(g.normal + g.reduce, m.normal + m.reduce))
    1
    """
    g = to_genotype(genotype)
    gen = _rng(rng)
    which = "normal" if int(gen.integers(2)) == 0 else "reduce"
    cell = list(getattr(g, which))
    pos = int(gen.integers(len(cell)))
    node = pos // 2
    name, src = cell[pos]
    other = cell[pos ^ 1][1]
    inputs = [j for j in range(node + 2) if j not in (src, other)]
    if int(gen.integers(2)) == 0 and inputs:
        cell[pos] = (name, inputs[int(gen.integers(len(inputs)))])
    else:
        ops = [op for op in NB301_OPS if op != name]
        cell[pos] = (ops[int(gen.integers(len(ops)))], src)
    fields = {f: getattr(g, f) for f in _FIELDS}
    fields[which] = tuple(cell)
    return Genotype(**fields)


# --------------------------------------------------------------------------------------------
# PyTorch network (DARTS NetworkCIFAR)
# --------------------------------------------------------------------------------------------


@cache
def _modules() -> dict[str, Any]:
    """Define the torch modules on first use, so importing this file does not import torch."""
    import torch
    from torch import nn

    from zcnas.spaces._pooling import AvgPool3x3, MaxPool2d

    class ReLUConvBN(nn.Module):
        """ReLU -> Conv (no bias) -> BN."""

        def __init__(
            self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine=True
        ):
            super().__init__()
            self.op = nn.Sequential(
                nn.ReLU(inplace=False),
                nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
                nn.BatchNorm2d(c_out, affine=affine),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.op(x)

    class DilConv(nn.Module):
        """ReLU -> depthwise kxk (stride, dilation) -> pointwise 1x1 -> BN."""

        def __init__(self, c_in, c_out, kernel, stride, padding, dilation, affine=True):
            super().__init__()
            self.op = nn.Sequential(
                nn.ReLU(inplace=False),
                nn.Conv2d(
                    c_in,
                    c_in,
                    kernel,
                    stride=stride,
                    padding=padding,
                    dilation=dilation,
                    groups=c_in,
                    bias=False,
                ),
                nn.Conv2d(c_in, c_out, 1, bias=False),
                nn.BatchNorm2d(c_out, affine=affine),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.op(x)

    class SepConv(nn.Module):
        """Two stacked (ReLU, depthwise kxk, pointwise 1x1, BN); only the first is strided."""

        def __init__(self, c_in, c_out, kernel, stride, padding, affine=True):
            super().__init__()
            self.op = nn.Sequential(
                DilConv(c_in, c_in, kernel, stride, padding, 1, affine).op,
                DilConv(c_in, c_out, kernel, 1, padding, 1, affine).op,
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.op(x)

    class Zero(nn.Module):
        """The ``none`` op: zeros, subsampled by the stride."""

        def __init__(self, stride: int) -> None:
            super().__init__()
            self.stride = stride

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.stride == 1:
                return x.mul(0.0)
            return x[:, :, :: self.stride, :: self.stride].mul(0.0)

    class FactorizedReduce(nn.Module):
        """ReLU, then two 1x1 stride-2 convs (C_out/2 each; the second on the input shifted by
        one pixel), concatenated, then BN."""

        def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
            super().__init__()
            if c_out % 2:
                raise ZcnasError(f"FactorizedReduce needs an even channel count, got {c_out}")
            self.relu = nn.ReLU(inplace=False)
            self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
            self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
            self.bn = nn.BatchNorm2d(c_out, affine=affine)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.relu(x)
            return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))

    def make_op(name: str, c: int, stride: int, naslib: bool = False) -> nn.Module:
        """A cell op; ``naslib``: NASLib's NB301 variant (non-affine BNs, BN after pools)."""
        affine = not naslib
        if name == "none":
            return Zero(stride)
        if name in ("avg_pool_3x3", "max_pool_3x3"):
            if name == "max_pool_3x3":
                pool: nn.Module = MaxPool2d(3, stride=stride, padding=1)  # bitwise, faster
            elif stride == 1:  # nn.AvgPool2d(3, 1, 1, count_include_pad=False), faster on CPU
                pool = AvgPool3x3()
            else:
                pool = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
            return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False)) if naslib else pool
        if name == "skip_connect":
            return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
        if name.startswith("sep_conv_"):
            k = int(name[-1])
            return SepConv(c, c, k, stride, k // 2, affine)
        k = int(name[-1])  # dil_conv_3x3 / dil_conv_5x5: dilation 2, padding 2 or 4
        return DilConv(c, c, k, stride, k - 1, 2, affine)

    def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
        keep = 1.0 - drop_prob
        mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
        return x.div(keep).mul(mask)

    class Cell(nn.Module):
        """One DARTS cell; ``forward(s0, s1, drop_prob)`` returns the concatenated nodes."""

        def __init__(self, cell, concat, c_pp, c_p, c, reduction, reduction_prev, naslib=False):
            super().__init__()
            if reduction_prev:
                self.preprocess0 = FactorizedReduce(c_pp, c)
            else:
                self.preprocess0 = ReLUConvBN(c_pp, c, 1, 1, 0)
            self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
            self.reduction = reduction
            self.concat = tuple(concat)
            self.multiplier = len(self.concat)
            self.indices = tuple(src for _, src in cell)
            self._ops = nn.ModuleList(
                make_op(name, c, 2 if reduction and src < 2 else 1, naslib) for name, src in cell
            )

        def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0):
            states = [self.preprocess0(s0), self.preprocess1(s1)]
            for node in range(len(self._ops) // 2):
                total = None
                for pos in (2 * node, 2 * node + 1):
                    op = self._ops[pos]
                    h = op(states[self.indices[pos]])
                    if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                        h = drop_path(h, drop_prob)
                    total = h if total is None else total + h
                states.append(total)
            return torch.cat([states[i] for i in self.concat], dim=1)

    class AuxiliaryHeadCIFAR(nn.Module):
        """DARTS' auxiliary head for 8x8 inputs."""

        def __init__(self, c: int, num_classes: int) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.ReLU(inplace=True),
                nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
                nn.Conv2d(c, 128, 1, bias=False),
                nn.BatchNorm2d(128),
                nn.ReLU(inplace=True),
                nn.Conv2d(128, 768, 2, bias=False),
                nn.BatchNorm2d(768),
                nn.ReLU(inplace=True),
            )
            self.classifier = nn.Linear(768, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(x).flatten(1))

    class NetworkCIFAR(nn.Module):
        """The DARTS CIFAR evaluation network; ``forward`` returns logits."""

        def __init__(
            self, genotype: Genotype, C, layers, num_classes, auxiliary, stem=True, naslib=False
        ) -> None:
            super().__init__()
            self.genotype = genotype
            self.drop_path_prob = 0.0
            if stem:
                c_curr = 3 * C
                self.stem = nn.Sequential(
                    nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
                )
            else:  # the first cell reads the 3-channel input itself (SWAP's network)
                c_curr = 3
                self.stem = nn.Identity()
            c_pp, c_p, c_curr = c_curr, c_curr, C
            cells = []
            reduction_prev = False
            self.aux_position = None
            c_aux = 0
            for i in range(layers):
                reduction = i in (layers // 3, 2 * layers // 3)
                if reduction:
                    c_curr *= 2
                cell_ops = genotype.reduce if reduction else genotype.normal
                concat = genotype.reduce_concat if reduction else genotype.normal_concat
                cell = Cell(cell_ops, concat, c_pp, c_p, c_curr, reduction, reduction_prev, naslib)
                cells.append(cell)
                reduction_prev = reduction
                c_pp, c_p = c_p, cell.multiplier * c_curr
                if i == 2 * layers // 3:
                    c_aux = c_p
                    self.aux_position = i
            self.cells = nn.ModuleList(cells)
            self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes) if auxiliary else None
            self.global_pooling = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(c_p, num_classes)

        def forward_with_aux(self, x: torch.Tensor):
            """``(logits, aux_logits)``; ``aux_logits`` is ``None`` unless the network has an
            auxiliary head and is in training mode (as in DARTS)."""
            s0 = s1 = self.stem(x)
            aux = None
            for i, cell in enumerate(self.cells):
                s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
                if i == self.aux_position and self.auxiliary_head is not None and self.training:
                    aux = self.auxiliary_head(s1)
            logits = self.classifier(self.global_pooling(s1).flatten(1))
            return logits, aux

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.forward_with_aux(x)[0]

        def extra_repr(self) -> str:
            return str(self.genotype)

    return {"NetworkCIFAR": NetworkCIFAR, "make_op": make_op}


def build(
    genotype: Any,
    C: int = 16,
    layers: int = 8,
    num_classes: int = 10,
    auxiliary: bool = False,
    stem: bool = True,
    naslib_ops: bool = False,
) -> torch.nn.Module:
    """Build the DARTS CIFAR evaluation network (``NetworkCIFAR``) of a genotype.

    Stem Conv3x3(3 -> 3C, no bias)-BN (none with ``stem=False``); ``layers`` cells,
    reduction cells at ``layers // 3`` and ``2 * layers // 3`` (channels doubled there,
    starting from C); each cell preprocesses input
    0 with FactorizedReduce if the previous cell was a reduction cell, else ReLU-Conv1x1-BN,
    and input 1 with ReLU-Conv1x1-BN; in a reduction cell, ops reading nodes 0 and 1 have
    stride 2. Ops: ``sep_conv_kxk`` = 2 x (ReLU, depthwise kxk, pointwise, BN), only the first
    strided; ``dil_conv_kxk`` = ReLU, depthwise kxk dilation 2, pointwise, BN; pools
    (3x3, padding 1, average pooling excluding padding) without BN; ``skip_connect`` = identity,
    or FactorizedReduce at stride 2; ``none`` = zeros (subsampled at stride 2). The cell output
    concatenates its concat nodes; head = global average pool + Linear. BN is affine; all
    convs are bias-free; PyTorch's default initialisation.

    With ``auxiliary=True`` the DARTS auxiliary head (after cell ``2 * layers // 3``, expects
    8x8 maps, i.e. 32x32 inputs) is added as ``model.auxiliary_head``; ``model.forward``
    still returns the main logits, ``model.forward_with_aux(x)`` returns both (aux only in
    training mode). ``model.drop_path_prob`` (default 0) enables DARTS' drop-path in training.
    Deviation from DARTS: ``forward`` returns logits only (DARTS returns ``(logits, aux)``).

    Args:
        genotype: anything accepted by :func:`to_genotype`.
        C: initial channels (the stem has 3C).
        layers: number of cells (any >= 1; the reduction positions follow DARTS' formula, so
            with ``layers < 3`` they fall on the first cells).
        num_classes: output classes.
        auxiliary: add the auxiliary head (its parameters are counted by ``parameters()``;
            DARTS excludes them when reporting model size).
        stem: with False there is no stem: the first cell's two inputs are the 3-channel image
            itself (``ReLU-Conv1x1-BN`` of it), as in SWAP's DARTS network (pym1024/SWAP
            ``src/search_space/networks.py``: ``Network(3, 10, 1, genotype)``, whose one cell
            is a reduction cell on the raw input; ``zcnas score --space darts-c3``).
        naslib_ops: NASLib's NB301 cell ops (``search_spaces/nasbench301/graph.py``): every
            BatchNorm inside a cell op is non-affine (no weight/bias; the stem's and the
            preprocessing BNs stay affine), and each pooling op is
            ``nn.Sequential(pool, BatchNorm2d(C, affine=False))`` (NASLib's ``MaxPool`` /
            ``AvgPool`` with ``use_bn=True``). Used by :func:`zcnas.spaces.nb301.build`. It
            draws the same random numbers as the default (BN initialisation draws none).

    Returns:
        A ``torch.nn.Module`` in training mode mapping ``(B, 3, H, W)`` to ``(B, num_classes)``.

    Raises:
        ZcnasError: if the genotype or a size is invalid, or ``auxiliary``, ``stem`` or
            ``naslib_ops`` is not a bool.
    """
    g = to_genotype(genotype)
    check_sizes("build", C=C, layers=layers, num_classes=num_classes)
    if not isinstance(auxiliary, bool):
        raise ZcnasError(f"build: auxiliary must be a bool, got {auxiliary!r}")
    if not isinstance(stem, bool):
        raise ZcnasError(f"build: stem must be a bool, got {stem!r}")
    if not isinstance(naslib_ops, bool):
        raise ZcnasError(f"build: naslib_ops must be a bool, got {naslib_ops!r}")
    return _modules()["NetworkCIFAR"](
        g, int(C), int(layers), int(num_classes), auxiliary, stem, naslib_ops
    )
