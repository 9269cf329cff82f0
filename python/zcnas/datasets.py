"""The real images zcnas ships: 30 CIFAR-10 and 25 CIFAR-100 pictures.

They are the only real pixels available offline (the first 20 test images of each dataset plus
10 / 5 training images; see the data README). Use them for demos, tests and small scoring runs;
for real experiments pass your own DataLoader or tensors. Normalisation uses the CIFAR
mean/std of foresight and NASLib: mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from zcnas._tables import load_npz
from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:
    import torch

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
_SIZES = {"cifar10": 30, "cifar100": 25}


def cifar_batch(
    dataset: str = "cifar10", n: int | None = None, *, normalize: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """A minibatch of real CIFAR images as ``(x, y)`` tensors.

    Args:
        dataset: ``cifar10`` (30 images) or ``cifar100`` (25 images, fine labels).
        n: how many (the first ``n``; default all).
        normalize: apply the CIFAR mean/std (else values in [0, 1]).

    Returns:
        ``x`` float32 ``(n, 3, 32, 32)`` and ``y`` int64 ``(n,)``.

    >>> x, y = cifar_batch("cifar10", 8)
    >>> tuple(x.shape), int(y[0])
    ((8, 3, 32, 32), 3)
    """
    import torch

    if dataset not in _SIZES:
        raise ZcnasError(f"unknown dataset {dataset!r}; expected 'cifar10' or 'cifar100'")
    total = _SIZES[dataset]
    if n is None:
        n = total
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= total:
        raise ZcnasError(f"`n` must be an integer in 1..{total} for {dataset}, got {n!r}")
    z = load_npz("cifar_images.npz")
    x = z[f"{dataset}_x"][:n].astype(np.float32) / 255.0
    if normalize:
        x = (x - np.array(CIFAR_MEAN, dtype=np.float32)) / np.array(CIFAR_STD, dtype=np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    return xt, torch.from_numpy(z[f"{dataset}_y"][:n].astype(np.int64))
