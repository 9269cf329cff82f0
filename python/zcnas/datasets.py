"""The real images zcnas ships: 30 CIFAR-10 and 25 CIFAR-100 pictures.

They are the only real pixels available offline (the first 20 test images of each dataset plus
10 / 5 training images; see the data README). Use them for demos, tests and small scoring runs;
for real experiments pass your own DataLoader or tensors, or an image file to
:func:`image_batch` (``zcnas score --images FILE.npz``). Normalisation uses the CIFAR
mean/std of foresight and NASLib: mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from zcnas._tables import load_npz
from zcnas.exceptions import ZcnasError

if TYPE_CHECKING:
    import torch

#: zcnas's dataset names: CIFAR-10, CIFAR-100 and ImageNet16-120 (NAS-Bench-201's three).
DATASETS = ("cifar10", "cifar100", "imagenet16")

#: How benchmark users write them (NAS-Bench-201 / NATS-Bench, NASLib, NAS-Bench-Suite-Zero,
#: HW-NAS-Bench), after :func:`_normalize` (lower case, no ``-``, ``_``, space or dot).
#: NATS-Bench's ``cifar10-valid`` is the CIFAR-10 task whose validation accuracy NASLib and
#: Suite-Zero report; zcnas keeps it in the same table (``valid_accuracy_naslib``), so the
#: name maps to ``cifar10`` (whose ``test_accuracy`` is NB201's ``cifar10``: trained on
#: train+valid; cifar10-valid's own test accuracy is not embedded).
DATASET_ALIASES: dict[str, str] = {
    "cifar10": "cifar10",
    "cifar10valid": "cifar10",
    "cifar100": "cifar100",
    "imagenet16": "imagenet16",
    "imagenet16120": "imagenet16",
}


def _normalize(name: str) -> str:
    return "".join(c for c in name.lower() if c not in "-_ .")


def canonical_dataset(name: str, *, strict: bool = True) -> str:
    """zcnas's name of a dataset as its users write it; the one place names are mapped.

    Args:
        name: e.g. ``"ImageNet16-120"``, ``"cifar10-valid"``, ``"CIFAR-100"``, ``"cifar10"``.
        strict: raise for a name that is not one of :data:`DATASETS` (else return it as is,
            for the other tasks a score store may hold, such as TransNAS-Bench's).

    Returns:
        ``"cifar10"``, ``"cifar100"`` or ``"imagenet16"`` (or ``name`` when not strict).

    Raises:
        ZcnasError: an unknown name with ``strict=True`` (the message lists the names).

    >>> canonical_dataset("ImageNet16-120"), canonical_dataset("cifar10-valid")
    ('imagenet16', 'cifar10')
    """
    if not isinstance(name, str):
        raise ZcnasError(f"a dataset name must be a string, got {name!r}")
    found = DATASET_ALIASES.get(_normalize(name))
    if found is not None:
        return found
    if not strict:
        return name
    raise ZcnasError(
        f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)} "
        "(also written CIFAR-10, cifar10-valid, CIFAR-100, ImageNet16-120)"
    )


CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
#: Real images shipped per dataset (the most a minibatch of :func:`cifar_batch` can hold).
SHIPPED_IMAGES = {"cifar10": 30, "cifar100": 25}


def cifar_batch(
    dataset: str = "cifar10", n: int | None = None, *, normalize: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """A minibatch of real CIFAR images as ``(x, y)`` tensors.

    Args:
        dataset: ``cifar10`` (30 images) or ``cifar100`` (25 images, fine labels); any
            spelling :func:`canonical_dataset` reads.
        n: how many (the first ``n``; default all).
        normalize: apply the CIFAR mean/std (else values in [0, 1]).

    Returns:
        ``x`` float32 ``(n, 3, 32, 32)`` and ``y`` int64 ``(n,)``.

    >>> x, y = cifar_batch("cifar10", 8)
    >>> tuple(x.shape), int(y[0])
    ((8, 3, 32, 32), 3)
    """
    dataset = canonical_dataset(dataset)
    if dataset not in SHIPPED_IMAGES:
        raise ZcnasError(f"no images of {dataset!r} are shipped; expected 'cifar10' or 'cifar100'")
    total = SHIPPED_IMAGES[dataset]
    if n is None:
        n = total
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= total:
        raise ZcnasError(f"`n` must be an integer in 1..{total} for {dataset}, got {n!r}")
    z = load_npz("cifar_images.npz")
    return _tensors(z[f"{dataset}_x"][:n], z[f"{dataset}_y"][:n], normalize)


def _tensors(x: np.ndarray, y: np.ndarray, normalize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 NHWC images and their labels as a float32 NCHW tensor in [0, 1] (with
    ``normalize``: CIFAR mean/std) and an int64 tensor."""
    import torch

    xf = x.astype(np.float32) / 255.0
    if normalize:
        xf = (xf - np.array(CIFAR_MEAN, dtype=np.float32)) / np.array(CIFAR_STD, dtype=np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(xf.transpose(0, 3, 1, 2)))
    return xt, torch.from_numpy(y.astype(np.int64))


#: Default minibatch drawn from an image file (NAS-Bench-Suite-Zero's batch size).
IMAGE_FILE_BATCH = 32


def read_image_file(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The validated ``(x, y)`` arrays of an image file (see :func:`image_batch`).

    Keys ``x`` and ``y``, or ``x_test`` and ``y_test`` (as in the shipped and Keras-style
    files); read without pickle.

    Raises:
        ZcnasError: the file is missing or not an ``.npz``, lacks the arrays, or they have
            another dtype or shape, or negative labels.
    """
    import zipfile

    if not os.path.exists(path):
        raise ZcnasError(f"image file {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ZcnasError(f"image file {path} is not an .npz file (NumPy's zip of arrays)")
    try:
        with np.load(os.fspath(path), allow_pickle=False) as z:
            keys = next(
                (k for k in (("x", "y"), ("x_test", "y_test")) if set(k) <= set(z.files)), None
            )
            found = ", ".join(z.files) or "none"
            x, y = (z[keys[0]], z[keys[1]]) if keys else (None, None)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ZcnasError(f"image file {path} cannot be read as an .npz: {e}") from None
    if x is None or y is None:
        raise ZcnasError(
            f"image file {path} has no x and y arrays (found: {found}); expected x uint8 "
            "(N, H, W, 3) RGB images and y labels (N,), or x_test and y_test"
        )
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[3] != 3 or min(x.shape[:3], default=0) < 1:
        raise ZcnasError(
            f"image file {path}: x must be uint8 (N, H, W, 3) RGB images, got {x.dtype} {x.shape}"
        )
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y  # Keras' (N, 1) labels
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise ZcnasError(
            f"image file {path}: y must hold one non-negative integer label per image "
            f"({x.shape[0]}), got {y.dtype} {y.shape}"
        )
    return x, y


def image_batch(
    path: str | os.PathLike[str],
    n: int | None = None,
    *,
    seed: int = 0,
    normalize: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A minibatch from your own image file, e.g. the whole CIFAR-10 test set.

    The file is a NumPy ``.npz`` with ``x``: uint8 ``(N, H, W, 3)`` RGB images (NHWC, as
    CIFAR is distributed) and ``y``: integer labels ``(N,)`` (or ``x_test`` / ``y_test``);
    other keys are ignored. ``n`` images are drawn without replacement by
    ``numpy.random.default_rng(seed)`` (so a file sorted by class still gives a mixed batch;
    the same seed gives the same batch), in the drawn order; ``n = N`` takes every image in
    file order. Normalisation: the CIFAR mean/std of :func:`cifar_batch`.

    Args:
        path: the ``.npz`` file (read without pickle).
        n: images in the batch (default ``min(N, 32)``: Suite-Zero's batch size).
        seed: seed of the draw.
        normalize: apply the CIFAR mean/std (else values in [0, 1]).

    Returns:
        ``x`` float32 ``(n, 3, H, W)`` and ``y`` int64 ``(n,)``.

    Raises:
        ZcnasError: as :func:`read_image_file`, or ``n`` is not in ``1..N``.
    """
    x, y = read_image_file(path)
    idx = image_batch_index(int(x.shape[0]), n, seed=seed, path=path)
    return _tensors(x[idx], y[idx], normalize)


def image_batch_index(
    total: int, n: int | None = None, *, seed: int = 0, path: object = "the file"
) -> np.ndarray:
    """The indices (int64, in drawn order) of :func:`image_batch`'s ``n`` of ``total`` images.

    Raises:
        ZcnasError: ``n`` is not in ``1..total``.
    """
    if n is None:
        n = min(total, IMAGE_FILE_BATCH)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= total:
        raise ZcnasError(f"the batch must hold 1..{total} images of {path}, got {n!r}")
    if n == total:
        return np.arange(total)
    return np.random.default_rng(seed).choice(total, n, False)


def image_file_id(path: str | os.PathLike[str]) -> str:
    """The first 12 hex digits of the file's SHA-256: the provenance of scores computed on it
    (two files with the same name but other images never share a store task).

    Raises:
        ZcnasError: the file cannot be read.
    """
    import hashlib

    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise ZcnasError(f"image file {path}: {e}") from None
    return h.hexdigest()[:12]
