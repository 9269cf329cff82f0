"""NAS-Bench-101: cell specs, NAS-Bench-Suite-Zero's encoding, pruning, hashing, sampling and
the benchmark's CIFAR-10 network (Ying et al., "NAS-Bench-101", ICML 2019).

A cell is a DAG of at most 7 vertices given by an upper-triangular 0/1 adjacency ``matrix``
(``matrix[i][j] = 1``: edge ``i -> j``) and one op per vertex: ``input`` (vertex 0),
``output`` (the last vertex) and, for the interior vertices, one of :data:`OPS`. A valid cell
has at most 9 edges after pruning.

Encodings read and written:

* :class:`Spec` (``matrix`` + ``ops``, NAS-Bench-101's ``ModelSpec`` form; also accepted as a
  ``{"matrix": ..., "ops": ...}`` dict or a ``(matrix, ops)`` pair);
* NASLib's tuple used by NAS-Bench-Suite-Zero's CSV (``arch`` column): the 7x7 matrix
  flattened row-major (49 entries) followed by 7 op ids into :data:`NASLIB_OPS`
  (``0 = input, 1 = output, 2 = maxpool3x3, 3 = conv1x1-bn-relu, 4 = conv3x3-bn-relu``; this
  order is the one for which every one of the 500 CSV rows has the CSV's parameter count),
  *unpruned* (:func:`from_naslib`, :func:`to_naslib`).

:func:`prune` removes the vertices that are not on a path from input to output, as
``ModelSpec._prune``; :func:`spec_hash` is NAS-Bench-101's isomorphism-invariant fingerprint
(``graph_util.hash_module``: iterated MD5 of (out-degree, in-degree, label) with sorted
neighbour hashes; labels ``-1`` input, ``-2`` output, else the op's index in :data:`OPS`),
computed on the pruned spec, so two specs with the same hash are the same trained network in
the benchmark.

Importing this module does not import torch; :func:`build` does.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np

from zcnas._tables import check_sizes
from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:
    import torch

__all__ = [
    "INITS",
    "MAX_EDGES",
    "MAX_VERTICES",
    "NASLIB_OPS",
    "OPS",
    "Spec",
    "build",
    "from_naslib",
    "is_valid",
    "mutate",
    "prune",
    "sample",
    "spec_hash",
    "to_naslib",
    "to_spec",
    "vertex_channels",
]

#: The interior ops, in NAS-Bench-101's ``available_ops`` order (their hash labels 0, 1, 2).
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
#: NASLib's op ids (NAS-Bench-Suite-Zero's encoding): index = id.
NASLIB_OPS: tuple[str, ...] = (
    "input",
    "output",
    "maxpool3x3",
    "conv1x1-bn-relu",
    "conv3x3-bn-relu",
)
MAX_VERTICES = 7
MAX_EDGES = 9
_NASLIB_ID = {op: i for i, op in enumerate(NASLIB_OPS)}


@dataclass(frozen=True)
class Spec:
    """A NAS-Bench-101 cell: ``matrix`` (tuple of 0/1 row tuples) and ``ops`` (vertex labels).

    Built through :func:`to_spec`, which checks shape, triangularity and labels (not pruning,
    nor the edge limit: see :func:`is_valid`).
    """

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return int(sum(map(sum, self.matrix)))

    def array(self) -> np.ndarray:
        """The adjacency as an ``(n, n)`` int64 array."""
        return np.array(self.matrix, dtype=np.int64).reshape(self.num_vertices, -1)


def _make_spec(matrix: Any, ops: Any) -> Spec:
    try:
        m = np.asarray(matrix)
    except (TypeError, ValueError) as e:
        raise ZcnasError(f"NB101 matrix could not be read: {e}") from e
    if m.ndim != 2 or m.shape[0] != m.shape[1] or not 2 <= m.shape[0] <= MAX_VERTICES:
        raise ZcnasError(f"NB101 matrix must be square with 2..7 vertices, got shape {m.shape}")
    if m.dtype.kind not in "biu" or not np.isin(m, (0, 1)).all():
        raise ZcnasError("NB101 matrix must hold only 0 and 1")
    m = m.astype(np.int64)
    if np.tril(m).any():
        raise ZcnasError("NB101 matrix must be strictly upper triangular (a DAG in vertex order)")
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise ZcnasError(f"NB101 ops must be a sequence of op names, got {ops!r}")
    ops = tuple(ops)
    if len(ops) != m.shape[0]:
        raise ZcnasError(f"NB101 spec has {m.shape[0]} vertices but {len(ops)} ops")
    if ops[0] != "input" or ops[-1] != "output":
        raise ZcnasError(f"NB101 ops must start with 'input' and end with 'output', got {ops}")
    bad = [o for o in ops[1:-1] if o not in OPS]
    if bad:
        raise ZcnasError(f"unknown NB101 ops {bad}; expected {list(OPS)}")
    return Spec(tuple(tuple(int(v) for v in row) for row in m), ops)


def from_naslib(enc: Any) -> Spec:
    """The (unpruned) spec of NASLib's 56-entry tuple (or its string, as in the CSV).

    Raises:
        ZcnasError: wrong length, non-binary matrix entries or unknown op ids.

    >>> edges = (0, 1) + (0,) * 5 + (0, 0, 0, 0, 0, 0, 1) + (0,) * 35  # 0 -> 1 -> 6
    >>> s = from_naslib(edges + (0, 4, 2, 2, 2, 2, 1))
    >>> prune(s).ops
    ('input', 'conv3x3-bn-relu', 'output')
    """
    if isinstance(enc, str):
        try:
            enc = ast.literal_eval(enc)
        except (ValueError, SyntaxError) as e:
            raise ZcnasError(f"NB101 NASLib encoding could not be parsed: {enc!r}") from e
    try:
        vals = [int(v) for v in enc]
    except (TypeError, ValueError) as e:
        raise ZcnasError(f"NB101 NASLib encoding must be 56 integers: {e}") from e
    n = MAX_VERTICES
    if len(vals) != n * n + n:
        raise ZcnasError(f"NB101 NASLib encoding must have 56 entries, got {len(vals)}")
    ids = vals[n * n :]
    if any(not 0 <= i < len(NASLIB_OPS) for i in ids):
        raise ZcnasError(f"NB101 op ids must be in 0..4, got {ids}")
    return _make_spec(np.array(vals[: n * n]).reshape(n, n), [NASLIB_OPS[i] for i in ids])


def to_naslib(arch: Any) -> tuple[int, ...]:
    """NASLib's 56-entry tuple of a spec. A spec with fewer than 7 vertices is padded with
    isolated ``conv3x3-bn-relu`` vertices before the output (pruning removes them again).

    >>> s = {"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "maxpool3x3", "output"]}
    >>> enc = to_naslib(s)
    >>> enc[49:], prune(from_naslib(enc)) == to_spec(s)
    ((0, 2, 4, 4, 4, 4, 1), True)
    """
    s = to_spec(arch)
    n = s.num_vertices
    m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    a = s.array()
    k = n - 1  # interior vertices keep their places; the output moves to index 6
    m[:k, :k] = a[:k, :k]
    m[:k, MAX_VERTICES - 1] = a[:k, n - 1]
    ops = list(s.ops[:k]) + ["conv3x3-bn-relu"] * (MAX_VERTICES - n) + ["output"]
    return tuple(int(v) for v in m.reshape(-1)) + tuple(_NASLIB_ID[o] for o in ops)


def to_spec(arch: Any) -> Spec:
    """Any accepted form as a :class:`Spec`: a Spec, ``{"matrix", "ops"}``, ``(matrix, ops)``
    or NASLib's 56-tuple, or any of these as text (``ast.literal_eval``; JSON objects too).

    Raises:
        ZcnasError: for anything else, with the reason.
    """
    if isinstance(arch, Spec):
        return arch
    if isinstance(arch, dict):
        if set(arch) < {"matrix", "ops"} or "matrix" not in arch or "ops" not in arch:
            raise ZcnasError(f"an NB101 spec dict needs 'matrix' and 'ops', got {sorted(arch)}")
        return _make_spec(arch["matrix"], arch["ops"])
    if isinstance(arch, str):
        try:
            parsed = ast.literal_eval(arch.strip())
        except (ValueError, SyntaxError) as e:
            raise ZcnasError(
                f"cannot read an NB101 architecture from {arch!r}: expected NASLib's 56-integer "
                "encoding or a {'matrix': ..., 'ops': ...} spec"
            ) from e
        if isinstance(parsed, str):
            raise ZcnasError(f"cannot read an NB101 architecture from the string {arch!r}")
        return to_spec(parsed)  # any form above, written as text (e.g. on the command line)
    if isinstance(arch, Sequence) and len(arch) == 2:
        return _make_spec(arch[0], arch[1])
    if isinstance(arch, Sequence | np.ndarray):
        return from_naslib(arch)
    raise ZcnasError(
        f"cannot read an NB101 architecture from {type(arch).__name__}: {arch!r}; NB101 "
        "architectures are NASLib's 56-integer encoding (7x7 adjacency + 7 op ids, as the "
        "Suite-Zero CSV writes it), a {'matrix': ..., 'ops': ...} spec or (matrix, ops), "
        "not an index (zcnas score --space nb101 --all scores the 500 Suite-Zero cells)"
    )


def _reach(m: np.ndarray, start: int, forward: bool) -> set[int]:
    seen, todo = {start}, [start]
    while todo:
        v = todo.pop()
        nxt = np.nonzero(m[v] if forward else m[:, v])[0]
        for w in map(int, nxt):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def prune(arch: Any) -> Spec:
    """Remove the vertices not on an input-to-output path (``ModelSpec._prune``).

    Raises:
        ZcnasError: the output is not reachable from the input (NB101: an invalid spec).

    >>> prune({"matrix": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
    ...        "ops": ["input", "maxpool3x3", "conv1x1-bn-relu", "output"]}).ops
    ('input', 'maxpool3x3', 'output')
    """
    s = to_spec(arch)
    m = s.array()
    n = s.num_vertices
    keep = sorted(_reach(m, 0, True) & _reach(m, n - 1, False))
    if 0 not in keep or n - 1 not in keep:
        raise ZcnasError("NB101 spec is invalid: the output is not reachable from the input")
    if len(keep) == n:
        return s
    return _make_spec(m[np.ix_(keep, keep)], [s.ops[i] for i in keep])


def is_valid(arch: Any) -> bool:
    """Whether NAS-Bench-101 holds this cell: readable, connected, <= 9 edges once pruned."""
    try:
        return prune(arch).num_edges <= MAX_EDGES
    except ZcnasError:
        return False


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def spec_hash(arch: Any) -> str:
    """NAS-Bench-101's isomorphism-invariant fingerprint of the pruned cell (32 hex digits).

    Vertex labels: ``-1`` input, ``-2`` output, else the op's index in :data:`OPS`; each vertex
    starts from the MD5 of ``str((out_degree, in_degree, label))``; ``n`` rounds replace it by
    the MD5 of the sorted in-neighbour hashes, ``|``, the sorted out-neighbour hashes, ``|``,
    its own hash; the fingerprint is the MD5 of ``str(sorted(hashes))``.

    Raises:
        ZcnasError: an unreadable or disconnected spec.
    """
    s = prune(arch)
    m = s.array()
    n = s.num_vertices
    labels = [-1] + [OPS.index(o) for o in s.ops[1:-1]] + [-2]
    ins, outs = m.sum(0).tolist(), m.sum(1).tolist()
    hashes = [_md5(str((outs[v], ins[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in range(n) if m[w, v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(n) if m[v, w]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


# --------------------------------------------------------------------------------------------
# Sampling and mutation
# --------------------------------------------------------------------------------------------


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, Integral | np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise ZcnasError(f"rng must be None, an int seed or a numpy Generator, got {rng!r}")


def sample(rng: Any = None) -> Spec:
    """A random valid 7-vertex cell (unpruned), as NAS-Bench-101's random search draws them:
    each upper-triangular entry 1 with probability 1/2, interior ops uniform over :data:`OPS`,
    redrawn until :func:`is_valid`.

    >>> is_valid(sample(rng=0))
    True
    """
    gen = _rng(rng)
    n = MAX_VERTICES
    while True:
        m = np.triu(gen.integers(0, 2, size=(n, n)), 1)
        ops = ["input"] + [OPS[int(i)] for i in gen.integers(0, len(OPS), size=n - 2)]
        s = _make_spec(m, [*ops, "output"])
        if is_valid(s):
            return s


def mutate(arch: Any, rng: Any = None, mutation_rate: float = 1.0) -> Spec:
    """NAS-Bench-101's mutation: flip each possible edge with probability ``rate / 7`` and
    change each interior op (to a different one) with probability ``rate / 5``, redrawn until
    the result is valid and not isomorphic to the input (different :func:`spec_hash`).

    Args:
        arch: any form :func:`to_spec` accepts, with 7 vertices (NASLib's unpruned form); a
            smaller spec is first padded as by :func:`to_naslib`.
        rng: ``None``, an int seed or a :class:`numpy.random.Generator`.
        mutation_rate: expected number of edge flips and of op changes (> 0).

    >>> spec_hash(mutate(sample(rng=0), rng=1)) != spec_hash(sample(rng=0))
    True
    """
    if not float(mutation_rate) > 0:
        raise ZcnasError(f"mutation_rate must be > 0, got {mutation_rate!r}")
    s = from_naslib(to_naslib(arch))
    old = spec_hash(s)
    gen = _rng(rng)
    n = MAX_VERTICES
    while True:
        m = s.array().copy()
        ops = list(s.ops)
        for i in range(n - 1):
            for j in range(i + 1, n):
                if gen.random() < mutation_rate / n:
                    m[i, j] = 1 - m[i, j]
        for v in range(1, n - 1):
            if gen.random() < mutation_rate / (n - 2):
                choices = [o for o in OPS if o != ops[v]]
                ops[v] = choices[int(gen.integers(len(choices)))]
        new = _make_spec(m, ops)
        if is_valid(new) and spec_hash(new) != old:
            return new


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


def vertex_channels(in_channels: int, out_channels: int, matrix: Any) -> list[int]:
    """Channels of each vertex of a pruned cell (NAS-Bench-101's ``compute_vertex_channels``).

    The output's channels are split evenly over the interior vertices feeding it (the first
    ones get one more when it does not divide); a vertex not feeding the output gets the
    largest channel count among its successors; input and output keep theirs.

    >>> vertex_channels(128, 128, [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    [128, 128, 128]
    """
    m = np.asarray(matrix, dtype=np.int64)
    n = m.shape[0]
    ch = [0] * n
    ch[0], ch[n - 1] = in_channels, out_channels
    if n == 2:
        return ch
    fan_in = int(m[1:, n - 1].sum())
    interior, extra = divmod(out_channels, fan_in) if fan_in else (0, 0)
    for v in range(1, n - 1):
        if m[v, n - 1]:
            ch[v] = interior + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for v in range(n - 3, 0, -1):
        if not m[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if m[v, dst]:
                    ch[v] = max(ch[v], ch[dst])
    return ch


@cache
def _modules() -> dict[str, Any]:
    """Define the torch modules on first use, so importing this file does not import torch."""
    import torch
    from torch import nn

    from zcnas.spaces._pooling import MaxPool2d

    class ConvBnRelu(nn.Module):
        """Conv (no bias, same padding) -> BN (affine; TF's epsilon 1e-5, momentum 0.003) ->
        ReLU."""

        def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, kernel, padding=(kernel - 1) // 2, bias=False)
            self.bn = nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.bn(self.conv(x)))

    def make_op(op: str, c: int) -> nn.Module:
        if op == "conv3x3-bn-relu":
            return ConvBnRelu(c, c, 3)
        if op == "conv1x1-bn-relu":
            return ConvBnRelu(c, c, 1)
        return MaxPool2d(3, stride=1, padding=1)  # nn.MaxPool2d, bitwise equal, faster on CPU

    class Cell(nn.Module):
        """One NB101 module: vertex t sums the (channel-truncated) outputs of its interior
        predecessors and a 1x1 projection of the input if the input feeds it, then applies its
        op; the output concatenates the interior vertices feeding it, plus a projection of
        the input if it feeds the output."""

        def __init__(self, spec: Spec, c_in: int, c_out: int) -> None:
            super().__init__()
            self.m = spec.array()
            n = spec.num_vertices
            self.n = n
            self.ch = vertex_channels(c_in, c_out, self.m)
            self.ops = nn.ModuleList(
                [nn.Identity()]
                + [make_op(spec.ops[t], self.ch[t]) for t in range(1, n - 1)]
                + [nn.Identity()]
            )
            self.proj = nn.ModuleDict(
                {str(t): ConvBnRelu(c_in, self.ch[t], 1) for t in range(1, n) if self.m[0, t]}
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, m, ch = self.n, self.m, self.ch
            outs: list[torch.Tensor] = [x]
            for t in range(1, n - 1):
                parts = [outs[s][:, : ch[t]] for s in range(1, t) if m[s, t]]
                if m[0, t]:
                    parts.append(self.proj[str(t)](x))
                h = parts[0]
                for p in parts[1:]:
                    h = h + p
                outs.append(self.ops[t](h))
            cat = [outs[s] for s in range(1, n - 1) if m[s, n - 1]]
            if not cat:
                return self.proj[str(n - 1)](x)
            y = torch.cat(cat, 1) if len(cat) > 1 else cat[0]
            if m[0, n - 1]:
                y = y + self.proj[str(n - 1)](x)
            return y

    class Network(nn.Module):
        """Stem Conv3x3-BN-ReLU (3 -> stem channels); ``num_stacks`` stacks of
        ``cells_per_stack`` cells, a 2x2 max-pool and doubled channels before every stack but
        the first; global average pool; Linear."""

        def __init__(
            self, spec: Spec, stem: int, stacks: int, cells: int, num_classes: int
        ) -> None:
            super().__init__()
            self.spec = spec
            layers: list[nn.Module] = [ConvBnRelu(3, stem, 3)]
            c_in = c_out = stem
            for k in range(stacks):
                if k > 0:
                    layers.append(MaxPool2d(2, stride=2))
                    c_out *= 2
                for _ in range(cells):
                    layers.append(Cell(spec, c_in, c_out))
                    c_in = c_out
            self.layers = nn.Sequential(*layers)
            # a module, not NASLib's functional mean: zen's pre-GAP features are found by it
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(c_out, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.pool(self.layers(x)).flatten(1))

    return {"Network": Network}


#: Initialisations of :func:`build`.
INITS = ("naslib", "torch")


def build(
    arch: Any,
    stem_channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
    num_classes: int = 10,
    init: str = "naslib",
) -> torch.nn.Module:
    """The NAS-Bench-101 CIFAR-10 network of a cell (pruned first), in PyTorch.

    Stem Conv3x3(3 -> 128, no bias)-BN-ReLU; 3 stacks of 3 cells (128, 256, 512 output
    channels), a MaxPool 2x2 before stacks 2 and 3; global average pool
    (``nn.AdaptiveAvgPool2d``; NASLib's network takes ``torch.mean`` over H, W, the same values,
    which its FLOP counter does not charge: zcnas's ``flops`` is the CSV's plus 0.041472 M, the
    pool's 32,768 + 512 x 17, on every row; the module is kept because zen reads the features
    before it); Linear(512 -> 10) with bias. In a cell, ``conv3x3/1x1-bn-relu`` are Conv(no
    bias)-BN-ReLU keeping the vertex's channels, ``maxpool3x3`` is a 3x3 max-pool with stride
    1 and padding 1; the input reaches a vertex through a 1x1 Conv-BN-ReLU projection; vertex
    channels follow :func:`vertex_channels`; an interior vertex's inputs are truncated to its
    channels (the first ones). BN affine (2 parameters per channel), so ``sum(p.numel())`` is
    the benchmark's trainable parameter count (NASLib's ``params`` column, in millions). The
    network is in training mode.

    Initialisation (``init``), drawn from PyTorch's global generator (seed it with
    ``torch.manual_seed`` for a reproducible network):

    * ``"naslib"`` (default): the initialisation of the NB101 network that NASLib (and so
      NAS-Bench-Suite-Zero's stored NB101 scores) builds, ``Network._initialize_weights`` of
      NASLib's ``search_spaces/nasbench101/models/nasbench1.py`` (from SamsungLabs'
      zero-cost-nas): every Conv2d weight ``N(0, 2 / (k_h * k_w * out_channels))`` (std
      ``sqrt(2 / n)``), conv biases 0; BatchNorm weight 1, bias 0; Linear weight
      ``N(0, 0.01**2)`` (std 0.01), bias 0. The same distributions, not the same draws (the
      modules are created in another order).
    * ``"torch"``: PyTorch's default initialisation of each module.

    Args:
        arch: any form :func:`to_spec` accepts.
        stem_channels, num_stacks, cells_per_stack: the benchmark's 128, 3 and 3.
        num_classes: output classes.
        init: ``"naslib"`` or ``"torch"`` (see above).

    Returns:
        A ``torch.nn.Module`` mapping ``(B, 3, H, W)`` (H, W divisible by 4) to
        ``(B, num_classes)``.

    Raises:
        ZcnasError: an invalid spec or size, or an unknown ``init``.
    """
    s = prune(arch)
    check_sizes(
        "build",
        stem_channels=stem_channels,
        num_stacks=num_stacks,
        cells_per_stack=cells_per_stack,
        num_classes=num_classes,
    )
    if init not in INITS:
        raise ZcnasError(f"build: init must be one of {list(INITS)}, got {init!r}")
    model = _modules()["Network"](
        s, int(stem_channels), int(num_stacks), int(cells_per_stack), int(num_classes)
    )
    if init == "naslib":
        # the same scheme as EZNAS's re-initialisation (Kaiming normal, fan-out, ReLU gain),
        # here from the global generator
        from zcnas.proxies.eznas import eznas_init

        eznas_init(model, None)
    return model
