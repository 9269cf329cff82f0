"""Optional dependencies: one place that imports them and names the extra that installs them.

The core install (``pip install zcnas``) holds what scoring, the embedded benchmarks and the
score store need. The rest comes with extras:

========================  ===========================  ===================================
package                   extra                        used by
========================  ===========================  ===================================
matplotlib, lightgbm      ``zcnas[analysis]``          figures, LightGBM surrogates and the
                                                       predictor-based search
ray                       ``zcnas[ray]``               ``backend="ray"`` scoring
pyarrow                   ``zcnas[parquet]``           Parquet export of the score store
========================  ===========================  ===================================

``zcnas[all]`` installs every extra. Code that needs one of these packages calls
:func:`require`, never ``import`` directly, so that a missing extra is a :class:`ZcnasError`
with the ``pip install`` line instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from zcnas.exceptions import ZcnasError

__all__ = ["EXTRAS", "available", "require"]

#: Top-level module -> (distribution on PyPI, zcnas extra that installs it).
EXTRAS: dict[str, tuple[str, str]] = {
    "matplotlib": ("matplotlib", "analysis"),
    "lightgbm": ("lightgbm", "analysis"),
    "ray": ("ray", "ray"),
    "pyarrow": ("pyarrow", "parquet"),
}


def require(module: str, purpose: str | None = None) -> ModuleType:
    """Import an optional package (or one of its submodules) and return the module.

    Args:
        module: dotted module name whose top level is a key of :data:`EXTRAS`, e.g.
            ``"matplotlib.figure"`` or ``"pyarrow.parquet"``.
        purpose: what needs it, for the message (default: the module name).

    Returns:
        The imported module.

    Raises:
        ZcnasError: the package is not installed; the message names
            ``pip install "zcnas[<extra>]"``. Any other import failure (a broken install)
            propagates unchanged.

    >>> require("numpy")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    zcnas.exceptions.ZcnasError: 'numpy' is not an optional dependency of zcnas
    """
    top = module.partition(".")[0]
    if top not in EXTRAS:
        raise ZcnasError(f"{top!r} is not an optional dependency of zcnas")
    dist, extra = EXTRAS[top]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.partition(".")[0] != top:
            raise
        what = purpose or module
        raise ZcnasError(
            f"{what} needs the optional package {dist!r}, which is not installed: "
            f'pip install "zcnas[{extra}]" (or "zcnas[all]")'
        ) from None


def available(module: str) -> bool:
    """Whether an optional package can be imported (imports it if so)."""
    try:
        require(module)
    except ZcnasError:
        return False
    return True
