"""Zero-cost proxies: :func:`score` runs registered proxies on a model and a minibatch.

``from zcnas.proxies import score, applicable, list_proxies, get_proxy``; each proxy is also
a function (``zcnas.proxies.synflow(model, x)``, :mod:`.functional`). Importing this package
registers the proxies: NAS-Bench-Suite-Zero's 13 (:mod:`.naslib`), AZ-NAS's four
(:mod:`.aznas`: ``az_expressivity``, ``az_progressivity``, ``az_trainability``,
``az_complexity``), ZiCo (:mod:`.zico`), TE-NAS's NTK condition number and linear regions
(:mod:`.tenas`: ``tenas_ntk``, ``tenas_lr``) and the released EZNAS program (:mod:`.eznas`).
Pool-relative scores (the AZ-NAS aggregate, the TE-NAS rank sum) are functions of many
architectures' scores: :func:`.aznas.aznas_score`, :func:`.tenas.tenas_rank_sum`.
"""

from __future__ import annotations

# --- proxy modules: each registers its proxies on import ---------------------------------
from zcnas.eznas.shards import register_released_programs as _register_eznas
from zcnas.proxies import aznas, eznas, naslib, swap_meco, tenas, zico  # noqa: F401
from zcnas.proxies.base import (
    PassContext,
    Proxy,
    get_proxy,
    is_proxy,
    list_proxies,
    register,
    unregister,
)
from zcnas.proxies.engine import Applicability, applicable, resolve_flavors, score
from zcnas.proxies.plugins import load_plugin

_register_eznas()  # EZNAS programs as proxies: the released program as ``eznas_a``

__all__ = [
    "Applicability",
    "PassContext",
    "Proxy",
    "applicable",
    "get_proxy",
    "is_proxy",
    "list_proxies",
    "load_plugin",
    "register",
    "resolve_flavors",
    "score",
    "unregister",
]


def __getattr__(name: str):
    """``zcnas.proxies.<proxy>``: the proxy as a function (:mod:`.functional`)."""
    if not name.startswith("_") and is_proxy(name):
        from zcnas.proxies.functional import proxy_function

        return proxy_function(name)
    raise AttributeError(f"module 'zcnas.proxies' has no attribute {name!r}")
