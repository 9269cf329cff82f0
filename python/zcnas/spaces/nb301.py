"""NAS-Bench-301: DARTS genotypes scored live as NAS-Bench-Suite-Zero / NASLib build them.

NB301's architectures are DARTS cells (:mod:`zcnas.spaces.darts` holds the genotype type, the
parsers and the DARTS ``NetworkCIFAR``). NASLib's NB301 network, the one whose ``params``
NAS-Bench-Suite-Zero stores, is the DARTS CIFAR evaluation network with 32 initial channels and
8 cells, whose **cell-op BatchNorms are not affine** (stem and preprocessing BNs are) and
whose **pooling ops are followed by a non-affine BatchNorm**: with that, :func:`build`'s
parameter count equals the CSV's ``params`` column for all 725 stored genotypes and its FLOPs
equal the ``flops`` column (``tests/spaces/test_nb301.py``).

Store keys are NASLib's compact encoding as text (:func:`key`), exactly as Suite-Zero's CSV
writes it, so live scores line up with the imported ones. Importing this module does not
import torch; :func:`build` does.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from zcnas.exceptions import ZcnasError
from zcnas.spaces import darts

if TYPE_CHECKING:
    import torch

__all__ = ["LAYERS", "C", "build", "key", "to_genotype"]

#: NB301 / NASLib evaluation network: initial channels and cells.
C, LAYERS = 32, 8


def to_genotype(arch: Any) -> darts.Genotype:
    """A genotype from a :class:`~zcnas.spaces.darts.Genotype`, its ``Genotype(...)`` text,
    NASLib's NB301 encoding (``[[(input, op_id) x 8], [...]]``, normal cell first) or its text.

    Raises:
        ZcnasError: an unreadable architecture.

    >>> g = to_genotype(key(darts.DARTS_V2))
    >>> g == darts.to_genotype(darts.DARTS_V2)
    True
    """
    if isinstance(arch, str):
        text = arch.strip()
        if text.startswith("Genotype"):
            return darts.parse_genotype(text)
        try:
            arch = ast.literal_eval(text)
        except (ValueError, SyntaxError) as e:
            raise ZcnasError(f"cannot read an NB301 architecture from {text!r}") from e
    if isinstance(arch, list | tuple):
        return darts.from_naslib_nb301(arch)
    return darts.to_genotype(arch)


def key(arch: Any) -> str:
    """NASLib's NB301 encoding as text, e.g. ``"[[(0, 0), (1, 5), ...], [...]]"``."""
    return str(darts.to_naslib_nb301(to_genotype(arch)))


def build(arch: Any, num_classes: int = 10, *, C: int = C, layers: int = LAYERS) -> torch.nn.Module:
    """NASLib's NB301 CIFAR network of ``arch``: :func:`zcnas.spaces.darts.build` (``C=32``,
    8 cells, no auxiliary head, ``naslib_ops=True``): every BatchNorm inside a cell op is
    non-affine (no weight/bias, batch statistics unchanged), and every pooling op of a cell is
    followed by a non-affine ``BatchNorm2d`` of its channels, as NASLib's graph builds them (its
    NB301 cell ops are ``ops.MaxPool(C, 3, stride, use_bn=True)`` / ``ops.AvgPool(C, 3,
    stride, use_bn=True)``: the pool, then ``BatchNorm2d(C, affine=False)``; NASLib's
    ``search_spaces/nasbench301/graph.py``). The pooling BNs have no parameters (the
    parameter count is that of the DARTS network with non-affine cell-op BNs, which equals the
    CSV's ``params``); they add one FLOP per pooled element, as the CSV's ``flops`` counts.
    PyTorch's default initialisation (as NASLib's NB301 network), drawn from the global
    generator (seed it with ``torch.manual_seed``).

    Args:
        arch: any form :func:`to_genotype` accepts.
        num_classes: output classes.
        C, layers: initial channels and cells (NB301: 32 and 8).

    Returns:
        A module in training mode mapping ``(B, 3, H, W)`` to ``(B, num_classes)``.
    """
    return darts.build(
        to_genotype(arch), C=C, layers=layers, num_classes=num_classes, naslib_ops=True
    )
