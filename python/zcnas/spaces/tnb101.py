"""TransNAS-Bench-101 micro and macro spaces: encodings, the encoder and the seven task networks
(Duan et al., "TransNAS-Bench-101", CVPR 2021), as NASLib builds them for NAS-Bench-Suite-Zero.

**Micro** (4,096 cells): a cell of 4 nodes whose 6 edges (``0->1, 0->2, 1->2, 0->3, 1->3,
2->3``) carry one op code each: ``0`` zero, ``1`` skip (a FactorizedReduce where the edge
changes shape), ``2`` ReLU-Conv1x1-BN, ``3`` ReLU-Conv3x3-BN. NASLib's tuple (the Suite-Zero
CSVs' ``arch``) is the 6 codes in that order; TransNAS's string is ``"64-41414-a_bc_def"``.
The network: stem Conv3x3(3->32, stride 2, no bias)-BN-ReLU-Conv3x3(32->64, stride 2)-BN, then
five stages of two cells, stage codes ``4, 1, 4, 1, 4`` (``4``: channels doubled and stride 2
in the first cell; ``1``: unchanged), so 64 -> 512 channels.

**Macro** (3,256 networks): the same stem and 4 to 6 stages of two ResNet basic blocks
(ReLU-Conv3x3-BN twice, a Conv1x1-BN shortcut where the shape changes); stage codes ``1``
(unchanged), ``2`` (channels x2), ``3`` (stride 2), ``4`` (both), with 1 to 4 stride stages
and 1 to 3 channel-doubling stages (these constraints give exactly the 3,256 networks of the
benchmark table). NASLib's tuple is the codes followed by zeros up to 6; TransNAS's string is
``"64-<codes>-basic"``.

**Tasks and heads** (NASLib ``tnb101/model_builder.py``): ``class_object`` (100 classes) and
``class_scene`` (63): global average pool + Linear; ``room_layout``: the same with 9 outputs
(regression); ``jigsaw``: the encoder on each of 9 tiles, features concatenated, average pool,
Linear(9 x C -> 1000); ``segmentsemantic``: an 8-layer conv/deconv decoder to 17 classes;
``autoencoder`` and ``normal``: the Pix2Pix generative decoder (14 conv/deconv layers, 3
channels, tanh); TransNAS's spectral-norm discriminator is a training component only and is
not built (Suite-Zero's ``params`` do not count it). The decoders' sizes follow the encoder's
nominal output for a 224x224 input, as TransNAS computes them (``feature_dim = input // 4``,
then halved per stride stage). Parameter counts equal the Suite-Zero CSVs' ``params`` column
(``tests/spaces/test_tnb101.py``). FLOPs equal the CSVs' ``flops`` column too
(:func:`naslib_flops`): NASLib's tensorwatch count (:func:`zcnas.proxies.naslib.count_flops_naslib`,
the same charges as on NB201 plus conv biases and LeakyReLU, ConvTranspose2d and Tanh
uncharged, every module charged once) of one 256x256 input; for jigsaw, of one 64x64 tile
through the encoder (its 9 calls count once) plus the classifier on the 9 concatenated
features (``benches/tnb101_flops.py`` checks every row; ``tests/spaces/test_tnb101_flops.py`` a
sample).

**Inputs.** No Taskonomy images exist offline: zcnas scores these networks on inputs of the
right shape (CIFAR images resized, or Gaussian noise), so values differ from the stored ones.
``jigsaw`` models take ``(B, 27, H, W)`` (9 RGB tiles stacked on channels; TransNAS uses a
5-D ``(B, 9, 3, H, W)`` tensor, which the proxy engine does not accept). :func:`loss_fn`
gives each task's training loss for the engine's ``loss_fn``.

Importing this module does not import torch; :func:`build` does.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:
    import torch

__all__ = [
    "NUM_CLASSES",
    "SPACES",
    "TASKS",
    "all_archs",
    "build",
    "loss_fn",
    "macro_from_naslib",
    "macro_to_str",
    "micro_from_naslib",
    "micro_to_str",
    "naslib_flops",
    "naslib_flops_side",
    "naslib_key",
    "output_shape",
    "sample",
    "to_codes",
]

SPACES = ("micro", "macro")
TASKS = (
    "autoencoder",
    "class_object",
    "class_scene",
    "jigsaw",
    "normal",
    "room_layout",
    "segmentsemantic",
)
#: Output width of the linear heads.
NUM_CLASSES = {"class_object": 100, "class_scene": 63, "room_layout": 9, "jigsaw": 1000}
_SEG_CLASSES = 17
_BASE = 64
_MICRO_MACRO = "41414"


def _parse(arch: Any, what: str) -> tuple[int, ...]:
    if isinstance(arch, str):
        text = arch.strip()
        try:
            arch = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ZcnasError(f"cannot read a TNB101-{what} architecture from {text!r}") from None
    if isinstance(arch, int) or not isinstance(arch, Sequence):
        raise ZcnasError(f"a TNB101-{what} architecture is a tuple of op codes, got {arch!r}")
    try:
        return tuple(int(v) for v in arch)
    except (TypeError, ValueError):
        raise ZcnasError(f"TNB101-{what} op codes must be integers, got {arch!r}") from None


def micro_from_naslib(arch: Any) -> tuple[int, ...]:
    """The 6 op codes (0 zero, 1 skip, 2 conv1x1, 3 conv3x3) of a micro cell, from NASLib's tuple,
    its text, or TransNAS's ``"64-41414-a_bc_def"`` string.

    >>> micro_from_naslib("64-41414-1_00_210")
    (1, 0, 0, 2, 1, 0)
    """
    if isinstance(arch, str) and arch.strip().startswith(f"{_BASE}-"):
        parts = arch.strip().split("-")
        if len(parts) != 3 or parts[1] != _MICRO_MACRO:
            raise ZcnasError(f"not a TNB101-micro string: {arch!r}")
        arch = tuple(int(c) for c in parts[2].replace("_", "") if c.isdigit())
    codes = _parse(arch, "micro")
    if len(codes) != 6 or any(not 0 <= c <= 3 for c in codes):
        raise ZcnasError(f"a TNB101-micro cell is 6 op codes in 0..3, got {codes}")
    return codes


def micro_to_str(arch: Any) -> str:
    """TransNAS's string of a micro cell, e.g. ``"64-41414-1_00_210"``."""
    c = micro_from_naslib(arch)
    return f"{_BASE}-{_MICRO_MACRO}-{c[0]}_{c[1]}{c[2]}_{c[3]}{c[4]}{c[5]}"


def macro_from_naslib(arch: Any) -> tuple[int, ...]:
    """The 4 to 6 stage codes (1..4) of a macro network, from NASLib's zero-padded tuple, its
    text, or TransNAS's ``"64-<codes>-basic"`` string.

    >>> macro_from_naslib("(1, 1, 1, 1, 1, 4)"), macro_from_naslib("64-1234-basic")
    ((1, 1, 1, 1, 1, 4), (1, 2, 3, 4))
    """
    if isinstance(arch, str) and arch.strip().startswith(f"{_BASE}-"):
        parts = arch.strip().split("-")
        if len(parts) != 3 or parts[2] != "basic":
            raise ZcnasError(f"not a TNB101-macro string: {arch!r}")
        arch = tuple(int(c) for c in parts[1] if c.isdigit())
    codes = tuple(c for c in _parse(arch, "macro") if c != 0)
    if not 4 <= len(codes) <= 6 or any(not 1 <= c <= 4 for c in codes):
        raise ZcnasError(f"a TNB101-macro network is 4 to 6 stage codes in 1..4, got {codes}")
    strides, doubles = sum(c > 2 for c in codes), sum(c % 2 == 0 for c in codes)
    if not (1 <= strides <= 4 and 1 <= doubles <= 3):
        raise ZcnasError(
            f"TNB101-macro {codes}: needs 1-4 stride stages (3, 4) and 1-3 channel-doubling "
            f"stages (2, 4), got {strides} and {doubles}"
        )
    return codes


def macro_to_str(arch: Any) -> str:
    """TransNAS's string of a macro network, e.g. ``"64-111114-basic"``."""
    return f"{_BASE}-{''.join(map(str, macro_from_naslib(arch)))}-basic"


def to_codes(arch: Any, space: str) -> tuple[int, ...]:
    """Op codes (micro) or stage codes (macro) of ``arch`` in ``space``."""
    if space == "micro":
        return micro_from_naslib(arch)
    if space == "macro":
        return macro_from_naslib(arch)
    raise ZcnasError(f"unknown TNB101 space {space!r}; expected 'micro' or 'macro'")


def naslib_key(arch: Any, space: str) -> str:
    """NASLib's tuple as text, as the Suite-Zero CSVs write it (the score store's key), e.g.
    ``"(1, 0, 0, 2, 1, 0)"`` (micro) or ``"(1, 2, 4, 2, 0, 0)"`` (macro)."""
    codes = to_codes(arch, space)
    return str(codes + (0,) * (6 - len(codes)))


def all_archs(space: str) -> list[tuple[int, ...]]:
    """Every architecture of the space: the 4,096 micro cells or the 3,256 macro networks."""
    import itertools

    if space == "micro":
        return list(itertools.product(range(4), repeat=6))
    out = []
    for n in (4, 5, 6):
        for c in itertools.product((1, 2, 3, 4), repeat=n):
            if 1 <= sum(x > 2 for x in c) <= 4 and 1 <= sum(x % 2 == 0 for x in c) <= 3:
                out.append(c)
    to_codes(out[0], space)  # the space name is checked
    return out


def sample(space: str, n: int, rng: Any = None, *, replace: bool = False) -> list[tuple[int, ...]]:
    """``n`` architectures drawn uniformly (distinct unless ``replace``) from :func:`all_archs`.

    >>> len(sample("macro", 3, rng=0))
    3
    """
    import numpy as np

    pop = all_archs(space)
    if not replace and n > len(pop):
        raise ZcnasError(f"cannot draw {n} distinct TNB101-{space} architectures from {len(pop)}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return [pop[int(i)] for i in gen.choice(len(pop), size=int(n), replace=replace)]


#: Input side of NASLib's FLOPs count (Taskonomy images, 256x256); jigsaw tiles are 64x64.
NASLIB_FLOPS_SIDE = 256
_JIGSAW_TILE = 64


def naslib_flops_side(task: str) -> int:
    """Side of the square input behind the Suite-Zero ``flops`` column for ``task``: 256, or 64
    (one jigsaw tile)."""
    return _JIGSAW_TILE if _check_task(task) == "jigsaw" else NASLIB_FLOPS_SIDE


def naslib_flops(arch: Any, task: str, space: str = "micro", *, device: Any = None) -> float:
    """Millions of FLOPs of the task network as NAS-Bench-Suite-Zero's ``flops`` column counts
    them (NASLib's tensorwatch charges, :func:`zcnas.proxies.naslib.count_flops_naslib`) on one
    ``(1, 3, 256, 256)`` input (jigsaw: ``(1, 27, 64, 64)``, 9 tiles; the encoder's 9 calls
    count once, as in the CSV). Equal to the CSVs' column for every row
    (``benches/tnb101_flops.py``).

    Args:
        arch, task, space: as in :func:`build`.
        device: where to build the network (``"meta"``: shapes only, fastest).

    Raises:
        ZcnasError: unknown space or task, or an invalid architecture.
    """
    import torch

    from zcnas.proxies.naslib import count_flops_naslib

    side = naslib_flops_side(task)
    with torch.device(device or "cpu"):
        model = build(arch, task, space)
    shape = (1, 27, side, side) if task == "jigsaw" else (1, 3, side, side)
    return count_flops_naslib(model, shape)


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ZcnasError(f"unknown TNB101 task {task!r}; expected one of {', '.join(TASKS)}")
    return task


def output_shape(task: str, size: int = 256) -> tuple[int, ...]:
    """Per-sample output shape of a task's network for ``size x size`` inputs."""
    _check_task(task)
    if task in NUM_CLASSES:
        return (NUM_CLASSES[task],)
    if task == "segmentsemantic":
        return (_SEG_CLASSES, size, size)
    return (3, size, size)


def loss_fn(task: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The task's training loss ``loss(output, target) -> scalar`` (mean reduction), as NASLib's
    ``get_loss_fn``: soft-label cross-entropy (``-sum(target * log_softmax)``, batch mean) for
    the classification tasks (targets are class distributions; integer labels are one-hot
    encoded first), cross-entropy on class indices for jigsaw and (per pixel) segmentsemantic,
    MSE for room_layout, L1 for autoencoder and normal."""
    import torch.nn.functional as F

    _check_task(task)
    if task in ("class_object", "class_scene"):

        def soft_ce(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if not target.is_floating_point():
                target = F.one_hot(target.long(), out.shape[1]).to(out.dtype)
            return -(target * F.log_softmax(out, dim=1)).sum(1).mean()

        return soft_ce
    if task in ("jigsaw", "segmentsemantic"):
        return lambda out, target: F.cross_entropy(out, target.long())
    if task == "room_layout":
        return lambda out, target: F.mse_loss(out, target.to(out.dtype))
    return lambda out, target: F.l1_loss(out, target.to(out.dtype))


@cache
def _modules() -> dict[str, Any]:
    """Define the torch modules on first use, so importing this file does not import torch."""
    import torch
    from torch import nn

    class ReLUConvBN(nn.Module):
        def __init__(self, c_in: int, c_out: int, k: int, stride: int, pad: int) -> None:
            super().__init__()
            self.ops = nn.Sequential(
                nn.ReLU(),
                nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad, bias=False),
                nn.BatchNorm2d(c_out),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.ops(x)

    class Zero(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.c_in, self.c_out, self.stride = c_in, c_out, stride

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.c_in == self.c_out:
                return x[:, :, :: self.stride, :: self.stride].mul(0.0)
            b, _, h, w = x.shape
            s = self.stride
            return x.new_zeros((b, self.c_out, (h + 1) // s, (w + 1) // s))

    class FactorizedReduce(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.relu = nn.ReLU()
            half = c_out // 2
            self.convs = nn.ModuleList(
                [
                    nn.Conv2d(c_in, half, 1, stride=stride, bias=False),
                    nn.Conv2d(c_in, c_out - half, 1, stride=stride, bias=False),
                ]
            )
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)
            self.bn = nn.BatchNorm2d(c_out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.relu(x)
            y = self.pad(x)[:, :, 1:, 1:]
            return self.bn(torch.cat([self.convs[0](x), self.convs[1](y)], dim=1))

    def make_op(code: int, c_in: int, c_out: int, stride: int) -> nn.Module:
        if code == 0:
            return Zero(c_in, c_out, stride)
        if code == 1:
            if stride == 1 and c_in == c_out:
                return nn.Identity()
            return FactorizedReduce(c_in, c_out, stride)
        if code == 2:
            return ReLUConvBN(c_in, c_out, 1, stride, 0)
        return ReLUConvBN(c_in, c_out, 3, stride, 1)

    class MicroCell(nn.Module):
        """Node j sums op(e)(node i) over its in-edges; edges from node 0 carry the stride and
        the channel change; the cell returns node 3."""

        def __init__(self, codes: tuple[int, ...], c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.edges = nn.ModuleList()
            self.plan: list[list[tuple[int, int]]] = []
            k = 0
            for node in range(1, 4):
                ins = []
                for src in range(node):
                    first = src == 0
                    self.edges.append(
                        make_op(codes[k], c_in if first else c_out, c_out, stride if first else 1)
                    )
                    ins.append((k, src))
                    k += 1
                self.plan.append(ins)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = [x]
            for ins in self.plan:
                feats.append(torch.stack([self.edges[e](feats[s]) for e, s in ins]).sum(0))
            return feats[-1]

    class BasicBlock(nn.Module):
        def __init__(self, _codes: Any, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
            self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
            self.downsample = None
            if stride != 1 or c_in != c_out:
                self.downsample = nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            res = x if self.downsample is None else self.downsample(x)
            return res + self.conv_b(self.conv_a(x))

    class Encoder(nn.Module):
        """Stem and stages (two cells each); ``output_dim`` is TransNAS's nominal
        ``(channels, 56 / 2**strides, 56 / 2**strides)`` for a 224x224 input."""

        def __init__(self, space: str, codes: tuple[int, ...]) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, _BASE // 2, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(_BASE // 2),
                ReLUConvBN(_BASE // 2, _BASE, 3, 2, 1),
            )
            if space == "micro":
                stages, cell, cell_codes = [int(c) for c in _MICRO_MACRO], MicroCell, codes
            else:
                stages, cell, cell_codes = list(codes), BasicBlock, None
            c, dim, layers = _BASE, 224 // 4, []
            for s in stages:
                c_out = c * 2 if s % 2 == 0 else c
                stride = 2 if s > 2 else 1
                dim //= stride
                layers.append(
                    nn.Sequential(
                        cell(cell_codes, c, c_out, stride), cell(cell_codes, c_out, c_out, 1)
                    )
                )
                c = c_out
            self.layers = nn.Sequential(*layers)
            self.output_dim = (c, dim, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(self.stem(x))

    def conv_layer(c_in: int, c_out: int, k: int, s: int, p: int, act: bool, bn: bool) -> nn.Module:
        mods: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride=s, padding=p)]
        if bn:
            mods.append(nn.BatchNorm2d(c_out))
        if act:
            mods.append(nn.LeakyReLU(0.2))
        return nn.Sequential(*mods)

    def deconv_layer(c_in: int, c_out: int) -> nn.Module:
        return nn.Sequential(
            nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.2),
        )

    def n_upsample(width: int) -> int:
        n = int(math.log2(256 / width))
        if n not in (2, 3, 4, 5, 6):
            raise ZcnasError(f"TNB101 decoder: invalid number of upsamplings {n}")
        return n

    def segmentation_decoder(c_in: int, width: int) -> nn.Module:
        n = n_upsample(width)
        mods = [conv_layer(c_in, 1024, 3, 1, 1, True, True)]
        c = 1024
        for _ in range(6 - n):
            mods.append(conv_layer(c, c // 2, 3, 1, 1, True, True))
            c //= 2
        for _ in range(n - 1):
            mods.append(deconv_layer(c, c // 2))
            c //= 2
        mods += [deconv_layer(c, c), conv_layer(c, _SEG_CLASSES, 3, 1, 1, False, False)]
        return nn.Sequential(*mods)

    def generative_decoder(c_in: int, width: int) -> nn.Module:
        n = n_upsample(width)

        def up_or_conv(a: int, b: int, up: bool) -> nn.Module:
            return deconv_layer(a, b) if up else conv_layer(a, b, 3, 1, 1, True, True)

        return nn.Sequential(
            conv_layer(c_in, 1024, 3, 1, 1, True, True),
            conv_layer(1024, 1024, 3, 1, 1, True, True),
            up_or_conv(1024, 512, n == 6),
            conv_layer(512, 512, 3, 1, 1, True, True),
            up_or_conv(512, 256, n >= 5),
            conv_layer(256, 128, 3, 1, 1, True, True),
            up_or_conv(128, 64, n >= 4),
            conv_layer(64, 64, 3, 1, 1, True, True),
            up_or_conv(64, 32, n >= 3),
            conv_layer(32, 32, 3, 1, 1, True, True),
            deconv_layer(32, 16),
            conv_layer(16, 32, 3, 1, 1, True, True),
            deconv_layer(32, 16),
            nn.Conv2d(16, 3, 3, padding=1),
            nn.Tanh(),
        )

    class Classifier(nn.Module):
        def __init__(self, c: int, out: int) -> None:
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(c, out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.pool(x).flatten(1))

    class TaskNet(nn.Module):
        """Encoder + task decoder (the scored network)."""

        def __init__(self, space: str, codes: tuple[int, ...], task: str) -> None:
            super().__init__()
            self.space, self.codes, self.task = space, codes, task
            self.encoder = Encoder(space, codes)
            c, w, _ = self.encoder.output_dim
            if task == "jigsaw":
                self.decoder: nn.Module = Classifier(c * 9, NUM_CLASSES[task])
            elif task in NUM_CLASSES:
                self.decoder = Classifier(c, NUM_CLASSES[task])
            elif task == "segmentsemantic":
                self.decoder = segmentation_decoder(c, w)
            else:
                self.decoder = generative_decoder(c, w)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.task != "jigsaw":
                return self.decoder(self.encoder(x))
            if x.dim() != 4 or x.shape[1] != 27:
                raise ZcnasError(
                    f"TNB101 jigsaw takes (B, 27, H, W) (9 RGB tiles), got {tuple(x.shape)}"
                )
            tiles = x.reshape(x.shape[0], 9, 3, *x.shape[2:])
            feats = [self.encoder(tiles[:, i]) for i in range(9)]
            return self.decoder(torch.cat(feats, dim=1))

    return {"TaskNet": TaskNet}


def build(arch: Any, task: str, space: str = "micro") -> torch.nn.Module:
    """The TransNAS-Bench-101 network of ``arch`` for ``task`` (PyTorch default init, training
    mode).

    Args:
        arch: micro: 6 op codes (NASLib's tuple, its text or ``"64-41414-a_bc_def"``); macro:
            stage codes (NASLib's zero-padded tuple, its text or ``"64-<codes>-basic"``).
        task: one of :data:`TASKS`.
        space: ``"micro"`` or ``"macro"``.

    Returns:
        A module mapping ``(B, 3, H, W)`` (jigsaw: ``(B, 27, H, W)``) to the task's output:
        logits ``(B, classes)``, ``(B, 9)`` room layout, ``(B, 17, 4H', 4W')`` segmentation or
        ``(B, 3, ., .)`` images; for the decoders' native 256x256 outputs feed 256x256 inputs.

    Raises:
        ZcnasError: unknown space or task, or an invalid architecture.

    Scoring: pass the task's loss (``zcnas.proxies.score(model, x, y, loss_fn=loss_fn(task))``;
    the engine's default is cross-entropy on class indices) and targets shaped for it: class
    indices ``(B,)`` for class_object / class_scene / jigsaw, ``(B, 9)`` floats for
    room_layout, pixel classes ``(B, h, w)`` in ``0..16`` at the output's spatial size (the
    output is ``(B, 17, h, w)``) for segmentsemantic, images like the output for autoencoder /
    normal. :func:`zcnas.scoring.tnb_batch` makes such inputs and
    placeholder targets from the packaged CIFAR-10 images (what ``zcnas score`` uses).
    """
    codes = to_codes(arch, space)
    return _modules()["TaskNet"](space, codes, _check_task(task))
