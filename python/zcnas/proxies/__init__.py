"""Zero-cost proxies: :func:`score` runs registered proxies on a model and a minibatch.

``from zcnas.proxies import score, list_proxies, get_proxy``. Importing this package
registers the proxies: NAS-Bench-Suite-Zero's 13 (:mod:`.naslib`).
"""

from __future__ import annotations

# --- proxy modules: each registers its proxies on import ---------------------------------
# Further families register by adding their module to this import, e.g. AZ-NAS, ZiCo, TE-NAS:
#   from zcnas.proxies import aznas, naslib, tenas, zico
from zcnas.proxies import naslib  # noqa: F401  (NAS-Bench-Suite-Zero's 13)
from zcnas.proxies.base import PassContext, Proxy, get_proxy, list_proxies, register
from zcnas.proxies.engine import score

__all__ = ["PassContext", "Proxy", "get_proxy", "list_proxies", "register", "score"]
