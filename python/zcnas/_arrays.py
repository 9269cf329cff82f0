"""Input conversion shared by every public function: numpy arrays, torch tensors or sequences
in, C-contiguous float64 numpy arrays out, with errors that name the argument."""

from __future__ import annotations

from typing import Any

import numpy as np

from zcnas.exceptions import ZcnasError


def _to_numpy(x: Any) -> np.ndarray:
    mod = type(x).__module__
    if mod.startswith("torch"):
        # A CPU tensor becomes a view of the same memory; others are copied to the host.
        return x.detach().cpu().numpy()
    return np.asarray(x)


def as_f64(x: Any, name: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Return ``x`` as a C-contiguous float64 array with the allowed number of dimensions.

    Raises:
        ZcnasError: (a ``ValueError``) if ``x`` is not numeric or has another dimensionality.
    """
    try:
        arr = _to_numpy(x)
    except (TypeError, ValueError) as e:
        raise ZcnasError(f"`{name}` could not be read as an array: {e}") from e
    if arr.dtype.kind not in "biuf":
        raise ZcnasError(
            f"`{name}` must hold real numbers (bool, int or float), got dtype {arr.dtype}"
        )
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ZcnasError(f"`{name}` must be {want}, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)
