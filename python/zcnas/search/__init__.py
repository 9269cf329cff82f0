"""Architecture search driven by zero-cost proxies.

Zero-Cost-PT operation scoring on supernets (``zc_pt``), AZ-NAS evolution, aging evolution,
random search and predictor-based search (``evolution``, ``predictor``); every search returns
a trajectory of the best architecture found.
"""

# Names shared by ``zc_pt`` and its CLI (which may import only the standard library).
#: Zero-Cost-PT edge discretisation orders.
ZC_PT_ORDERS = (
    "fixed",
    "reverse",
    "random",
    "global-op-iter",
    "global-op-once",
    "global-edge-iter",
    "global-edge-once",
)
#: Zero-Cost-PT operation scoring functions.
ZC_PT_METHODS = ("zc-pt", "disc-zc")
