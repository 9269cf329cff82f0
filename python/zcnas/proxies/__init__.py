"""Zero-cost proxies: :func:`score` runs registered proxies on a model and a minibatch.

``from zcnas.proxies import score, list_proxies, get_proxy``. Importing this package
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
from zcnas.proxies.base import PassContext, Proxy, get_proxy, list_proxies, register
from zcnas.proxies.engine import score

_register_eznas()  # EZNAS programs as proxies: the released program as ``eznas_a``

__all__ = ["PassContext", "Proxy", "get_proxy", "list_proxies", "register", "score"]
