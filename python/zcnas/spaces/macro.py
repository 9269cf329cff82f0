"""NAS-Bench-Macro: encodings, the embedded CIFAR-10 table, sampling and a PyTorch builder.

NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with Monto-Carlo Tree Search",
CVPR 2021; Apache-2.0) trains every network of a small MobileNetV2-style macro space on
CIFAR-10. An architecture is a choice per each of 8 searchable layers:

* ``0`` = identity (a shape-changing layer keeps a 1x1 projection, see :func:`build`),
* ``1`` = MobileNetV2 inverted-residual block, kernel 3, expansion 3,
* ``2`` = MobileNetV2 inverted-residual block, kernel 5, expansion 6,

so there are ``3**8 = 6561`` architectures. Three encodings name them:

* the arch string of 8 digits, e.g. ``"22212202"`` (first character = first layer);
* a tuple of 8 ints in 0..2 (same order);
* the index 0..6560: base 3 with the **first layer most significant**,
  ``index = sum(d[i] * 3 ** (7 - i))``. This is exactly the row order of the benchmark CSV
  (``itertools.product("012", repeat=8)`` order, checked on all rows), so row ``i`` of
  :func:`load_macro` is index ``i``.

Importing this module does not import torch; :func:`build` does.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from numbers import Integral
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zcnas._tables import ColumnTable, check_index, load_npz
from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:  # torch is imported lazily so that the encodings work without it
    import torch

__all__ = [
    "CHOICES",
    "LAYER_CHANNELS",
    "LAYER_STRIDES",
    "METRICS",
    "NUM_ARCHS",
    "NUM_LAYERS",
    "MacroTable",
    "build",
    "convert_macro_csv",
    "index_to_str",
    "index_to_tuple",
    "load_macro",
    "mutate",
    "sample",
    "str_to_index",
    "str_to_tuple",
    "to_index",
    "tuple_to_index",
    "tuple_to_str",
]

#: Number of searchable layers.
NUM_LAYERS = 8
#: Number of architectures (3 choices on 8 layers).
NUM_ARCHS = 3**NUM_LAYERS
#: Choice id -> (name, kernel, expansion); identity has no kernel/expansion.
CHOICES: tuple[tuple[str, int, int], ...] = (
    ("identity", 0, 0),
    ("mbv2_k3_e3", 3, 3),
    ("mbv2_k5_e6", 5, 6),
)
#: Output channels of each searchable layer (input of layer 0 = the 32-channel stem).
LAYER_CHANNELS: tuple[int, ...] = (64, 64, 128, 128, 128, 256, 256, 256)
#: Stride of each searchable layer (32x32 -> 16x16 -> 8x8 -> 4x4 on CIFAR).
LAYER_STRIDES: tuple[int, ...] = (2, 1, 2, 1, 1, 2, 1, 1)
#: Float columns of the table besides ``arch`` (accuracies in percent).
METRICS: tuple[str, ...] = (
    "test_acc_run1",
    "test_acc_run2",
    "test_acc_run3",
    "mean_acc",
    "std",
    "params",
    "flops",
)
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
_DATA_FILE = "nas_bench_macro_cifar10.npz"
_POW3 = 3 ** np.arange(NUM_LAYERS - 1, -1, -1, dtype=np.int64)  # first layer most significant


# --------------------------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------------------------


def str_to_tuple(arch: str) -> tuple[int, ...]:
    """Parse an 8-digit arch string into 8 layer choices (first character = first layer).

    Args:
        arch: e.g. ``"22212202"``; each digit 0 (identity), 1 (MBv2 k3 e3) or 2 (MBv2 k5 e6).

    Returns:
        A tuple of 8 ints in 0..2.

    Raises:
        ZcnasError: if the string does not hold exactly 8 digits in 0..2.

    >>> str_to_tuple("22212202")
    (2, 2, 2, 1, 2, 2, 0, 2)
    """
    if not isinstance(arch, str):
        raise ZcnasError(f"NAS-Bench-Macro arch string must be a str, got {type(arch).__name__}")
    if len(arch) != NUM_LAYERS or any(c not in "012" for c in arch):
        raise ZcnasError(
            f"NAS-Bench-Macro arch string {arch!r} must be {NUM_LAYERS} digits in 0..2"
        )
    return tuple(int(c) for c in arch)


def tuple_to_str(choices: Sequence[int]) -> str:
    """Write 8 layer choices as the arch string.

    Args:
        choices: 8 ints in 0..2, first layer first.

    Returns:
        The 8-digit arch string.

    Raises:
        ZcnasError: if there are not 8 integer choices in 0..2.

    >>> tuple_to_str((0, 1, 2, 0, 0, 0, 0, 1))
    '01200001'
    """
    return "".join(str(c) for c in _check_tuple(choices))


def _check_tuple(choices: Any) -> tuple[int, ...]:
    if isinstance(choices, str) or not isinstance(choices, Sequence | np.ndarray):
        raise ZcnasError(f"NAS-Bench-Macro choices must be a sequence of 8 ints, got {choices!r}")
    items = list(choices)
    if len(items) != NUM_LAYERS:
        raise ZcnasError(
            f"NAS-Bench-Macro choices {choices!r} must have {NUM_LAYERS} entries, got {len(items)}"
        )
    out = []
    for v in items:
        if isinstance(v, bool | np.bool_) or not isinstance(v, Integral) or not 0 <= v <= 2:
            raise ZcnasError(f"NAS-Bench-Macro choices {choices!r}: {v!r} is not an int in 0..2")
        out.append(int(v))
    return tuple(out)


def tuple_to_index(choices: Sequence[int]) -> int:
    """Base-3 index of 8 layer choices, first layer most significant.

    Args:
        choices: 8 ints in 0..2.

    Returns:
        ``sum(choices[i] * 3 ** (7 - i))`` in 0..6560 (= the benchmark CSV row).

    Raises:
        ZcnasError: if the choices are invalid.

    >>> tuple_to_index((0, 0, 0, 0, 0, 0, 1, 0)), tuple_to_index((2,) * 8)
    (3, 6560)
    """
    return int(np.dot(_check_tuple(choices), _POW3))


def index_to_tuple(index: int) -> tuple[int, ...]:
    """Layer choices of an index (inverse of :func:`tuple_to_index`).

    Args:
        index: an integer in 0..6560.

    Returns:
        8 ints in 0..2, first layer first.

    Raises:
        ZcnasError: if the index is not an integer in range.

    >>> index_to_tuple(5)
    (0, 0, 0, 0, 0, 0, 1, 2)
    """
    index = _check_index(index)
    return tuple(int(index // p % 3) for p in _POW3)


def _check_index(index: Any) -> int:
    return check_index(index, NUM_ARCHS, "NAS-Bench-Macro")


def str_to_index(arch: str) -> int:
    """Index 0..6560 of an arch string (see :func:`tuple_to_index`).

    >>> str_to_index("00000012")
    5
    """
    return tuple_to_index(str_to_tuple(arch))


def index_to_str(index: int) -> str:
    """Arch string of an index 0..6560.

    >>> index_to_str(6560)
    '22222222'
    """
    return tuple_to_str(index_to_tuple(index))


def to_index(arch: Any) -> int:
    """Normalise any supported encoding to the index 0..6560.

    Args:
        arch: an integer index, an 8-digit arch string, or a sequence of 8 ints in 0..2.

    Returns:
        The index (base 3, first layer most significant).

    Raises:
        ZcnasError: if the input is none of the above or is malformed.

    >>> to_index(7), to_index("00000021"), to_index([0, 0, 0, 0, 0, 0, 2, 1])
    (7, 7, 7)
    """
    if isinstance(arch, bool | np.bool_):
        raise ZcnasError(f"cannot interpret {arch!r} as a NAS-Bench-Macro architecture")
    if isinstance(arch, Integral):
        return _check_index(arch)
    if isinstance(arch, str):
        return str_to_index(arch)
    if isinstance(arch, Sequence | np.ndarray):
        return tuple_to_index(arch)
    raise ZcnasError(f"cannot interpret {arch!r} as a NAS-Bench-Macro architecture")


def _to_tuple(arch: Any) -> tuple[int, ...]:
    if isinstance(arch, str):
        return str_to_tuple(arch)
    if isinstance(arch, Sequence | np.ndarray) and not isinstance(arch, bytes):
        return _check_tuple(arch)
    return index_to_tuple(to_index(arch))


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, Integral | np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise ZcnasError(f"rng must be None, an int seed or a numpy Generator, got {rng!r}")


def sample(n: int, rng: Any = None, *, replace: bool = True) -> np.ndarray:
    """Draw architectures uniformly at random.

    Args:
        n: how many to draw (>= 0).
        rng: ``None``, an int seed or a :class:`numpy.random.Generator`.
        replace: i.i.d. draws (default); ``False`` gives ``n`` distinct architectures.

    Returns:
        An ``int64`` array of ``n`` indices in 0..6560 (use :func:`index_to_str` for strings).

    Raises:
        ZcnasError: if ``n`` is not a non-negative integer, or exceeds 6561 without replacement.

    >>> sample(4, rng=0).shape
    (4,)
    """
    if isinstance(n, bool | np.bool_) or not isinstance(n, Integral) or n < 0:
        raise ZcnasError(f"sample size n must be a non-negative integer, got {n!r}")
    if not replace and n > NUM_ARCHS:
        raise ZcnasError(f"cannot draw n={n} distinct architectures from {NUM_ARCHS}")
    gen = _rng(rng)
    if replace:
        return gen.integers(0, NUM_ARCHS, size=int(n), dtype=np.int64)
    return gen.choice(NUM_ARCHS, size=int(n), replace=False).astype(np.int64)


def mutate(arch: Any, rng: Any = None) -> str:
    """Change exactly one layer (chosen uniformly) to one of the two other choices (uniformly).

    Args:
        arch: any encoding accepted by :func:`to_index`.
        rng: ``None``, an int seed or a :class:`numpy.random.Generator`.

    Returns:
        The mutated arch string (differs from the input in exactly one digit).

    >>> a = "22212202"
    >>> sum(x != y for x, y in zip(a, mutate(a, rng=0)))
    1
    """
    choices = list(_to_tuple(arch))
    gen = _rng(rng)
    layer = int(gen.integers(NUM_LAYERS))
    choices[layer] = (choices[layer] + 1 + int(gen.integers(2))) % 3
    return tuple_to_str(choices)


# --------------------------------------------------------------------------------------------
# Benchmark table
# --------------------------------------------------------------------------------------------


def convert_macro_csv(csv_path: str | PathLike[str], out_npz: str | PathLike[str]) -> None:
    """Convert the NAS-Bench-Macro CIFAR-10 CSV into the embedded ``.npz``.

    The CSV has columns ``arch`` (8 digits, read as text so leading zeros survive),
    ``test_acc_run1..3`` (test accuracy in %, three seeds), ``mean_acc`` (their mean), ``std``
    (their population standard deviation, ``ddof=0``), ``params`` and ``flops`` (multiply-
    accumulates of convolutions and the linear layer on a 32x32 input). Rows are reordered by
    index (they already are in the published file) and the output holds every index exactly
    once: ``arch`` as a unicode array, the other columns as ``float64``
    (``np.savez_compressed``).

    Args:
        csv_path: the published CSV.
        out_npz: where to write the ``.npz``.

    Raises:
        ZcnasError: if a column is missing, a value is not a number, an arch is malformed or
            duplicated, or not all 6,561 architectures are present.
    """
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("arch", *METRICS) if c not in (reader.fieldnames or ())]
        if missing:
            raise ZcnasError(f"{csv_path}: missing column(s) {missing}")
        rows = list(reader)
    n = len(rows)
    if n != NUM_ARCHS:
        raise ZcnasError(f"{csv_path}: expected {NUM_ARCHS} rows, got {n}")
    archs = [r["arch"].strip() for r in rows]
    order = np.array([str_to_index(a) for a in archs], dtype=np.int64)
    if len(np.unique(order)) != NUM_ARCHS:
        raise ZcnasError(f"{csv_path}: duplicated arch strings")
    out: dict[str, np.ndarray] = {"arch": np.empty(NUM_ARCHS, dtype=f"<U{NUM_LAYERS}")}
    out["arch"][order] = archs
    for col in METRICS:
        values = np.empty(NUM_ARCHS, dtype=np.float64)
        try:
            values[order] = [float(r[col]) for r in rows]
        except ValueError as exc:
            raise ZcnasError(f"{csv_path}: column {col!r} holds a non-number ({exc})") from None
        out[col] = values
    np.savez_compressed(Path(out_npz), **out)


@dataclass(frozen=True)
class MacroTable(ColumnTable):
    """The 6,561 NAS-Bench-Macro CIFAR-10 results; row ``i`` = index ``i``.

    Attributes:
        columns: name -> read-only array: ``arch`` (8-digit strings) and the ``float64`` columns
            in :data:`METRICS` (accuracies in %, higher = better; ``std`` with ``ddof=0``;
            ``params`` in parameters, ``flops`` in multiply-accumulates, both exact integers).
    """

    NAME = "NAS-Bench-Macro"
    KEY = "arch"

    def query(self, arch: Any, metric: str = "mean_acc") -> float:
        """One metric of one architecture.

        Args:
            arch: any encoding accepted by :func:`to_index`.
            metric: a name in :data:`METRICS`.

        Returns:
            The value as a Python float.

        Raises:
            ZcnasError: on an unknown metric or a malformed architecture.
        """
        return float(self._metric(metric)[to_index(arch)])

    def query_batch(self, archs: Any, metric: str = "mean_acc") -> np.ndarray:
        """One metric of many architectures.

        Args:
            archs: an iterable of encodings accepted by :func:`to_index`, or an integer array of
                indices.
            metric: a name in :data:`METRICS`.

        Returns:
            A new ``float64`` array, one value per architecture, in input order.

        Raises:
            ZcnasError: on an unknown metric or a malformed architecture.
        """
        return self._metric(metric)[self.indices(archs)]

    def indices(self, archs: Any) -> np.ndarray:
        """Indices of many architectures as an ``int64`` array (validated).

        Args:
            archs: an iterable of encodings accepted by :func:`to_index`, or an integer array.

        Raises:
            ZcnasError: if any entry is malformed or out of range.
        """
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            idx = archs.astype(np.int64).ravel()
            if idx.size and (idx.min() < 0 or idx.max() >= NUM_ARCHS):
                raise ZcnasError(f"NAS-Bench-Macro indices must lie in 0..{NUM_ARCHS - 1}")
            return idx
        if isinstance(archs, str):
            raise ZcnasError("query_batch expects a collection of architectures, got one string")
        return np.array([to_index(a) for a in archs], dtype=np.int64)

    def _metric(self, metric: str) -> np.ndarray:
        if metric not in METRICS:
            raise ZcnasError(
                f"unknown NAS-Bench-Macro metric {metric!r}; expected one of {METRICS}"
            )
        return self.columns[metric]


@cache
def load_macro() -> MacroTable:
    """The embedded NAS-Bench-Macro CIFAR-10 table (cached after the first call).

    >>> t = load_macro()
    >>> len(t), str(t["arch"][int(t["mean_acc"].argmax())]), round(t.query("22212202"), 2)
    (6561, '22212202', 93.13)
    """
    return MacroTable(load_npz(_DATA_FILE))


# --------------------------------------------------------------------------------------------
# PyTorch network
# --------------------------------------------------------------------------------------------


@cache
def _modules() -> dict[str, type]:
    """Define the torch modules on first use, so importing this file does not import torch."""
    from torch import nn

    class InvertedResidual(nn.Module):
        """MobileNetV2 block: 1x1 expand-BN-ReLU6, kxk depthwise (stride s)-BN-ReLU6,
        1x1 project-BN; ``x + block(x)`` when stride 1 and ``c_in == c_out``."""

        def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int):
            super().__init__()
            mid = c_in * expansion
            self.use_residual = stride == 1 and c_in == c_out
            self.conv = nn.Sequential(
                nn.Conv2d(c_in, mid, 1, bias=False),
                nn.BatchNorm2d(mid),
                nn.ReLU6(inplace=True),
                nn.Conv2d(
                    mid, mid, kernel, stride=stride, padding=kernel // 2, groups=mid, bias=False
                ),
                nn.BatchNorm2d(mid),
                nn.ReLU6(inplace=True),
                nn.Conv2d(mid, c_out, 1, bias=False),
                nn.BatchNorm2d(c_out),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.conv(x)
            return x + out if self.use_residual else out

    def make_layer(choice: int, c_in: int, c_out: int, stride: int) -> nn.Module:
        if choice == 0:
            if stride == 1 and c_in == c_out:
                return nn.Identity()
            return nn.Sequential(  # identity at a reduction: strided 1x1 projection + BN
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        _, kernel, expansion = CHOICES[choice]
        return InvertedResidual(c_in, c_out, kernel, expansion, stride)

    class MacroNetwork(nn.Module):
        """The NAS-Bench-Macro CIFAR network; ``forward`` returns logits."""

        def __init__(self, choices: tuple[int, ...], num_classes: int) -> None:
            super().__init__()
            self.arch = tuple_to_str(choices)
            self.stem = nn.Sequential(
                nn.Conv2d(3, _STEM_CHANNELS, 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(_STEM_CHANNELS),
                nn.ReLU6(inplace=True),
            )
            layers = []
            c_in = _STEM_CHANNELS
            for choice, c_out, stride in zip(choices, LAYER_CHANNELS, LAYER_STRIDES, strict=True):
                layers.append(make_layer(choice, c_in, c_out, stride))
                c_in = c_out
            self.layers = nn.ModuleList(layers)
            self.head = nn.Sequential(
                nn.Conv2d(c_in, _HEAD_CHANNELS, 1, bias=False),
                nn.BatchNorm2d(_HEAD_CHANNELS),
                nn.ReLU6(inplace=True),
            )
            self.global_pooling = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(_HEAD_CHANNELS, num_classes)

        def features(self, x: torch.Tensor) -> torch.Tensor:
            """Pooled features before the classifier, shape ``(batch, 1280)``."""
            x = self.stem(x)
            for layer in self.layers:
                x = layer(x)
            return self.global_pooling(self.head(x)).flatten(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(x))

        def extra_repr(self) -> str:
            return f"arch={self.arch!r}"

    return {"MacroNetwork": MacroNetwork, "make_layer": make_layer}


def build(arch: Any, num_classes: int = 10) -> torch.nn.Module:
    """Build the NAS-Bench-Macro CIFAR-10 network of an architecture.

    Layout (32x32 input): stem Conv3x3(3->32, stride 1, no bias)-BN-ReLU6 at 32x32; eight
    searchable layers with output channels :data:`LAYER_CHANNELS` = 64, 64 | 128, 128, 128 |
    256, 256, 256 and strides :data:`LAYER_STRIDES` = 2, 1 | 2, 1, 1 | 2, 1, 1 (so layers 0, 2
    and 5, 0-based, change both resolution and width: 32->16->8->4); head Conv1x1(256->1280, no
    bias)-BN-ReLU6, global average pool, Linear(1280 -> num_classes, with bias). A MobileNetV2
    layer is 1x1 expand (``c_in * e`` channels)-BN-ReLU6, depthwise kxk (stride s, padding
    k//2)-BN-ReLU6, 1x1 project-BN, plus the input when stride is 1 and widths agree. An
    identity layer is ``nn.Identity`` where the shape is kept; at layers 0, 2 and 5 it is a
    strided Conv1x1(no bias)-BN projection. All convolutions are bias-free; PyTorch's default
    initialisation is used.

    The original code was not available; this layout was inferred from the table and verified
    against it: the parameter count equals the ``params`` column for all 6,561 architectures and
    the conv + linear multiply-accumulates on a 1x3x32x32 input equal the ``flops`` column for
    all 6,561 (both exactly; checked in ``tests/spaces/test_macro.py``). Not determined by those
    counts (parameter-free details, so inferred only): the stem and head activations (ReLU6
    here), the absence of an activation after the identity projection, and the projection's
    form (a strided 1x1 conv here; a 2x2 average pool followed by a 1x1 conv would count the
    same).

    Args:
        arch: any encoding accepted by :func:`to_index` (index, 8-digit string, 8 choices).
        num_classes: output classes.

    Returns:
        A ``torch.nn.Module`` in training mode mapping ``(B, 3, H, W)`` to ``(B, num_classes)``.

    Raises:
        ZcnasError: if the architecture or ``num_classes`` is invalid.
    """
    choices = _to_tuple(arch)
    if isinstance(num_classes, bool) or not isinstance(num_classes, Integral) or num_classes < 1:
        raise ZcnasError(f"build: num_classes must be a positive integer, got {num_classes!r}")
    return _modules()["MacroNetwork"](choices, int(num_classes))
